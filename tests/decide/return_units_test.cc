// Returns by quantity (ReturnLines with quantities): a line's points are
// taken back unit by unit, rounded down on what was returned so far, so
// that every unit returned, in any steps, takes back exactly what the line
// earned; across caps and multipliers, after points were spent, and with
// the refusals that name the line and its units left.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "loyalty/store.h"
#include "test_values.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

using test::At;
using test::Eur;
using test::Id;

// A drugstore: 1 point per EUR; shampoo ("hair") earns double on the base
// points; 10 points per vitamin pack, at most 25 per basket.
constexpr char kDrugstore[] = R"({"versions": [{
  "id": "drugstore-2025", "currency": "EUR", "time_zone": "UTC",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
  "accrual": [
    {"id": "base", "priority": 10, "when": {"activity_types": ["purchase"]},
     "effect": {"kind": "per_money", "rate": "1", "rounding": "down"}},
    {"id": "hair-double", "priority": 20, "when": {"include_categories": ["hair"]},
     "effect": {"kind": "multiplier", "rate": "1", "base_rules": ["base"]}},
    {"id": "vitamins", "priority": 30, "when": {"include_categories": ["vitamins"]},
     "effect": {"kind": "per_unit", "points": 10}, "cap": {"per_activity": 25}}],
  "expiry": {"months": 0}
}]})";

class ReturnUnitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kDrugstore);
    ASSERT_TRUE(program.ok()) << program.status();
    auto engine = Engine::Open(NewMemoryStore(), clock_, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "enrol", .member = Id("M1"), .at = At("2025-02-01T09:00:00Z")})
                    .ok());
    // 3 x shampoo at 5.00: base 15, doubled 15 -> 30.
    // 4 x vitamins at 8.00: base 32, 4 x 10 = 40 capped at 25 -> 57.
    Purchase basket{.partner = "", .store = "S1", .channel = "store",
                    .lines = {PurchaseLine{.sku = "shampoo", .category = "hair", .quantity = 3, .unit_price = Eur(500)},
                              PurchaseLine{.sku = "vit-c", .category = "vitamins", .quantity = 4, .unit_price = Eur(800)}}};
    auto receipt = engine_->Execute(Accrue{.idempotency_key = "basket", .member = Id("M1"),
                                           .at = At("2025-02-01T10:00:00Z"),
                                           .activity = Activity{.id = "basket-1", .detail = basket}});
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    accrual_ = receipt->seq();
  }

  absl::StatusOr<Receipt> Return(const std::string& key, std::vector<uint32_t> lines,
                                 std::vector<int64_t> quantities) {
    return engine_->Execute(ReturnLines{.idempotency_key = key, .member = Id("M1"), .at = At("2025-02-03T10:00:00Z"),
                                        .credit = accrual_, .lines = std::move(lines),
                                        .quantities = std::move(quantities)});
  }
  // The points a successful return reversed.
  int64_t Reversed(const std::string& key, std::vector<uint32_t> lines, std::vector<int64_t> quantities) {
    auto receipt = Return(key, std::move(lines), std::move(quantities));
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    if (!receipt.ok()) return -1;
    return std::get<entries::EarnReversed>(receipt->own().front().body).amount.value();
  }
  int64_t Balance() { return engine_->Snapshot(Id("M1"))->balance.value(); }

  FakeClock clock_{At("2025-06-01T00:00:00Z")};
  std::unique_ptr<Engine> engine_;
  uint64_t accrual_ = 0;
};

TEST_F(ReturnUnitsTest, TheBasketRecordsItsLinesPointsAndUnits) {
  const MemberState member = *engine_->Snapshot(Id("M1"));
  const AccrualRecord& record = member.detail().accruals.at(accrual_);
  EXPECT_EQ(record.line_points, (std::vector<Points>{Points(30), Points(57)}));
  EXPECT_EQ(record.units, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Balance(), 87);
}

// 57 points over 4 vitamin packs, returned 1, then 2, then the last:
// floor(57 x 1/4) = 14; floor(57 x 3/4) = 42, less 14 = 28; 57 - 42 = 15.
// 14 + 28 + 15 = 57, what the line earned, its cap included.
TEST_F(ReturnUnitsTest, ReturningUnitByUnitTakesBackExactlyWhatTheLineEarned) {
  EXPECT_EQ(Reversed("r1", {1}, {1}), 14);
  EXPECT_EQ(Reversed("r2", {1}, {2}), 28);
  EXPECT_EQ(Reversed("r3", {1}, {ReturnLines::kWholeLine}), 15);
  EXPECT_EQ(Balance(), 87 - 57);
  // The shampoo's 30 points (its doubled base) over 3 bottles: 10 a bottle.
  // The last unit of the basket takes the activity's counters and
  // unattributed points (none here) with it.
  auto last = Return("r4", {0}, {});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(std::get<entries::EarnReversed>(last->own().front().body).amount, Points(30));
  EXPECT_THAT(last->own().front().explanation, HasSubstr("with the activity's bonuses"));
  EXPECT_EQ(Balance(), 0);
}

TEST_F(ReturnUnitsTest, TheExplanationNamesTheUnits) {
  auto receipt = Return("r1", {0, 1}, {1, ReturnLines::kWholeLine});
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const Entry& entry = receipt->own().front();
  // floor(30 x 1/3) = 10, and the whole vitamins line, 57.
  EXPECT_EQ(std::get<entries::EarnReversed>(entry.body).amount, Points(67));
  EXPECT_EQ(std::get<entries::EarnReversed>(entry.body).units, (std::vector<int64_t>{1, 4}));
  EXPECT_THAT(entry.explanation,
              HasSubstr(absl::StrCat("returned 1 of 3 units of line 0, line 1 of accrual ", accrual_,
                                     ": 67 points earned on them reversed")));
}

// After 70 of the 87 points were spent, a return takes what is left of the
// accrual's lot, and what no lot covers becomes debt.
TEST_F(ReturnUnitsTest, AReturnAfterSpendingTakesTheRestAsDebt) {
  ASSERT_TRUE(engine_->Execute(Redeem{.idempotency_key = "spend", .member = Id("M1"), .at = At("2025-02-02T10:00:00Z"),
                                      .amount = Points(70)})
                  .ok());
  EXPECT_EQ(Reversed("r1", {1}, {1}), 14);  // 17 left -> 3
  auto receipt = Return("r2", {1}, {2});     // 28: 3 from the lot, 25 debt
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const auto& body = std::get<entries::EarnReversed>(receipt->own().front().body);
  EXPECT_EQ(body.amount, Points(28));
  EXPECT_EQ(body.from_lot, Points(3));
  EXPECT_EQ(body.debt_added, Points(25));
  EXPECT_EQ(engine_->Snapshot(Id("M1"))->debt(), Points(25));
}

TEST_F(ReturnUnitsTest, UnitsAreReturnedOnceAndTheRefusalNamesWhatIsLeft) {
  EXPECT_EQ(Reversed("r1", {0}, {1}), 10);
  auto more = Return("r2", {0}, {3});
  ASSERT_EQ(more.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(more.status().message(),
              HasSubstr(absl::StrCat("line 0 of accrual ", accrual_, " has 2 unit(s) left to return, not 3")));
  // Two units of the same line in one command count together.
  auto twice = Return("r3", {0, 0}, {2, 1});
  ASSERT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(twice.status().message(), HasSubstr("line 0 of accrual"));
  EXPECT_EQ(Reversed("r4", {0}, {2}), 20);
  auto again = Return("r5", {0}, {1});
  ASSERT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("is already returned"));
  EXPECT_EQ(Balance(), 87 - 30);
}

TEST_F(ReturnUnitsTest, BadQuantitiesAreInvalidAndChangeNothing) {
  auto negative = Return("r1", {1}, {-1});
  ASSERT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("quantities[0]"));
  auto mismatched = Return("r2", {0, 1}, {1});
  ASSERT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatched.status().message(), HasSubstr("quantities"));
  auto no_line = Return("r3", {2}, {1});
  ASSERT_EQ(no_line.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_line.status().message(), HasSubstr("lines[0]"));
  EXPECT_EQ(Balance(), 87);
  EXPECT_EQ(engine_->store().LastSeq(), accrual_);
}

// The journal is read back as it was written: an engine opened on it has
// the units returned, and refuses what the first refused.
TEST_F(ReturnUnitsTest, TheUnitsReturnedSurviveAReopen) {
  EXPECT_EQ(Reversed("r1", {1}, {3}), 42);
  std::unique_ptr<Store> copy = NewMemoryStore();
  ASSERT_TRUE(CopyJournal(engine_->store(), *copy).ok());
  auto reopened = Engine::Open(std::move(copy), clock_, *ParseProgram(kDrugstore));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  const MemberState member = *(*reopened)->Snapshot(Id("M1"));
  EXPECT_EQ(member.detail().accruals.at(accrual_).returned_units, (std::vector<int64_t>{0, 3}));
  auto more = (*reopened)->Execute(ReturnLines{.idempotency_key = "r2", .member = Id("M1"),
                                               .at = At("2025-02-03T10:00:00Z"), .credit = accrual_, .lines = {1},
                                               .quantities = {2}});
  EXPECT_THAT(more.status().message(), HasSubstr("has 1 unit(s) left to return, not 2"));
}

// The rounding on its own: for every way of returning a line's units in
// steps, the steps add up to the line's points, and no step takes back
// more than the units' proportional share rounded up.
TEST(UnitsShare, EveryPartitionOfTheUnitsAddsUpToTheLine) {
  for (int64_t units = 1; units <= 7; ++units) {
    for (int64_t points : {0, 1, 2, 5, 10, 57, 99, 1'000'003}) {
      // Bit i of `cuts` set: a return ends after unit i + 1.
      for (uint32_t cuts = 0; cuts < (1u << (units - 1)); ++cuts) {
        int64_t total = 0, from = 0;
        for (int64_t unit = 1; unit <= units; ++unit) {
          if (unit < units && (cuts & (1u << (unit - 1))) == 0) continue;
          const int64_t share = UnitsShare(Points(points), units, from, unit).value();
          EXPECT_LE(share * units, points * (unit - from) + units) << units << " " << points << " " << cuts;
          EXPECT_GE(share, 0);
          total += share;
          from = unit;
        }
        EXPECT_EQ(total, points) << units << " " << points << " " << cuts;
      }
    }
  }
  // A large line does not overflow: INT64_MAX points over 3 units.
  EXPECT_EQ(UnitsShare(Points(INT64_MAX), 3, 0, 2).value(), INT64_MAX / 3 * 2);
}

}  // namespace
}  // namespace loyalty
