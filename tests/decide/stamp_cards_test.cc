// Stamp cards and vouchers through the engine: several cards filled by one
// basket, a voucher used or lapsed, returns before and after a voucher is
// used, a card whose size changes with the program version, and the
// refusals; every figure worked out in the comments.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "test_values.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

using test::At;
using test::Eur;
using test::Id;

// A card of 10 coffee stamps, a free coffee valid 30 days (UTC); from
// 1 July 2025 the card has 5 stamps.
constexpr char kCafe[] = R"({"versions": [
 {"id": "cafe-1", "currency": "EUR", "time_zone": "UTC",
  "announced_at": "2025-01-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
  "redemption": {"catalog": [{"id": "free-coffee", "price": 250}]},
  "stamp_cards": [{"id": "coffee", "when": {"include_categories": ["coffee"]}, "stamps": 10,
                   "reward": "free-coffee", "voucher_days": 30}]},
 {"id": "cafe-2", "currency": "EUR", "time_zone": "UTC",
  "announced_at": "2025-06-01T00:00:00Z", "effective_from": "2025-07-01T00:00:00Z",
  "redemption": {"catalog": [{"id": "free-coffee", "price": 250}]},
  "stamp_cards": [{"id": "coffee", "when": {"include_categories": ["coffee"]}, "stamps": 5,
                   "reward": "free-coffee", "voucher_days": 30}]}]})";

class StampCardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kCafe);
    ASSERT_TRUE(program.ok()) << program.status();
    auto engine = Engine::Open(NewMemoryStore(), clock_, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "enrol", .member = Id("C1"), .at = At("2025-01-02T08:00:00Z")})
                    .ok());
  }

  // A basket of `coffees` coffees and a croissant; the receipt or the error.
  absl::StatusOr<Receipt> Buy(const std::string& key, const char* at, int64_t coffees) {
    Purchase basket{.partner = "", .store = "S1", .channel = "store",
                    .lines = {PurchaseLine{.sku = "latte", .category = "coffee", .quantity = coffees, .unit_price = Eur(350)},
                              PurchaseLine{.sku = "croissant", .category = "bakery", .unit_price = Eur(220)}}};
    return engine_->Execute(Accrue{.idempotency_key = key, .member = Id("C1"), .at = At(at),
                                   .activity = Activity{.id = key, .detail = basket}});
  }
  uint64_t Bought(const std::string& key, const char* at, int64_t coffees) {
    auto receipt = Buy(key, at, coffees);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->seq() : 0;
  }
  absl::StatusOr<Receipt> Redeem(const std::string& key, const char* at, VoucherId voucher) {
    return engine_->Execute(RedeemVoucher{.idempotency_key = key, .member = Id("C1"), .at = At(at), .voucher = voucher});
  }
  absl::StatusOr<Receipt> Return(const std::string& key, const char* at, uint64_t accrual, int64_t coffees) {
    return engine_->Execute(ReturnLines{.idempotency_key = key, .member = Id("C1"), .at = At(at), .credit = accrual,
                                        .lines = {0}, .quantities = {coffees}});
  }
  int64_t Stamps() {
    const MemberState member = *engine_->Snapshot(Id("C1"));
    auto it = member.detail().stamps.find("coffee");
    return it == member.detail().stamps.end() ? 0 : it->second;
  }
  size_t OpenVouchers() { return engine_->Snapshot(Id("C1"))->detail().vouchers.size(); }

  FakeClock clock_{At("2025-12-01T00:00:00Z")};
  std::unique_ptr<Engine> engine_;
};

// 25 coffees: 2 full cards, 5 stamps over; the croissant counts nothing.
TEST_F(StampCardsTest, OneBasketFillsTwoCards) {
  auto receipt = Buy("b1", "2025-02-03T08:00:00Z", 25);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const auto& credited = std::get<entries::Credited>(receipt->own().front().body);
  ASSERT_EQ(credited.stamps.size(), 1u);
  EXPECT_EQ(credited.stamps[0].lines, (std::vector<uint32_t>{0}));
  EXPECT_EQ(credited.stamps[0].stamps, 25);
  EXPECT_EQ(credited.stamps[0].vouchers, 2);
  // Issued 3 February, valid 30 days: through 4 March, lapsing 5 March.
  EXPECT_EQ(credited.stamps[0].voucher_expires_at, At("2025-03-05T00:00:00Z"));
  EXPECT_THAT(receipt->own().front().explanation,
              HasSubstr("card coffee: 25 stamp(s), 25 of 10: 2 voucher(s) for free-coffee, valid through 2025-03-04, "
                        "5 on the new card"));
  EXPECT_EQ(Stamps(), 5);
  EXPECT_EQ(OpenVouchers(), 2u);
  // The two are vouchers 0 and 1 of the accrual; each is redeemed once.
  const uint64_t accrual = receipt->seq();
  ASSERT_TRUE(Redeem("v1", "2025-02-04T08:00:00Z", {accrual, 1}).ok());
  ASSERT_TRUE(Redeem("v0", "2025-02-05T08:00:00Z", {accrual, 0}).ok());
  auto again = Redeem("v0-again", "2025-02-06T08:00:00Z", {accrual, 0});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.status().message(), HasSubstr(absl::StrCat("no unused voucher ", accrual, "/0")));
  EXPECT_EQ(Redeem("v2", "2025-02-06T08:00:00Z", {accrual, 2}).status().code(), absl::StatusCode::kNotFound);
}

// Valid through 4 March: redeemable until the last microsecond of that day,
// refused from 5 March on, with the day it was valid through.
TEST_F(StampCardsTest, AVoucherLapsesAtTheEndOfItsLastDay) {
  const uint64_t accrual = Bought("b1", "2025-02-03T08:00:00Z", 10);
  auto late = Redeem("late", "2025-03-05T00:00:00Z", {accrual, 0});
  ASSERT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), HasSubstr("lapsed; it was valid through 2025-03-04"));
  EXPECT_TRUE(Redeem("just", "2025-03-04T23:59:59Z", {accrual, 0}).ok());
  // The statement of the period shows the voucher redeemed.
  auto statement = StatementOf(engine_->store(), Id("C1"), Instant::Min(), At("2025-04-01T00:00:00Z"));
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->vouchers.size(), 1u);
  EXPECT_EQ(statement->vouchers[0].state, "redeemed");
}

TEST_F(StampCardsTest, TheStatementShowsALapsedVoucherAndTheCard) {
  Bought("b1", "2025-02-03T08:00:00Z", 12);
  auto statement = StatementOf(engine_->store(), Id("C1"), Instant::Min(), At("2025-04-01T00:00:00Z"));
  ASSERT_TRUE(statement.ok()) << statement.status();
  ASSERT_EQ(statement->vouchers.size(), 1u);
  EXPECT_EQ(statement->vouchers[0].state, "lapsed");
  EXPECT_EQ(statement->stamps.at("coffee"), 2);
  // Before it lapsed it was open.
  auto earlier = StatementOf(engine_->store(), Id("C1"), Instant::Min(), At("2025-03-01T00:00:00Z"));
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(earlier->vouchers[0].state, "open");
}

// The program's own entries (the versions published) have a statement
// too, without cards.
TEST_F(StampCardsTest, TheProgramsStatementHasNoCards) {
  auto statement = StatementOf(engine_->store(), MemberId::FromValid(kProgramMember), Instant::Min(), Instant::Max());
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_TRUE(statement->stamps.empty());
  EXPECT_TRUE(statement->vouchers.empty());
}

// 8 stamps, then 3 coffees: 11, a voucher and 1 over. Returning 1 of the 3
// leaves the card at 0: the voucher stays. Returning another takes it to
// -1: the voucher is withdrawn and the card is at 9.
TEST_F(StampCardsTest, AReturnWithdrawsTheVoucherOnlyWhenItsCardNeedsIt) {
  Bought("b1", "2025-02-03T08:00:00Z", 8);
  const uint64_t accrual = Bought("b2", "2025-02-04T08:00:00Z", 3);
  EXPECT_EQ(Stamps(), 1);
  ASSERT_TRUE(Return("r1", "2025-02-05T08:00:00Z", accrual, 1).ok());
  EXPECT_EQ(Stamps(), 0);
  EXPECT_EQ(OpenVouchers(), 1u);
  auto second = Return("r2", "2025-02-06T08:00:00Z", accrual, 1);
  ASSERT_TRUE(second.ok()) << second.status();
  const auto& body = std::get<entries::EarnReversed>(second->own().front().body);
  ASSERT_EQ(body.stamps.size(), 1u);
  EXPECT_EQ(body.stamps[0].withdrawn, (std::vector<uint32_t>{0}));
  EXPECT_THAT(second->own().front().explanation,
              HasSubstr(absl::StrCat("voucher ", accrual, "/0 withdrawn, 9 on the card")));
  EXPECT_EQ(Stamps(), 9);
  EXPECT_EQ(OpenVouchers(), 0u);
  EXPECT_EQ(Redeem("v", "2025-02-07T08:00:00Z", {accrual, 0}).status().code(), absl::StatusCode::kNotFound);
}

// Once the voucher is used, the return keeps it: the card owes the stamps
// (-2), and the next 3 coffees pay them first (1).
TEST_F(StampCardsTest, AfterTheVoucherIsUsedTheCardOwesTheStamps) {
  const uint64_t accrual = Bought("b1", "2025-02-03T08:00:00Z", 10);
  ASSERT_TRUE(Redeem("v", "2025-02-04T08:00:00Z", {accrual, 0}).ok());
  auto back = Return("r", "2025-02-05T08:00:00Z", accrual, 2);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->own().front().explanation, HasSubstr("2 stamp(s) taken back, 2 owed on the card"));
  EXPECT_EQ(Stamps(), -2);
  Bought("b2", "2025-02-06T08:00:00Z", 3);
  EXPECT_EQ(Stamps(), 1);
}

// The card holds 7 of 10 when the version with cards of 5 comes into force:
// the next coffee makes 8, a full card of 5 and 3 over.
TEST_F(StampCardsTest, ACardThatShrinksIssuesOnTheNextStamp) {
  Bought("b1", "2025-06-20T08:00:00Z", 7);
  auto receipt = Buy("b2", "2025-07-02T08:00:00Z", 1);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const auto& credited = std::get<entries::Credited>(receipt->own().front().body);
  EXPECT_EQ(credited.stamps[0].card_size, 5);
  EXPECT_EQ(credited.stamps[0].vouchers, 1);
  EXPECT_EQ(Stamps(), 3);
}

TEST_F(StampCardsTest, ABasketCannotIssueMoreThanTheMostVouchers) {
  const uint64_t before = engine_->store().LastSeq();
  auto huge = Buy("b1", "2025-02-03T08:00:00Z", 10 * (kMaxVouchersPerActivity + 1));
  ASSERT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(), HasSubstr("would issue 1001 vouchers"));
  EXPECT_EQ(engine_->store().LastSeq(), before);
  EXPECT_EQ(Stamps(), 0);
}

// A program's stamp cards are checked with their paths.
TEST(StampCardsProgram, ProblemsAreNamedByTheirPath) {
  auto program = ParseProgram(R"({"versions": [
   {"id": "v", "currency": "EUR", "time_zone": "UTC",
    "announced_at": "2025-01-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
    "redemption": {"catalog": [{"id": "free-coffee", "price": 250}]},
    "stamp_cards": [{"id": "a", "stamps": 0, "reward": "free-tea", "voucher_days": 30},
                    {"id": "a", "stamps": 10, "reward": "free-coffee"},
                    {"id": "b", "stamps": 10, "reward": "free-coffee", "voucher_days": 30, "colour": "red",
                     "when": {"member_tiers": ["gold"]}}]}]})");
  ASSERT_FALSE(program.ok());
  const std::string message(program.status().message());
  for (const char* expected : {
           "versions[0].stamp_cards[0].stamps: ",
           "versions[0].stamp_cards[0].reward: \"free-tea\" is not a reward of the version's catalog",
           "versions[0].stamp_cards[1].voucher_days: required",
           "versions[0].stamp_cards[1].id: \"a\" is also the id of versions[0].stamp_cards[0]",
           "versions[0].stamp_cards[2].colour: unknown field",
           "versions[0].stamp_cards[2].when.member_tiers[0]: ",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << message;
  }
}

}  // namespace
}  // namespace loyalty
