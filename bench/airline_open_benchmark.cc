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
// checkpoints). BM_AirlineOpenPeakMemory opens the journal from its
// checkpoint in a child process of this binary (`--open-only PATH`), so
// that the peak is the open's alone: `peak_bytes_per_member` is the
// child's peak resident set after the open less its resident set before
// it, divided by the members.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "airline_population.h"
#include "bare_journal.h"
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
  bench::CopyWithoutCheckpoints(Journal(flights), path);
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

// The resident set of this process now, in bytes (VmRSS).
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return 0;
}

// The child's work: opens the journal at `path` from its checkpoint and
// prints "<resident bytes before> <peak resident bytes> <seconds>".
int OpenOnly(const char* path) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  const Program program = *ParseProgram(kProgram);
  const int64_t before = ResidentBytes();
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenSqliteStore(path);
  if (!store.ok()) return 1;
  auto engine = Engine::Open(*std::move(store), clock, program);
  if (!engine.ok()) return 1;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%lld %lld %.3f\n", static_cast<long long>(before), static_cast<long long>(usage.ru_maxrss) * 1024,
              took.count());
  return 0;
}

void BM_AirlineOpenPeakMemory(benchmark::State& state) {
  const std::string& path = Journal(state.range(0));
  const std::string output = path + "-peak";
  long long before = 0, peak = 0;
  double seconds = 0;
  for (auto _ : state) {
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string command = "'" + self + "' --open-only '" + path + "' > '" + output + "'";
    if (std::system(command.c_str()) != 0) {
      state.SkipWithError("the child's open failed");
      return;
    }
    std::ifstream in(output);
    in >> before >> peak >> seconds;
  }
  state.counters["peak_bytes_per_member"] = static_cast<double>(peak - before) / static_cast<double>(Members());
  state.counters["open_seconds"] = seconds;
}
BENCHMARK(BM_AirlineOpenPeakMemory)->Arg(10)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

void BM_AirlineOpenFromTheFirstEntry(benchmark::State& state) {
  Open(state, JournalWithoutCheckpoint(state.range(0)), {.read_only = true});
}
BENCHMARK(BM_AirlineOpenFromTheFirstEntry)->Arg(10)->Arg(20)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loyalty

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--open-only") == 0) return loyalty::OpenOnly(argv[2]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

