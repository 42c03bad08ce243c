// Restarting an airline-shaped journal on SQLite: members enrolled, then
// rounds in which each member flies one segment (award and status miles by
// distance and booking class), written in batches of 8,192 through
// ExecuteBatch. `range(0)` is the number of flights per member; the members
// are LOYALTY_AIRLINE_BENCH_MEMBERS (100,000). Each journal is written once
// per process; the engine that wrote it leaves a checkpoint at its
// shutdown. Items are journal entries.
//
//   build-release/bench/airline_open_benchmark --benchmark_min_time=1
//
// BM_AirlineOpenFromCheckpoint opens the journal as a restarted host does;
// BM_AirlineOpenFromTheFirstEntry opens a copy without its checkpoint,
// read-only, rebuilding the state from every entry (the open before
// checkpoints). Peak memory needs a process per open, and is not measured
// here.
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "airline_population.h"
#include "benchmark/benchmark.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

constexpr char kProgram[] = R"({"versions": [{
  "id": "mm-2010", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2009-12-01T00:00:00Z", "effective_from": "2010-01-01T00:00:00Z",
  "redeemable_balance": "award_miles", "counters": ["status_miles"],
  "accrual": [
    {"id": "award-miles", "when": {"activity_types": ["flight"]},
     "effect": {"kind": "per_distance", "balance": "award_miles", "minimum": 125,
                "booking_class_rates": {"J": "1.5", "Y": "1", "K": "0.25"}}},
    {"id": "status-miles", "when": {"activity_types": ["flight"]},
     "effect": {"kind": "per_distance", "balance": "status_miles", "minimum": 125,
                "booking_class_rates": {"J": "1.5", "Y": "1", "K": "0.25"}}}],
  "expiry": {"months": 36, "round": "end_of_quarter"}}]})";

int64_t Members() { return bench::FromEnvironment("LOYALTY_AIRLINE_BENCH_MEMBERS", 100'000); }

MemberId Member(int64_t i) { return MemberId::FromValid("M" + std::to_string(i)); }

// The journal of Members() members with `flights` flights each, written once.
const std::string& Journal(int64_t flights) {
  static auto* paths = new std::map<int64_t, std::string>();
  if (auto it = paths->find(flights); it != paths->end()) return it->second;
  const std::string path =
      (std::filesystem::temp_directory_path() / ("loyalty_airline_open_" + std::to_string(flights) + ".db")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  {
    auto engine = *Engine::Open(*OpenSqliteStore(path, {.synchronous = SqliteOptions::Synchronous::kNormal}), clock,
                                *ParseProgram(kProgram));
    std::vector<Command> batch;
    auto flush = [&] {
      for (const auto& result : engine->ExecuteBatch(batch)) {
        if (!result.ok()) std::abort();
      }
      batch.clear();
    };
    const Instant enrolled = *Instant::Parse("2010-01-04T00:00:00Z");
    for (int64_t i = 0; i < Members(); ++i) {
      batch.push_back(Enroll{.idempotency_key = "e" + std::to_string(i), .member = Member(i), .at = enrolled});
      if (batch.size() == 8192) flush();
    }
    for (int64_t round = 0; round < flights; ++round) {
      const Instant at = Instant::FromUnixMicros(enrolled.unix_micros() + (round + 1) * int64_t{86'400'000'000} * 30);
      for (int64_t i = 0; i < Members(); ++i) {
        FlightSegment segment{"LH", "LH" + std::to_string(400 + i % 50), "FRA", "JFK", 3851 + i % 7, "economy",
                              i % 3 == 0 ? "J" : "Y", std::nullopt};
        batch.push_back(Accrue{.idempotency_key = "f" + std::to_string(round) + "-" + std::to_string(i),
                               .member = Member(i), .at = at,
                               .activity = {"coupon-" + std::to_string(round) + "-" + std::to_string(i), segment}});
        if (batch.size() == 8192) flush();
      }
    }
    if (!batch.empty()) flush();
  }  // the engine's shutdown leaves a checkpoint
  return paths->emplace(flights, path).first->second;
}

// A copy of Journal(flights) without its checkpoint and its key index on
// disk, as journals were before them.
const std::string& JournalWithoutCheckpoint(int64_t flights) {
  static auto* paths = new std::map<int64_t, std::string>();
  if (auto it = paths->find(flights); it != paths->end()) return it->second;
  const std::string path = Journal(flights) + "-bare";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  std::filesystem::copy_file(Journal(flights), path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  if (sqlite3_exec(db,
                   "DROP TABLE IF EXISTS loyalty_checkpoints; DROP TABLE IF EXISTS loyalty_checkpoint_parts;"
                   "DROP TABLE IF EXISTS loyalty_keys; DELETE FROM loyalty_meta WHERE key = 'keys_through'",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::abort();
  }
  sqlite3_close(db);
  return paths->emplace(flights, path).first->second;
}

void Open(benchmark::State& state, const std::string& path, SqliteOptions options) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  const Program program = *ParseProgram(kProgram);
  uint64_t entries = 0;
  for (auto _ : state) {
    auto engine = Engine::Open(*OpenSqliteStore(path, options), clock, program);
    if (!engine.ok()) {
      state.SkipWithError(std::string(engine.status().message()).c_str());
      return;
    }
    entries = (*engine)->store().LastSeq();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(entries));
}

void BM_AirlineOpenFromCheckpoint(benchmark::State& state) { Open(state, Journal(state.range(0)), {}); }
BENCHMARK(BM_AirlineOpenFromCheckpoint)->Arg(10)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AirlineOpenFromTheFirstEntry(benchmark::State& state) {
  Open(state, JournalWithoutCheckpoint(state.range(0)), {.read_only = true});
}
BENCHMARK(BM_AirlineOpenFromTheFirstEntry)->Arg(10)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
