// The keyed journal: entries chained with HMAC-SHA-256 under a host key.
// A forger with write access to the SQLite file but without the key rewrites
// an entry and recomputes the chain with plain SHA-256 (or with another key,
// or strips the key record): every such history is refused, the rewrite as
// DataLoss naming the entry, the key mismatches as FailedPrecondition. A
// keyed journal round-trips through Engine::Open and replays to the live
// engine's state digest; unkeyed journals open, verify and replay without
// a key.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "journal/chain.h"
#include "journal/entry_codec.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"

namespace loyalty {
namespace {

const std::string kKey = "0123456789abcdef-host-secret-key";   // 32 bytes
const std::string kOtherKey = "fedcba9876543210-another-secret";  // 31 bytes

MemberId Id(const char* text) { return MemberId::FromValid(text); }

Program TheProgram() { return *Program::Create("keyed-1", "UTC", ExpiryTerm{0, ExpiryTerm::Round::kNone}); }

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / absl::StrCat("keyed_journal_test_", getpid(), "_", name, ".db"))
      .string();
}

class KeyedJournal : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    RemoveDb(path_);
  }
  void TearDown() override { RemoveDb(path_); }

  // A keyed journal: anna enrolled, credited 500 then 300, redeemed 200.
  void WriteJournal(const std::optional<std::string>& key) {
    auto store = OpenSqliteStore(path_, {.journal_key = key});
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(*std::move(store), clock_, TheProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = "enroll", .member = Id("anna")}).ok());
    ASSERT_TRUE((*engine)->Execute(Credit{.idempotency_key = "c1", .member = Id("anna"), .amount = Points(500),
                                          .source = "shop"}).ok());
    ASSERT_TRUE((*engine)->Execute(Credit{.idempotency_key = "c2", .member = Id("anna"), .amount = Points(300),
                                          .source = "shop"}).ok());
    ASSERT_TRUE((*engine)->Execute(Redeem{.idempotency_key = "r1", .member = Id("anna"), .amount = Points(200)})
                    .ok());
    digest_ = (*engine)->StateDigest();
  }

  // Rewrites entry `seq` (a Credited) to `amount` points and recomputes the
  // chain after it with `forger_chain`, as a forger would.
  void ForgeCredit(uint64_t seq, int64_t amount, const internal::Chain& forger_chain) {
    std::vector<Row> rows = ReadRows(path_);
    Sha256 previous{};
    std::string bytes;
    for (Row& row : rows) {
      auto entry = internal::DecodeEntry(row.entry);
      LOYALTY_CHECK(entry.ok());
      if (entry->seq == seq) {
        auto* credited = std::get_if<entries::Credited>(&entry->body);
        LOYALTY_CHECK(credited != nullptr);
        credited->amount = Points(amount);
      }
      previous = forger_chain.EncodeAndHash(previous, *entry, &bytes);
      row.entry = bytes;
      row.hash = std::string(previous.begin(), previous.end());
    }
    WriteRows(path_, rows, absl::StrCat(rows.back().seq, ":", ToHex(previous)));
  }

  FakeClock clock_{*Instant::Parse("2024-03-01T10:00:00Z")};
  std::string path_;
  Sha256 digest_{};
};

TEST_F(KeyedJournal, RoundTripThroughEngineOpenAndReplay) {
  WriteJournal(kKey);
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_TRUE(store.ok()) << store.status();
  auto engine = Engine::Open(*std::move(store), clock_, TheProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->StateDigest(), digest_);
  EXPECT_EQ((*engine)->BalanceOf(Id("anna"))->available, Points(600));  // 500 + 300 - 200
  // A retried command after the restart is a replay.
  auto again = (*engine)->Execute(Credit{.idempotency_key = "c2", .member = Id("anna"), .amount = Points(300),
                                         .source = "shop"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  // Replay with the key reaches the live digest; the chain verifies.
  auto replayed = Replay((*engine)->store(), Instant::Max(), kKey);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->state_digest, digest_);
  EXPECT_EQ(replayed->entries, 4u);
  EXPECT_EQ(VerifyChain((*engine)->store(), kKey).value_or(0), 4u);
  EXPECT_TRUE(VerifyJournal((*engine)->store(), kKey).ok());
  EXPECT_EQ((*engine)->store().HeadHash(), replayed->head);
}

TEST_F(KeyedJournal, HashesAreHmacUnderTheKeyNotPlainSha256) {
  WriteJournal(kKey);
  std::vector<Row> rows = ReadRows(path_);
  ASSERT_EQ(rows.size(), 4u);
  auto keyed = internal::Chain::For(kKey);
  ASSERT_TRUE(keyed.ok());
  Sha256 previous{};
  for (const Row& row : rows) {
    Sha256 plain = internal::ChainHash(previous, row.entry);
    Sha256 mac = keyed->Hash(previous, row.entry);
    EXPECT_EQ(row.hash, std::string(mac.begin(), mac.end())) << "entry " << row.seq;
    EXPECT_NE(row.hash, std::string(plain.begin(), plain.end())) << "entry " << row.seq;
    previous = mac;
  }
}

TEST_F(KeyedJournal, HmacMatchesTheRfc4231TestVector) {
  // RFC 4231 test case 3: key 20 x 0xaa, data 50 x 0xdd, split here into
  // the 32-byte previous hash and 18 bytes of entry.
  auto rfc = internal::Chain::For(std::string(20, '\xaa'));
  ASSERT_TRUE(rfc.ok());
  Sha256 previous;
  previous.fill(0xdd);
  EXPECT_EQ(ToHex(rfc->Hash(previous, std::string(18, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST_F(KeyedJournal, KeysTellApart) {
  auto a = internal::Chain::For(kKey);
  auto b = internal::Chain::For(kKey);
  auto c = internal::Chain::For(kOtherKey);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->KeyCheck(), b->KeyCheck());
  EXPECT_NE(a->KeyCheck(), c->KeyCheck());
  Sha256 zero{};
  EXPECT_EQ(a->Hash(zero, "entry"), b->Hash(zero, "entry"));
  EXPECT_NE(a->Hash(zero, "entry"), c->Hash(zero, "entry"));
  EXPECT_NE(a->Hash(zero, "entry"), a->Hash(zero, "entrz"));
  EXPECT_FALSE(internal::Chain().KeyCheck().has_value());
}

TEST_F(KeyedJournal, ForgerRecomputingPlainSha256IsDetected) {
  WriteJournal(kKey);
  ForgeCredit(3, 50000, internal::Chain());  // entry 3: credit 500 -> 50000
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  // The first entry the forger rehashed is entry 1 (all were rehashed with
  // plain SHA-256): the keyed check fails there, and names it.
  EXPECT_NE(store.status().message().find("journal entry 1: modified"), std::string::npos) << store.status();
  auto verified = VerifyJournalFile(path_, kKey);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->fault, JournalFault::kModified);
  EXPECT_EQ(verified->bad_seq, 1u);
}

TEST_F(KeyedJournal, ForgerKeepingTheKeyedPrefixIsDetectedAtTheEntry) {
  // A smarter forger keeps entries 1-2 with their keyed hashes and rewrites
  // from entry 3 on: the check names entry 3.
  WriteJournal(kKey);
  std::vector<Row> rows = ReadRows(path_);
  Sha256 previous;
  std::copy(rows[1].hash.begin(), rows[1].hash.end(), previous.begin());
  std::string bytes;
  for (size_t i = 2; i < rows.size(); ++i) {
    auto entry = internal::DecodeEntry(rows[i].entry);
    ASSERT_TRUE(entry.ok());
    if (auto* credited = std::get_if<entries::Credited>(&entry->body)) credited->amount = Points(30000);
    previous = internal::EncodeAndHash(previous, *entry, &bytes);
    rows[i].entry = bytes;
    rows[i].hash = std::string(previous.begin(), previous.end());
  }
  WriteRows(path_, rows, absl::StrCat(rows.back().seq, ":", ToHex(previous)));
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("journal entry 3: modified"), std::string::npos) << store.status();
}

TEST_F(KeyedJournal, ForgerWithAnotherKeyIsDetected) {
  WriteJournal(kKey);
  auto forger = internal::Chain::For(kOtherKey);
  ASSERT_TRUE(forger.ok());
  ForgeCredit(3, 50000, *forger);
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
}

TEST_F(KeyedJournal, ForgerStrippingTheKeyRecordIsRefusedByTheKeyedHost) {
  // The forger turns the journal into an unkeyed one: plain chain, schema
  // version 1, no key record. The host, opening with its key, is refused.
  WriteJournal(kKey);
  ForgeCredit(3, 50000, internal::Chain());
  ASSERT_TRUE(Sql(path_, "UPDATE loyalty_meta SET value = '1' WHERE key = 'schema_version';"
                         "DELETE FROM loyalty_meta WHERE key IN ('chain', 'key_check');")
                  .ok());
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("is not a keyed journal"), std::string::npos) << store.status();
}

TEST_F(KeyedJournal, OpeningWithoutTheKeyIsFailedPrecondition) {
  WriteJournal(kKey);
  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("is a keyed journal"), std::string::npos) << store.status();
  // Also for inspection.
  auto inspected = VerifyJournalFile(path_);
  EXPECT_EQ(inspected.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyedJournal, OpeningWithAWrongKeyIsFailedPrecondition) {
  WriteJournal(kKey);
  auto store = OpenSqliteStore(path_, {.journal_key = kOtherKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("is not the journal's key"), std::string::npos) << store.status();
  EXPECT_EQ(VerifyJournalFile(path_, kOtherKey).status().code(), absl::StatusCode::kFailedPrecondition);
  // The file is untouched: the right key still opens it with its state.
  auto reopened = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto engine = Engine::Open(*std::move(reopened), clock_, TheProgram());
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ((*engine)->StateDigest(), digest_);
}

TEST_F(KeyedJournal, OpeningAnUnkeyedJournalWithAKeyIsFailedPrecondition) {
  WriteJournal(std::nullopt);
  auto store = OpenSqliteStore(path_, {.journal_key = kKey});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_NE(store.status().message().find("is not a keyed journal"), std::string::npos);
  // The unkeyed default opens without a key and records no key check.
  auto plain = OpenSqliteStore(path_);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE((*plain)->KeyCheck().has_value());
  EXPECT_EQ(VerifyChain(**plain).value_or(0), 4u);
  EXPECT_EQ(VerifyChain(**plain, kKey).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerifyJournal(**plain, kKey).fault, JournalFault::kKeyMismatch);
}

TEST_F(KeyedJournal, KeyedFileRecordsSchemaVersionFiveKeyCheckAndHeadMac) {
  WriteJournal(kKey);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto meta = [&](const char* key) {
    sqlite3_stmt* select = nullptr;
    LOYALTY_CHECK(sqlite3_prepare_v2(db, "SELECT value FROM loyalty_meta WHERE key = ?", -1, &select, nullptr) ==
                  SQLITE_OK);
    sqlite3_bind_text(select, 1, key, -1, SQLITE_STATIC);
    std::string value = sqlite3_step(select) == SQLITE_ROW
                            ? reinterpret_cast<const char*>(sqlite3_column_text(select, 0))
                            : "(none)";
    sqlite3_finalize(select);
    return value;
  };
  EXPECT_EQ(meta("schema_version"), "5");
  EXPECT_EQ(meta("chain"), "hmac-sha256");
  EXPECT_EQ(meta("key_check"), ToHex(*internal::Chain::For(kKey)->KeyCheck()));
  const std::string head = meta("head");
  auto parsed = JournalHead::Parse(head);
  ASSERT_TRUE(parsed.ok()) << head;
  EXPECT_NE(parsed->seq, 0u);
  EXPECT_EQ(meta("head_mac"), ToHex(*internal::Chain::For(kKey)->HeadMac(parsed->seq, parsed->hash)));
  sqlite3_close(db);
}

TEST_F(KeyedJournal, ShortKeyIsInvalidArgument) {
  auto store = OpenSqliteStore(path_, {.journal_key = std::string("too-short")});
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("journal_key"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path_));  // nothing created
  EXPECT_EQ(NewKeyedMemoryStore("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyedMemoryStore, VerifiesOnlyWithItsKey) {
  auto store = NewKeyedMemoryStore(kKey);
  ASSERT_TRUE(store.ok());
  FakeClock clock(*Instant::Parse("2024-03-01T10:00:00Z"));
  auto engine = Engine::Open(*std::move(store), clock, TheProgram());
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = "e", .member = Id("bob")}).ok());
  ASSERT_TRUE(
      (*engine)->Execute(Credit{.idempotency_key = "c", .member = Id("bob"), .amount = Points(70), .source = "x"}).ok());
  EXPECT_EQ(VerifyChain((*engine)->store(), kKey).value_or(0), 2u);
  EXPECT_EQ(VerifyChain((*engine)->store()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerifyChain((*engine)->store(), kOtherKey).status().code(), absl::StatusCode::kFailedPrecondition);
  JournalVerification wrong = VerifyJournal((*engine)->store(), kOtherKey);
  EXPECT_EQ(wrong.fault, JournalFault::kKeyMismatch);
  EXPECT_EQ(JournalFaultName(wrong.fault), "key mismatch");
  auto replayed = Replay((*engine)->store(), Instant::Max(), kKey);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->state_digest, (*engine)->StateDigest());
  EXPECT_EQ(Replay((*engine)->store()).status().code(), absl::StatusCode::kFailedPrecondition);
  // Re-rating verifies the same way.
  auto rerated = Rerate((*engine)->store(), TheProgram(), kKey);
  ASSERT_TRUE(rerated.ok()) << rerated.status();
  EXPECT_EQ(rerated->state_digest, (*engine)->StateDigest());
  EXPECT_EQ(Rerate((*engine)->store(), TheProgram()).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace loyalty
