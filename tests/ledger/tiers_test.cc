// Unit tests of the tier evaluators (loyalty/tiers.h) and the ladder's
// JSON format: periods, counter totals, thresholds of a new version from
// the next period, the grace policy, format errors, and replay of tier
// entries from a SQLite journal.
#include "loyalty/tiers.h"

#include <cstdio>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
Date D(const char* text) { return *Date::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

TierLadder Ladder(TierLadder::Period period) {
  TierLadder ladder;
  ladder.period = period;
  return ladder;
}

TEST(TierPeriods, CalendarMembershipAndRolling) {
  const Date enrolled = D("2010-03-15");
  auto calendar = Ladder(TierLadder::Period::kCalendarYear);
  EXPECT_EQ(QualificationPeriodOf(calendar, enrolled, D("2010-07-01")), (Period{D("2010-01-01"), D("2010-12-31")}));
  EXPECT_EQ(PreviousPeriod(calendar, enrolled, {D("2010-01-01"), D("2010-12-31")}),
            (Period{D("2009-01-01"), D("2009-12-31")}));
  auto membership = Ladder(TierLadder::Period::kMembershipYear);
  EXPECT_EQ(QualificationPeriodOf(membership, enrolled, D("2011-03-14")), (Period{D("2010-03-15"), D("2011-03-14")}));
  EXPECT_EQ(QualificationPeriodOf(membership, enrolled, D("2011-03-15")), (Period{D("2011-03-15"), D("2012-03-14")}));
  // Before enrolment too (the earlier of two periods of a two-year tier).
  EXPECT_EQ(QualificationPeriodOf(membership, enrolled, D("2010-01-01")), (Period{D("2009-03-15"), D("2010-03-14")}));
  auto rolling = Ladder(TierLadder::Period::kRolling12Months);
  EXPECT_EQ(QualificationPeriodOf(rolling, enrolled, D("2024-02-29")), (Period{D("2023-03-01"), D("2024-02-29")}));
}

TEST(TierPeriods, ValidityAfterThePeriodOrFromTheDay) {
  auto zone = *TimeZone::Load("Europe/Berlin");
  TierLadder ladder;
  ladder.months_after_period = 14;
  // Earned in 2011: through the end of February 2013.
  EXPECT_EQ(StatusValidUntil(ladder, zone, {D("2011-01-01"), D("2011-12-31")}, D("2011-05-05")),
            At("2013-03-01T00:00:00+01:00"));
  // In 2010: through 29 February 2012.
  EXPECT_EQ(StatusValidUntil(ladder, zone, {D("2010-01-01"), D("2010-12-31")}, D("2010-05-05")),
            At("2012-03-01T00:00:00+01:00"));
  ladder.months_after_period = 0;
  ladder.validity_months = 12;
  EXPECT_EQ(StatusValidUntil(ladder, zone, {D("2023-08-01"), D("2024-07-31")}, D("2024-07-31")),
            At("2025-07-31T00:00:00+02:00"));
}

TEST(TierCounters, TotalsSumTheDaysOfTheSpanAndPendingChanges) {
  MemberState member;
  member.mutable_detail().counter_days["miles"] = {{D("2010-12-31").days_since_epoch(), Points(500)},
                                  {D("2011-01-01").days_since_epoch(), Points(700)}};
  const Period y2011{D("2011-01-01"), D("2011-12-31")};
  EXPECT_EQ(CounterTotal(member, "miles", y2011, {}), 700);
  std::vector<PendingCounter> pending = {{"miles", D("2011-06-01").days_since_epoch(), 300},
                                         {"miles", D("2012-01-01").days_since_epoch(), 1000},
                                         {"segments", D("2011-06-01").days_since_epoch(), 1}};
  EXPECT_EQ(CounterTotal(member, "miles", y2011, pending), 1000);
  EXPECT_EQ(CounterTotal(member, "segments", y2011, pending), 1);
  EXPECT_EQ(CounterTotal(member, "nothing", y2011, pending), 0);
}

// Version 1 (2010): Gold at 1,000 qualifying points. Version 2, announced
// in May and effective 1 July 2011, raises it to 2,000: from the next
// period (2012) unless `immediately` is set.
std::string TwoVersions(bool immediately, const char* downgrade = R"("to_earned")", const char* extra = "") {
  auto version = [&](const char* id, const char* announced, const char* effective, int gold, bool now) {
    return absl::StrCat(R"({"id": ")", id, R"(", "currency": "EUR", "time_zone": "Europe/Berlin",
      "announced_at": ")", announced, R"(", "effective_from": ")", effective, R"(",
      "counters": ["qp"],
      "accrual": [{"id": "qp", "when": {"activity_types": ["purchase"]},
                   "effect": {"kind": "per_money", "rate": "1", "balance": "qp"}}],
      "tiers": {"period": "calendar_year", "months_after_period": 2, "downgrade": )",
                        downgrade, extra, now ? R"(, "thresholds_apply_immediately": true)" : "",
                        R"(, "ladder": [{"id": "gold", "qualify": [{"qp": )", gold, R"(}]}]}})");
  };
  return absl::StrCat(R"({"versions": [)",
                      version("v1", "2009-12-01T00:00:00Z", "2010-01-01T00:00:00+01:00", 1000, false), ",",
                      version("v2", "2011-05-01T00:00:00Z", "2011-07-01T00:00:00+02:00", 2000, immediately), "]}");
}

absl::StatusOr<Receipt> Buy(Engine& engine, const char* key, const char* at, const char* amount) {
  Purchase purchase{"shop", "s", "store",
                    {PurchaseLine{"sku", "any", {}, 1, *Money::Parse(amount, *Currency::FromCode("EUR"))}}};
  return engine.Execute(Accrue{.idempotency_key = key, .member = Id("m"), .at = At(at), .activity = {key, purchase}});
}

TEST(TierThresholds, ANewVersionRaisesThemFromTheNextPeriod) {
  for (bool immediately : {false, true}) {
    SCOPED_TRACE(immediately);
    auto program = ParseProgram(TwoVersions(immediately));
    ASSERT_TRUE(program.ok()) << program.status();
    FakeClock clock(At("2011-01-02T00:00:00Z"));
    auto engine = *Engine::Open(NewMemoryStore(), clock, *program);
    ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("m")}).ok());
    // 1,200 qualifying points in August 2011, under v2: the 2011 period
    // began under v1, whose 1,000 still apply unless v2 says otherwise.
    auto bought = Buy(*engine, "b", "2011-08-01T10:00:00Z", "1200.00");
    ASSERT_TRUE(bought.ok()) << bought.status();
    EXPECT_EQ(bought->entries.size(), immediately ? 1u : 2u);
    // In 2012, v2's 2,000 apply either way.
    ASSERT_TRUE(Buy(*engine, "c", "2012-02-01T10:00:00Z", "1200.00").ok());
    EXPECT_EQ(engine->TierOf(Id("m"), At("2012-02-02T00:00:00Z"))->keep.has_value(), !immediately);
    auto standing = engine->TierOf(Id("m"), At("2012-02-02T00:00:00Z"));
    const TierTarget& target = immediately ? *standing->next : *standing->keep;
    EXPECT_EQ(target.any_of[0][0].need, Points(2000));
    EXPECT_EQ(target.any_of[0][0].missing, Points(800));
  }
}

TEST(TierDowngrade, GraceKeepsTheTierOnceThenFallsToTheTierEarned) {
  auto program = ParseProgram(TwoVersions(false, R"("grace", "grace_months": 3)"));
  ASSERT_TRUE(program.ok()) << program.status();
  FakeClock clock(At("2010-01-02T00:00:00Z"));
  auto engine = *Engine::Open(NewMemoryStore(), clock, *program);
  ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("m")}).ok());
  ASSERT_TRUE(Buy(*engine, "b", "2010-03-01T10:00:00Z", "1000.00").ok());
  // Gold through February 2011 (two months after the 2010 period).
  EXPECT_EQ(engine->TierOf(Id("m"), At("2010-03-02T00:00:00Z"))->valid_until, At("2011-03-01T00:00:00+01:00"));
  auto grace = engine->ClosePeriod("k1", At("2011-03-01T00:00:00+01:00"));
  ASSERT_EQ(grace->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::TierChanged>(grace->entries[0].body).reason, "grace");
  EXPECT_EQ(std::get<entries::TierChanged>(grace->entries[0].body).valid_until, At("2011-06-01T00:00:00+02:00"));
  auto after = engine->ClosePeriod("k2", At("2011-06-01T00:00:00+02:00"));
  ASSERT_EQ(after->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::TierChanged>(after->entries[0].body).tier, "");
  EXPECT_EQ(std::get<entries::TierChanged>(after->entries[0].body).reason, "expired");
}

TEST(TierFormat, ErrorsNameTheirPath) {
  auto bad = ParseProgram(TwoVersions(false, R"("sideways")", R"(, "grace_months": 0, "validity_months": 3)"));
  ASSERT_FALSE(bad.ok());
  const std::string message(bad.status().message());
  EXPECT_NE(message.find("versions[0].tiers.downgrade"), std::string::npos) << message;
  EXPECT_NE(message.find("versions[0].tiers.grace_months"), std::string::npos) << message;
  EXPECT_NE(message.find("versions[0].tiers.validity_months: give exactly one"), std::string::npos) << message;

  const char* unknown_counter = R"({"versions": [{"id": "v", "currency": "EUR", "time_zone": "UTC",
    "announced_at": "2020-01-01T00:00:00Z", "effective_from": "2020-01-01T00:00:00Z", "counters": ["qp"],
    "tiers": {"period": "calendar_year", "validity_months": 12,
              "ladder": [{"id": "gold", "qualify": [{"miles": 5}]}, {"id": "gold", "paid": true, "qualify": [{"qp": 1}]},
                         {"id": "vip", "benefits": {"redemption_discount": "1"}}]}}]})";
  auto errors = ParseProgram(unknown_counter);
  ASSERT_FALSE(errors.ok());
  const std::string text(errors.status().message());
  EXPECT_NE(text.find("versions[0].tiers.ladder[0].qualify[0].miles: \"miles\" is not one of the version's counters"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("versions[0].tiers.ladder[1].id: \"gold\" is the id of an earlier tier"), std::string::npos);
  EXPECT_NE(text.find("versions[0].tiers.ladder[1].qualify: an invitation-only or paid tier"), std::string::npos);
  EXPECT_NE(text.find("versions[0].tiers.ladder[2].qualify: required unless"), std::string::npos);
  EXPECT_NE(text.find("versions[0].tiers.ladder[2].benefits.redemption_discount: must be below 1"), std::string::npos);
}

TEST(TierReplay, ReopeningTheJournalReproducesTheStatus) {
  auto program = ParseProgram(TwoVersions(false, R"("one_tier")"));
  ASSERT_TRUE(program.ok()) << program.status();
  std::string path = ::testing::TempDir() + "/tiers_replay.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  FakeClock clock(At("2010-01-02T00:00:00Z"));
  Sha256 live{};
  {
    auto engine = *Engine::Open(*OpenSqliteStore(path), clock, *program);
    ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("m")}).ok());
    ASSERT_TRUE(Buy(*engine, "b", "2010-03-01T10:00:00Z", "1000.00").ok());
    ASSERT_TRUE(engine->ClosePeriod("k1", At("2011-03-01T00:00:00+01:00")).ok());
    live = engine->StateDigest();
    EXPECT_EQ(engine->TierOf(Id("m"), At("2011-03-02T00:00:00Z"))->reason, "expired");
  }
  auto reopened = *Engine::Open(*OpenSqliteStore(path), clock, *program);
  EXPECT_EQ(reopened->StateDigest(), live);
  auto again = reopened->ClosePeriod("k1", At("2011-03-01T00:00:00+01:00"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
}

}  // namespace
}  // namespace loyalty
