// Checkpoints of the engine's projection in a PostgreSQL journal: an open
// starts from the latest one and loads the keys before it from the
// database, so that an old retry is still answered; the checkpoint's entry
// must carry the hash it recorded; engines sharing the journal share its
// checkpoints; old ones are deleted; a replay from the first entry checks
// every checkpoint kept and the keys.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/store.h"
#include "store_fixture.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

class PostgresCheckpointTest : public ::testing::Test {
 protected:
  PostgresCheckpointTest() : conninfo_(FreshPostgres()), clock_(At("2011-01-10T12:00:00Z")) {}

  absl::StatusOr<std::unique_ptr<Engine>> Open(EngineOptions options = {}) {
    auto store = OpenPostgresStore(conninfo_);
    if (!store.ok()) return store.status();
    return Engine::Open(*std::move(store), clock_,
                        *Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter}), options);
  }

  // Seven commands of `member`, keyed by `round`: earn, spend, hold.
  static void Work(Engine& engine, const std::string& member, const std::string& round) {
    auto run = [&](const Command& command) {
      auto receipt = engine.Execute(command);
      EXPECT_TRUE(receipt.ok()) << receipt.status();
    };
    const MemberId id = MemberId::FromValid(member);
    if (round == "1") run(Enroll{.idempotency_key = "e-" + member, .member = id, .at = At("2011-01-01T00:00:00Z")});
    for (const char* step : {"a", "b", "c", "d"}) {
      run(Credit{.idempotency_key = absl::StrCat("c-", member, "-", round, step), .member = id, .amount = Points(500)});
    }
    run(Redeem{.idempotency_key = absl::StrCat("r-", member, "-", round), .member = id, .amount = Points(200)});
    run(PlaceHold{.idempotency_key = absl::StrCat("h-", member, "-", round), .member = id, .amount = Points(100),
                  .ttl = absl::Hours(5)});
  }

  // Ann's first round (entries 1 to 7), then a clean shutdown, whose
  // checkpoint is at entry 7.
  void WriteFirstRound() {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    Work(**engine, "ann", "1");
  }

  std::vector<CheckpointInfo> Checkpoints() {
    auto store = OpenPostgresStore(conninfo_);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    auto checkpoints = (*store)->Checkpoints();
    EXPECT_TRUE(checkpoints.ok()) << checkpoints.status();
    return checkpoints.ok() ? *checkpoints : std::vector<CheckpointInfo>{};
  }

  std::string conninfo_;
  FakeClock clock_;
};

TEST_F(PostgresCheckpointTest, OpenStartsFromTheLatestCheckpointAndAnswersAnOldRetry) {
  Sha256 digest;
  {
    auto engine = Open();
    ASSERT_TRUE(engine.ok()) << engine.status();
    Work(**engine, "ann", "1");
    ASSERT_TRUE((*engine)->SaveCheckpoint().ok());
    Work(**engine, "ann", "2");
    digest = (*engine)->StateDigest();
  }
  // The clean shutdown saved a second one at the last entry.
  std::vector<CheckpointInfo> saved = Checkpoints();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].seq, 7u);
  EXPECT_EQ(saved[1].seq, 13u);
  EXPECT_EQ(saved[1].digest, digest);

  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->StateDigest(), digest);
  // A retry of a command before the checkpoint: its key was loaded from
  // loyalty_keys, and its receipt read back from the journal.
  auto retry = (*engine)->Execute(Credit{.idempotency_key = "c-ann-1a", .member = Id("ann"), .amount = Points(500)});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed);
  ASSERT_EQ(retry->entries.size(), 1u);
  EXPECT_EQ(retry->entries[0].seq, 2u);
  auto other = (*engine)->Execute(Credit{.idempotency_key = "c-ann-1a", .member = Id("ann"), .amount = Points(501)});
  EXPECT_TRUE(absl::IsAlreadyExists(other.status())) << other.status();
  EXPECT_EQ((*engine)->StateDigest(), digest);

  auto replayed = Replay((*engine)->store());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->checkpoints, 2u);
  EXPECT_EQ(replayed->state_digest, digest);
}

// The open trusts the checkpoint for the entries before it (as the SQLite
// store does): damage there is found by a replay from the first entry.
TEST_F(PostgresCheckpointTest, DamageBeforeTheCheckpointIsFoundByAReplay) {
  WriteFirstRound();
  PostgresSql("UPDATE loyalty_journal SET hash = decode(repeat('ab', 32), 'hex') WHERE seq = 3");
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto replayed = Replay((*engine)->store());
  EXPECT_TRUE(absl::IsDataLoss(replayed.status())) << replayed.status();
  EXPECT_NE(replayed.status().message().find("entry 3"), std::string::npos) << replayed.status();
}

TEST_F(PostgresCheckpointTest, TheCheckpointsEntryMustCarryTheHashItRecorded) {
  WriteFirstRound();
  PostgresSql("UPDATE loyalty_checkpoints SET head_hash = decode(repeat('00', 32), 'hex')");
  auto store = OpenPostgresStore(conninfo_);
  EXPECT_TRUE(absl::IsDataLoss(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("entry 7: its hash is not the one its checkpoint recorded"),
            std::string::npos)
      << store.status();
}

TEST_F(PostgresCheckpointTest, AJournalCutBackBeforeItsCheckpointIsRefused) {
  WriteFirstRound();
  PostgresSql(
      "DELETE FROM loyalty_journal WHERE seq > 5; DELETE FROM loyalty_keys WHERE first_seq > 5;"
      "UPDATE loyalty_head SET seq = 5, hash = (SELECT hash FROM loyalty_journal WHERE seq = 5)");
  auto store = OpenPostgresStore(conninfo_);
  EXPECT_TRUE(absl::IsDataLoss(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("it ends before entry 7, where it has a checkpoint"), std::string::npos)
      << store.status();
}

// A key row that names other entries than its command's: a retry is
// DataLoss (never a wrong receipt), and a replay finds the index does not
// match the entries.
TEST_F(PostgresCheckpointTest, ADamagedKeyRowIsFound) {
  WriteFirstRound();
  PostgresSql("UPDATE loyalty_keys SET first_seq = 3 WHERE key = 'c-ann-1a'");
  auto engine = Open();
  ASSERT_TRUE(engine.ok()) << engine.status();
  auto retry = (*engine)->Execute(Credit{.idempotency_key = "c-ann-1a", .member = Id("ann"), .amount = Points(500)});
  EXPECT_TRUE(absl::IsDataLoss(retry.status())) << retry.status();
  auto replayed = Replay((*engine)->store());
  EXPECT_TRUE(absl::IsDataLoss(replayed.status())) << replayed.status();
  EXPECT_NE(replayed.status().message().find("the index of idempotency keys"), std::string::npos)
      << replayed.status();
}

TEST_F(PostgresCheckpointTest, AKeyRowPastTheCheckpointIsRefusedAtOpen) {
  WriteFirstRound();
  PostgresSql("UPDATE loyalty_keys SET count = 4 WHERE key = 'r-ann-1'");  // entries 6 to 9 of 7
  auto store = OpenPostgresStore(conninfo_);
  EXPECT_TRUE(absl::IsDataLoss(store.status())) << store.status();
  EXPECT_NE(store.status().message().find("r-ann-1"), std::string::npos) << store.status();
}

// Two engines share the journal and its checkpoints: one saved by either
// counts for both, and only the newest `checkpoints_kept` stay. A third
// engine opens from the latest to the state a replay builds.
TEST_F(PostgresCheckpointTest, EnginesSharingAJournalShareItsCheckpoints) {
  const EngineOptions options{.checkpoint_every = 10, .checkpoints_kept = 2};
  {
    auto first = Open(options);
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = Open(options);
    ASSERT_TRUE(second.ok()) << second.status();
    for (const char* round : {"1", "2", "3"}) {
      Work(**first, "ann", round);
      Work(**second, "bob", round);
    }
  }
  std::vector<CheckpointInfo> kept = Checkpoints();
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1].seq, 2u * (1 + 3 * 6));  // the last entry

  auto third = Open(options);
  ASSERT_TRUE(third.ok()) << third.status();
  auto replayed = Replay((*third)->store());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->checkpoints, 2u);
  EXPECT_EQ(replayed->state_digest, (*third)->StateDigest());
  EXPECT_EQ(*(*third)->BalanceOf(Id("bob")), (Balance{Points(3 * 1700), Points(300), Points(0)}));
}

}  // namespace
}  // namespace loyalty
