// A deterministic synthetic population of balances for audits at airline
// scale. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_SYNTHETIC_H_
#define LOYALTY_AUDIT_SYNTHETIC_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// The most members a synthetic population may have: 100 million, five
// times the 20 million of an airline program like Miles & More and about
// the size of the largest programs. Their balances take 8 bytes each
// (800 MB) and about five seconds to compute; a billion would take 8 GB,
// more than the machines that run these audits can be assumed to have.
inline constexpr int64_t kMaxSyntheticMembers = 100'000'000;

struct SyntheticPopulation {
  int64_t members = 0;  // 1 .. kMaxSyntheticMembers
  Points median;        // of the log-normal, > 0
  Rate sigma = *Rate::Parse("1");  // of the log-normal's logarithm, <= 10
  Points total;         // the balances add up to exactly this, >= 0
};

// OK if SyntheticBalances accepts `population`; else InvalidArgument whose
// message begins with the field ("members: 1000000000 is more than ..."),
// so that a loader can put its own path in front. Allocates nothing.
absl::Status CheckSyntheticPopulation(const SyntheticPopulation& population);

// Member i (0-based) of N gets the (i + 0.5) / N quantile of a log-normal
// with the given median and sigma, scaled so that the balances add up to
// `total` exactly: each balance is floor(quantile x total / sum of
// quantiles), and the remainder is spread one point at a time from the
// largest balance down (from the largest up, taking a point, should rounding
// overshoot). Balances ascend with i. No random numbers.
//
// Floating point: the quantiles and their scaling are computed in IEEE-754
// double (inverse normal CDF by rational approximation refined with one
// Halley step, exp, a sum in index order); this is the library's only use of
// floating point. What counts are the resulting integer balances, which are
// deterministic on IEEE-754 hardware with the same libm; every computation on
// them is exact integer arithmetic. InvalidArgument naming the field for
// values out of range (CheckSyntheticPopulation, before anything is
// allocated); ResourceExhausted if the balances do not fit in memory.
// 20 million members take about a second and 160 MB (the returned vector).
absl::StatusOr<std::vector<int64_t>> SyntheticBalances(const SyntheticPopulation& population);

// The inverse of the standard normal CDF at p in (0, 1), to about 1e-15
// relative; exposed for tests. Precondition (checked): 0 < p < 1.
double InverseNormalCdf(double p);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_SYNTHETIC_H_
