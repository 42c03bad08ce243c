// Golden status-tier scenarios through the engine: the Miles & More ladder
// of 2010 (tests/data/mm-2010-tiers.json: Frequent Traveller at 35,000
// status miles or 30 segments, Senator at 100,000, HON Circle at 600,000
// over two calendar years, status through the end of February of the year
// after next, one tier down at a time, status holders' miles never lapse)
// and a retail ladder on qualifying spend over a rolling 12 months
// (tests/data/retail-rolling-tiers.json). Every figure is worked out by
// hand in the comments.
#include <string>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("EUR")); }

Program Load(const char* file) {
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/" + file);
  EXPECT_TRUE(program.ok()) << program.status();
  return *std::move(program);
}

const entries::TierChanged& TierOf(const Entry& entry) { return std::get<entries::TierChanged>(entry.body); }

class MilesAndMoreTiers : public ::testing::Test {
 protected:
  MilesAndMoreTiers() : engine_(*Engine::Open(NewMemoryStore(), clock_, Load("mm-2010-tiers.json"))) {}

  void Enroll(const char* member) {
    ASSERT_TRUE(
        engine_->Execute(loyalty::Enroll{.idempotency_key = std::string("enroll-") + member, .member = Id(member),
                                         .at = At("2009-12-01T10:00:00Z")})
            .ok());
  }
  absl::StatusOr<Receipt> Fly(const char* member, const std::string& key, const char* at, int64_t miles,
                              const char* booking_class) {
    FlightSegment segment{"LH", key, "FRA", "JFK", miles, "business", booking_class, std::nullopt};
    return engine_->Execute(
        Accrue{.idempotency_key = key, .member = Id(member), .at = At(at), .activity = {key, segment}});
  }
  absl::StatusOr<Receipt> Close(const char* key, const char* as_of) { return engine_->ClosePeriod(key, At(as_of)); }

  FakeClock clock_{At("2009-12-01T10:00:00Z")};
  std::unique_ptr<Engine> engine_;
};

TEST_F(MilesAndMoreTiers, UpgradesInThePeriodSoftLandingAndProtectionEnding) {
  Enroll("anna");
  // Ten business flights (class J, 200 %) of 5,000 miles, on the 10th of
  // February to November 2010: 10,000 status miles and one segment each.
  int64_t award = 0;
  for (int month = 2; month <= 11; ++month) {
    std::string key = "LH-" + std::to_string(month);
    std::string at = "2010-" + std::string(month < 10 ? "0" : "") + std::to_string(month) + "-10T10:00:00Z";
    auto flown = Fly("anna", key, at.c_str(), 5000, "J");
    ASSERT_TRUE(flown.ok()) << flown.status();
    const auto& credit = std::get<entries::Credited>(flown->entries[0].body);
    award += credit.amount.value();
    if (month <= 4) {
      // No status yet: 10,000 award miles, no bonus.
      EXPECT_EQ(credit.amount, Points(10'000));
      EXPECT_EQ(flown->entries.size(), 1u);
    }
    if (month == 5) {
      // The 4th flight crosses 35,000 (40,000): Frequent Traveller at once,
      // valid through the end of February 2012; its miles no longer lapse,
      // so the three earlier lots are renewed and this lot never expires.
      EXPECT_EQ(credit.amount, Points(10'000));
      ASSERT_EQ(flown->entries.size(), 2u);
      const auto& upgrade = TierOf(flown->entries[1]);
      EXPECT_EQ(upgrade.tier, "frequent_traveller");
      EXPECT_EQ(upgrade.reason, "qualified");
      EXPECT_EQ(upgrade.valid_until, At("2012-03-01T00:00:00+01:00"));
      EXPECT_EQ(upgrade.renewals.size(), 3u);
      EXPECT_EQ(credit.expires_at, Instant::Max());
      EXPECT_NE(flown->entries[1].explanation.find("status_miles 40000 >= 35000 over 2010-01-01..2010-12-31"),
                std::string::npos)
          << flown->entries[1].explanation;
    }
    if (month >= 6) {
      // Frequent Traveller's bonus: 10,000 + floor(10,000 x 0.25) = 12,500.
      EXPECT_EQ(credit.amount, Points(12'500));
    }
    if (month == 11) {
      // The 10th flight reaches 100,000: Senator, same validity.
      ASSERT_EQ(flown->entries.size(), 2u);
      EXPECT_EQ(TierOf(flown->entries[1]).tier, "senator");
      EXPECT_EQ(TierOf(flown->entries[1]).valid_until, At("2012-03-01T00:00:00+01:00"));
    }
  }
  // 4 x 10,000 + 6 x 12,500 = 115,000 award miles; status miles apart.
  EXPECT_EQ(award, 115'000);
  auto state = engine_->Snapshot(Id("anna"));
  EXPECT_EQ(state->balance, Points(115'000));
  EXPECT_EQ(state->detail().counters.at("status_miles"), Points(100'000));

  // Standing: Senator, kept already for 2010; HON Circle needs 600,000 over
  // 2009-2010, 500,000 more.
  auto standing = engine_->TierOf(Id("anna"), At("2010-11-11T00:00:00Z"));
  ASSERT_TRUE(standing.ok());
  EXPECT_EQ(standing->tier, "senator");
  EXPECT_EQ(standing->name, "Senator");
  EXPECT_TRUE(standing->keep->met);
  ASSERT_TRUE(standing->next.has_value());
  EXPECT_EQ(standing->next->tier, "hon_circle");
  EXPECT_EQ(standing->next->span.first.ToString(), "2009-01-01");
  EXPECT_EQ(standing->next->any_of[0][0].missing, Points(500'000));
  EXPECT_EQ(standing->benefits.named, (std::vector<std::string>{"senator_lounge", "priority_line"}));

  // Closing 2010 confirms Senator with the validity it already has: nothing to write.
  auto close_2010 = Close("close-2010", "2011-01-01T00:00:00+01:00");
  ASSERT_TRUE(close_2010.ok());
  EXPECT_TRUE(close_2010->entries.empty());

  // One flight in 2011 at Senator's 50 %: 10,000 + 5,000 = 15,000.
  auto flown_2011 = Fly("anna", "LH-2011", "2011-03-10T10:00:00Z", 5000, "J");
  ASSERT_TRUE(flown_2011.ok());
  EXPECT_EQ(std::get<entries::Credited>(flown_2011->entries[0].body).amount, Points(15'000));

  // 2011 earned 10,000 status miles: no tier, but Senator runs until March.
  EXPECT_TRUE(Close("close-2011", "2012-01-01T00:00:00+01:00")->entries.empty());
  // 1 March 2012: Senator lapses; soft landing one tier down to Frequent
  // Traveller for another year (through February 2013). Still protected.
  auto lapse = Close("lapse-2012", "2012-03-01T00:00:00+01:00");
  ASSERT_TRUE(lapse.ok());
  ASSERT_EQ(lapse->entries.size(), 1u);
  EXPECT_EQ(TierOf(lapse->entries[0]).tier, "frequent_traveller");
  EXPECT_EQ(TierOf(lapse->entries[0]).reason, "soft_landing");
  EXPECT_EQ(TierOf(lapse->entries[0]).valid_until, At("2013-03-01T00:00:00+01:00"));
  EXPECT_TRUE(TierOf(lapse->entries[0]).renewals.empty());
  // Idempotent: reviewing again as of the same instant changes nothing.
  EXPECT_TRUE(Close("lapse-2012-again", "2012-03-01T00:00:00+01:00")->entries.empty());

  // 1 March 2013: Frequent Traveller lapses with nothing earned in 2012:
  // no status. Protection ends, so the 11 lots get a fresh term of 36
  // months from 1 March 2013, to the end of that quarter: through
  // 31 March 2016.
  auto ends = Close("lapse-2013", "2013-03-01T00:00:00+01:00");
  ASSERT_EQ(ends->entries.size(), 1u);
  EXPECT_EQ(TierOf(ends->entries[0]).tier, "");
  EXPECT_EQ(TierOf(ends->entries[0]).reason, "expired");
  ASSERT_EQ(TierOf(ends->entries[0]).renewals.size(), 11u);
  for (const LotRenewal& renewal : TierOf(ends->entries[0]).renewals) {
    EXPECT_EQ(renewal.expires_at, At("2016-04-01T00:00:00+02:00"));
  }
  // Nothing lapses the day before; all 130,000 on 1 April 2016.
  EXPECT_TRUE(engine_->RunExpiry("x-1", At("2016-03-31T12:00:00+02:00"))->entries.empty());
  auto expired = engine_->RunExpiry("x-2", At("2016-04-01T00:00:00+02:00"));
  ASSERT_EQ(expired->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::Expired>(expired->entries[0].body).amount, Points(130'000));
}

TEST_F(MilesAndMoreTiers, ThirtySegmentsMakeAFrequentTraveller) {
  Enroll("sami");
  // 30 hops of 200 miles in class K (25 %): 50, raised to the minimum 125
  // status miles each, 3,750 in all; the 30th segment qualifies.
  for (int day = 1; day <= 30; ++day) {
    std::string key = "hop-" + std::to_string(day);
    std::string at = "2010-01-" + std::string(day < 10 ? "0" : "") + std::to_string(day) + "T08:00:00Z";
    auto flown = Fly("sami", key, at.c_str(), 200, "K");
    ASSERT_TRUE(flown.ok()) << flown.status();
    EXPECT_EQ(flown->entries.size(), day == 30 ? 2u : 1u) << day;
    if (day == 30) {
      EXPECT_EQ(TierOf(flown->entries[1]).tier, "frequent_traveller");
      EXPECT_NE(flown->entries[1].explanation.find("segments 30 >= 30"), std::string::npos);
    }
  }
  EXPECT_EQ(engine_->Snapshot(Id("sami"))->detail().counters.at("status_miles"), Points(3'750));
}

TEST_F(MilesAndMoreTiers, HonCircleOverTwoYearsAndAReversalThatKeepsStatus) {
  Enroll("hans");
  auto credit = [&](const char* key, const char* at, int64_t status_miles) {
    return engine_->Execute(Credit{.idempotency_key = key, .member = Id("hans"), .at = At(at), .amount = Points(1000),
                                   .source = key, .counters = {{"status_miles", Points(status_miles)}}});
  };
  // 300,000 in 2010: Senator (HON Circle would need 600,000 over 2009-2010).
  auto first = credit("flights-2010", "2010-06-01T10:00:00Z", 300'000);
  ASSERT_EQ(first->entries.size(), 2u);
  EXPECT_EQ(TierOf(first->entries[1]).tier, "senator");
  // 300,000 more in 2011: 600,000 over 2010-2011, HON Circle through
  // February 2013.
  auto second = credit("flights-2011", "2011-06-01T10:00:00Z", 300'000);
  ASSERT_EQ(second->entries.size(), 2u);
  EXPECT_EQ(TierOf(second->entries[1]).tier, "hon_circle");
  EXPECT_EQ(TierOf(second->entries[1]).valid_until, At("2013-03-01T00:00:00+01:00"));
  EXPECT_EQ(TierOf(second->entries[1]).period_first, Date::FromYmd(2010, 1, 1)->days_since_epoch());
  // A refunded flight takes 100,000 status miles of 2011 back: 500,000 no
  // longer reach HON Circle, but this ladder keeps status on reversal, and
  // says so.
  auto refund = engine_->Execute(ReverseEarn{.idempotency_key = "refund", .member = Id("hans"),
                                             .at = At("2011-07-01T10:00:00Z"), .credit = second->seq(),
                                             .amount = Points(100), .counters = {{"status_miles", Points(100'000)}}});
  ASSERT_TRUE(refund.ok()) << refund.status();
  ASSERT_EQ(refund->entries.size(), 2u);
  EXPECT_EQ(TierOf(refund->entries[1]).tier, "hon_circle");
  EXPECT_EQ(TierOf(refund->entries[1]).reason, "kept");
}

TEST_F(MilesAndMoreTiers, LifetimeSenatorIsNeverDowngradedBelowIt) {
  Enroll("lena");
  auto big = engine_->Execute(Credit{.idempotency_key = "career", .member = Id("lena"),
                                     .at = At("2010-06-01T10:00:00Z"), .amount = Points(1000), .source = "career",
                                     .counters = {{"status_miles", Points(1'000'000)}}});
  // 1,000,000 over 2009-2010: HON Circle, and Senator for life.
  ASSERT_EQ(big->entries.size(), 2u);
  EXPECT_EQ(TierOf(big->entries[1]).tier, "hon_circle");
  EXPECT_EQ(TierOf(big->entries[1]).lifetime_tier, "senator");
  // 2011 closes with 2010-2011 still at 1,000,000: HON Circle retained
  // through February 2013.
  EXPECT_TRUE(Close("c2010", "2011-01-01T00:00:00+01:00")->entries.empty());
  auto retained = Close("c2011", "2012-01-01T00:00:00+01:00");
  ASSERT_EQ(retained->entries.size(), 1u);
  EXPECT_EQ(TierOf(retained->entries[0]).reason, "retained");
  EXPECT_EQ(TierOf(retained->entries[0]).valid_until, At("2013-03-01T00:00:00+01:00"));
  // HON Circle lapses in March 2013: soft landing to Senator for a year.
  auto landing = Close("l2013", "2013-03-01T00:00:00+01:00");
  ASSERT_EQ(landing->entries.size(), 1u);
  EXPECT_EQ(TierOf(landing->entries[0]).tier, "senator");
  EXPECT_EQ(TierOf(landing->entries[0]).reason, "soft_landing");
  // Senator lapses in March 2014; one tier down would be Frequent
  // Traveller, but the lifetime floor keeps Senator, with no end date.
  auto floor = Close("l2014", "2014-03-01T00:00:00+01:00");
  ASSERT_EQ(floor->entries.size(), 1u);
  EXPECT_EQ(TierOf(floor->entries[0]).tier, "senator");
  EXPECT_EQ(TierOf(floor->entries[0]).reason, "lifetime");
  EXPECT_EQ(TierOf(floor->entries[0]).valid_until, Instant::Max());
  EXPECT_TRUE(Close("l2020", "2020-03-01T00:00:00+01:00")->entries.empty());
}

TEST(RetailRollingTiers, SpendQualifiesReturnsRevokePaidAndInvitedTiers) {
  FakeClock clock(At("2024-01-02T09:00:00Z"));
  auto engine = *Engine::Open(NewMemoryStore(), clock, Load("retail-rolling-tiers.json"));
  const MemberId rita = Id("rita");
  ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = rita}).ok());
  auto basket = [&](const char* key, const char* at, const char* amount) {
    Purchase purchase{"shop", "berlin-1", "store", {PurchaseLine{"sku", "fashion", {}, 1, Eur(amount)}}};
    return engine->Execute(Accrue{.idempotency_key = key, .member = rita, .at = At(at), .activity = {key, purchase}});
  };
  // 700.00 on 10 January: 700 points, 700 qualifying spend: Silver for 12
  // months from that day.
  auto first = basket("b1", "2024-01-10T10:00:00Z", "700.00");
  ASSERT_EQ(first->entries.size(), 2u);
  EXPECT_EQ(TierOf(first->entries[1]).tier, "silver");
  EXPECT_EQ(TierOf(first->entries[1]).valid_until, At("2025-01-10T00:00:00+01:00"));
  auto standing = engine->TierOf(rita, At("2024-01-15T00:00:00Z"));
  EXPECT_EQ(standing->next->tier, "gold");
  EXPECT_EQ(standing->next->any_of[0][0].have, Points(700));
  EXPECT_EQ(standing->next->any_of[0][0].missing, Points(800));
  // 900.00 on 20 January: 1,600 over the 12 months: Gold.
  auto second = basket("b2", "2024-01-20T10:00:00Z", "900.00");
  ASSERT_EQ(second->entries.size(), 2u);
  EXPECT_EQ(TierOf(second->entries[1]).tier, "gold");
  // Gold's 20 % off a 1,000-point voucher: 800 points. Soonest-expiring
  // lots first (both lapse with January 2026), earliest earned first:
  // 700 from basket 1, 100 from basket 2.
  auto voucher = engine->Execute(
      RedeemReward{.idempotency_key = "v", .member = rita, .at = At("2024-02-01T10:00:00Z"), .reward = "voucher-10"});
  ASSERT_TRUE(voucher.ok()) << voucher.status();
  const auto& debit = std::get<entries::Debited>(voucher->entries[0].body);
  EXPECT_EQ(debit.amount, Points(800));
  EXPECT_EQ(debit.price.discount, Points(200));
  EXPECT_EQ(debit.price.tier, "gold");
  // Basket 2 comes back: 900 points reversed, 800 from its lot and 100
  // already spent as debt; qualifying spend back to 700, which no longer
  // reaches Gold: revoked to Silver, valid 12 months from 20 January.
  auto returned = engine->Execute(ReturnLines{.idempotency_key = "r", .member = rita,
                                              .at = At("2024-02-05T10:00:00Z"),
                                              .credit = second->seq(), .lines = {0}});
  ASSERT_TRUE(returned.ok()) << returned.status();
  ASSERT_EQ(returned->entries.size(), 2u);
  EXPECT_EQ(TierOf(returned->entries[1]).tier, "silver");
  EXPECT_EQ(TierOf(returned->entries[1]).reason, "revoked");
  EXPECT_EQ(TierOf(returned->entries[1]).valid_until, At("2025-01-20T00:00:00+01:00"));
  EXPECT_EQ(*engine->BalanceOf(rita), (Balance{Points(0), Points(0), Points(100)}));

  // A paid "club" subscription until 1 June outranks Silver.
  ASSERT_TRUE(engine->Execute(SubscribeTier{.idempotency_key = "club", .member = rita,
                                            .at = At("2024-03-01T10:00:00Z"), .tier = "club",
                                            .paid_until = At("2024-06-01T00:00:00+02:00")})
                  .ok());
  EXPECT_EQ(engine->TierOf(rita, At("2024-03-02T00:00:00Z"))->tier, "club");
  // The review of 1 June: the 12 months to 31 May hold 700 (basket 1):
  // Silver retained until 1 June 2025; the subscription was not renewed.
  auto june = engine->ClosePeriod("june", At("2024-06-01T00:00:00+02:00"));
  ASSERT_EQ(june->entries.size(), 2u);
  EXPECT_EQ(TierOf(june->entries[0]).reason, "retained");
  EXPECT_EQ(TierOf(june->entries[0]).valid_until, At("2025-06-01T00:00:00+02:00"));
  EXPECT_TRUE(TierOf(june->entries[1]).paid);
  EXPECT_EQ(TierOf(june->entries[1]).reason, "expired");
  EXPECT_EQ(engine->TierOf(rita, At("2024-06-02T00:00:00Z"))->tier, "silver");

  // Invitation-only Ambassador, granted by hand with a reason.
  auto invited = engine->Execute(GrantTier{.idempotency_key = "amb", .member = rita, .at = At("2024-07-01T10:00:00Z"),
                                           .tier = "ambassador", .reason = "influencer programme",
                                           .actor = "crm:eva"});
  ASSERT_TRUE(invited.ok()) << invited.status();
  EXPECT_EQ(TierOf(invited->entries[0]).reason, "manual");
  EXPECT_EQ(TierOf(invited->entries[0]).valid_until, At("2025-07-01T00:00:00+02:00"));
  // Nobody can subscribe to a tier that is not paid, nor be granted one
  // that is.
  EXPECT_EQ(engine->Execute(SubscribeTier{.idempotency_key = "bad", .member = rita, .tier = "gold",
                                          .paid_until = At("2030-01-01T00:00:00Z")})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Execute(GrantTier{.idempotency_key = "bad2", .member = rita, .tier = "club", .reason = "r",
                                      .actor = "a"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A year later nothing was bought in the 12 months: no status.
  auto lapsed = engine->ClosePeriod("july", At("2025-07-01T00:00:00+02:00"));
  ASSERT_EQ(lapsed->entries.size(), 1u);
  EXPECT_EQ(TierOf(lapsed->entries[0]).tier, "");
  EXPECT_EQ(TierOf(lapsed->entries[0]).reason, "expired");
}

}  // namespace
}  // namespace loyalty
