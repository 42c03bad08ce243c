// Distributions of a population's balances for the audit report's charts:
// how many members hold how many points (log-spaced buckets), and how many
// whole awards their balances buy at the price before and after a change.
//
//   auto balances = SyntheticBalances({.members = 20'000'000, ...});
//   auto spread = BalanceDistributionOf(*balances);   // 0, 1, 2-4, 5-9, 10-19, ...
//   auto change = TransitionOf(*program, "mm-2010", "mm-2011", "award:EU-NA:business:round_trip");
//   auto afford = AwardsAffordableOf(*change, *balances);
//   // afford->before[1]: members whose balance buys exactly one award at 90,000.
//
// Both are one pass over the balances with no allocation per member and
// exact integer counts; bucket edges are fixed integers (1, 2, 5, 10, 20, 50,
// ... or 1, 10, 100, ...), never computed in floating point. Thread safety:
// pure functions of their inputs.
#ifndef LOYALTY_DISTRIBUTION_H_
#define LOYALTY_DISTRIBUTION_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/audit/impact.h"
#include "loyalty/ledger.h"
#include "loyalty/value.h"

namespace loyalty {

// Where the log-spaced bucket edges lie.
enum class BucketSteps {
  kDecades,     // 0 | 1-9 | 10-99 | 100-999 | ...
  kOneTwoFive,  // 0 | 1 | 2-4 | 5-9 | 10-19 | 20-49 | 50-99 | 100-199 | ...
};

// Members whose balance b satisfies low <= b <= high.
struct BalanceBucket {
  int64_t low = 0;
  int64_t high = 0;  // inclusive; INT64_MAX for the open top bucket
  int64_t members = 0;
  friend bool operator==(const BalanceBucket&, const BalanceBucket&) = default;
};

struct BalanceDistribution {
  int64_t members = 0;  // == sum of buckets[i].members
  BucketSteps steps = BucketSteps::kOneTwoFive;
  // Ascending and contiguous from the bucket {0, 0} up to the highest bucket
  // that holds a member (empty buckets in between are kept, so that the
  // x axis is evenly log-spaced). Just {0, 0} for an empty population.
  std::vector<BalanceBucket> buckets;
};

// Counts `balances` into log-spaced buckets. InvalidArgument
// "balances[i]: -5 is negative" for a negative balance (nothing is counted).
absl::StatusOr<BalanceDistribution> BalanceDistributionOf(std::span<const int64_t> balances,
                                                          BucketSteps steps = BucketSteps::kOneTwoFive);
// The same over the members' available balances (MemberState::balance).
// InvalidArgument "members[i]: ..." for a negative balance.
// Precondition: no pointer is null.
absl::StatusOr<BalanceDistribution> BalanceDistributionOf(std::span<const MemberState* const> members,
                                                          BucketSteps steps = BucketSteps::kOneTwoFive);

// Members by the number of whole awards (floor(balance / price)) their
// balance buys under the old and the new price of one reward.
struct AwardsAffordable {
  // before[k], after[k]: members who can afford exactly k awards, k = 0 ..
  // kBuckets - 2; the last bucket counts kBuckets - 1 awards or more.
  static constexpr int kBuckets = 11;
  std::string reward;
  std::string version_before;
  std::string version_after;
  Points price_before;
  Points price_after;
  int64_t members = 0;
  std::array<int64_t, kBuckets> before{};
  std::array<int64_t, kBuckets> after{};
};

// Counts whole awards per member at transition.price_before and
// transition.price_after. InvalidArgument naming the field for a price that
// is not positive ("transition.price_after: 0 is not positive") or a
// negative balance ("balances[i]: -5 is negative").
absl::StatusOr<AwardsAffordable> AwardsAffordableOf(const Transition& transition, std::span<const int64_t> balances);
// The same over the members' available balances; errors name "members[i]".
// Precondition: no pointer is null.
absl::StatusOr<AwardsAffordable> AwardsAffordableOf(const Transition& transition,
                                                    std::span<const MemberState* const> members);

}  // namespace loyalty

#endif  // LOYALTY_DISTRIBUTION_H_
