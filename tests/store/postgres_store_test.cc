// The PostgreSQL store against a real server (started by ctest through
// scripts/postgres-test-server, named by LOYALTY_POSTGRES): schema creation
// and version check, damage detection, reconnection, two instances sharing one journal
// (Aborted, catch-up, keys unique across them), OpenStore's schemes, and
// several processes with their own engines over one database.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "loyalty/loyalty.h"
#include "store_fixture.h"
#include "test_seed.h"

namespace loyalty {
namespace {

std::unique_ptr<Store> Open() {
  auto store = OpenPostgresStore(PostgresConninfo());
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

absl::Status AppendOne(Store& store, uint64_t seq, const std::string& key, int64_t amount) {
  std::vector<Entry> one = {Credited(seq, key, amount)};
  return store.Append(one);
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { DropPostgresJournal(); }
};

TEST_F(PostgresStoreTest, ReopensWithKeysAndHead) {
  Sha256 head;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    std::vector<Entry> batch = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "b", 30)};
    ASSERT_TRUE(store->Append(batch).ok());
    head = store->HeadHash();
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LastSeq(), 3u);
  EXPECT_EQ(store->HeadHash(), head);
  auto key = store->FindKey("b");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->first, 2u);
  EXPECT_EQ(key->count, 2u);
  EXPECT_EQ(std::get<entries::Credited>(store->Get(3)->body).amount, Points(30));
  EXPECT_EQ(*VerifyChain(*store), 3u);
}

TEST_F(PostgresStoreTest, RefusesNewerSchemaAndForeignTables) {
  ASSERT_NE(Open(), nullptr);
  PostgresSql("UPDATE loyalty_meta SET value = '3' WHERE key = 'schema_version'");
  auto newer = OpenPostgresStore(PostgresConninfo());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("schema version 3"), std::string::npos) << newer.status();
  DropPostgresJournal();
  PostgresSql("CREATE TABLE loyalty_journal(x integer)");
  auto foreign = OpenPostgresStore(PostgresConninfo());
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kFailedPrecondition) << foreign.status();
}

// A journal of schema version 1 (before Entry::member_prev) is migrated to
// version 2 on open: the column added and each member's entries linked.
TEST_F(PostgresStoreTest, MigratesVersionOneByLinkingEachMembersEntries) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    std::vector<Entry> batch = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "c", 30),
                                Credited(4, "d", 40)};
    batch[1].member = MemberId::FromValid("M-2");
    ASSERT_TRUE(store->Append(batch).ok());
  }
  PostgresSql("ALTER TABLE loyalty_journal DROP COLUMN member_prev;"
              "UPDATE loyalty_meta SET value = '1' WHERE key = 'schema_version'");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<uint64_t> links;
  ASSERT_TRUE(store->Read(1, [&](const Entry& e) {
                     links.push_back(e.member_prev);
                     return absl::OkStatus();
                   }).ok());
  // M-1: entries 1, 3, 4; M-2: entry 2.
  EXPECT_EQ(links, (std::vector<uint64_t>{0, 0, 1, 3}));
  std::vector<Entry> next = {Credited(5, "e", 50)};
  next[0].member_prev = 4;
  ASSERT_TRUE(store->Append(next).ok());
  EXPECT_EQ(Open()->Get(5)->member_prev, 4u);
}

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailable) {
  auto store = OpenPostgresStore("postgresql:///loyalty?host=/nonexistent-directory");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

TEST_F(PostgresStoreTest, DetectsModifiedAndTruncatedJournal) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (uint64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(AppendOne(*store, seq, absl::StrCat("k", seq), 100).ok());
  }
  // Entry 3 given entry 2's hash.
  PostgresSql("UPDATE loyalty_journal SET hash = (SELECT hash FROM loyalty_journal WHERE seq = 2) WHERE seq = 3");
  auto modified = OpenPostgresStore(PostgresConninfo());
  EXPECT_EQ(modified.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(modified.status().message().find("entry 3: modified"), std::string::npos) << modified.status();
  DropPostgresJournal();
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (uint64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(AppendOne(*store, seq, absl::StrCat("k", seq), 100).ok());
  }
  PostgresSql("DELETE FROM loyalty_journal WHERE seq = 5");
  auto truncated = OpenPostgresStore(PostgresConninfo());
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(truncated.status().message().find("entry 5: missing"), std::string::npos) << truncated.status();
}

TEST_F(PostgresStoreTest, ReconnectsAfterLosingItsConnection) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendOne(*store, 1, "a", 10).ok());
  PostgresSql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
      " AND pid <> pg_backend_pid()");
  // The first use finds the connection dead (Unavailable, nothing written);
  // the next connects again.
  absl::Status status = AppendOne(*store, 2, "b", 20);
  if (!status.ok()) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_EQ(store->LastSeq(), 1u);
    status = AppendOne(*store, 2, "b", 20);
  }
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Open()->LastSeq(), 2u);
}

TEST_F(PostgresStoreTest, OvertakenWriterIsAbortedUntilItCatchesUp) {
  auto first = Open();
  auto second = Open();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(AppendOne(*first, 1, "a", 10).ok());
  absl::Status stale = AppendOne(*second, 1, "b", 20);
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  EXPECT_EQ(second->LastSeq(), 0u);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(second
                  ->CatchUp([&](const Entry& entry) {
                    seen.push_back(entry.seq);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(seen, std::vector<uint64_t>{1});
  EXPECT_EQ(second->HeadHash(), first->HeadHash());
  ASSERT_TRUE(second->FindKey("a").has_value());
  ASSERT_TRUE(AppendOne(*second, 2, "b", 20).ok());
  // The first instance sees "b" only once it has caught up.
  EXPECT_FALSE(first->FindKey("b").has_value());
  ASSERT_TRUE(first->CatchUp([](const Entry&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(first->FindKey("b")->first, 2u);
  EXPECT_EQ(*VerifyChain(*first), 2u);
  // A key already in the database is refused even by the unique constraint.
  EXPECT_EQ(AppendOne(*first, 3, "a", 1).code(), absl::StatusCode::kAlreadyExists);
}

Program TestProgram() {
  return *Program::Create("pg-1", "Europe/Berlin", ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
}

Instant Start() { return *Instant::Parse("2011-01-03T09:00:00Z"); }

TEST_F(PostgresStoreTest, TwoEnginesShareMembersAndKeys) {
  FakeClock clock(Start());
  auto a = Engine::Open(Open(), clock, TestProgram());
  auto b = Engine::Open(Open(), clock, TestProgram());
  ASSERT_TRUE(a.ok() && b.ok());
  MemberId id = MemberId::FromValid("M-1");
  ASSERT_TRUE((*a)->Execute(Enroll{.idempotency_key = "enroll", .member = id}).ok());
  Credit credit{.idempotency_key = "c1", .member = id, .amount = Points(500), .source = "flight"};
  auto original = (*a)->Execute(credit);
  ASSERT_TRUE(original.ok()) << original.status();
  // b has not read a's entries: it is overtaken, catches up, and finds the key.
  auto again = (*b)->Execute(credit);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->entries, original->entries);
  credit.amount = Points(1);
  EXPECT_EQ((*b)->Execute(credit).status().code(), absl::StatusCode::kAlreadyExists);
  auto spent = (*b)->Execute(Redeem{.idempotency_key = "r1", .member = id, .amount = Points(200), .reason = "x"});
  ASSERT_TRUE(spent.ok()) << spent.status();
  EXPECT_EQ((*b)->BalanceOf(id)->available, Points(300));
  // a decides the next redemption on b's entry, not on its stale 500.
  auto too_much =
      (*a)->Execute(Redeem{.idempotency_key = "r2", .member = id, .amount = Points(400), .reason = "x"});
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition) << too_much.status();
  EXPECT_EQ((*a)->BalanceOf(id)->available, Points(300));
  EXPECT_EQ((*a)->StateDigest(), (*b)->StateDigest());
}

TEST(OpenStoreTest, PicksTheStoreByScheme) {
  DropPostgresJournal();
  auto memory = OpenStore("memory:");
  ASSERT_TRUE(memory.ok());
  EXPECT_EQ((*memory)->LastSeq(), 0u);
  std::string path = ::testing::TempDir() + "/open_store.db";
  std::filesystem::remove(path);
  auto sqlite = OpenStore("sqlite:" + path);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  EXPECT_TRUE(std::filesystem::exists(path));
  auto postgres = OpenStore(PostgresConninfo());
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  ASSERT_TRUE(AppendOne(**postgres, 1, "a", 1).ok());
  EXPECT_EQ(Open()->LastSeq(), 1u);  // it is the database's journal
  EXPECT_EQ(OpenStore("ftp://journal").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("sqlite:").status().code(), absl::StatusCode::kInvalidArgument);
}

// Several processes, each with its own engine and connection, credit and
// redeem for the same few members, repeating some commands under their key.
// Each child writes the commands acknowledged as new ("<key> <signed
// amount>") to its own file; the parent then checks the database against
// those lists.
constexpr int kProcesses = 4;
constexpr int kMembers = 5;
constexpr int kCommandsPerProcess = 120;

MemberId Member(int i) { return MemberId::FromValid(absl::StrFormat("P-%02d", i)); }

// The child's work; returns its exit code.
int RunChild(int index, const std::string& out_path, uint64_t seed) {
  FakeClock clock(Start());
  auto store = OpenPostgresStore(PostgresConninfo());
  if (!store.ok()) return 10;
  auto engine = Engine::Open(*std::move(store), clock, TestProgram());
  if (!engine.ok()) return 11;
  std::ofstream out(out_path);
  std::mt19937_64 random(seed);
  std::optional<Command> previous;
  for (int n = 0; n < kCommandsPerProcess; ++n) {
    Command command;
    if (previous && random() % 5 == 0) {
      command = *previous;  // a client retrying a request it sent before
    } else {
      std::string key = absl::StrCat("p", index, "-", n);
      MemberId member = Member(static_cast<int>(random() % kMembers));
      int64_t amount = static_cast<int64_t>(random() % 100) + 1;
      if (random() % 2 == 0) {
        command = Credit{.idempotency_key = key, .member = member, .amount = Points(amount), .source = "test"};
      } else {
        command = Redeem{.idempotency_key = key, .member = member, .amount = Points(amount), .reason = "test"};
      }
    }
    previous = command;
    auto receipt = (*engine)->Execute(command);
    // The engine retried already; a client may try again, or give up.
    for (int retry = 0; retry < 3 && absl::IsAborted(receipt.status()); ++retry) receipt = (*engine)->Execute(command);
    if (absl::IsAborted(receipt.status())) continue;  // not acknowledged: must not be in the journal
    if (receipt.ok()) {
      if (receipt->replayed) continue;
      if (const auto* credit = std::get_if<Credit>(&command)) {
        out << credit->idempotency_key << " " << credit->amount.value() << "\n";
      } else {
        const auto& redeem = std::get<Redeem>(command);
        out << redeem.idempotency_key << " " << -redeem.amount.value() << "\n";
      }
    } else if (!absl::IsFailedPrecondition(receipt.status())) {  // too few points is expected
      std::fprintf(stderr, "process %d command %d: %s\n", index, n, std::string(receipt.status().message()).c_str());
      return 12;
    }
  }
  out.close();
  return out ? 0 : 13;
}

TEST(PostgresMultiProcessTest, EnginesInSeveralProcessesKeepOneLedger) {
  DropPostgresJournal();
  FakeClock clock(Start());
  {
    auto engine = Engine::Open(*OpenPostgresStore(PostgresConninfo()), clock, TestProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    for (int i = 0; i < kMembers; ++i) {
      ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = absl::StrCat("enroll-", i), .member = Member(i)}).ok());
    }
  }
  const uint64_t seed = TestSeed("LOYALTY_TEST_SEED");
  std::printf("seed %llu (set LOYALTY_TEST_SEED to repeat)\n", static_cast<unsigned long long>(seed));
  std::vector<pid_t> children;
  std::vector<std::string> outputs;
  for (int p = 0; p < kProcesses; ++p) {
    outputs.push_back(absl::StrCat(::testing::TempDir(), "/pg_multiprocess_", getpid(), "_", p));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(RunChild(p, outputs.back(), seed + static_cast<uint64_t>(p)));
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child " << pid << " failed (see its message above); seed " << seed;
  }
  // What the processes were told was done.
  std::map<std::string, int64_t> acknowledged;
  int64_t net = 0;
  for (const std::string& path : outputs) {
    std::ifstream in(path);
    std::string key;
    int64_t amount;
    while (in >> key >> amount) {
      EXPECT_TRUE(acknowledged.emplace(key, amount).second) << key << " acknowledged twice";
      net += amount;
    }
    std::filesystem::remove(path);
  }
  ASSERT_FALSE(acknowledged.empty());

  auto engine = Engine::Open(*OpenPostgresStore(PostgresConninfo()), clock, TestProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Store& store = (*engine)->store();
  // Every command in the journal was acknowledged once, and vice versa.
  std::set<std::string> journaled;
  ASSERT_TRUE(store
                  .Read(1,
                        [&](const Entry& entry) {
                          if (entry.idempotency_key.rfind("enroll-", 0) != 0) journaled.insert(entry.idempotency_key);
                          return absl::OkStatus();
                        })
                  .ok());
  std::set<std::string> acknowledged_keys;
  for (const auto& [key, amount] : acknowledged) acknowledged_keys.insert(key);
  EXPECT_EQ(journaled, acknowledged_keys);
  // Balances equal the sum of the lots, and all together the acknowledged net.
  int64_t total = 0;
  for (int i = 0; i < kMembers; ++i) {
    auto state = (*engine)->Snapshot(Member(i));
    ASSERT_TRUE(state.ok());
    int64_t lots = 0;
    for (const Lot& lot : state->lots) lots += lot.remaining.value();
    EXPECT_EQ(state->balance.value(), lots) << Member(i).value();
    EXPECT_GE(state->balance.value(), 0);
    total += state->balance.value();
  }
  EXPECT_EQ(total, net);
  auto chain = VerifyChain(store);
  ASSERT_TRUE(chain.ok()) << chain.status();
  auto replayed = Replay(store);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->state_digest, (*engine)->StateDigest());
  EXPECT_EQ(replayed->entries, *chain);
}

// Two writing processes over members with long histories (more entries
// than a store keeps in memory, so that reading a member back would take a
// query per entry): each overtaken batch is decided again on the other's
// entries, and both keep acknowledging commands for the whole run.
constexpr int kHistoryMembers = 10;
constexpr int kHistoryPerMember = 7000;  // 70,000 entries in all
constexpr auto kWritersRun = std::chrono::seconds(10);

// A writer's work: batches of credits over every member for kWritersRun;
// writes the number of batches acknowledged to `out_path`.
int WriteForAWhile(int index, const std::string& out_path) {
  FakeClock clock(Start());
  auto store = OpenPostgresStore(PostgresConninfo());
  if (!store.ok()) return 10;
  auto engine = Engine::Open(*std::move(store), clock, TestProgram());
  if (!engine.ok()) return 11;
  int acknowledged = 0;
  const auto end = std::chrono::steady_clock::now() + kWritersRun;
  for (int n = 0; std::chrono::steady_clock::now() < end; ++n) {
    std::vector<Command> batch;
    for (int i = 0; i < kHistoryMembers; ++i) {
      batch.push_back(Credit{.idempotency_key = absl::StrCat("w", index, "-", n, "-", i), .member = Member(i),
                             .amount = Points(1), .source = "test"});
    }
    auto results = (*engine)->ExecuteBatch(batch);
    if (results.front().ok()) {
      ++acknowledged;
    } else if (!absl::IsAborted(results.front().status())) {
      std::fprintf(stderr, "writer %d: %s\n", index, std::string(results.front().status().message()).c_str());
      return 12;
    }
  }
  std::ofstream(out_path) << acknowledged << "\n";
  return 0;
}

TEST(PostgresMultiProcessTest, TwoWritersOverLongHistoriesBothMakeProgress) {
  DropPostgresJournal();
  {
    FakeClock clock(Start());
    auto engine = Engine::Open(*OpenPostgresStore(PostgresConninfo()), clock, TestProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    std::vector<Command> batch;
    for (int i = 0; i < kHistoryMembers; ++i) {
      batch.push_back(Enroll{.idempotency_key = absl::StrCat("enroll-", i), .member = Member(i)});
    }
    for (int n = 0; n < kHistoryPerMember; ++n) {
      for (int i = 0; i < kHistoryMembers; ++i) {
        batch.push_back(Credit{.idempotency_key = absl::StrCat("history-", n, "-", i), .member = Member(i),
                               .amount = Points(1), .source = "history"});
      }
      if (batch.size() >= 5000 || n + 1 == kHistoryPerMember) {
        for (const auto& result : (*engine)->ExecuteBatch(batch)) ASSERT_TRUE(result.ok()) << result.status();
        batch.clear();
      }
    }
  }
  std::vector<pid_t> writers;
  std::vector<std::string> outputs;
  for (int w = 0; w < 2; ++w) {
    outputs.push_back(absl::StrCat(::testing::TempDir(), "/pg_two_writers_", getpid(), "_", w));
    std::filesystem::remove(outputs.back());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(WriteForAWhile(w, outputs.back()));
    writers.push_back(pid);
  }
  for (size_t w = 0; w < writers.size(); ++w) {
    int status = 0;
    ASSERT_EQ(waitpid(writers[w], &status, 0), writers[w]);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "writer " << w << " failed (see its message above)";
    int acknowledged = 0;
    std::ifstream(outputs[w]) >> acknowledged;
    std::filesystem::remove(outputs[w]);
    std::printf("writer %zu: %d batches acknowledged in %lld s\n", w, acknowledged,
                static_cast<long long>(kWritersRun.count()));
    // Each writer was overtaken again and again; a writer that re-read the
    // members' histories after each refusal acknowledged one or two.
    EXPECT_GE(acknowledged, 10) << "writer " << w;
  }
  auto store = OpenPostgresStore(PostgresConninfo());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(VerifyChain(**store).ok());
}

}  // namespace
}  // namespace loyalty
