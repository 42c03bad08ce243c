// Period-run benchmarks (members per second): the expiry run over a
// population where every member has one lot that lapses, through the engine
// (decide, encode, hash, append to the in-memory journal, apply), one run,
// and its baseline, the decisions alone.
// The period close of 1 million members is in tier_benchmark.
//
//   ./build-release/bench/period_benchmark
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/engine.h"

namespace loyalty {
namespace {

// Member i earned 100 points on 15 January 2008 and 50 on 15 June 2010;
// with lots valid 36 months to the end of the quarter, the first lapses on
// 31 March 2011 and the second is still valid when the run looks on
// 1 April 2011.
std::unique_ptr<Engine> Population(int64_t members, const Clock& clock) {
  auto engine = *Engine::Open(NewMemoryStore(), clock,
                              *Program::Create("bench-1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter}));
  std::vector<Command> batch;
  auto flush = [&] {
    for (const auto& result : engine->ExecuteBatch(batch)) {
      if (!result.ok()) std::abort();
    }
    batch.clear();
  };
  for (int64_t i = 0; i < members; ++i) {
    MemberId id = MemberId::FromValid("M-" + std::to_string(i));
    batch.push_back(Enroll{"e-" + std::to_string(i), id, *Instant::Parse("2007-12-01T10:00:00Z")});
    batch.push_back(Credit{"a-" + std::to_string(i), id, *Instant::Parse("2008-01-15T10:00:00Z"), Points(100),
                           "bench", {}, {}});
    batch.push_back(Credit{"b-" + std::to_string(i), id, *Instant::Parse("2010-06-15T10:00:00Z"), Points(50),
                           "bench", {}, {}});
    if (batch.size() >= 8192) flush();
  }
  flush();
  return engine;
}

void BM_EngineRunExpiry(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2011-04-01T00:00:00Z"));
  auto engine = Population(state.range(0), clock);
  int64_t lapsed = 0;
  for (auto _ : state) {
    auto receipt = engine->RunExpiry("expiry-2011-04", *Instant::Parse("2011-04-01T00:00:00Z"));
    if (!receipt.ok()) std::abort();
    lapsed = static_cast<int64_t>(receipt->entries.size());
  }
  if (lapsed != state.range(0)) state.SkipWithError("every member should have one lot lapse");
  state.counters["entries"] = static_cast<double>(lapsed);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EngineRunExpiry)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

// The baseline: the expiry decisions alone over the same members' states
// (copied out of the engine beforehand), in id order, one thread.
void BM_DecideExpiry(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2011-04-01T00:00:00Z"));
  const Program program = *Program::Create("bench-1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
  std::vector<std::pair<MemberId, MemberState>> members;
  {
    auto engine = Population(state.range(0), clock);
    for (int64_t i = 0; i < state.range(0); ++i) {
      MemberId id = MemberId::FromValid("M-" + std::to_string(i));
      members.emplace_back(id, *engine->Snapshot(id));
    }
  }
  std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const Instant as_of = *Instant::Parse("2011-04-01T00:00:00Z");
  int64_t lapsed = 0;
  for (auto _ : state) {
    lapsed = 0;
    for (const auto& [id, member] : members) {
      auto entries = DecideExpiry(program, id, member, as_of, "expiry-2011-04", CommandDigest{}, as_of);
      lapsed += static_cast<int64_t>(entries.size());
      benchmark::DoNotOptimize(entries);
    }
  }
  if (lapsed != state.range(0)) state.SkipWithError("every member should have one lot lapse");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecideExpiry)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
