// Audit benchmarks: the devaluation impact over the airline-scale synthetic
// population (20 million members, 198 billion miles), against the baseline
// of a plain loop summing the same 20 million int64 balances, in one binary;
// the synthetic population itself; and replay and re-rating in entries per
// second.
//
//   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target audit_benchmark
//   ./build-release/bench/audit_benchmark
//
// Targets: impact <= 2 s and <= 5x the summing loop; re-rating
// >= 1 million entries per second. The counter
// `x_sum` of BM_DevaluationImpact is that ratio, timed in the same
// iterations. LOYALTY_AUDIT_BENCH_MEMBERS overrides the population size
// and LOYALTY_AUDIT_BENCH_ENTRIES the journal of 10 million entries (the
// smoke test uses small ones).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "airline_population.h"

namespace loyalty {
namespace {

Program BenchProgram() {
  return *Program::Create("bench-1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
}

int64_t Members() { return bench::FromEnvironment("LOYALTY_AUDIT_BENCH_MEMBERS", 20'000'000); }

// Replay and re-rating read a journal of this many entries.
int64_t JournalEntries() { return bench::FromEnvironment("LOYALTY_AUDIT_BENCH_ENTRIES", 10'000'000); }

const std::vector<int64_t>& Population() { return bench::AirlineBalances(Members()); }

using bench::Change2011;

ImpactOptions Options() {
  return {.value_per_award = Money(300'000, *Currency::FromCode("EUR")),
          .as_of = *Instant::Parse("2011-01-03T00:00:00+01:00")};
}

int64_t SumOf(const std::vector<int64_t>& balances) {
  int64_t sum = 0;
  for (int64_t balance : balances) sum += balance;
  return sum;
}

// The baseline: one plain pass summing the balances.
void BM_SumBalances(benchmark::State& state) {
  const auto& balances = Population();
  for (auto _ : state) {
    benchmark::DoNotOptimize(SumOf(balances));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(balances.size()));
}
BENCHMARK(BM_SumBalances)->Unit(benchmark::kMillisecond)->UseRealTime();

// Whole-award and pool metrics, loss distribution and the grandfathering
// options; `x_sum` = its time / the summing loop's, both timed here.
void BM_DevaluationImpact(benchmark::State& state) {
  const auto& balances = Population();
  const Transition change = Change2011();
  const ImpactOptions options = Options();
  double impact_seconds = 0, sum_seconds = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto impact = ImpactOfBalances(change, balances, options);
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(impact);
    if (!impact.ok()) state.SkipWithError(std::string(impact.status().message()).c_str());
    state.PauseTiming();
    auto t2 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(SumOf(balances));
    auto t3 = std::chrono::steady_clock::now();
    state.ResumeTiming();
    impact_seconds += std::chrono::duration<double>(t1 - t0).count();
    sum_seconds += std::chrono::duration<double>(t3 - t2).count();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(balances.size()));
  state.counters["x_sum"] = impact_seconds / sum_seconds;
  state.counters["members"] = static_cast<double>(balances.size());
}
BENCHMARK(BM_DevaluationImpact)->Unit(benchmark::kMillisecond)->UseRealTime();

// Generating the population (quantiles, scaling, remainder).
void BM_SyntheticPopulation(benchmark::State& state) {
  for (auto _ : state) {
    auto balances = SyntheticBalances(bench::Airline(Members()));
    benchmark::DoNotOptimize(balances);
  }
  state.SetItemsProcessed(state.iterations() * Members());
}
BENCHMARK(BM_SyntheticPopulation)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// A journal of `entries` credits and redemptions (one in four), about 100
// per member (at least 1,000 members), written by an engine that stays open
// (its digest is the check).
const Engine& Journal(int64_t entries) {
  static auto* clock = new FakeClock(*Instant::Parse("2011-01-03T00:00:00Z"));
  static auto* journals = new std::map<int64_t, std::unique_ptr<Engine>>;
  std::unique_ptr<Engine>& engine = (*journals)[entries];
  if (engine != nullptr) return *engine;
  engine = *Engine::Open(NewMemoryStore(), *clock, BenchProgram());
  const int64_t members = std::max<int64_t>(1000, entries / 100);
  std::vector<Command> batch;
  for (int64_t i = 0; i < members; ++i) {
    batch.push_back(Enroll{"enroll-" + std::to_string(i), MemberId::FromValid("M-" + std::to_string(i)), {}});
  }
  for (int64_t n = 0; n < entries; ++n) {
    MemberId member = MemberId::FromValid("M-" + std::to_string(n % members));
    if (n % 4 == 3) {
      batch.push_back(Redeem{"r-" + std::to_string(n), member, {}, Points(10), "bench"});
    } else {
      batch.push_back(Credit{"c-" + std::to_string(n), member, {}, Points(100), "bench", {}, {}});
    }
    if (batch.size() >= 4096) {
      engine->ExecuteBatch(batch);
      batch.clear();
    }
  }
  engine->ExecuteBatch(batch);
  return *engine;
}

// Replay: read, decode, verify the chain, Apply, digest. Items are entries.
void BM_Replay(benchmark::State& state) {
  const Engine& engine = Journal(state.range(0));
  const Sha256 live = engine.StateDigest();  // outside the timing: not the replay's work
  for (auto _ : state) {
    auto replayed = Replay(engine.store());
    if (!replayed.ok() || replayed->state_digest != live) state.SkipWithError("replay differs");
    benchmark::DoNotOptimize(replayed);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(engine.store().LastSeq()));
}
BENCHMARK(BM_Replay)->Arg(JournalEntries())->Unit(benchmark::kMillisecond)->UseRealTime();

// Verification (VerifyJournal): read, decode, check the chain and the
// members' links. Items are entries.
void BM_VerifyJournal(benchmark::State& state) {
  const Engine& engine = Journal(state.range(0));
  for (auto _ : state) {
    JournalVerification verified = VerifyJournal(engine.store());
    if (!verified.ok() || verified.entries != engine.store().LastSeq()) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(verified);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(engine.store().LastSeq()));
}
BENCHMARK(BM_VerifyJournal)->Arg(JournalEntries())->Unit(benchmark::kMillisecond)->UseRealTime();

// Re-rating under the program that wrote the journal: read and verify the
// chain, apply the recorded entries, decode each recorded command, Decide it
// again, apply the new entries, compare. Items are journal entries (target:
// at least 1 million per second).
void BM_Rerate(benchmark::State& state) {
  const Engine& engine = Journal(state.range(0));
  const Program program = BenchProgram();
  const Sha256 live = engine.StateDigest();
  for (auto _ : state) {
    auto rerated = Rerate(engine.store(), program);
    if (!rerated.ok() || rerated->state_digest != live || !rerated->members_changed.empty()) {
      state.SkipWithError("re-rating differs");
    }
    benchmark::DoNotOptimize(rerated);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(engine.store().LastSeq()));
}
BENCHMARK(BM_Rerate)->Arg(JournalEntries())->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
