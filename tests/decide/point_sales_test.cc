// Buying points (PurchasePoints) at the version's price, within its
// minimum, step and yearly limit, and refunding the unused ones
// (RefundPoints) at the price paid; the revenue report defers the price.
// Every figure worked out in the comments.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loyalty/audit/revenue.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "test_values.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

using test::At;
using test::Eur;
using test::Id;

// 2025: EUR 0.025 a point, at least 1,000, in steps of 500, 5,000 a year.
// From 2026: EUR 0.01235 a point, at least 500. A version of 2024 sells none.
constexpr char kShop[] = R"({"versions": [
 {"id": "shop-2024", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-01-01T00:00:00Z", "effective_from": "2024-01-01T00:00:00Z",
  "redemption": {"catalog": [{"id": "mug", "price": 400}]}},
 {"id": "shop-2025", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00+01:00",
  "redemption": {"catalog": [{"id": "mug", "price": 400}]},
  "point_sales": {"price_per_point": "0.025", "minimum": 1000, "step": 500, "yearly_limit": 5000},
  "accounting": {"standalone_value_per_point": "0.01", "expected_redemption_rate": "0.9"}},
 {"id": "shop-2026", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2025-12-01T00:00:00Z", "effective_from": "2026-01-01T00:00:00+01:00",
  "redemption": {"catalog": [{"id": "mug", "price": 400}]},
  "point_sales": {"price_per_point": "0.01235", "minimum": 500, "step": 500},
  "accounting": {"standalone_value_per_point": "0.01", "expected_redemption_rate": "0.9"}}]})";

class PointSalesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kShop);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;
    auto engine = Engine::Open(NewMemoryStore(), clock_, program_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "enrol", .member = Id("M1"), .at = At("2024-06-01T08:00:00Z")})
                    .ok());
  }
  absl::StatusOr<Receipt> Buy(const std::string& key, const char* at, int64_t points,
                              std::optional<Money> shown = std::nullopt) {
    return engine_->Execute(PurchasePoints{.idempotency_key = key, .member = Id("M1"), .at = At(at),
                                           .points = Points(points), .price = shown});
  }
  uint64_t Bought(const std::string& key, const char* at, int64_t points) {
    auto receipt = Buy(key, at, points);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->seq() : 0;
  }
  absl::StatusOr<Receipt> Refund(const std::string& key, const char* at, uint64_t purchase) {
    return engine_->Execute(RefundPoints{.idempotency_key = key, .member = Id("M1"), .at = At(at), .purchase = purchase});
  }
  void Spend(const std::string& key, const char* at, int64_t points) {
    ASSERT_TRUE(engine_->Execute(Redeem{.idempotency_key = key, .member = Id("M1"), .at = At(at),
                                        .amount = Points(points)})
                    .ok());
  }
  int64_t Available() { return engine_->BalanceOf(Id("M1"))->available.value(); }

  FakeClock clock_{At("2027-01-01T00:00:00Z")};
  Program program_ = *Program::Create("unused", "UTC", {});
  std::unique_ptr<Engine> engine_;
};

// 1,000 x 0.025 = EUR 25.00, on the credit.
TEST_F(PointSalesTest, PointsAreBoughtAtTheVersionsPrice) {
  auto receipt = Buy("b1", "2025-03-01T10:00:00Z", 1000, Eur(2500));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const auto& credited = std::get<entries::Credited>(receipt->own().front().body);
  EXPECT_EQ(credited.price, Eur(2500));
  EXPECT_EQ(credited.amount, Points(1000));
  EXPECT_THAT(receipt->own().front().explanation, HasSubstr("bought 1000 points for 25.00 EUR under shop-2025"));
  EXPECT_EQ(Available(), 1000);
}

// 1,500 x 0.01235 = 18.525: half up, EUR 18.53.
TEST_F(PointSalesTest, APriceIsRoundedHalfUpToTheCent) {
  auto receipt = Buy("b1", "2026-02-01T10:00:00Z", 1500);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(std::get<entries::Credited>(receipt->own().front().body).price, Eur(1853));
}

TEST_F(PointSalesTest, TheMinimumTheStepAndTheShownPriceAreChecked) {
  auto few = Buy("b1", "2025-03-01T10:00:00Z", 500);
  EXPECT_EQ(few.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(few.status().message(), HasSubstr("points: 500 is below the minimum of 1000"));
  auto odd = Buy("b2", "2025-03-01T10:00:00Z", 1250);
  EXPECT_EQ(odd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(odd.status().message(), HasSubstr("points: 1250 is not a multiple of 500"));
  auto stale = Buy("b3", "2025-03-01T10:00:00Z", 1000, Eur(2000));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(),
              HasSubstr("price: the member was shown 20.00 EUR; 1000 points cost 25.00 EUR under version shop-2025"));
  auto before = Buy("b4", "2024-07-01T10:00:00Z", 1000);
  EXPECT_EQ(before.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(before.status().message(), HasSubstr("version shop-2024 does not sell points"));
  EXPECT_EQ(Available(), 0);
}

// 3,000 + 2,000 = 5,000 in 2025: the limit. 500 more is refused; in 2026
// there is room again, and in 2025 a refund gives room back.
TEST_F(PointSalesTest, TheYearlyLimitCountsTheCalendarYearNetOfRefunds) {
  const uint64_t first = Bought("b1", "2025-03-01T10:00:00Z", 3000);
  Bought("b2", "2025-06-01T10:00:00Z", 2000);
  auto over = Buy("b3", "2025-12-31T22:00:00Z", 1000);  // 23:00 in Berlin: still 2025
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(over.status().message(),
              HasSubstr("buying 1000 points would make 6000 bought in 2025, over the limit of 5000 a year"));
  ASSERT_TRUE(Refund("r1", "2025-12-31T22:05:00Z", first).ok());
  EXPECT_TRUE(Buy("b4", "2025-12-31T22:10:00Z", 1000).ok());
  EXPECT_TRUE(Buy("b5", "2026-01-01T10:00:00Z", 500).ok());
}

// Bought 1,000 for 25.00; 400 spent; the 600 unused are refunded:
// 2,500 x 600 / 1,000 = 1,500 cents. Nothing is left for a second refund.
TEST_F(PointSalesTest, ARefundPaysBackTheUnusedPointsShareOfThePrice) {
  const uint64_t purchase = Bought("b1", "2025-03-01T10:00:00Z", 1000);
  Spend("s1", "2025-03-02T10:00:00Z", 400);
  auto refund = Refund("r1", "2025-03-03T10:00:00Z", purchase);
  ASSERT_TRUE(refund.ok()) << refund.status();
  const auto& body = std::get<entries::EarnReversed>(refund->own().front().body);
  EXPECT_EQ(body.amount, Points(600));
  EXPECT_EQ(body.refund, Eur(1500));
  EXPECT_THAT(refund->own().front().explanation,
              HasSubstr("refunded 600 unused of the 1000 points bought by entry"));
  EXPECT_EQ(Available(), 0);
  auto again = Refund("r2", "2025-03-04T10:00:00Z", purchase);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("none is left to refund"));
  EXPECT_EQ(Refund("r3", "2025-03-04T10:00:00Z", 999).status().code(), absl::StatusCode::kNotFound);
}

// 1,500 bought for 18.53; 1 spent; 1,499 refunded:
// 1,853 x 1,499 / 1,500 = 1,851.76 -> 1,852 cents (half even).
TEST_F(PointSalesTest, ARefundRoundsItsShareHalfEven) {
  const uint64_t purchase = Bought("b1", "2026-02-01T10:00:00Z", 1500);
  Spend("s1", "2026-02-02T10:00:00Z", 1);
  auto refund = Refund("r1", "2026-02-03T10:00:00Z", purchase);
  ASSERT_TRUE(refund.ok()) << refund.status();
  EXPECT_EQ(std::get<entries::EarnReversed>(refund->own().front().body).refund, Eur(1852));
}

// 1,000 bought for 25.00 (lot A) and 1,000 credited to last longer (B);
// 600 spent from A (it lapses first); 500 of A reversed by hand: A's 400,
// then 100 of B; the debit reversed: A gets its 600 back. A has 600 left
// but only 1,000 - 500 = 500 not reversed: the refund takes those 500 and
// pays back 2,500 x 1,000 / 1,000 - 2,500 x 500 / 1,000 = 1,250 cents.
TEST_F(PointSalesTest, ARefundTakesNoMoreThanTheLotHasNotReversed) {
  const uint64_t purchase = Bought("b1", "2025-03-01T10:00:00Z", 1000);
  ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c", .member = Id("M1"), .at = At("2025-03-01T11:00:00Z"),
                                      .amount = Points(1000), .source = "goodwill",
                                      .expires_at = At("2030-01-01T00:00:00Z")})
                  .ok());
  auto debit = engine_->Execute(Redeem{.idempotency_key = "s", .member = Id("M1"), .at = At("2025-03-02T10:00:00Z"),
                                       .amount = Points(600)});
  ASSERT_TRUE(debit.ok()) << debit.status();
  ASSERT_TRUE(engine_->Execute(ReverseEarn{.idempotency_key = "v", .member = Id("M1"), .at = At("2025-03-03T10:00:00Z"),
                                           .credit = purchase, .amount = Points(500)})
                  .ok());
  ASSERT_TRUE(engine_->Execute(ReverseDebit{.idempotency_key = "u", .member = Id("M1"),
                                            .at = At("2025-03-04T10:00:00Z"), .debit = debit->seq()})
                  .ok());
  auto refund = Refund("r", "2025-03-05T10:00:00Z", purchase);
  ASSERT_TRUE(refund.ok()) << refund.status();
  const auto& body = std::get<entries::EarnReversed>(refund->own().front().body);
  EXPECT_EQ(body.amount, Points(500));
  EXPECT_EQ(body.refund, Eur(1250));
}

// A price below a cent for the least purchase is refused when the program
// is read.
TEST(PointSalesProgram, TheLeastPurchaseCostsAtLeastACent) {
  auto program = ParseProgram(R"({"versions": [
   {"id": "v", "currency": "EUR", "time_zone": "UTC",
    "announced_at": "2025-01-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
    "point_sales": {"price_per_point": "0.001", "minimum": 5, "yearly_limit": 2}}]})");
  ASSERT_FALSE(program.ok());
  EXPECT_THAT(program.status().message(),
              HasSubstr("versions[0].point_sales.price_per_point: 5 points (the minimum) cost less than the smallest "
                        "unit of EUR"));
  EXPECT_THAT(program.status().message(), HasSubstr("versions[0].point_sales.yearly_limit: 2 is below the minimum 5"));
}

// The revenue report defers the whole price of bought points, and a
// refund takes back the same share it paid back.
TEST_F(PointSalesTest, RevenueDefersThePricePaid) {
  const uint64_t purchase = Bought("b1", "2025-03-01T10:00:00Z", 1000);
  Spend("s1", "2025-03-02T10:00:00Z", 400);
  ASSERT_TRUE(Refund("r1", "2025-03-03T10:00:00Z", purchase).ok());
  auto report = RecogniseRevenue(engine_->store(), program_,
                                 {.from = At("2025-01-01T00:00:00+01:00"), .to = At("2026-01-01T00:00:00+01:00")});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->total.deferred, Eur(2500));
  EXPECT_EQ(report->total.reversed, Eur(1500));
  // What is left, 10.00 for the 400 points redeemed, is all recognised:
  // no point of the cohort is left.
  EXPECT_EQ(report->total.closing, Eur(0));
}

}  // namespace
}  // namespace loyalty
