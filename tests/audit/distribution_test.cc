// The balance distribution and awards-affordable counts: bucket edges worked
// out by hand, the open top bucket, member states, errors, and a synthetic
// population recounted the slow way.
#include "loyalty/audit.h"
#include "loyalty/distribution.h"

#include <limits>

#include "gtest/gtest.h"

namespace loyalty {
namespace {

Transition Change(int64_t before, int64_t after) {
  Transition t;
  t.reward = "award:EU-NA:business:round_trip";
  t.version_before = "mm-2010";
  t.version_after = "mm-2011";
  t.price_before = Points(before);
  t.price_after = Points(after);
  return t;
}

TEST(BalanceDistribution, OneTwoFiveBucketsByHand) {
  std::vector<int64_t> balances = {0, 1, 2, 4, 5, 9, 10, 19, 20, 99, 100, 887'000};
  auto d = BalanceDistributionOf(balances);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->members, 12);
  // 0 | 1 | 2-4 | 5-9 | 10-19 | 20-49 | 50-99 | 100-199 | ... | 500,000-999,999.
  ASSERT_EQ(d->buckets.size(), 19u);
  EXPECT_EQ(d->buckets[0], (BalanceBucket{0, 0, 1}));
  EXPECT_EQ(d->buckets[1], (BalanceBucket{1, 1, 1}));
  EXPECT_EQ(d->buckets[2], (BalanceBucket{2, 4, 2}));
  EXPECT_EQ(d->buckets[3], (BalanceBucket{5, 9, 2}));
  EXPECT_EQ(d->buckets[4], (BalanceBucket{10, 19, 2}));
  EXPECT_EQ(d->buckets[5], (BalanceBucket{20, 49, 1}));
  EXPECT_EQ(d->buckets[6], (BalanceBucket{50, 99, 1}));
  EXPECT_EQ(d->buckets[7], (BalanceBucket{100, 199, 1}));
  EXPECT_EQ(d->buckets[17], (BalanceBucket{200'000, 499'999, 0}));
  EXPECT_EQ(d->buckets[18], (BalanceBucket{500'000, 999'999, 1}));
}

TEST(BalanceDistribution, DecadesAndTheOpenTopBucket) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> balances = {3, 10, 99, 1'000'000'000'000'000'000, kMax};
  auto d = BalanceDistributionOf(balances, BucketSteps::kDecades);
  ASSERT_TRUE(d.ok());
  // 0 | 1-9 | 10-99 | ... | 10^17 .. 10^18 - 1 | 10^18 or more: 20 buckets.
  ASSERT_EQ(d->buckets.size(), 20u);
  EXPECT_EQ(d->buckets[0].members, 0);
  EXPECT_EQ(d->buckets[1], (BalanceBucket{1, 9, 1}));
  EXPECT_EQ(d->buckets[2], (BalanceBucket{10, 99, 2}));
  EXPECT_EQ(d->buckets[19], (BalanceBucket{1'000'000'000'000'000'000, kMax, 2}));
  // The 1-2-5 steps go up to 5 x 10^18.
  auto fine = BalanceDistributionOf(balances);
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->buckets.back(), (BalanceBucket{5'000'000'000'000'000'000, kMax, 1}));
}

TEST(BalanceDistribution, EmptyPopulationAndErrors) {
  auto empty = BalanceDistributionOf(std::span<const int64_t>());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->members, 0);
  ASSERT_EQ(empty->buckets.size(), 1u);
  EXPECT_EQ(empty->buckets[0], (BalanceBucket{0, 0, 0}));
  std::vector<int64_t> negative = {5, 7, -3};
  EXPECT_EQ(BalanceDistributionOf(negative).status().message(), "balances[2]: -3 is negative");
  EXPECT_EQ(AwardsAffordableOf(Change(90'000, 105'000), negative).status().message(), "balances[2]: -3 is negative");
}

TEST(BalanceDistribution, MemberStates) {
  std::vector<MemberState> states(3);
  states[0].balance = Points(0);
  states[1].balance = Points(887'000);
  states[2].balance = Points(200'000);
  std::vector<const MemberState*> members = {&states[0], &states[1], &states[2]};
  auto d = BalanceDistributionOf(members, BucketSteps::kDecades);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->buckets.size(), 7u);
  EXPECT_EQ(d->buckets[0].members, 1);
  EXPECT_EQ(d->buckets[6], (BalanceBucket{100'000, 999'999, 2}));
  auto afford = AwardsAffordableOf(Change(90'000, 105'000), members);
  ASSERT_TRUE(afford.ok());
  EXPECT_EQ(afford->before[0], 1);
  EXPECT_EQ(afford->before[2], 1);  // 200,000 / 90,000
  EXPECT_EQ(afford->before[9], 1);  // 887,000 / 90,000
  EXPECT_EQ(afford->after[1], 1);   // 200,000 / 105,000
  EXPECT_EQ(afford->after[8], 1);   // 887,000 / 105,000
  states[2].balance = Points(-1);
  EXPECT_EQ(AwardsAffordableOf(Change(90'000, 105'000), members).status().message(), "members[2]: -1 is negative");
}

TEST(AwardsAffordable, ByHandAndTheTopBucket) {
  std::vector<int64_t> balances = {0, 89'999, 90'000, 104'999, 105'000, 899'999, 900'000, 1'050'000, 9'000'000};
  auto a = AwardsAffordableOf(Change(90'000, 105'000), balances);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->members, 9);
  EXPECT_EQ(a->price_before, Points(90'000));
  EXPECT_EQ(a->version_after, "mm-2011");
  // Before: 0 0 1 1 1 9 10 11 100.
  std::array<int64_t, AwardsAffordable::kBuckets> before = {2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 3};
  // After: 0 0 0 0 1 8 8 10 85.
  std::array<int64_t, AwardsAffordable::kBuckets> after = {4, 1, 0, 0, 0, 0, 0, 0, 2, 0, 2};
  EXPECT_EQ(a->before, before);
  EXPECT_EQ(a->after, after);
  EXPECT_EQ(AwardsAffordableOf(Change(0, 105'000), balances).status().message(),
            "transition.price_before: 0 is not positive");
  EXPECT_EQ(AwardsAffordableOf(Change(90'000, -5), balances).status().message(),
            "transition.price_after: -5 is not positive");
}

TEST(AwardsAffordable, SyntheticPopulationRecountedSlowly) {
  auto balances = SyntheticBalances(
      {.members = 100'001, .median = Points(2000), .sigma = *Rate::Parse("1.8"), .total = Points(990'009'900)});
  ASSERT_TRUE(balances.ok());
  auto a = AwardsAffordableOf(Change(90'000, 105'000), *balances);
  auto d = BalanceDistributionOf(*balances);
  ASSERT_TRUE(a.ok() && d.ok());
  std::array<int64_t, AwardsAffordable::kBuckets> before{}, after{};
  for (int64_t b : *balances) {
    int64_t k = 0, m = 0;
    for (int64_t left = b; left >= 90'000 && k < AwardsAffordable::kBuckets - 1; left -= 90'000) ++k;
    for (int64_t left = b; left >= 105'000 && m < AwardsAffordable::kBuckets - 1; left -= 105'000) ++m;
    ++before[k];
    ++after[m];
  }
  EXPECT_EQ(a->before, before);
  EXPECT_EQ(a->after, after);
  // Every member in exactly one bucket, and in the right one.
  int64_t counted = 0;
  for (const BalanceBucket& bucket : d->buckets) {
    counted += bucket.members;
    int64_t inside = 0;
    for (int64_t b : *balances) inside += b >= bucket.low && b <= bucket.high;
    EXPECT_EQ(inside, bucket.members) << bucket.low;
  }
  EXPECT_EQ(counted, 100'001);
  EXPECT_GT(d->buckets.back().members, 0);
}

}  // namespace
}  // namespace loyalty
