// The balance distribution and the awards-affordable counts (distribution.h):
// one pass over the balances into fixed integer buckets.
#include "loyalty/distribution.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/divider.h"

namespace loyalty {

namespace {

// Upper edges (exclusive) of the buckets after {0}: every edge that fits in
// an int64, so that every non-negative balance has a bucket.
template <size_t N>
struct Edges {
  std::array<int64_t, N> values{};
  size_t size = 0;
};

constexpr Edges<19> DecadeEdges() {
  Edges<19> edges;
  int64_t power = 1;
  for (int i = 0; i < 19; ++i) {  // 1 .. 10^18
    edges.values[edges.size++] = power;
    if (i < 18) power *= 10;
  }
  return edges;
}

constexpr Edges<57> OneTwoFiveEdges() {
  Edges<57> edges;
  int64_t power = 1;
  for (int i = 0; i < 19; ++i) {  // 1, 2, 5 .. 10^18, 2x10^18, 5x10^18
    edges.values[edges.size++] = power;
    edges.values[edges.size++] = 2 * power;
    edges.values[edges.size++] = 5 * power;
    if (i < 18) power *= 10;
  }
  return edges;
}

constexpr Edges<19> kDecadeEdges = DecadeEdges();
constexpr Edges<57> kOneTwoFiveEdges = OneTwoFiveEdges();

std::span<const int64_t> EdgesOf(BucketSteps steps) {
  if (steps == BucketSteps::kDecades) return {kDecadeEdges.values.data(), kDecadeEdges.size};
  return {kOneTwoFiveEdges.values.data(), kOneTwoFiveEdges.size};
}

// The balance of element i: a plain balance or a member's available points.
int64_t BalanceAt(std::span<const int64_t> balances, size_t i) { return balances[i]; }
int64_t BalanceAt(std::span<const MemberState* const> members, size_t i) { return members[i]->balance.value(); }

template <typename Population>
absl::Status CheckNonNegative(Population population, absl::string_view field) {
  for (size_t i = 0; i < population.size(); ++i) {
    int64_t balance = BalanceAt(population, i);
    if (balance < 0) return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "]: ", balance, " is negative"));
  }
  return absl::OkStatus();
}

template <typename Population>
absl::StatusOr<BalanceDistribution> Distribute(Population population, BucketSteps steps, absl::string_view field) {
  if (absl::Status status = CheckNonNegative(population, field); !status.ok()) return status;
  std::span<const int64_t> edges = EdgesOf(steps);
  // counts[0]: balance 0; counts[j]: edges[j-1] <= balance < edges[j]
  // (the last one open above).
  std::array<int64_t, 1 + kOneTwoFiveEdges.size> counts{};
  for (size_t i = 0; i < population.size(); ++i) {
    int64_t balance = BalanceAt(population, i);
    // The number of edges <= balance is the bucket's index.
    size_t bucket = static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), balance) - edges.begin());
    ++counts[bucket];
  }
  size_t top = 0;
  for (size_t j = 0; j <= edges.size(); ++j) {
    if (counts[j] > 0) top = j;
  }
  BalanceDistribution distribution;
  distribution.members = static_cast<int64_t>(population.size());
  distribution.steps = steps;
  distribution.buckets.reserve(top + 1);
  for (size_t j = 0; j <= top; ++j) {
    int64_t low = j == 0 ? 0 : edges[j - 1];
    int64_t high = j == 0 ? 0 : (j < edges.size() ? edges[j] - 1 : std::numeric_limits<int64_t>::max());
    distribution.buckets.push_back({low, high, counts[j]});
  }
  return distribution;
}

template <typename Population>
absl::StatusOr<AwardsAffordable> Afford(const Transition& transition, Population population,
                                        absl::string_view field) {
  if (transition.price_before.value() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("transition.price_before: ", transition.price_before.value(), " is not positive"));
  }
  if (transition.price_after.value() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("transition.price_after: ", transition.price_after.value(), " is not positive"));
  }
  if (absl::Status status = CheckNonNegative(population, field); !status.ok()) return status;
  AwardsAffordable afford;
  afford.reward = transition.reward;
  afford.version_before = transition.version_before;
  afford.version_after = transition.version_after;
  afford.price_before = transition.price_before;
  afford.price_after = transition.price_after;
  afford.members = static_cast<int64_t>(population.size());
  const internal::Divider before(static_cast<uint64_t>(transition.price_before.value()));
  const internal::Divider after(static_cast<uint64_t>(transition.price_after.value()));
  constexpr uint64_t kTop = AwardsAffordable::kBuckets - 1;
  for (size_t i = 0; i < population.size(); ++i) {
    uint64_t balance = static_cast<uint64_t>(BalanceAt(population, i));
    ++afford.before[std::min(before.Divide(balance), kTop)];
    ++afford.after[std::min(after.Divide(balance), kTop)];
  }
  return afford;
}

}  // namespace

absl::StatusOr<BalanceDistribution> BalanceDistributionOf(std::span<const int64_t> balances, BucketSteps steps) {
  return Distribute(balances, steps, "balances");
}

absl::StatusOr<BalanceDistribution> BalanceDistributionOf(std::span<const MemberState* const> members,
                                                          BucketSteps steps) {
  return Distribute(members, steps, "members");
}

absl::StatusOr<AwardsAffordable> AwardsAffordableOf(const Transition& transition, std::span<const int64_t> balances) {
  return Afford(transition, balances, "balances");
}

absl::StatusOr<AwardsAffordable> AwardsAffordableOf(const Transition& transition,
                                                    std::span<const MemberState* const> members) {
  return Afford(transition, members, "members");
}

}  // namespace loyalty
