// Expiry policies beyond a lot's own term: protection by a member flag (and
// the fresh term when it ends), inactivity, and the grace period after a
// membership is closed. Dates worked out by hand in the comments.
#include "gtest/gtest.h"
#include "loyalty/engine.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

// 36 months to the end of the quarter (Miles & More), plus `policy`.
Program WithPolicy(ExpiryTerm policy) {
  ProgramVersion version;
  version.id = "v1";
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.expiry = policy;
  version.expiry.months = 36;
  version.expiry.round = ExpiryTerm::Round::kEndOfQuarter;
  AccrualRule survey;
  survey.id = "survey";
  survey.when.activity_types = {"custom"};
  survey.effect.kind = AccrualEffect::Kind::kFixed;
  survey.effect.fixed = Points(100);
  survey.effect.balance = version.redeemable_balance;
  version.accrual = {survey};
  return *Program::FromVersions({version});
}

class ExpiryPolicyTest : public ::testing::Test {
 protected:
  void Open(ExpiryTerm policy) {
    engine_ = *Engine::Open(NewMemoryStore(), clock_, WithPolicy(policy));
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = "e", .member = Id("A"), .at = At("2010-01-01T10:00:00Z")}).ok());
  }
  Receipt Ok(const Command& command) {
    auto receipt = engine_->Execute(command);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? *receipt : Receipt{};
  }
  Points Available() { return engine_->BalanceOf(Id("A"))->available; }

  FakeClock clock_{At("2010-01-01T10:00:00Z")};
  std::unique_ptr<Engine> engine_;
};

TEST_F(ExpiryPolicyTest, FlagProtectsLotsAndTheirTermRestartsWhenItEnds) {
  Open({.protected_by_flags = {"cobrand_card"}});
  // Earned 1 Feb 2010: valid through 31 Mar 2013.
  uint64_t lot = Ok(Credit{.idempotency_key = "c1", .member = Id("A"), .at = At("2010-02-01T10:00:00Z"),
                           .amount = Points(1000)})
                     .entries[0]
                     .seq;
  Receipt on = Ok(SetMemberFlag{.idempotency_key = "card", .member = Id("A"), .at = At("2012-01-01T10:00:00Z"),
                                .flag = "cobrand_card", .on = true});
  EXPECT_EQ(std::get<entries::FlagChanged>(on.entries[0].body).renewals,
            (std::vector<LotRenewal>{{LotId{lot, 0}, Instant::Max()}}));
  // Earned while protected: never lapses.
  uint64_t protected_lot = Ok(Credit{.idempotency_key = "c2", .member = Id("A"), .at = At("2012-06-01T10:00:00Z"),
                                     .amount = Points(500)})
                               .entries[0]
                               .seq;
  EXPECT_EQ(engine_->Snapshot(Id("A"))->FindLot(LotId{protected_lot, 0})->expires_at, Instant::Max());
  // Past the old expiry date nothing lapses.
  ASSERT_TRUE(engine_->RunExpiry("x1", At("2013-06-01T00:00:00Z")).ok());
  EXPECT_EQ(Available(), Points(1500));
  // The card is cancelled on 10 May 2014: a fresh term from that day,
  // 10 May 2017, end of quarter 30 Jun 2017, lapsing 1 Jul 2017 00:00 in
  // Berlin (22:00 UTC the day before).
  Receipt off = Ok(SetMemberFlag{.idempotency_key = "card-off", .member = Id("A"), .at = At("2014-05-10T10:00:00Z"),
                                 .flag = "cobrand_card", .on = false});
  EXPECT_EQ(std::get<entries::FlagChanged>(off.entries[0].body).renewals.size(), 2u);
  auto state = engine_->Snapshot(Id("A"));
  EXPECT_EQ(state->FindLot(LotId{lot, 0})->expires_at, At("2017-06-30T22:00:00Z"));
  EXPECT_EQ(state->FindLot(LotId{protected_lot, 0})->expires_at, At("2017-06-30T22:00:00Z"));
  auto again = engine_->Execute(SetMemberFlag{.idempotency_key = "card-off-2", .member = Id("A"),
                                              .flag = "cobrand_card", .on = false});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ExpiryPolicyTest, AnUnlistedFlagProtectsNothing) {
  Open({.protected_by_flags = {"cobrand_card"}});
  Ok(Credit{.idempotency_key = "c1", .member = Id("A"), .at = At("2010-02-01T10:00:00Z"), .amount = Points(1000)});
  Receipt on = Ok(SetMemberFlag{.idempotency_key = "vip", .member = Id("A"), .at = At("2012-01-01T10:00:00Z"),
                                .flag = "newsletter", .on = true});
  EXPECT_TRUE(std::get<entries::FlagChanged>(on.entries[0].body).renewals.empty());
  ASSERT_TRUE(engine_->RunExpiry("x1", At("2013-06-01T00:00:00Z")).ok());
  EXPECT_EQ(Available(), Points(0));
}

TEST_F(ExpiryPolicyTest, InactivityLapsesEveryLot) {
  Open({.inactivity_months = 18});
  // The last activity is on 1 Mar 2010; 18 months later is 1 Sep 2011.
  Ok(Accrue{.idempotency_key = "s1", .member = Id("A"), .at = At("2010-03-01T10:00:00Z"),
            .activity = {"survey-1", CustomActivity{"survey", {}, std::nullopt}}});
  Ok(Credit{.idempotency_key = "c1", .member = Id("A"), .at = At("2010-04-01T10:00:00Z"), .amount = Points(900)});
  auto early = engine_->RunExpiry("x1", At("2011-08-31T10:00:00Z"));
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->entries.empty());
  auto due = engine_->RunExpiry("x2", At("2011-09-01T10:00:00Z"));
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::Expired>(due->entries[0].body).amount, Points(1000));
  EXPECT_NE(due->entries[0].explanation.find("no activity since 2010-03-01"), std::string::npos);
  EXPECT_EQ(Available(), Points(0));
}

TEST_F(ExpiryPolicyTest, ClosedMembershipKeepsPointsForTheGracePeriod) {
  Open({.closure_grace_months = 6});
  Ok(Credit{.idempotency_key = "c1", .member = Id("A"), .at = At("2011-01-10T10:00:00Z"), .amount = Points(1000)});
  // Closed 15 Mar 2011: redeemable until 15 Sep 2011 00:00 in Berlin.
  Receipt closed = Ok(CloseMembership{.idempotency_key = "close", .member = Id("A"), .at = At("2011-03-15T10:00:00Z")});
  EXPECT_EQ(std::get<entries::MembershipClosed>(closed.entries[0].body).redeemable_until, At("2011-09-14T22:00:00Z"));
  auto earn = engine_->Execute(Credit{.idempotency_key = "c2", .member = Id("A"), .at = At("2011-04-01T10:00:00Z"),
                                      .amount = Points(10)});
  EXPECT_EQ(earn.status().code(), absl::StatusCode::kFailedPrecondition);
  Ok(Redeem{.idempotency_key = "r1", .member = Id("A"), .at = At("2011-09-01T10:00:00Z"), .amount = Points(300)});
  auto late = engine_->Execute(Redeem{.idempotency_key = "r2", .member = Id("A"), .at = At("2011-09-20T10:00:00Z"),
                                      .amount = Points(100)});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  auto run = engine_->RunExpiry("x", At("2011-09-15T00:00:00Z"));
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::Expired>(run->entries[0].body).amount, Points(700));
  EXPECT_EQ(Available(), Points(0));
}

}  // namespace
}  // namespace loyalty
