// The journal read while it is written, cut back, rolled back or emptied:
// readers in other processes never take a journal being appended to for a
// damaged one; a rewritten head is found on a keyed journal, and a journal
// older than a recorded head receipt is reported as rolled back, keyed or
// not; one writer per SQLite file, refused when it opens; and an engine
// that cannot read its journal back after a failed append returns an
// error rather than aborting.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

const std::string kKey = "0123456789abcdef-host-secret-key";

Program TheProgram() { return *Program::Create("integrity-1", "UTC", ExpiryTerm{0, ExpiryTerm::Round::kNone}); }

MemberId Member(int i) { return MemberId::FromValid(absl::StrCat("M-", i)); }

std::string ScratchPath(const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() /
                      absl::StrCat("journal_integrity_test_", getpid(), "_", name, ".db"))
                         .string();
  RemoveDb(path);
  return path;
}

// Enrolls members 0..members-1 if `first` is 0, then credits each of them
// once under keys "<tag>-<n>-<member>", as one batch per call.
absl::Status CreditAll(Engine& engine, int members, const std::string& tag, int n) {
  std::vector<Command> batch;
  for (int i = 0; i < members; ++i) {
    if (n == 0) batch.push_back(Enroll{.idempotency_key = absl::StrCat("enroll-", i), .member = Member(i)});
    batch.push_back(Credit{.idempotency_key = absl::StrCat(tag, "-", n, "-", i), .member = Member(i),
                           .amount = Points(10 + i), .source = "test"});
  }
  for (const auto& result : engine.ExecuteBatch(batch)) {
    if (!result.ok()) return result.status();
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- live readers

// The writer process: appends a batch every few milliseconds until `stop`
// exists (or 20 s or kMaxBatches pass, so that the journal stays small
// enough to be read many times); exits non-zero if an append fails.
constexpr int kMaxBatches = 4000;

int AppendUntilStopped(const std::string& path, const std::string& stop) {
  FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
  auto store = OpenSqliteStore(path, {.synchronous = SqliteOptions::Synchronous::kNormal});
  if (!store.ok()) return 10;
  auto engine = Engine::Open(*std::move(store), clock, TheProgram());
  if (!engine.ok()) return 11;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int n = 0; n < kMaxBatches && !std::filesystem::exists(stop) && std::chrono::steady_clock::now() < deadline;
       ++n) {
    if (!CreditAll(**engine, 8, "live", n).ok()) return 12;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

// One process appends while this one opens, replays and verifies the
// journal over and over: every read is of one snapshot, so none of them
// may report damage, and each sees a journal at least as long as the one
// before.
TEST(LiveJournal, ReadersInAnotherProcessNeverSeeDamageWhileItIsAppended) {
  const std::string path = ScratchPath("live");
  const std::string stop = path + ".stop";
  std::filesystem::remove(stop);
  {
    FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
    auto engine = Engine::Open(*OpenSqliteStore(path), clock, TheProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE(CreditAll(**engine, 8, "seed", 0).ok());
  }
  pid_t writer = fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) _exit(AppendUntilStopped(path, stop));

  constexpr int kRounds = 150;
  uint64_t last_seen = 0;
  int grew = 0;  // rounds that saw more entries than the round before
  for (int round = 0; round < kRounds && !HasFailure(); ++round) {
    auto store = OpenSqliteStore(path, {.read_only = true});
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status();
    auto replayed = Replay(**store);
    ASSERT_TRUE(replayed.ok()) << "round " << round << ": " << replayed.status();
    FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
    auto reader = Engine::Open(*OpenSqliteStore(path, {.read_only = true}), clock, TheProgram());
    ASSERT_TRUE(reader.ok()) << "round " << round << ": " << reader.status();
    auto verified = VerifyJournalFile(path);
    ASSERT_TRUE(verified.ok()) << "round " << round << ": " << verified.status();
    EXPECT_TRUE(verified->ok()) << "round " << round << ": " << verified->Summary();
    EXPECT_GE(verified->entries, replayed->entries);
    if (replayed->entries > last_seen) ++grew;
    EXPECT_GE(replayed->entries, last_seen);
    last_seen = replayed->entries;
  }
  std::ofstream(stop).put('\n');
  int status = 0;
  ASSERT_EQ(waitpid(writer, &status, 0), writer);
  std::filesystem::remove(stop);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the writer failed to append";
  // The rounds overlapped the appends (else this test proved nothing).
  EXPECT_GE(grew, 5);
  auto final_check = VerifyJournalFile(path);
  ASSERT_TRUE(final_check.ok());
  EXPECT_TRUE(final_check->ok()) << final_check->Summary();
  RemoveDb(path);
}

// ---------------------------------------------------------------- truncation and rollback

class Rollback : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    path_ = ScratchPath(absl::StrCat("rollback_", GetParam() ? "keyed" : "plain"));
    if (GetParam()) key_ = kKey;
  }
  void TearDown() override {
    RemoveDb(path_);
    RemoveDb(path_ + ".old");
  }

  // Appends `rounds` more batches under `tag`; returns the head after them.
  JournalHead Append(int rounds, const std::string& tag) {
    FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
    auto store = OpenSqliteStore(path_, {.journal_key = key_});
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return {};
    auto engine = Engine::Open(*std::move(store), clock, TheProgram());
    EXPECT_TRUE(engine.ok()) << engine.status();
    if (!engine.ok()) return {};
    const bool fresh = (*engine)->store().LastSeq() == 0;
    for (int n = 0; n < rounds; ++n) {
      EXPECT_TRUE(CreditAll(**engine, 3, tag, fresh ? n : n + 1).ok());
    }
    return (*engine)->store().Head();
  }

  JournalVerification Verify(const std::optional<JournalHead>& expected = std::nullopt) {
    auto verified = VerifyJournalFile(path_, key_, expected);
    EXPECT_TRUE(verified.ok()) << verified.status();
    return verified.ok() ? *verified : JournalVerification{JournalFault::kUnreadable};
  }

  std::string path_;
  std::optional<std::string> key_;
};

// Entries cut off the end and the head record rewritten to match.
TEST_P(Rollback, CutAndHeadRewritten) {
  const JournalHead earlier = Append(2, "a");
  const JournalHead head = Append(2, "b");
  ASSERT_GT(head.seq, earlier.seq);
  ASSERT_EQ(Sql(path_, absl::StrCat("DELETE FROM journal WHERE seq > ", earlier.seq,
                                    "; UPDATE loyalty_meta SET value = '", earlier.ToString(), "' WHERE key = 'head'")),
            absl::OkStatus());
  const JournalVerification alone = Verify();
  if (GetParam()) {
    // The head's MAC was for the later head.
    EXPECT_EQ(alone.fault, JournalFault::kTruncated) << alone.Summary();
    EXPECT_NE(alone.detail.find("not authentic"), std::string::npos) << alone.detail;
    auto opened = OpenSqliteStore(path_, {.journal_key = key_, .read_only = true});
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
  } else {
    // Without a key, nothing in the file tells: the limit docs/security.md states.
    EXPECT_TRUE(alone.ok()) << alone.Summary();
  }
  const JournalVerification against = Verify(head);
  EXPECT_FALSE(against.ok());
  if (!GetParam()) {
    EXPECT_EQ(against.fault, JournalFault::kRolledBack) << against.Summary();
    EXPECT_EQ(against.bad_seq, head.seq);
    EXPECT_NE(against.detail.find("ends at entry"), std::string::npos) << against.detail;
  }
  // The receipt of a head the journal still holds passes.
  EXPECT_EQ(Verify(earlier).fault, GetParam() ? JournalFault::kTruncated : JournalFault::kNone);
  EXPECT_EQ(VerifyChain(**OpenSqliteStore(path_, {.verify_on_open = false, .journal_key = key_}), key_, head)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

// An older copy of the file put back in place: consistent in itself, keyed
// or not; only a receipt of a later head reveals it.
TEST_P(Rollback, OlderCopyRestored) {
  const JournalHead earlier = Append(2, "a");
  std::filesystem::copy_file(path_, path_ + ".old");  // closed: the WAL was checkpointed into it
  const JournalHead head = Append(2, "b");
  RemoveDb(path_);
  std::filesystem::copy_file(path_ + ".old", path_);
  EXPECT_TRUE(Verify().ok()) << Verify().Summary();
  EXPECT_TRUE(Verify(earlier).ok());
  const JournalVerification against = Verify(head);
  EXPECT_EQ(against.fault, JournalFault::kRolledBack) << against.Summary();
  EXPECT_EQ(against.bad_seq, head.seq);
  EXPECT_EQ(JournalFaultName(against.fault), "rolled back");

  // Written on from the old copy: other entries at the receipt's seq.
  const JournalHead forked = Append(2, "c");
  ASSERT_EQ(forked.seq, head.seq);
  ASSERT_NE(forked.hash, head.hash);
  const JournalVerification replaced = Verify(head);
  EXPECT_EQ(replaced.fault, JournalFault::kRolledBack) << replaced.Summary();
  EXPECT_NE(replaced.detail.find("has hash"), std::string::npos) << replaced.detail;
  EXPECT_TRUE(Verify(forked).ok());
}

// An empty file in the journal's place is no journal, never "ok, 0 entries".
TEST_P(Rollback, EmptyFile) {
  const JournalHead head = Append(1, "a");
  RemoveDb(path_);
  std::ofstream(path_).flush();
  for (const std::optional<JournalHead>& expected : {std::optional<JournalHead>(), std::optional<JournalHead>(head)}) {
    auto verified = VerifyJournalFile(path_, key_, expected);
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kNotFound) << verified.status();
    EXPECT_NE(verified.status().message().find("no journal at"), std::string::npos) << verified.status();
  }
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);  // a reader wrote nothing
  auto missing = VerifyJournalFile(path_ + ".absent", key_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_FALSE(std::filesystem::exists(path_ + ".absent"));
}

INSTANTIATE_TEST_SUITE_P(KeyedOrNot, Rollback, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Keyed" : "Plain"; });

TEST(JournalHeadReceipt, ParsesWhatItPrints) {
  JournalHead head{42, internal::Sha256Of("x"), std::nullopt};
  auto parsed = JournalHead::Parse(head.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, head);
  for (const char* bad : {"", "42", "x:00", "42:abc", "-1:00", "42:" /* no hash */}) {
    EXPECT_EQ(JournalHead::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// A keyed journal written before heads were authenticated (schema version
// 4) still opens; the first writer's open records its head's MAC.
TEST(KeyedJournalHead, VersionFourOpensAndIsUpgradedByItsWriter) {
  const std::string path = ScratchPath("version4");
  {
    auto store = OpenSqliteStore(path, {.journal_key = kKey});
    ASSERT_TRUE(store.ok()) << store.status();
  }
  ASSERT_EQ(Sql(path, "DELETE FROM loyalty_meta WHERE key = 'head_mac';"
                      "UPDATE loyalty_meta SET value = '4' WHERE key = 'schema_version'"),
            absl::OkStatus());
  auto read = VerifyJournalFile(path, kKey);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->ok()) << read->Summary();
  { ASSERT_TRUE(OpenSqliteStore(path, {.journal_key = kKey}).ok()); }
  // Upgraded: a head record without its MAC is now refused.
  ASSERT_EQ(Sql(path, "DELETE FROM loyalty_meta WHERE key = 'head_mac'"), absl::OkStatus());
  EXPECT_EQ(OpenSqliteStore(path, {.journal_key = kKey}).status().code(), absl::StatusCode::kDataLoss);
  RemoveDb(path);
}

// ---------------------------------------------------------------- one writer per file

TEST(SqliteWriterLock, SecondWriterIsRefusedWhenItOpensReadersAreNot) {
  const std::string path = ScratchPath("writers");
  auto first = OpenSqliteStore(path);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = OpenSqliteStore(path);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_NE(second.status().message().find("already open for writing"), std::string::npos) << second.status();
  auto reader = OpenSqliteStore(path, {.read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<Entry> refused;
  refused.push_back(Entry{});
  refused[0].seq = 1;
  EXPECT_EQ((*reader)->Append(refused).code(), absl::StatusCode::kFailedPrecondition);

  // Another process is refused too, at once.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto other = OpenSqliteStore(path);
    const bool refused_clearly = !other.ok() && other.status().code() == absl::StatusCode::kFailedPrecondition &&
                                 other.status().message().find(absl::StrCat("process ", getppid())) !=
                                     std::string::npos;
    _exit(refused_clearly ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the second process was not refused, or not naming the writer";

  first->reset();  // the lock goes with the store
  EXPECT_TRUE(OpenSqliteStore(path).ok());
  RemoveDb(path);
  std::filesystem::remove(path + "-lock");
}

// ---------------------------------------------------------------- a failing read is an error

// A memory journal whose appends and reads can be made to fail.
class FailingStore final : public Store {
 public:
  absl::Status Append(std::span<Entry> batch) override {
    if (fail_appends) return absl::UnavailableError("append refused by the test");
    return journal_->Append(batch);
  }
  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    if (fail_reads) return absl::UnavailableError("read refused by the test");
    return journal_->Read(from, visit);
  }
  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    if (fail_reads) return absl::UnavailableError("read refused by the test");
    return journal_->Get(seq);
  }
  std::optional<KeyRecord> FindKey(absl::string_view key) const override { return journal_->FindKey(key); }
  uint64_t LastSeq() const override { return journal_->LastSeq(); }
  Sha256 HeadHash() const override { return journal_->HeadHash(); }

  bool fail_appends = false;
  bool fail_reads = false;

 private:
  std::unique_ptr<Store> journal_ = NewMemoryStore();
};

TEST(FailedRead, AfterAFailedAppendIsAnErrorNotAnAbort) {
  FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
  auto owned = std::make_unique<FailingStore>();
  FailingStore& store = *owned;
  auto engine = Engine::Open(std::move(owned), clock, TheProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE(CreditAll(**engine, 3, "before", 0).ok());
  store.fail_appends = true;
  store.fail_reads = true;  // the members touched cannot be read back
  for (const auto& result : (*engine)->ExecuteBatch(std::vector<Command>{
           Credit{.idempotency_key = "x1", .member = Member(0), .amount = Points(5), .source = "t"},
           Credit{.idempotency_key = "x2", .member = Member(1), .amount = Points(5), .source = "t"}})) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  }
  store.fail_appends = false;
  store.fail_reads = false;
  // Its projection is no longer the journal's: it refuses to write.
  auto next = (*engine)->Execute(Credit{.idempotency_key = "x3", .member = Member(2), .amount = Points(5), .source = "t"});
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable) << next.status();
  EXPECT_NE(next.status().message().find("opened again"), std::string::npos) << next.status();
}

}  // namespace
}  // namespace loyalty
