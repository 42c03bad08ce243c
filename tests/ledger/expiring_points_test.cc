// Expiry warnings (ExpiringPointsOf, Engine::ExpiringPoints): the lots
// that lapse within a window, when and why, as the expiry runs will take
// them. Dates worked out in the comments (Europe/Berlin).
#include <string>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "loyalty/notices.h"
#include "test_values.h"

namespace loyalty {
namespace {

using test::At;
using test::Id;

// Lots last 12 months, to the end of that month; every point lapses after
// 18 months without an accrual; the "card" flag protects; a closed
// membership keeps its points 3 months.
constexpr char kShop[] = R"({"versions": [
 {"id": "shop", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-01-01T00:00:00Z", "effective_from": "2024-01-01T00:00:00Z",
  "expiry": {"months": 12, "round": "end_of_month", "inactivity_months": 18, "protected_by_flags": ["card"],
             "closure_grace_months": 3}}]})";

class ExpiringPointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kShop);
    ASSERT_TRUE(program.ok()) << program.status();
    auto engine = Engine::Open(NewMemoryStore(), clock_, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    // Enrolled 5 January 2024; no accrual after it, so inactivity counts
    // from then: every point lapses on 5 July 2025.
    Run(Enroll{.idempotency_key = "e", .member = Id("ann"), .at = At("2024-01-05T09:00:00Z")});
    // A: 100 on 10 Feb 2024, valid through 28 Feb 2025. B: 200 on 15 June
    // 2024, through 30 June 2025. C: 300 on 10 Jan 2025, through 31 Jan 2026.
    a_ = Run(Credit{.idempotency_key = "a", .member = Id("ann"), .at = At("2024-02-10T09:00:00Z"),
                    .amount = Points(100)});
    b_ = Run(Credit{.idempotency_key = "b", .member = Id("ann"), .at = At("2024-06-15T09:00:00Z"),
                    .amount = Points(200)});
    c_ = Run(Credit{.idempotency_key = "c", .member = Id("ann"), .at = At("2025-01-10T09:00:00Z"),
                    .amount = Points(300)});
  }
  uint64_t Run(const Command& command) {
    auto receipt = engine_->Execute(command);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->seq() : 0;
  }
  std::vector<LapsingLot> Within(const char* now, int days) {
    clock_.Set(At(now));
    auto lots = engine_->ExpiringPoints(Id("ann"), days);
    EXPECT_TRUE(lots.ok()) << lots.status();
    return lots.ok() ? *lots : std::vector<LapsingLot>{};
  }

  FakeClock clock_{At("2024-01-01T00:00:00Z")};
  std::unique_ptr<Engine> engine_;
  uint64_t a_ = 0, b_ = 0, c_ = 0;
};

// 90 days ahead of 15 December 2024 (to 15 March 2025): lot A's 100 points
// lapse at the start of 1 March 2025 (23:00 UTC on 28 February).
TEST_F(ExpiringPointsTest, AWarningNinetyDaysAhead) {
  EXPECT_EQ(Within("2024-12-15T10:00:00Z", 90),
            (std::vector<LapsingLot>{{LotId{a_, 0}, Points(100), At("2025-02-28T23:00:00Z"), LapseReason::kTerm}}));
}

// 90 days ahead of 10 April 2025 (to 9 July): A is already due (no expiry
// run took it); B lapses at the start of 1 July (22:00 UTC on 30 June);
// C would last until February 2026, but the whole balance lapses at the
// start of 5 July 2025, 18 months after the enrolment.
TEST_F(ExpiringPointsTest, InactivityTakesLotsBeforeTheirTerm) {
  EXPECT_EQ(Within("2025-04-10T10:00:00Z", 90),
            (std::vector<LapsingLot>{
                {LotId{a_, 0}, Points(100), At("2025-02-28T23:00:00Z"), LapseReason::kTerm},
                {LotId{b_, 0}, Points(200), At("2025-06-30T22:00:00Z"), LapseReason::kTerm},
                {LotId{c_, 0}, Points(300), At("2025-07-04T22:00:00Z"), LapseReason::kInactivity}}));
  // The expiry run at that time takes exactly these.
  auto run = engine_->RunExpiry("expiry", At("2025-07-04T22:00:00Z"));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(engine_->BalanceOf(Id("ann"))->available, Points(0));
}

// A protecting flag suspends both the terms and the inactivity rule.
TEST_F(ExpiringPointsTest, AProtectedMemberLosesNothing) {
  Run(SetMemberFlag{.idempotency_key = "f", .member = Id("ann"), .at = At("2024-12-01T10:00:00Z"), .flag = "card"});
  EXPECT_TRUE(Within("2024-12-15T10:00:00Z", 36600).empty());
}

// After closure everything lapses when the grace ends, unless a lot's
// term ends first; a window of 0 days lists only what is due now.
TEST_F(ExpiringPointsTest, AClosedMembershipLapsesWhenItsGraceEnds) {
  Run(CloseMembership{.idempotency_key = "x", .member = Id("ann"), .at = At("2024-12-20T10:00:00Z")});
  const Instant grace_end = engine_->Snapshot(Id("ann"))->detail().redeemable_until;
  ASSERT_LT(grace_end, At("2025-06-30T22:00:00Z"));
  const std::vector<LapsingLot> lots = Within("2024-12-21T10:00:00Z", 365);
  ASSERT_EQ(lots.size(), 3u);
  EXPECT_EQ(lots[0].reason, grace_end < At("2025-02-28T23:00:00Z") ? LapseReason::kClosure : LapseReason::kTerm);
  EXPECT_EQ(lots[2], (LapsingLot{LotId{c_, 0}, Points(300), grace_end, LapseReason::kClosure}));
  EXPECT_TRUE(Within("2024-12-21T10:00:00Z", 0).empty());
}

TEST_F(ExpiringPointsTest, RefusalsNameTheFieldOrTheMember) {
  EXPECT_EQ(engine_->ExpiringPoints(Id("ann"), -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->ExpiringPoints(Id("bob"), 90).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LapseReasonName(LapseReason::kInactivity), "inactivity");
}

}  // namespace
}  // namespace loyalty
