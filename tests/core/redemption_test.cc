// Golden scenario: the Miles & More award-chart change of January 2011
// (as announced in December 2010): Business round trip Germany - North America 90,000 miles
// under the 2010 chart, 105,000 from 3 January 2011 (announced 1 December
// 2010). Every expected figure is worked out in the comments.
#include "loyalty/redemption.h"

#include "gtest/gtest.h"
#include "loyalty/engine.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

constexpr char kBusinessAward[] = "award:EU-NA:business:round_trip";

ProgramVersion Chart(const char* id, int64_t business_price) {
  ProgramVersion version;
  version.id = id;
  version.name = id;
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.redeemable_balance = "award_miles";
  version.expiry = {36, ExpiryTerm::Round::kEndOfQuarter};
  version.redemption.airport_regions = {{"FRA", "EU"}, {"JFK", "NA"}};
  version.redemption.award_chart = {{"EU", "NA", "business", true, Points(business_price)},
                                    {"EU", "NA", "economy", true, Points(60'000)}};
  // Cash + points: 10,000 miles and EUR 49.00.
  version.redemption.catalog = {{"upgrade-voucher", "Upgrade voucher", Points(10'000),
                                 Money::Parse("49.00", *Currency::FromCode("EUR")).value()}};
  return version;
}

// 2010 chart, then the 2011 chart announced 1 Dec 2010 and in force from
// 3 Jan 2011 00:00 in Germany (2 Jan 23:00 UTC), with `promise`.
Program History(Grandfathering promise) {
  ProgramVersion v2011 = Chart("mm-2011", 105'000);
  v2011.announced_at = At("2010-12-01T00:00:00+01:00");
  v2011.effective_from = At("2011-01-03T00:00:00+01:00");
  v2011.grandfathering = promise;
  auto program = Program::FromVersions({Chart("mm-2010", 90'000), v2011});
  EXPECT_TRUE(program.ok()) << program.status();
  return *program;
}

class AwardChartChange : public ::testing::Test {
 protected:
  void Open(Grandfathering promise) {
    engine_ = *Engine::Open(NewMemoryStore(), clock_, History(promise));
  }

  void Member(const char* id, int64_t miles, const char* earned) {
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = std::string("e-") + id, .member = Id(id), .at = At("2000-01-01T00:00:00Z")}).ok());
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = std::string("c-") + id + earned, .member = Id(id),
                                        .at = At(earned), .amount = Points(miles), .source = "flights"})
                    .ok());
  }

  void Earn(const char* id, int64_t miles, const char* earned) {
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = std::string("c-") + id + earned, .member = Id(id),
                                        .at = At(earned), .amount = Points(miles), .source = "flights"})
                    .ok());
  }

  Points Available(const char* id) { return engine_->BalanceOf(Id(id))->available; }

  FakeClock clock_{At("2011-01-10T12:00:00Z")};
  std::unique_ptr<Engine> engine_;
};

TEST_F(AwardChartChange, PriceFollowsTheVersionInForce) {
  Open({});
  Member("A", 200'000, "2010-06-01T10:00:00Z");
  auto before = engine_->Execute(RedeemReward{.idempotency_key = "r1", .member = Id("A"),
                                              .at = At("2011-01-02T22:59:59Z"), .reward = kBusinessAward});
  ASSERT_TRUE(before.ok()) << before.status();
  const auto& old_debit = std::get<entries::Debited>(before->entries[0].body);
  EXPECT_EQ(old_debit.amount, Points(90'000));
  EXPECT_EQ(old_debit.price.version, "mm-2010");
  EXPECT_EQ(before->entries[0].version, "mm-2010");
  // 2 Jan 23:00 UTC is 3 Jan 00:00 in Germany: the 2011 chart.
  auto after = engine_->Execute(RedeemReward{.idempotency_key = "r2", .member = Id("A"),
                                             .at = At("2011-01-02T23:00:00Z"), .reward = kBusinessAward});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(std::get<entries::Debited>(after->entries[0].body).amount, Points(105'000));
  EXPECT_EQ(after->entries[0].version, "mm-2011");
  // 200,000 - 90,000 - 105,000 = 5,000.
  EXPECT_EQ(Available("A"), Points(5'000));
  auto unknown = engine_->Execute(RedeemReward{.idempotency_key = "r3", .member = Id("A"), .reward = "award:EU-AS:first:one_way"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AwardChartChange, HoldBeforeTheChangeCapturedAfterUnderPriceLock) {
  Open({.price_lock = true});
  Member("A", 100'000, "2010-06-01T10:00:00Z");
  auto hold = engine_->Execute(HoldReward{.idempotency_key = "h", .member = Id("A"), .at = At("2011-01-02T10:00:00Z"),
                                          .reward = kBusinessAward, .ttl = absl::Hours(24 * 7)});
  ASSERT_TRUE(hold.ok()) << hold.status();
  EXPECT_EQ(engine_->BalanceAsOf(Id("A"), At("2011-01-02T10:00:00Z"))->held, Points(90'000));
  auto capture = engine_->Execute(CaptureHold{.idempotency_key = "cap", .member = Id("A"),
                                              .at = At("2011-01-05T09:00:00Z"), .hold = hold->seq()});
  ASSERT_TRUE(capture.ok()) << capture.status();
  const auto& captured = std::get<entries::HoldCaptured>(capture->entries[0].body);
  EXPECT_EQ(captured.amount, Points(90'000));
  EXPECT_EQ(captured.price.version, "mm-2010");
  EXPECT_EQ(captured.price.grandfathering, "price_lock");
  EXPECT_EQ(capture->entries[0].version, "mm-2011");
  EXPECT_EQ(Available("A"), Points(10'000));
}

TEST_F(AwardChartChange, WithoutPriceLockAnOldHoldMustBeRepriced) {
  Open({});
  Member("A", 200'000, "2010-06-01T10:00:00Z");
  auto hold = engine_->Execute(HoldReward{.idempotency_key = "h", .member = Id("A"), .at = At("2011-01-02T10:00:00Z"),
                                          .reward = kBusinessAward, .ttl = absl::Hours(24 * 7)});
  ASSERT_TRUE(hold.ok());
  auto capture = engine_->Execute(CaptureHold{.idempotency_key = "cap", .member = Id("A"),
                                              .at = At("2011-01-05T09:00:00Z"), .hold = hold->seq()});
  EXPECT_EQ(capture.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(capture.status().message().find("release it and hold again"), absl::string_view::npos);
  // The refusal changed nothing: the hold stays until its week is over.
  EXPECT_EQ(engine_->BalanceAsOf(Id("A"), At("2011-01-05T09:00:00Z"))->held, Points(90'000));
}

TEST_F(AwardChartChange, QuoteUsedAfterTheChange) {
  Open({.price_lock = true});
  Member("A", 200'000, "2010-06-01T10:00:00Z");
  auto quote = engine_->Execute(QuoteReward{.idempotency_key = "q", .member = Id("A"), .at = At("2011-01-02T10:00:00Z"),
                                            .reward = kBusinessAward, .ttl = absl::Hours(72)});
  ASSERT_TRUE(quote.ok()) << quote.status();
  uint64_t quote_id = quote->seq();
  EXPECT_EQ(std::get<entries::Quoted>(quote->entries[0].body).amount, Points(90'000));
  // A quote reserves nothing.
  EXPECT_EQ(Available("A"), Points(200'000));
  auto redeemed = engine_->Execute(RedeemReward{.idempotency_key = "r", .member = Id("A"), .at = At("2011-01-04T10:00:00Z"),
                                                .reward = kBusinessAward, .quote = quote_id});
  ASSERT_TRUE(redeemed.ok()) << redeemed.status();
  EXPECT_EQ(std::get<entries::Debited>(redeemed->entries[0].body).amount, Points(90'000));
  EXPECT_EQ(std::get<entries::Debited>(redeemed->entries[0].body).price.grandfathering, "price_lock");
  // The quote is used up.
  auto again = engine_->Execute(RedeemReward{.idempotency_key = "r2", .member = Id("A"), .at = At("2011-01-04T11:00:00Z"),
                                             .reward = kBusinessAward, .quote = quote_id});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AwardChartChange, QuoteLapsesAndNeedsPriceLock) {
  Open({});
  Member("A", 200'000, "2010-06-01T10:00:00Z");
  auto quote = engine_->Execute(QuoteReward{.idempotency_key = "q", .member = Id("A"), .at = At("2011-01-02T10:00:00Z"),
                                            .reward = kBusinessAward, .ttl = absl::Hours(72)});
  ASSERT_TRUE(quote.ok());
  auto unlocked = engine_->Execute(RedeemReward{.idempotency_key = "r", .member = Id("A"), .at = At("2011-01-04T10:00:00Z"),
                                                .reward = kBusinessAward, .quote = quote->seq()});
  EXPECT_EQ(unlocked.status().code(), absl::StatusCode::kFailedPrecondition);
  auto lapsed = engine_->Execute(RedeemReward{.idempotency_key = "r2", .member = Id("A"), .at = At("2011-01-06T10:00:00Z"),
                                              .reward = kBusinessAward, .quote = quote->seq()});
  EXPECT_EQ(lapsed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lapsed.status().message().find("lapsed"), absl::string_view::npos);
}

TEST_F(AwardChartChange, EarnedBeforeSplitsTheAwardExactly) {
  Open({.earned_before = At("2011-01-03T00:00:00+01:00"), .spend_until = At("2012-01-03T00:00:00+01:00")});
  // 60,000 protected miles cover 60,000 / 90,000 of the award at the old
  // price; the remaining 30,000 / 90,000 is priced at 105,000:
  // 30,000 x 105,000 / 90,000 = 35,000. Total 95,000.
  Member("C", 60'000, "2010-05-01T10:00:00Z");
  Earn("C", 100'000, "2011-02-01T10:00:00Z");
  auto split = engine_->Execute(RedeemReward{.idempotency_key = "r", .member = Id("C"), .at = At("2011-03-01T10:00:00Z"),
                                             .reward = kBusinessAward});
  ASSERT_TRUE(split.ok()) << split.status();
  const auto& debit = std::get<entries::Debited>(split->entries[0].body);
  EXPECT_EQ(debit.amount, Points(95'000));
  EXPECT_EQ(debit.price.grandfathering, "earned_before");
  EXPECT_EQ(debit.price.old_points, Points(60'000));
  EXPECT_EQ(debit.price.new_points, Points(35'000));
  ASSERT_EQ(debit.draws.size(), 2u);
  EXPECT_EQ(debit.draws[0].amount, Points(60'000));  // the 2010 lot
  EXPECT_EQ(debit.draws[1].amount, Points(35'000));  // the 2011 lot
  EXPECT_EQ(Available("C"), Points(65'000));

  // 50,000 protected: 40,000 x 105,000 / 90,000 = 46,666.67, rounded up to
  // 46,667; total 96,667.
  Member("D", 50'000, "2010-05-01T10:00:00Z");
  Earn("D", 100'000, "2011-02-01T10:00:00Z");
  auto rounded = engine_->Execute(RedeemReward{.idempotency_key = "rd", .member = Id("D"), .at = At("2011-03-01T10:00:00Z"),
                                               .reward = kBusinessAward});
  ASSERT_TRUE(rounded.ok());
  EXPECT_EQ(std::get<entries::Debited>(rounded->entries[0].body).amount, Points(96'667));

  // Enough protected miles: the whole award at 90,000.
  Member("E", 120'000, "2010-05-01T10:00:00Z");
  auto whole = engine_->Execute(RedeemReward{.idempotency_key = "re", .member = Id("E"), .at = At("2011-03-01T10:00:00Z"),
                                             .reward = kBusinessAward});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(std::get<entries::Debited>(whole->entries[0].body).amount, Points(90'000));

  // After spend_until, the new price.
  Member("F", 200'000, "2010-05-01T10:00:00Z");
  auto late = engine_->Execute(RedeemReward{.idempotency_key = "rf", .member = Id("F"), .at = At("2012-01-05T10:00:00Z"),
                                            .reward = kBusinessAward});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(std::get<entries::Debited>(late->entries[0].body).amount, Points(105'000));
}

TEST_F(AwardChartChange, EarnedBeforeNeedsEnoughNewMilesForTheRest) {
  Open({.earned_before = At("2011-01-03T00:00:00+01:00")});
  // 60,000 protected + 30,000 new: the new share needs 35,000.
  Member("C", 60'000, "2010-05-01T10:00:00Z");
  Earn("C", 30'000, "2011-02-01T10:00:00Z");
  auto short_of = engine_->Execute(RedeemReward{.idempotency_key = "r", .member = Id("C"), .at = At("2011-03-01T10:00:00Z"),
                                                .reward = kBusinessAward});
  EXPECT_EQ(short_of.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Available("C"), Points(90'000));
}

TEST_F(AwardChartChange, BookByKeepsOldPricesForEarlyBookings) {
  Open({.book_by = At("2011-02-01T00:00:00+01:00")});
  Member("A", 300'000, "2010-06-01T10:00:00Z");
  auto early = engine_->Execute(RedeemReward{.idempotency_key = "r1", .member = Id("A"), .at = At("2011-01-20T10:00:00Z"),
                                             .reward = kBusinessAward});
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(std::get<entries::Debited>(early->entries[0].body).amount, Points(90'000));
  EXPECT_EQ(std::get<entries::Debited>(early->entries[0].body).price.grandfathering, "book_by");
  auto late = engine_->Execute(RedeemReward{.idempotency_key = "r2", .member = Id("A"), .at = At("2011-02-02T10:00:00Z"),
                                            .reward = kBusinessAward});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(std::get<entries::Debited>(late->entries[0].body).amount, Points(105'000));
}

TEST_F(AwardChartChange, CashAndPointsStatesTheMoneyDue) {
  Open({});
  Member("A", 20'000, "2010-06-01T10:00:00Z");
  auto redeemed = engine_->Execute(RedeemReward{.idempotency_key = "v", .member = Id("A"), .at = At("2010-07-01T10:00:00Z"),
                                                .reward = "upgrade-voucher"});
  ASSERT_TRUE(redeemed.ok()) << redeemed.status();
  const auto& debit = std::get<entries::Debited>(redeemed->entries[0].body);
  EXPECT_EQ(debit.amount, Points(10'000));
  EXPECT_EQ(debit.price.cash, Money::Parse("49.00", *Currency::FromCode("EUR")).value());
  EXPECT_NE(redeemed->entries[0].explanation.find("plus 49.00 EUR"), std::string::npos);
  EXPECT_EQ(Available("A"), Points(10'000));
}

TEST(PriceReward, NeverWorseThanTheNewPrice) {
  // A version that lowers a price: grandfathering never applies the old,
  // higher price.
  ProgramVersion cheaper = Chart("v2", 80'000);
  cheaper.effective_from = At("2011-01-01T00:00:00Z");
  cheaper.announced_at = cheaper.effective_from;
  cheaper.grandfathering.book_by = At("2011-06-01T00:00:00Z");
  Program program = *Program::FromVersions({Chart("v1", 90'000), cheaper});
  auto price = PriceReward(program, kBusinessAward, At("2011-02-01T00:00:00Z"), Points(0));
  ASSERT_TRUE(price.ok());
  EXPECT_EQ(price->amount, Points(80'000));
  EXPECT_EQ(price->price.grandfathering, "");
}

}  // namespace
}  // namespace loyalty
