// Report benchmarks: the two distributions the HTML report charts, over the
// airline-scale synthetic population (20 million members, 198 billion
// miles), in members per second; and rendering the whole page.
//
//   cmake --build build --target report_benchmark && ./build/bench/report_benchmark
//
// LOYALTY_REPORT_BENCH_MEMBERS overrides the population size (the smoke
// test uses a small one).
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/distribution.h"
#include "loyalty/report_html.h"
#include "airline_population.h"

namespace loyalty {
namespace {

const std::vector<int64_t>& Population() {
  return bench::AirlineBalances(bench::FromEnvironment("LOYALTY_REPORT_BENCH_MEMBERS", 20'000'000));
}

using bench::Change2011;

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
