// Durable accrual on PostgreSQL: engines with group commit (ExecuteBatch of
// 100 credits per transaction) against the same number of rows written by
// plain batched INSERTs in one transaction per 100, with 1, 2 and 4 clients;
// and a restart from a checkpoint against one from the first entry.
// Each client is a thread with its own engine, store and connection (as a
// process would have); Google Benchmark measures one thread that drives
// them. Needs a server: LOYALTY_POSTGRES names it (ctest starts one, see
// scripts/postgres-test-server). Items are credits (rows) committed.
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "loyalty/loyalty.h"
#include "plain_rows.h"

namespace loyalty {
namespace {

constexpr int kMembers = 1000;
constexpr int kBatch = 100;             // commands per group commit
constexpr int kBatchesPerClient = 10;   // per iteration

const char* Conninfo() { return std::getenv("LOYALTY_POSTGRES"); }

using bench::Sql;

MemberId Member(int i) { return MemberId::FromValid(absl::StrFormat("B-%04d", i)); }

Program BenchProgram() {
  return *Program::Create("bench-1", "Europe/Berlin", ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
}

// Empties the database and enrolls the members.
bool FreshJournal(const Clock& clock) {
  PGconn* conn = PQconnectdb(Conninfo());
  bool ok = PQstatus(conn) == CONNECTION_OK &&
            Sql(conn, "SET client_min_messages = warning; DROP TABLE IF EXISTS loyalty_meta, loyalty_head, loyalty_journal, loyalty_keys, "
                      "loyalty_checkpoints, loyalty_checkpoint_parts, bench_rows, bench_keys");
  PQfinish(conn);
  if (!ok) return false;
  auto store = OpenPostgresStore(Conninfo());
  if (!store.ok()) return false;
  auto engine = Engine::Open(*std::move(store), clock, BenchProgram());
  if (!engine.ok()) return false;
  std::vector<Command> enrolls;
  for (int i = 0; i < kMembers; ++i) enrolls.push_back(Enroll{.idempotency_key = absl::StrCat("enroll-", i), .member = Member(i)});
  for (const auto& result : (*engine)->ExecuteBatch(enrolls)) {
    if (!result.ok()) return false;
  }
  return true;
}

void BM_EngineAccrueGroupCommit(benchmark::State& state) {
  if (Conninfo() == nullptr) {
    state.SkipWithError("LOYALTY_POSTGRES is not set");
    return;
  }
  const int clients = static_cast<int>(state.range(0));
  FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
  if (!FreshJournal(clock)) {
    state.SkipWithError("cannot prepare the database");
    return;
  }
  std::vector<std::unique_ptr<Engine>> engines;
  for (int c = 0; c < clients; ++c) {
    auto engine = Engine::Open(*OpenPostgresStore(Conninfo()), clock, BenchProgram());
    if (!engine.ok()) {
      state.SkipWithError(std::string(engine.status().message()).c_str());
      return;
    }
    engines.push_back(*std::move(engine));
  }
  std::atomic<int64_t> failed{0};
  int64_t round = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (int b = 0; b < kBatchesPerClient; ++b) {
          std::vector<Command> batch;
          for (int i = 0; i < kBatch; ++i) {
            std::string key = absl::StrCat("r", round, "-c", c, "-b", b, "-", i);
            batch.push_back(Credit{.idempotency_key = key, .member = Member((c * 7919 + b * kBatch + i) % kMembers),
                                   .amount = Points(10 + i), .source = "purchase"});
          }
          for (const auto& result : engines[c]->ExecuteBatch(batch)) failed += result.ok() ? 0 : 1;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ++round;
  }
  if (failed > 0) state.SkipWithError(absl::StrCat(failed.load(), " credits failed").c_str());
  state.SetItemsProcessed(state.iterations() * clients * kBatchesPerClient * kBatch);
}
BENCHMARK(BM_EngineAccrueGroupCommit)->ArgName("clients")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

// A restart on PostgreSQL: the store's and the engine's open of a journal
// of enrolments and then credits (LOYALTY_PG_OPEN_CREDITS, default
// 200,000, over the 1,000 members FreshJournal enrolls, in batches of
// 8,192), from the checkpoint the writing engine left at its shutdown
// (/from_checkpoint:1) or, with the checkpoint tables set aside, from the
// first entry (/from_checkpoint:0; that open ends by writing a
// checkpoint, which is counted). Items are the journal's entries.
void BM_PostgresOpen(benchmark::State& state) {
  if (Conninfo() == nullptr) {
    state.SkipWithError("LOYALTY_POSTGRES is not set");
    return;
  }
  static int credits = [] {
    const char* text = std::getenv("LOYALTY_PG_OPEN_CREDITS");
    return text != nullptr ? std::atoi(text) : 200'000;
  }();
  static bool written = [] {  // once per process, for both arguments
    FakeClock clock(*Instant::Parse("2011-01-10T12:00:00Z"));
    if (!FreshJournal(clock)) return false;
    auto engine = Engine::Open(*OpenPostgresStore(Conninfo()), clock, BenchProgram());
    if (!engine.ok()) return false;
    std::vector<Command> batch;
    for (int i = 0; i < credits; ++i) {
      batch.push_back(Credit{.idempotency_key = absl::StrCat("open-", i), .member = Member(i % kMembers),
                             .amount = Points(10 + i % 90), .source = "purchase"});
      if (batch.size() == 8192 || i + 1 == credits) {
        for (const auto& result : (*engine)->ExecuteBatch(batch)) {
          if (!result.ok()) return false;
        }
        batch.clear();
      }
    }
    return true;  // the engine's shutdown leaves a checkpoint of the last entry
  }();
  if (!written) {
    state.SkipWithError("cannot write the journal");
    return;
  }
  const bool from_checkpoint = state.range(0) == 1;
  PGconn* conn = PQconnectdb(Conninfo());
  auto aside = [&](bool set) {
    const char* sql = set ? "ALTER TABLE loyalty_checkpoints RENAME TO bench_checkpoints;"
                            "ALTER TABLE loyalty_checkpoint_parts RENAME TO bench_checkpoint_parts"
                          : "DROP TABLE loyalty_checkpoints, loyalty_checkpoint_parts;"
                            "ALTER TABLE bench_checkpoints RENAME TO loyalty_checkpoints;"
                            "ALTER TABLE bench_checkpoint_parts RENAME TO loyalty_checkpoint_parts";
    return Sql(conn, sql);
  };
  FakeClock clock(*Instant::Parse("2011-01-10T12:00:00Z"));
  uint64_t entries = 0;
  for (auto _ : state) {
    if (!from_checkpoint) {
      state.PauseTiming();
      if (!aside(true)) state.SkipWithError("cannot set the checkpoints aside");
      state.ResumeTiming();
    }
    auto engine = Engine::Open(*OpenPostgresStore(Conninfo()), clock, BenchProgram());
    if (!engine.ok()) {
      state.SkipWithError(std::string(engine.status().message()).c_str());
      break;
    }
    entries = (*engine)->store().LastSeq();
    state.PauseTiming();
    engine->reset();
    if (!from_checkpoint && !aside(false)) state.SkipWithError("cannot restore the checkpoints");
    state.ResumeTiming();
  }
  PQfinish(conn);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * entries));
}
BENCHMARK(BM_PostgresOpen)->ArgName("from_checkpoint")->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same rows (canonical entry bytes and hash, one key row per credit)
// written with multi-row INSERTs, one transaction per 100: what the database
// alone costs, without the engine, the chain's head lock or its retries.
void BM_PlainBatchedInsert(benchmark::State& state) {
  if (Conninfo() == nullptr) {
    state.SkipWithError("LOYALTY_POSTGRES is not set");
    return;
  }
  const int clients = static_cast<int>(state.range(0));
  {
    PGconn* conn = PQconnectdb(Conninfo());
    bool ok = PQstatus(conn) == CONNECTION_OK && bench::CreatePlainTables(conn);
    PQfinish(conn);
    if (!ok) {
      state.SkipWithError("cannot prepare the database");
      return;
    }
  }
  std::vector<PGconn*> conns;
  for (int c = 0; c < clients; ++c) conns.push_back(PQconnectdb(Conninfo()));
  std::atomic<int64_t> next_seq{0};
  std::atomic<int64_t> failed{0};
  int64_t round = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (int b = 0; b < kBatchesPerClient; ++b) {
          std::vector<Entry> entries;
          for (int i = 0; i < kBatch; ++i) {
            entries.push_back(bench::CreditEntry(static_cast<uint64_t>(++next_seq), Member((c * 7919 + b * kBatch + i) % kMembers),
                                                 absl::StrCat("r", round, "-c", c, "-b", b, "-", i), 10 + i));
          }
          Sha256 previous{};
          if (!bench::InsertPlainRows(conns[c], entries, &previous)) failed += kBatch;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ++round;
  }
  for (PGconn* conn : conns) PQfinish(conn);
  if (failed > 0) state.SkipWithError(absl::StrCat(failed.load(), " rows failed").c_str());
  state.SetItemsProcessed(state.iterations() * clients * kBatchesPerClient * kBatch);
}
BENCHMARK(BM_PlainBatchedInsert)->ArgName("clients")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
