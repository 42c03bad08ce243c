// Report benchmarks: the two distributions the HTML report charts, over the
// airline-scale synthetic population (20 million members, 198 billion
// miles), in members per second; and rendering the whole page.
//
//   cmake --build build --target report_benchmark && ./build/bench/report_benchmark
//
// LOYALTY_REPORT_BENCH_MEMBERS overrides the population size (the smoke
// test uses a small one).
#include <cstdlib>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/distribution.h"
#include "loyalty/report_html.h"

namespace loyalty {
namespace {

int64_t Members() {
  const char* text = std::getenv("LOYALTY_REPORT_BENCH_MEMBERS");
  return text != nullptr ? std::atoll(text) : 20'000'000;
}

// 198 billion miles over 20 million members: a mean of 9,900.
const std::vector<int64_t>& Population() {
  static const auto* balances = new std::vector<int64_t>(*SyntheticBalances(
      {.members = Members(), .median = Points(2000), .sigma = *Rate::Parse("1.8"), .total = Points(Members() * 9'900)}));
  return *balances;
}

Transition Change2011() {
  return Transition{.reward = "award:EU-NA:business:round_trip",
                    .version_before = "mm-2010",
                    .version_after = "mm-2011",
                    .price_before = Points(90'000),
                    .price_after = Points(105'000),
                    .announced_at = *Instant::Parse("2010-12-01T00:00:00+01:00"),
                    .effective_from = *Instant::Parse("2011-01-03T00:00:00+01:00"),
                    .declared = {.price_lock = true}};
}

void BM_BalanceDistribution(benchmark::State& state) {
  const auto& balances = Population();
  for (auto _ : state) benchmark::DoNotOptimize(BalanceDistributionOf(balances));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(balances.size()));
}
BENCHMARK(BM_BalanceDistribution)->Unit(benchmark::kMillisecond);

void BM_AwardsAffordable(benchmark::State& state) {
  const auto& balances = Population();
  const Transition change = Change2011();
  for (auto _ : state) benchmark::DoNotOptimize(AwardsAffordableOf(change, balances));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(balances.size()));
}
BENCHMARK(BM_AwardsAffordable)->Unit(benchmark::kMillisecond);

void BM_RenderHtmlReport(benchmark::State& state) {
  const auto& balances = Population();
  const Transition change = Change2011();
  HtmlReportInput input{.title = "Miles & More 2010 -> 2011"};
  input.impacts.push_back(
      {"synthetic population",
       *ImpactOfBalances(change, balances,
                         {.value_per_award = Money(300'000, *Currency::FromCode("EUR")), .as_of = change.effective_from})});
  input.balances = *BalanceDistributionOf(balances);
  input.affordable.push_back(*AwardsAffordableOf(change, balances));
  for (auto _ : state) benchmark::DoNotOptimize(RenderHtmlReport(input));
}
BENCHMARK(BM_RenderHtmlReport)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
