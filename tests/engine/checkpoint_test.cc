// Checkpoints of the engine's projection in an SQLite journal: written at
// the first open of a journal, on request and at a clean shutdown; an open
// starts from the latest and applies only the entries after it; a damaged
// checkpoint refuses the open, and a forged one (its digest recomputed)
// is found by a replay from the first entry.
#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "journal/projection_codec.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

// Runs `sql` on the journal at `path` (outside any engine).
void Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest() : path_(::testing::TempDir() + "/checkpoint_test.db"), clock_(At("2011-01-10T12:00:00Z")) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  absl::StatusOr<std::unique_ptr<Engine>> Open(SqliteOptions options = {}) {
    auto store = OpenSqliteStore(path_, options);
    if (!store.ok()) return store.status();
    return Engine::Open(*std::move(store), clock_, *Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter}));
  }

  // Two members; ann earns, spends, holds; bob earns and receives.
  void Work(Engine& engine, const std::string& round) {
    auto run = [&](const Command& command) {
      auto receipt = engine.Execute(command);
      EXPECT_TRUE(receipt.ok()) << receipt.status();
    };
    if (round == "1") {
      run(Enroll{.idempotency_key = "e-ann", .member = Id("ann"), .at = At("2011-01-01T00:00:00Z")});
      run(Enroll{.idempotency_key = "e-bob", .member = Id("bob"), .at = At("2011-01-01T00:00:00Z")});
    }
    run(Credit{.idempotency_key = "c-ann-" + round, .member = Id("ann"), .amount = Points(1000)});
    run(Credit{.idempotency_key = "c-bob-" + round, .member = Id("bob"), .amount = Points(300)});
    run(Redeem{.idempotency_key = "r-ann-" + round, .member = Id("ann"), .amount = Points(200)});
    run(PlaceHold{.idempotency_key = "h-ann-" + round, .member = Id("ann"), .amount = Points(100), .ttl = absl::Hours(5)});
    run(Transfer{.idempotency_key = "t-" + round, .member = Id("ann"), .to = Id("bob"), .amount = Points(50)});
  }

  // The first round of Work, then a clean shutdown, which leaves a
  // checkpoint of its last entry.
  void WriteFirstRound() {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    Work(**engine, "1");
  }

  std::vector<CheckpointInfo> Checkpoints() {
    auto store = OpenSqliteStore(path_, {.read_only = true});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *(*store)->Checkpoints() : std::vector<CheckpointInfo>{};
  }

  std::string path_;
  FakeClock clock_;
};

TEST_F(CheckpointTest, OpenStartsFromTheLatestCheckpoint) {
  Sha256 digest;
  uint64_t last = 0;
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_TRUE((*engine)->store().Checkpoints()->empty());  // an empty journal needs none
    Work(**engine, "1");
    digest = (*engine)->StateDigest();
    last = (*engine)->store().LastSeq();
  }
  // The clean shutdown wrote one at the last entry, of the state it had.
  std::vector<CheckpointInfo> saved = Checkpoints();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].seq, last);
  EXPECT_EQ(saved[0].digest, digest);
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_EQ((*engine)->StateDigest(), digest);
    Work(**engine, "2");
    ASSERT_TRUE((*engine)->SaveCheckpoint().ok());
    Work(**engine, "3");  // after the checkpoint: applied at the next open
    digest = (*engine)->StateDigest();
    ASSERT_TRUE((*engine)->store().Checkpoints().ok());
    EXPECT_EQ((*engine)->store().Checkpoints()->size(), 2u);
  }
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->StateDigest(), digest);
  EXPECT_EQ(*(*engine)->BalanceOf(Id("ann")), (Balance{Points(3 * 650), Points(300), Points(0)}));
  // The shutdown's checkpoint was the third: the oldest was deleted
  // (EngineOptions::checkpoints_kept is 2). A replay from the first entry
  // finds each one kept to be the state the entries build.
  EXPECT_EQ(Checkpoints().size(), 2u);
  auto replayed = Replay((*engine)->store());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->checkpoints, 2u);
  EXPECT_EQ(replayed->state_digest, digest);
}

// A checkpoint moves the idempotency keys to the store's index on disk: a
// retry of a command from before it, after a restart, still returns the
// original receipt and changes nothing; a retry with other content is
// refused.
TEST_F(CheckpointTest, ARetryOfACommandBeforeTheCheckpointIsAnsweredFromTheIndexOnDisk) {
  Receipt original;
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    Work(**engine, "1");
    auto receipt = (*engine)->Execute(Credit{.idempotency_key = "late", .member = Id("bob"), .amount = Points(7)});
    ASSERT_TRUE(receipt.ok());
    original = *receipt;
    ASSERT_TRUE((*engine)->SaveCheckpoint().ok());
    Work(**engine, "2");
  }
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Sha256 digest = (*engine)->StateDigest();
  const uint64_t last = (*engine)->store().LastSeq();
  auto again = (*engine)->Execute(Credit{.idempotency_key = "late", .member = Id("bob"), .amount = Points(7)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->entries, original.entries);
  auto other = (*engine)->Execute(Credit{.idempotency_key = "c-ann-1", .member = Id("ann"), .amount = Points(5)});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists) << other.status();
  EXPECT_EQ((*engine)->store().LastSeq(), last);
  EXPECT_EQ((*engine)->StateDigest(), digest);
}

// The index of idempotency keys on disk is compared with the entries by a
// replay from the first entry: a key deleted from it, or a record changed,
// is DataLoss.
TEST_F(CheckpointTest, AReplayComparesTheKeyIndexOnDiskWithTheEntries) {
  WriteFirstRound();
  auto replay = [&] { return Replay(**OpenSqliteStore(path_, {.read_only = true})); };
  ASSERT_TRUE(replay().ok()) << replay().status();
  Sql(path_, "UPDATE loyalty_keys SET first = first + 1 WHERE key = CAST('c-bob-1' AS BLOB)");
  auto changed = replay();
  ASSERT_EQ(changed.status().code(), absl::StatusCode::kDataLoss) << changed.status();
  EXPECT_NE(changed.status().message().find("(as many, with other keys or seqs)"), absl::string_view::npos)
      << changed.status();
  Sql(path_, "DELETE FROM loyalty_keys WHERE key = CAST('c-bob-1' AS BLOB)");
  auto deleted = replay();
  ASSERT_EQ(deleted.status().code(), absl::StatusCode::kDataLoss) << deleted.status();
  EXPECT_NE(deleted.status().message().find("the index of idempotency keys on disk does not match the entries up to"),
            absl::string_view::npos)
      << deleted.status();
}

// A record of the index on disk that names another command's entries, or
// none, answers a retry with DataLoss rather than a wrong receipt.
TEST_F(CheckpointTest, ADamagedKeyIndexRecordIsDataLossForARetry) {
  WriteFirstRound();
  Sql(path_, "UPDATE loyalty_keys SET first = first + 1 WHERE key = CAST('c-ann-1' AS BLOB)");
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  const uint64_t last = (*engine)->store().LastSeq();
  auto retry = (*engine)->Execute(Credit{.idempotency_key = "c-ann-1", .member = Id("ann"), .amount = Points(1000)});
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kDataLoss) << retry.status();
  EXPECT_NE(retry.status().message().find("which is not that command's"), absl::string_view::npos) << retry.status();
  engine->reset();
  Sql(path_, "UPDATE loyalty_keys SET count = 0 WHERE key = CAST('c-bob-1' AS BLOB)");
  engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  retry = (*engine)->Execute(Credit{.idempotency_key = "c-bob-1", .member = Id("bob"), .amount = Points(300)});
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kDataLoss) << retry.status();
  EXPECT_EQ((*engine)->store().LastSeq(), last);
}

// A checkpoint of an older format is not read: the open rebuilds the state
// from the first entry and replaces it with one of today's format.
TEST_F(CheckpointTest, ACheckpointOfAnOlderFormatIsReplacedFromTheEntries) {
  Sha256 digest;
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok());
    Work(**engine, "1");
    digest = (*engine)->StateDigest();
  }
  const CheckpointInfo before = Checkpoints().at(0);
  Sql(path_, "UPDATE loyalty_checkpoint_parts SET bytes = x'01' || substr(bytes, 2) WHERE part = 0");
  auto replayed = Replay(**OpenSqliteStore(path_, {.read_only = true}));
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->checkpoints, 0u);  // not compared
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_EQ((*engine)->StateDigest(), digest);
  }
  EXPECT_EQ(Checkpoints(), std::vector<CheckpointInfo>{before});
  replayed = Replay(**OpenSqliteStore(path_, {.read_only = true}));
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->checkpoints, 1u);
}

TEST_F(CheckpointTest, ADamagedCheckpointRefusesTheOpen) {
  WriteFirstRound();
  const uint64_t seq = Checkpoints().at(0).seq;
  Sql(path_, "UPDATE loyalty_checkpoint_parts SET bytes = bytes || x'00' WHERE part = 1");
  auto engine = Open();
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(engine.status().message().find(absl::StrCat("checkpoint at entry ", seq, ": ")), absl::string_view::npos)
      << engine.status();
  // Without it, the journal opens from its first entry again.
  Sql(path_, "DELETE FROM loyalty_checkpoints; DELETE FROM loyalty_checkpoint_parts;");
  EXPECT_TRUE(Open().ok());
}

// A checkpoint whose digest was recomputed over a changed state opens (an
// open trusts the latest checkpoint that matches its digest and its
// journal), and a replay from the first entry finds it.
TEST_F(CheckpointTest, AForgedCheckpointIsFoundByAFullReplay) {
  WriteFirstRound();
  const CheckpointInfo checkpoint = Checkpoints().at(0);
  // Decode it, give ann 1,000 more points in her first lot, encode again.
  absl::flat_hash_map<MemberId, MemberState> members;
  internal::ProjectionDecoder decoder([&](const MemberId& id, MemberState&& state) {
    members.emplace(id, std::move(state));
    return absl::OkStatus();
  });
  {
    auto store = OpenSqliteStore(path_, {.read_only = true});
    ASSERT_TRUE((*store)->ReadCheckpoint(checkpoint.seq, [&](absl::string_view part) { return decoder.Part(part); }).ok());
  }
  MemberState& ann = members.at(Id("ann"));
  ann.lots[0].earned = Points(ann.lots[0].earned.value() + 1000);
  ann.lots[0].remaining = Points(ann.lots[0].remaining.value() + 1000);
  ann.balance = Points(ann.balance.value() + 1000);
  absl::btree_map<MemberId, const MemberState*> ordered;
  for (const auto& [id, state] : members) ordered.emplace(id, &state);
  std::vector<std::string> parts;
  internal::Sha256Stream hash;
  internal::EncodeProjection(ordered, decoder.published(), [&](absl::string_view part) {
    hash.Update(part);
    parts.emplace_back(part);
  });
  Sql(path_, "DELETE FROM loyalty_checkpoint_parts");
  for (size_t i = 0; i < parts.size(); ++i) {
    Sql(path_, absl::StrCat("INSERT INTO loyalty_checkpoint_parts VALUES(", checkpoint.seq, ", ", i, ", x'",
                            absl::BytesToHexString(parts[i]), "')"));
  }
  Sql(path_, absl::StrCat("UPDATE loyalty_checkpoints SET digest = x'", ToHex(hash.Finish()), "'"));

  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->BalanceOf(Id("ann"))->available, Points(650 + 1000));
  auto replayed = Replay((*engine)->store());
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(std::string(replayed.status().message()),
            absl::StrCat("checkpoint at entry ", checkpoint.seq, ": it is not the state the journal's entries build"));
}

// What an open no longer reads, a replay from the first entry does: a
// link to a member's previous entry (kept outside the chain) changed
// before the checkpoint is found there, naming the entry; entries forged
// and chained again no longer match the checkpoint's chain hash.
TEST_F(CheckpointTest, DamageBeforeTheCheckpointIsFoundByAFullReplay) {
  WriteFirstRound();
  Sql(path_, "UPDATE journal SET member_prev = 0 WHERE seq = 5");
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto replayed = Replay((*engine)->store());
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(replayed.status().message().find("journal entry 5"), absl::string_view::npos) << replayed.status();
  engine->reset();
  Sql(path_, "UPDATE loyalty_checkpoints SET head_hash = zeroblob(32)");
  // The store's open starts at the checkpoint and finds its entry's hash
  // is not the one recorded; an open verifying from the first entry reaches
  // the engine, which finds the checkpoint is not of this chain.
  auto other = Open();
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("its hash is not the one its checkpoint recorded"),
            absl::string_view::npos)
      << other.status();
  other = Open({.verify_from_first_entry = true});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("it is of another journal"), absl::string_view::npos) << other.status();
}

// A journal cut back behind its checkpoint (rows and head rolled back) is
// not opened from a state it no longer has.
TEST_F(CheckpointTest, ACheckpointPastTheJournalsEndRefusesTheOpen) {
  WriteFirstRound();
  const CheckpointInfo checkpoint = Checkpoints().at(0);
  auto store = OpenSqliteStore(path_, {.read_only = true});
  const Entry earlier = *(*store)->Get(checkpoint.seq - 2);
  store->reset();
  Sql(path_, absl::StrCat("DELETE FROM journal WHERE seq > ", earlier.seq, "; UPDATE loyalty_meta SET value = '",
                          earlier.seq, ":", ToHex(earlier.hash), "' WHERE key = 'head'"));
  auto engine = Open();
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(engine.status().message().find(absl::StrCat("it ends before entry ", checkpoint.seq,
                                                        ", where it has a checkpoint")),
            absl::string_view::npos)
      << engine.status();
  engine = Open({.verify_from_first_entry = true});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(engine.status().message().find("past the journal's last entry"), absl::string_view::npos)
      << engine.status();
}

}  // namespace
}  // namespace loyalty
