// Status-tier benchmarks (members per second): the period-close review of
// 1 million members, as the pure decision alone and through the engine
// (decide, encode, hash, append to the in-memory journal, apply).
//
//   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target tier_benchmark
//   ./build-release/bench/tier_benchmark
//
// Population: member i earned (i % 200) x 1,000 status miles in 2010 over
// four days, on the Miles & More ladder of tests/data/mm-2010-tiers.json
// (Frequent Traveller 35,000, Senator 100,000, HON Circle 600,000 over two
// years). Reviewed as of 1 January 2011, 83 % of them qualify and get an
// entry: close to the worst case, where nearly everyone changes.
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

constexpr int kMembers = 1'000'000;

const Program& Ladder() {
  static const Program* program =
      new Program(*LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/mm-2010-tiers.json"));
  return *program;
}

int64_t StatusMiles(int i) { return (i % 200) * 1000; }

std::vector<std::pair<MemberId, MemberState>> Population(int members) {
  std::vector<std::pair<MemberId, MemberState>> population;
  population.reserve(static_cast<size_t>(members));
  const int32_t first = Date::FromYmd(2010, 3, 1)->days_since_epoch();
  for (int i = 0; i < members; ++i) {
    MemberState member;
    member.enrolled = true;
    member.enrolled_at = *Instant::Parse("2009-12-01T10:00:00Z");
    for (int d = 0; d < 4; ++d) member.mutable_detail().counter_days["status_miles"][first + 30 * d] = Points(StatusMiles(i) / 4);
    member.mutable_detail().counters["status_miles"] = Points(StatusMiles(i));
    population.emplace_back(MemberId::FromValid("M-" + std::to_string(i)), std::move(member));
  }
  return population;
}

// The review decision alone, per member, one thread.
void BM_DecideTierReview(benchmark::State& state) {
  auto population = Population(static_cast<int>(state.range(0)));
  const Instant as_of = *Instant::Parse("2011-01-01T00:00:00+01:00");
  const Instant now = *Instant::Parse("2011-01-01T01:00:00Z");
  const std::string key = "close-2010";
  int64_t changed = 0;
  for (auto _ : state) {
    changed = 0;
    for (const auto& [id, member] : population) {
      auto entries = DecideTierReview(Ladder(), id, member, as_of, key, CommandDigest{}, now);
      changed += static_cast<int64_t>(entries.size());
      benchmark::DoNotOptimize(entries);
    }
  }
  state.counters["entries"] = static_cast<double>(changed);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecideTierReview)->Arg(10'000)->Arg(kMembers)->Unit(benchmark::kMillisecond)->Iterations(1);

// ClosePeriod through the engine over an in-memory journal, one run (a
// second run as of the same instant writes nothing).
void BM_EngineClosePeriod(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2010-01-01T00:00:00Z"));
  auto engine = *Engine::Open(NewMemoryStore(), clock, Ladder());
  std::vector<Command> batch;
  auto flush = [&] {
    for (const auto& result : engine->ExecuteBatch(batch)) {
      if (!result.ok()) std::abort();
    }
    batch.clear();
  };
  for (int i = 0; i < state.range(0); ++i) {
    MemberId id = MemberId::FromValid("M-" + std::to_string(i));
    batch.push_back(Enroll{"e-" + std::to_string(i), id, *Instant::Parse("2009-12-01T10:00:00Z")});
    if (StatusMiles(i) > 0) {
      batch.push_back(Credit{"c-" + std::to_string(i), id, *Instant::Parse("2010-03-01T10:00:00Z"), Points(100),
                             "bench", {}, {{"status_miles", Points(StatusMiles(i))}}});
    }
    if (batch.size() >= 8192) flush();
  }
  flush();
  int64_t changed = 0;
  for (auto _ : state) {
    auto receipt = engine->ClosePeriod("lapse-2012", *Instant::Parse("2012-03-01T00:00:00+01:00"));
    if (!receipt.ok()) std::abort();
    changed = static_cast<int64_t>(receipt->entries.size());
  }
  state.counters["entries"] = static_cast<double>(changed);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EngineClosePeriod)->Arg(10'000)->Arg(kMembers)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
