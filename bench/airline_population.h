// The airline-scale population the audit and report benchmarks share:
// synthetic balances (median 2,000 miles, sigma 1.8, a mean of 9,900, so
// 198 billion miles over 20 million members) and the January 2011
// award-chart change (Business to North America 90,000 -> 105,000 miles,
// announced 1 December 2010, effective 3 January 2011).
#ifndef LOYALTY_BENCH_AIRLINE_POPULATION_H_
#define LOYALTY_BENCH_AIRLINE_POPULATION_H_

#include <cstdlib>
#include <vector>

#include "loyalty/audit.h"

namespace loyalty::bench {

// The number in environment variable `variable`, else `fallback` (the
// smoke tests run the benchmarks on small populations).
inline int64_t FromEnvironment(const char* variable, int64_t fallback) {
  const char* text = std::getenv(variable);
  return text != nullptr ? std::atoll(text) : fallback;
}

inline SyntheticPopulation Airline(int64_t members) {
  return {.members = members, .median = Points(2000), .sigma = *Rate::Parse("1.8"), .total = Points(members * 9'900)};
}

// The balances of Airline(members), built once per process.
inline const std::vector<int64_t>& AirlineBalances(int64_t members) {
  static const auto* balances = new std::vector<int64_t>(*SyntheticBalances(Airline(members)));
  return *balances;
}

inline Transition Change2011() {
  return Transition{.reward = "award:EU-NA:business:round_trip",
                    .version_before = "mm-2010",
                    .version_after = "mm-2011",
                    .price_before = Points(90'000),
                    .price_after = Points(105'000),
                    .announced_at = *Instant::Parse("2010-12-01T00:00:00+01:00"),
                    .effective_from = *Instant::Parse("2011-01-03T00:00:00+01:00"),
                    .declared = {.price_lock = true}};
}

}  // namespace loyalty::bench

#endif  // LOYALTY_BENCH_AIRLINE_POPULATION_H_
