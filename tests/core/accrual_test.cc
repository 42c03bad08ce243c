// Tests of the accrual evaluator (loyalty/accrual.h): a PAYBACK-like retail
// program, a Miles & More-like flight program, revenue-based earning by
// tier, attribution of points to purchase lines, every input error and
// overflow, and the version checks (CheckAccrualRules, as
// Program::FromVersions reports them). Every expected figure is worked out
// by hand in the comments.
#include "loyalty/accrual.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loyalty {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = AccrualEffect::Kind;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

Currency Eur() { return *Currency::FromCode("EUR"); }
Money Eur(const char* amount) { return *Money::Parse(amount, Eur()); }
Rate R(const char* text) { return *Rate::Parse(text); }
Instant At(const char* text) { return *Instant::Parse(text); }
Date D(const char* text) { return *Date::Parse(text); }

PurchaseLine Line(std::string sku, std::string category, int64_t quantity, const char* unit_price,
                  std::vector<std::string> tags = {}) {
  PurchaseLine line;
  line.sku = std::move(sku);
  line.category = std::move(category);
  line.tags = std::move(tags);
  line.quantity = quantity;
  line.unit_price = Eur(unit_price);
  return line;
}

Activity Basket(std::vector<PurchaseLine> lines, std::string channel = "store") {
  Purchase purchase;
  purchase.partner = "dm";
  purchase.store = "berlin-1";
  purchase.channel = std::move(channel);
  purchase.lines = std::move(lines);
  return Activity{"basket-1", purchase};
}

Activity Flight(int64_t miles, std::string booking_class, std::optional<Money> ticket_price = std::nullopt) {
  FlightSegment segment;
  segment.carrier = "LH";
  segment.flight_number = "LH454";
  segment.origin = "FRA";
  segment.destination = "SFO";
  segment.distance_miles = miles;
  segment.cabin = booking_class == "J" ? "business" : "economy";
  segment.booking_class = std::move(booking_class);
  segment.ticket_price = ticket_price;
  return Activity{"220-1234567890", segment};
}

AccrualContext Context(const char* at, std::string tier = "", bool first_activity = false) {
  return AccrualContext{At(at), std::move(tier), first_activity, NoRuleUsage};
}

AccrualRule Fixed(std::string id, int64_t points, int priority = 0) {
  AccrualRule rule;
  rule.id = std::move(id);
  rule.priority = priority;
  rule.effect.kind = Kind::kFixed;
  rule.effect.fixed = Points(points);
  return rule;
}

AccrualRule PerMoney(std::string id, const char* rate, Rounding rounding = Rounding::kDown, int priority = 0) {
  AccrualRule rule;
  rule.id = std::move(id);
  rule.priority = priority;
  rule.effect.kind = Kind::kPerMoney;
  rule.effect.rate = R(rate);
  rule.effect.rounding = rounding;
  return rule;
}

AccrualRule Multiplier(std::string id, const char* rate, std::vector<std::string> base, int priority) {
  AccrualRule rule;
  rule.id = std::move(id);
  rule.priority = priority;
  rule.effect.kind = Kind::kMultiplier;
  rule.effect.rate = R(rate);
  rule.effect.base_rules = std::move(base);
  return rule;
}

AccrualRule PerUnit(std::string id, int64_t points, int priority = 0) {
  AccrualRule rule;
  rule.id = std::move(id);
  rule.priority = priority;
  rule.effect.kind = Kind::kPerUnit;
  rule.effect.per_unit = Points(points);
  return rule;
}

ProgramVersion Version(std::string id, std::vector<AccrualRule> rules) {
  ProgramVersion version;
  version.id = std::move(id);
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.redeemable_balance = "points";
  version.accrual = std::move(rules);
  return version;
}

std::vector<std::string> RuleIds(const AccrualResult& result) {
  std::vector<std::string> ids;
  for (const AccrualLine& line : result.lines) ids.push_back(line.rule_id);
  return ids;
}

std::vector<int64_t> PerLine(const AccrualResult& result) {
  std::vector<int64_t> values;
  for (Points points : result.per_line) values.push_back(points.value());
  return values;
}

const AccrualLine* FindLine(const AccrualResult& result, absl::string_view rule_id) {
  for (const AccrualLine& line : result.lines) {
    if (line.rule_id == rule_id) return &line;
  }
  return nullptr;
}

void ExpectAttributionAddsUp(const AccrualResult& result) {
  int64_t sum = result.unattributed.value();
  for (Points points : result.per_line) {
    EXPECT_GE(points.value(), 0);
    sum += points.value();
  }
  EXPECT_EQ(sum, result.redeemable.value());
}

// ---------------------------------------------------------------- retail

// A PAYBACK-like partner: 1 point per EUR 2 rounded down, gift cards and
// deposits excluded; 10x on coffee in March 2024; 500 welcome points; a
// weekend bonus (30) and a big-basket bonus (50 from EUR 50) of which only
// the better counts; double points on electronics, capped at 100 a day.
// The rules are deliberately not listed in priority order.
ProgramVersion Retail() {
  AccrualRule coffee = Multiplier("coffee-10x", "9", {"base"}, 10);
  coffee.when.include_categories = {"coffee"};
  coffee.when.from_date = D("2024-03-01");
  coffee.when.until_date = D("2024-03-31");

  AccrualRule base = PerMoney("base", "0.5");
  base.description = "1 point per EUR 2";
  base.when.exclude_categories = {"gift_card", "deposit"};

  AccrualRule welcome = Fixed("welcome", 500, 20);
  welcome.when.first_activity_only = true;

  AccrualRule weekend = Fixed("weekend", 30, 30);
  weekend.exclusive_group = "bonus";
  weekend.when.days_of_week = {0, 6};

  AccrualRule big = Fixed("big-basket", 50, 30);
  big.exclusive_group = "bonus";
  big.when.exclude_categories = {"gift_card", "deposit"};
  big.when.min_eligible_amount = Eur("50.00");

  AccrualRule electronics = PerMoney("electronics", "2", Rounding::kDown, 40);
  electronics.when.include_categories = {"electronics"};
  electronics.cap.per_member_day = Points(100);

  return Version("pb-2024", {coffee, base, welcome, weekend, big, electronics});
}

TEST(AccrualRetail, OnePointPerTwoEuroRoundedDown) {
  // Tuesday 2 April 2024, outside the coffee campaign, not the first visit.
  // 25.99 x 0.5 = 12.995 -> 12. No bonus: a weekday, and 25.99 < 50.
  auto result = EvaluateAccrual(Retail(), Basket({Line("G1", "groceries", 1, "25.99")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->version_id, "pb-2024");
  ASSERT_EQ(result->lines.size(), 1u);
  EXPECT_EQ(result->lines[0].rule_id, "base");
  EXPECT_EQ(result->lines[0].balance, "points");
  EXPECT_EQ(result->lines[0].desired, Points(12));
  EXPECT_EQ(result->lines[0].granted, Points(12));
  EXPECT_EQ(FormulaText(result->lines[0]), "floor(25.99 EUR x 0.5) = 12");
  EXPECT_EQ(result->redeemable, Points(12));
  EXPECT_TRUE(result->counters.empty());
  EXPECT_THAT(PerLine(*result), ElementsAre(12));
  EXPECT_EQ(result->unattributed, Points(0));
}

TEST(AccrualRetail, ExactProductShowsNoRounding) {
  // 26.00 x 0.5 = 13 exactly.
  auto result = EvaluateAccrual(Retail(), Basket({Line("G1", "groceries", 2, "13.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FormulaText(result->lines[0]), "26.00 EUR x 0.5 = 13");
}

TEST(AccrualRetail, FullBasketOnASaturdayInTheCampaign) {
  // Saturday 16 March 2024, 11:00 in Berlin.
  //   0 coffee       2 x  4.99 =  9.98
  //   1 groceries    1 x 12.35 = 12.35
  //   2 gift_card    1 x 25.00           excluded from base and big-basket
  //   3 deposit      4 x  0.25 =  1.00   excluded from base and big-basket
  //   4 electronics  1 x 60.00 = 60.00
  // base: 9.98 + 12.35 + 60.00 = 82.33; x 0.5 = 41.165 -> 41.
  //   Attribution of 41 over 998 : 1235 : 6000 (sum 8233):
  //     41 x  998 = 40918 = 4 x 8233 + 7986  -> 4, remainder 7986
  //     41 x 1235 = 50635 = 6 x 8233 + 1237  -> 6, remainder 1237
  //     41 x 6000 = 246000 = 29 x 8233 + 7243 -> 29, remainder 7243
  //   39 given, 2 left: to the largest remainders, lines 0 and 4 -> 5, 6, 30.
  // coffee-10x (priority 10, after base): the base on coffee lines is 5;
  //   5 x 9 = 45, all on line 0.
  // welcome: not the first activity.
  // weekend (30) and big-basket (50, eligible 82.33 >= 50): one group, 50 wins.
  // electronics: 60.00 x 2 = 120, day cap 100 -> 100, on line 4.
  // Total 41 + 45 + 50 + 100 = 236; per line 5+45, 6, 0, 0, 30+100; 50 unattributed.
  auto result = EvaluateAccrual(Retail(),
                                Basket({Line("C1", "coffee", 2, "4.99"), Line("G1", "groceries", 1, "12.35"),
                                        Line("GC", "gift_card", 1, "25.00"), Line("D", "deposit", 4, "0.25"),
                                        Line("TV", "electronics", 1, "60.00")}),
                                Context("2024-03-16T10:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("base", "coffee-10x", "big-basket", "electronics"));
  EXPECT_EQ(FormulaText(result->lines[0]), "floor(82.33 EUR x 0.5) = 41");
  EXPECT_EQ(FormulaText(result->lines[1]), "5 x 9 = 45");
  EXPECT_EQ(result->lines[1].granted, Points(45));
  EXPECT_EQ(FormulaText(result->lines[2]), "fixed 50");
  EXPECT_EQ(result->lines[3].desired, Points(120));
  EXPECT_EQ(result->lines[3].granted, Points(100));
  EXPECT_EQ(FormulaText(result->lines[3]), "60.00 EUR x 2 = 120; cap per_member_day 100 bites: 120 -> 100");
  EXPECT_EQ(result->redeemable, Points(236));
  EXPECT_THAT(PerLine(*result), ElementsAre(50, 6, 0, 0, 130));
  EXPECT_EQ(result->unattributed, Points(50));
  ExpectAttributionAddsUp(*result);
}

TEST(AccrualRetail, DayCapCountsWhatWasAlreadyGranted) {
  // Already 70 today: 120 wanted, 100 - 70 = 30 left.
  auto used_70 = [](absl::string_view rule) {
    return rule == "electronics" ? RuleUsage{Points(70), Points(70), Points(70), 1} : RuleUsage{};
  };
  AccrualContext context{At("2024-04-02T09:00:00Z"), "", false, used_70};
  auto result = EvaluateAccrual(Retail(), Basket({Line("TV", "electronics", 1, "60.00")}), context);
  ASSERT_TRUE(result.ok()) << result.status();
  // base 60.00 x 0.5 = 30; big-basket 50 (60 >= 50, a weekday so no weekend bonus).
  const AccrualLine* line = FindLine(*result, "electronics");
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(line->desired, Points(120));
  EXPECT_EQ(line->granted, Points(30));
  EXPECT_EQ(FormulaText(*line), "60.00 EUR x 2 = 120; cap per_member_day 100 (70 used) bites: 120 -> 30");
  EXPECT_EQ(result->redeemable, Points(30 + 50 + 30));

  // Already 150 today (the cap was lowered since): nothing, never negative.
  auto used_150 = [](absl::string_view) { return RuleUsage{Points(150), Points(150), Points(150), 3}; };
  AccrualContext over{At("2024-04-02T09:00:00Z"), "", false, used_150};
  result = EvaluateAccrual(Retail(), Basket({Line("TV", "electronics", 1, "60.00")}), over);
  ASSERT_TRUE(result.ok()) << result.status();
  line = FindLine(*result, "electronics");
  ASSERT_NE(line, nullptr);
  EXPECT_EQ(line->granted, Points(0));
  EXPECT_EQ(FormulaText(*line), "60.00 EUR x 2 = 120; cap per_member_day 100 (150 used) bites: 120 -> 0");
  EXPECT_EQ(result->redeemable, Points(80));
  ExpectAttributionAddsUp(*result);
}

TEST(AccrualRetail, WelcomeBonusOnTheFirstActivityOnly) {
  // 12 (as above) + 500, which belongs to no line.
  auto result = EvaluateAccrual(Retail(), Basket({Line("G1", "groceries", 1, "25.99")}),
                                Context("2024-04-02T09:00:00Z", "", /*first_activity=*/true));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("base", "welcome"));
  EXPECT_EQ(FormulaText(result->lines[1]), "fixed 500");
  EXPECT_EQ(result->redeemable, Points(512));
  EXPECT_THAT(PerLine(*result), ElementsAre(12));
  EXPECT_EQ(result->unattributed, Points(500));
}

TEST(AccrualRetail, ExclusiveGroupKeepsOnlyTheBest) {
  // Saturday 6 April 2024, a 20.00 basket: weekend (30) applies, big-basket
  // does not (20 < 50), so weekend counts: 10 + 30.
  auto small = EvaluateAccrual(Retail(), Basket({Line("G1", "groceries", 1, "20.00")}),
                               Context("2024-04-06T09:00:00Z"));
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_THAT(RuleIds(*small), ElementsAre("base", "weekend"));
  EXPECT_EQ(small->redeemable, Points(40));
  // The same Saturday, 50.00: both apply, big-basket (50) beats weekend (30).
  auto big = EvaluateAccrual(Retail(), Basket({Line("G1", "groceries", 1, "50.00")}),
                             Context("2024-04-06T09:00:00Z"));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_THAT(RuleIds(*big), ElementsAre("base", "big-basket"));
  EXPECT_EQ(big->redeemable, Points(25 + 50));
  // min_eligible_amount reads the eligible amount: 49.99 of groceries plus a
  // 25.00 gift card is 49.99 eligible, below 50.
  auto gift = EvaluateAccrual(
      Retail(), Basket({Line("G1", "groceries", 1, "49.99"), Line("GC", "gift_card", 1, "25.00")}),
      Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(gift.ok()) << gift.status();
  EXPECT_THAT(RuleIds(*gift), ElementsAre("base"));
  EXPECT_EQ(gift->redeemable, Points(24));  // 49.99 x 0.5 = 24.995 -> 24
  EXPECT_THAT(PerLine(*gift), ElementsAre(24, 0));
}

TEST(AccrualRetail, ExclusiveGroupTiesGoToTheEarlierInPriorityOrder) {
  // "late" is listed first but has priority 5; "early" (priority 1) runs
  // first, and an equal amount does not displace it.
  AccrualRule late = Fixed("late", 40, 5);
  late.exclusive_group = "g";
  AccrualRule early = Fixed("early", 40, 1);
  early.exclusive_group = "g";
  auto tie = EvaluateAccrual(Version("ties", {late, early}), Basket({Line("A", "x", 1, "1.00")}),
                             Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(tie.ok()) << tie.status();
  EXPECT_THAT(RuleIds(*tie), ElementsAre("early"));
  EXPECT_EQ(tie->redeemable, Points(40));
  // A strictly larger amount later in the order wins.
  AccrualRule better = Fixed("better", 41, 9);
  better.exclusive_group = "g";
  auto win = EvaluateAccrual(Version("ties", {late, early, better}), Basket({Line("A", "x", 1, "1.00")}),
                             Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(win.ok()) << win.status();
  EXPECT_THAT(RuleIds(*win), ElementsAre("better"));
  EXPECT_EQ(win->redeemable, Points(41));
}

TEST(AccrualRetail, CampaignWindowUsesTheLocalDate) {
  // One coffee, 4.99: base 2.495 -> 2; in the window 2 x 9 = 18 more.
  Activity coffee = Basket({Line("C1", "coffee", 1, "4.99")});
  // 2024-02-29T23:30Z is 00:30 on Friday 1 March in Berlin (UTC+1): inside.
  auto first_day = EvaluateAccrual(Retail(), coffee, Context("2024-02-29T23:30:00Z"));
  ASSERT_TRUE(first_day.ok()) << first_day.status();
  EXPECT_EQ(first_day->redeemable, Points(20));
  // 2024-02-29T22:30Z is still 29 February in Berlin: outside.
  auto before = EvaluateAccrual(Retail(), coffee, Context("2024-02-29T22:30:00Z"));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->redeemable, Points(2));
  // 2024-03-31T21:30Z is 23:30 on 31 March (UTC+2 since that morning): inside.
  auto last_day = EvaluateAccrual(Retail(), coffee, Context("2024-03-31T21:30:00Z"));
  ASSERT_TRUE(last_day.ok()) << last_day.status();
  EXPECT_EQ(last_day->redeemable, Points(20 + 30));  // a Sunday: weekend bonus too
  // 2024-03-31T22:30Z is 00:30 on Monday 1 April: outside.
  auto after = EvaluateAccrual(Retail(), coffee, Context("2024-03-31T22:30:00Z"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->redeemable, Points(2));
}

TEST(AccrualRetail, TenTimesOnACategoryMultipliesOnlyThatCategory) {
  // In the campaign, a weekday (Wednesday 13 March): 10.00 coffee + 10.00 tea.
  // base 20.00 x 0.5 = 10, attributed 5 and 5; coffee-10x: 5 x 9 = 45.
  auto result = EvaluateAccrual(
      Retail(), Basket({Line("C1", "coffee", 1, "10.00"), Line("T1", "tea", 1, "10.00")}),
      Context("2024-03-13T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->redeemable, Points(55));
  EXPECT_THAT(PerLine(*result), ElementsAre(50, 5));
  // No coffee in the basket: the multiplier does not apply at all.
  auto tea = EvaluateAccrual(Retail(), Basket({Line("T1", "tea", 1, "10.00")}), Context("2024-03-13T09:00:00Z"));
  ASSERT_TRUE(tea.ok()) << tea.status();
  EXPECT_THAT(RuleIds(*tea), ElementsAre("base"));
}

TEST(AccrualRetail, MultiplierSeesOnlyRulesEvaluatedBeforeIt) {
  // "early-x2" runs at priority -1, before its base: it does not apply.
  AccrualRule base = PerMoney("base", "1");
  AccrualRule early = Multiplier("early-x2", "1", {"base"}, -1);
  AccrualRule late = Multiplier("late-x2", "1", {"base"}, 1);
  auto result = EvaluateAccrual(Version("order", {base, early, late}), Basket({Line("A", "x", 1, "7.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("base", "late-x2"));
  EXPECT_EQ(result->redeemable, Points(14));
}

TEST(AccrualRetail, LoserOfAnExclusiveGroupFeedsNoMultiplier) {
  // a (10) and b (20) compete; b wins; the multiplier over both sees 20 -> 2 x 20 = 40.
  AccrualRule a = Fixed("a", 10, 0);
  a.exclusive_group = "g";
  AccrualRule b = Fixed("b", 20, 0);
  b.exclusive_group = "g";
  AccrualRule twice = Multiplier("twice", "2", {"a", "b", "a"}, 1);  // "a" twice counts once
  auto result = EvaluateAccrual(Version("group", {a, b, twice}), Basket({Line("A", "x", 1, "1.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("b", "twice"));
  EXPECT_EQ(FormulaText(result->lines[1]), "20 x 2 = 40");
  EXPECT_EQ(result->redeemable, Points(60));
  EXPECT_EQ(result->unattributed, Points(60));
}

TEST(AccrualRetail, LineFilters) {
  // include_skus, include_tags (any tag), exclude_tags, exclude_skus.
  AccrualRule skus = PerMoney("skus", "1");
  skus.when.include_skus = {"A", "B"};
  skus.when.exclude_skus = {"B"};
  AccrualRule tags = PerMoney("tags", "1");
  tags.when.include_tags = {"organic", "fair"};
  tags.when.exclude_tags = {"alcohol"};
  ProgramVersion version = Version("filters", {skus, tags});
  auto result = EvaluateAccrual(version,
                                Basket({Line("A", "x", 1, "1.00", {"organic"}), Line("B", "x", 1, "2.00", {"fair"}),
                                        Line("C", "x", 1, "4.00", {"fair", "alcohol"}),
                                        Line("D", "x", 1, "8.00", {"plain"})}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  // skus: only A (B is excluded) -> 1. tags: A and B (C has alcohol, D no tag) -> 3.
  ASSERT_EQ(result->lines.size(), 2u);
  EXPECT_EQ(result->lines[0].granted, Points(1));
  EXPECT_EQ(result->lines[1].granted, Points(3));
  EXPECT_THAT(PerLine(*result), ElementsAre(2, 2, 0, 0));
}

TEST(AccrualRetail, PurchaseConditions) {
  AccrualRule online = Fixed("online", 10);
  online.when.channels = {"online"};
  online.when.partners = {"dm"};
  online.when.stores = {"berlin-1"};
  online.when.activity_types = {"purchase"};
  AccrualRule gold = Fixed("gold", 5);
  gold.when.member_tiers = {"gold"};
  ProgramVersion version = Version("conditions", {online, gold});
  auto in_store = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00")}, "store"),
                                  Context("2024-04-02T09:00:00Z", "gold"));
  ASSERT_TRUE(in_store.ok()) << in_store.status();
  EXPECT_THAT(RuleIds(*in_store), ElementsAre("gold"));
  auto on_line = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00")}, "online"),
                                 Context("2024-04-02T09:00:00Z", "silver"));
  ASSERT_TRUE(on_line.ok()) << on_line.status();
  EXPECT_THAT(RuleIds(*on_line), ElementsAre("online"));
  // A purchase-only condition never holds for a flight.
  auto flight = EvaluateAccrual(version, Flight(500, "Y"), Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(flight.ok()) << flight.status();
  EXPECT_TRUE(flight->lines.empty());
}

TEST(AccrualRetail, Caps) {
  // per_activity 100 on 300; month cap 1,000 with 950 used; campaign cap
  // 5,000 with 4,990 used; max_uses 2 with 2 uses: no line at all.
  AccrualRule activity = Fixed("activity", 300);
  activity.cap.per_activity = Points(100);
  AccrualRule month = Fixed("month", 300);
  month.cap.per_member_month = Points(1000);
  AccrualRule campaign = Fixed("campaign", 300);
  campaign.cap.per_campaign = Points(5000);
  campaign.cap.per_activity = Points(200);
  AccrualRule once = Fixed("twice-only", 300);
  once.cap.max_uses = 2;
  int calls = 0;
  auto usage = [&](absl::string_view rule) {
    ++calls;
    if (rule == "month") return RuleUsage{Points(0), Points(950), Points(950), 4};
    if (rule == "campaign") return RuleUsage{Points(0), Points(0), Points(4990), 9};
    if (rule == "twice-only") return RuleUsage{Points(0), Points(0), Points(600), 2};
    return RuleUsage{};
  };
  AccrualContext context{At("2024-04-02T09:00:00Z"), "", false, usage};
  auto result = EvaluateAccrual(Version("caps", {activity, month, campaign, once}), Basket({Line("A", "x", 1, "1.00")}),
                                context);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(calls, 3);  // "activity" has no usage-based cap
  ASSERT_EQ(result->lines.size(), 3u);
  EXPECT_EQ(FormulaText(result->lines[0]), "fixed 300; cap per_activity 100 bites: 300 -> 100");
  EXPECT_EQ(FormulaText(result->lines[1]), "fixed 300; cap per_member_month 1,000 (950 used) bites: 300 -> 50");
  EXPECT_EQ(FormulaText(result->lines[2]),
            "fixed 300; cap per_activity 200 bites: 300 -> 200; cap per_campaign 5,000 (4,990 used) bites: 200 -> 10");
  EXPECT_EQ(result->lines[2].desired, Points(300));
  EXPECT_EQ(result->lines[2].granted, Points(10));
  EXPECT_EQ(result->redeemable, Points(160));
}

// ---------------------------------------------------------------- flights

// A Miles & More-like program of 2010: award miles by distance and booking
// class (J 150 %, Y 100 %, K 25 %), at least 125 a segment; the same as
// status miles into a qualifying counter; Senators get 25 % more award miles.
ProgramVersion MilesAndMore() {
  AccrualRule award;
  award.id = "award-miles";
  award.effect.kind = Kind::kPerDistance;
  award.effect.booking_class_rates = {{"J", R("1.5")}, {"Y", R("1")}, {"K", R("0.25")}};
  award.effect.minimum = Points(125);
  AccrualRule status = award;
  status.id = "status-miles";
  status.effect.balance = "status_miles";
  AccrualRule senator = Multiplier("senator-bonus", "0.25", {"award-miles"}, 10);
  senator.when.member_tiers = {"senator"};
  ProgramVersion version = Version("mm-2010", {award, status, senator});
  version.redeemable_balance = "award_miles";
  version.counters = {"status_miles"};
  return version;
}

// ---------------------------------------------------------------- per unit

// A coffee chain: 10 points per coffee, counted by units, not by baskets.
TEST(AccrualPerUnit, TenPointsPerCoffee) {
  AccrualRule coffee = PerUnit("coffee", 10);
  coffee.when.include_categories = {"coffee"};
  // 3 coffees on one line, 2 on another, a croissant: 5 units x 10 = 50,
  // attributed 30 and 20 by units, nothing to the croissant.
  auto result = EvaluateAccrual(Version("cafe", {coffee}),
                                Basket({Line("latte", "coffee", 3, "3.50"), Line("croissant", "bakery", 1, "2.20"),
                                        Line("espresso", "coffee", 2, "2.10")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->redeemable, Points(50));
  EXPECT_THAT(PerLine(*result), ElementsAre(30, 0, 20));
  EXPECT_EQ(result->unattributed, Points(0));
  EXPECT_EQ(FormulaText(result->lines[0]), "5 units x 10 = 50");
  ExpectAttributionAddsUp(*result);
  // No coffee: the rule does not apply.
  auto bakery = EvaluateAccrual(Version("cafe", {coffee}), Basket({Line("croissant", "bakery", 4, "2.20")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(bakery.ok());
  EXPECT_TRUE(bakery->lines.empty());
  // Not a purchase: no units, no points.
  auto flight = EvaluateAccrual(Version("cafe", {PerUnit("any", 10)}), Flight(100, "Y"), Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(flight.ok());
  EXPECT_TRUE(flight->lines.empty());
}

TEST(AccrualPerUnit, CapsAndMultipliersWorkOnItAsOnAnyRule) {
  // 7 units x 10 = 70, capped at 50 per activity: split 50 x 4/7 = 28.57
  // and 50 x 3/7 = 21.43 -> 28 and 21, the point left to the larger
  // remainder (line 0: 0.57 > 0.43): 29 and 21.
  AccrualRule unit = PerUnit("unit", 10);
  unit.cap.per_activity = Points(50);
  // Double points on tea over it: 21 x 1 = 21 more on the tea line.
  AccrualRule tea = Multiplier("tea-double", "1", {"unit"}, 10);
  tea.when.include_categories = {"tea"};
  auto result = EvaluateAccrual(Version("cafe", {unit, tea}),
                                Basket({Line("latte", "coffee", 4, "3.50"), Line("green", "tea", 3, "2.90")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(PerLine(*result), ElementsAre(29, 42));
  EXPECT_EQ(result->redeemable, Points(71));
  EXPECT_EQ(FormulaText(*FindLine(*result, "unit")), "7 units x 10 = 70; cap per_activity 50 bites: 70 -> 50");
  ExpectAttributionAddsUp(*result);
}

TEST(AccrualPerUnit, NegativePointsAndOverflowAreErrors) {
  EXPECT_THAT(CheckAccrualRules(Version("v", {PerUnit("bad", -1)})).message(), HasSubstr("effect.points: -1 is negative"));
  auto huge = EvaluateAccrual(Version("v", {PerUnit("huge", kMax / 2)}), Basket({Line("a", "x", 3, "1.00")}),
                              Context("2024-04-02T09:00:00Z"));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kOutOfRange);
}

TEST(AccrualFlight, DistanceTimesBookingClass) {
  // 5,000 mi in J: 5,000 x 1.5 = 7,500 award miles and 7,500 status miles.
  auto result = EvaluateAccrual(MilesAndMore(), Flight(5000, "J"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->lines.size(), 2u);
  EXPECT_EQ(FormulaText(result->lines[0]), "5,000 mi x 150 % (J) = 7,500");
  EXPECT_EQ(result->lines[0].balance, "award_miles");
  EXPECT_EQ(result->lines[1].balance, "status_miles");
  EXPECT_EQ(result->redeemable, Points(7500));
  EXPECT_THAT(result->counters, ElementsAre(CounterDelta{"status_miles", Points(7500)}));
  // Not a purchase: nothing per line, everything unattributed.
  EXPECT_TRUE(result->per_line.empty());
  EXPECT_EQ(result->unattributed, Points(7500));

  // The same in Y: 5,000 x 1 = 5,000.
  result = EvaluateAccrual(MilesAndMore(), Flight(5000, "Y"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FormulaText(result->lines[0]), "5,000 mi x 100 % (Y) = 5,000");
  EXPECT_EQ(result->redeemable, Points(5000));
}

TEST(AccrualFlight, SenatorBonusOnAwardMilesOnly) {
  // 7,500 x 0.25 = 1,875 more award miles; status miles unchanged.
  auto result = EvaluateAccrual(MilesAndMore(), Flight(5000, "J"), Context("2010-11-02T10:00:00Z", "senator"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("award-miles", "status-miles", "senator-bonus"));
  EXPECT_EQ(FormulaText(result->lines[2]), "7,500 x 0.25 = 1,875");
  EXPECT_EQ(result->redeemable, Points(9375));
  EXPECT_THAT(result->counters, ElementsAre(CounterDelta{"status_miles", Points(7500)}));
}

TEST(AccrualFlight, MinimumPerSegment) {
  // 150 mi in K: 150 x 0.25 = 37.5 -> 37, raised to the minimum 125.
  auto k = EvaluateAccrual(MilesAndMore(), Flight(150, "K"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(FormulaText(k->lines[0]), "floor(150 mi x 25 % (K)) = 37 < minimum 125");
  EXPECT_EQ(k->lines[0].desired, Points(125));
  EXPECT_EQ(k->redeemable, Points(125));
  EXPECT_THAT(k->counters, ElementsAre(CounterDelta{"status_miles", Points(125)}));
  // 100 mi in Y: 100 < 125 -> 125.
  auto short_y = EvaluateAccrual(MilesAndMore(), Flight(100, "Y"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(short_y.ok()) << short_y.status();
  EXPECT_EQ(FormulaText(short_y->lines[0]), "100 mi x 100 % (Y) = 100 < minimum 125");
  EXPECT_EQ(short_y->redeemable, Points(125));
  // 150 mi in Y earns 150 at 100 %, above the minimum.
  auto y = EvaluateAccrual(MilesAndMore(), Flight(150, "Y"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->redeemable, Points(150));
}

TEST(AccrualFlight, UnlistedBookingClassEarnsNothing) {
  // Class P is not in the table: no miles, and so no Senator bonus either.
  auto result = EvaluateAccrual(MilesAndMore(), Flight(5000, "P"), Context("2010-11-02T10:00:00Z", "senator"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->lines.empty());
  EXPECT_EQ(result->redeemable, Points(0));
  EXPECT_TRUE(result->counters.empty());
}

TEST(AccrualFlight, FlightConditions) {
  AccrualRule transatlantic = Fixed("transatlantic", 1000);
  transatlantic.when.origins = {"FRA", "MUC"};
  transatlantic.when.destinations = {"SFO", "JFK"};
  transatlantic.when.cabins = {"business"};
  transatlantic.when.booking_classes = {"J", "C"};
  ProgramVersion version = Version("flight-conditions", {transatlantic});
  auto j = EvaluateAccrual(version, Flight(5000, "J"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->redeemable, Points(1000));
  auto y = EvaluateAccrual(version, Flight(5000, "Y"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->redeemable, Points(0));
  // A flight condition never holds for a purchase.
  auto basket = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00")}), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(basket.ok()) << basket.status();
  EXPECT_TRUE(basket->lines.empty());
}

TEST(AccrualFlight, TicketPriceByTier) {
  // Revenue-based: 4 per EUR, 6 for Senators, 7 for HON Circle.
  AccrualRule revenue;
  revenue.id = "revenue";
  revenue.effect.kind = Kind::kPerTicketPrice;
  revenue.effect.rate = R("4");
  revenue.effect.tier_rates = {{"senator", R("6")}, {"hon", R("7")}};
  ProgramVersion version = Version("lh-2015", {revenue});
  Activity ticket = Flight(5000, "J", Eur("1234.56"));
  // 1,234.56 x 4 = 4,938.24 -> 4,938.
  auto none = EvaluateAccrual(version, ticket, Context("2015-06-01T10:00:00Z"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(FormulaText(none->lines[0]), "floor(1234.56 EUR x 4) = 4,938");
  EXPECT_EQ(none->redeemable, Points(4938));
  // Senator: x 6 = 7,407.36 -> 7,407.
  auto senator = EvaluateAccrual(version, ticket, Context("2015-06-01T10:00:00Z", "senator"));
  ASSERT_TRUE(senator.ok()) << senator.status();
  EXPECT_EQ(FormulaText(senator->lines[0]), "floor(1234.56 EUR x 6 (senator)) = 7,407");
  EXPECT_EQ(senator->redeemable, Points(7407));
  // HON: x 7 = 8,641.92 -> 8,641.
  auto hon = EvaluateAccrual(version, ticket, Context("2015-06-01T10:00:00Z", "hon"));
  ASSERT_TRUE(hon.ok()) << hon.status();
  EXPECT_EQ(hon->redeemable, Points(8641));
  // No ticket price: the rule does not apply.
  auto award_ticket = EvaluateAccrual(version, Flight(5000, "J"), Context("2015-06-01T10:00:00Z", "senator"));
  ASSERT_TRUE(award_ticket.ok()) << award_ticket.status();
  EXPECT_TRUE(award_ticket->lines.empty());
}

TEST(AccrualFlight, PerMoneyReadsTheTicketPrice) {
  // 1,234.56 x 0.1 = 123.456 -> half-even 123.
  AccrualRule rule = PerMoney("per-euro", "0.1", Rounding::kHalfEven);
  auto result = EvaluateAccrual(Version("v", {rule}), Flight(5000, "J", Eur("1234.56")), Context("2015-06-01T10:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FormulaText(result->lines[0]), "round_half_even(1234.56 EUR x 0.1) = 123");
  EXPECT_EQ(result->redeemable, Points(123));
}

TEST(AccrualCustom, CardSpendReadsTheAmount) {
  AccrualRule card = PerMoney("card", "0.5", Rounding::kUp);
  card.when.custom_types = {"card_spend"};
  ProgramVersion version = Version("v", {card});
  CustomActivity spend{"card_spend", {{"merchant", "4711"}}, Eur("100.01")};
  // 100.01 x 0.5 = 50.005 -> up 51.
  auto result = EvaluateAccrual(version, Activity{"stmt-1", spend}, Context("2015-06-01T10:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(FormulaText(result->lines[0]), "ceil(100.01 EUR x 0.5) = 51");
  EXPECT_EQ(result->unattributed, Points(51));
  // Another custom type, or no amount: nothing.
  CustomActivity survey{"survey", {}, Eur("100.00")};
  auto other = EvaluateAccrual(version, Activity{"s-1", survey}, Context("2015-06-01T10:00:00Z"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(other->lines.empty());
  CustomActivity no_amount{"card_spend", {}, std::nullopt};
  auto none = EvaluateAccrual(version, Activity{"s-2", no_amount}, Context("2015-06-01T10:00:00Z"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->lines.empty());
}

// ---------------------------------------------------------------- attribution

TEST(AccrualAttribution, LargestRemainderTiesGoToTheLowerLine) {
  // 4 x 1.00 at 0.5 = 2 points; each line's quota is 0.5, all remainders
  // equal: lines 0 and 1 get one each.
  auto result = EvaluateAccrual(Version("v", {PerMoney("base", "0.5")}),
                                Basket({Line("A", "x", 1, "1.00"), Line("B", "x", 1, "1.00"),
                                        Line("C", "x", 1, "1.00"), Line("D", "x", 1, "1.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->redeemable, Points(2));
  EXPECT_THAT(PerLine(*result), ElementsAre(1, 1, 0, 0));
  EXPECT_EQ(result->unattributed, Points(0));
}

TEST(AccrualAttribution, MultiplierFollowsItsBase) {
  // base: 4.00 x 0.5 = 2 -> lines 1, 1, 0, 0 (as above); bonus: 1, unattributed.
  // triple: 3 x (2 + 1) = 9, split 1 : 1 : 0 : 0 : 1 (the bonus last) -> 3, 3, 0, 0, 3.
  // Per line 4, 4, 0, 0; unattributed 1 + 3 = 4; total 12.
  ProgramVersion version = Version("v", {Multiplier("triple", "3", {"base", "bonus"}, 10),
                                         PerMoney("base", "0.5"), Fixed("bonus", 1, 5)});
  auto result = EvaluateAccrual(version,
                                Basket({Line("A", "x", 1, "1.00"), Line("B", "x", 1, "1.00"),
                                        Line("C", "x", 1, "1.00"), Line("D", "x", 1, "1.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(RuleIds(*result), ElementsAre("base", "bonus", "triple"));
  EXPECT_EQ(FormulaText(result->lines[2]), "3 x 3 = 9");
  EXPECT_EQ(result->redeemable, Points(12));
  EXPECT_THAT(PerLine(*result), ElementsAre(4, 4, 0, 0));
  EXPECT_EQ(result->unattributed, Points(4));
}

TEST(AccrualAttribution, UnattributedShareComesAfterTheLines) {
  // base 1.00 x 1 = 1 on line 0; bonus 1; half: 0.5 x 2 = 1 point, quotas
  // 0.5 (line 0) and 0.5 (unattributed): the tie goes to line 0.
  ProgramVersion version =
      Version("v", {PerMoney("base", "1"), Fixed("bonus", 1), Multiplier("half", "0.5", {"base", "bonus"}, 1)});
  auto result = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00")}), Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->redeemable, Points(3));
  EXPECT_THAT(PerLine(*result), ElementsAre(2));
  EXPECT_EQ(result->unattributed, Points(1));
}

TEST(AccrualAttribution, CountersAreNotAttributed) {
  // Status points into a counter do not appear per line.
  AccrualRule status = PerMoney("status", "1");
  status.effect.balance = "status";
  ProgramVersion version = Version("v", {PerMoney("base", "0.5"), status});
  version.counters = {"status", "a-unused"};
  auto result = EvaluateAccrual(version, Basket({Line("A", "x", 1, "3.00"), Line("B", "x", 1, "5.00")}),
                                Context("2024-04-02T09:00:00Z"));
  ASSERT_TRUE(result.ok()) << result.status();
  // base 8.00 x 0.5 = 4 -> 1.5 : 2.5 -> 1, 2 remainders equal -> line 0: 2, 2.
  EXPECT_EQ(result->redeemable, Points(4));
  EXPECT_THAT(PerLine(*result), ElementsAre(2, 2));
  EXPECT_THAT(result->counters, ElementsAre(CounterDelta{"status", Points(8)}));
}

TEST(AccrualAttribution, AlwaysAddsUpOnManyBaskets) {
  // Pseudo-random baskets against the retail program plus a half-even promo:
  // every share is non-negative, the shares add up, and gift cards and
  // deposits earn nothing.
  ProgramVersion version = Retail();
  AccrualRule promo = PerMoney("promo", "0.03", Rounding::kHalfEven, 50);
  promo.when.include_tags = {"promo"};
  version.accrual.push_back(promo);
  version.accrual.push_back(Multiplier("promo-x2", "1.5", {"promo", "base"}, 60));
  const char* categories[] = {"coffee", "groceries", "gift_card", "deposit", "electronics"};
  uint64_t seed = 42;
  auto next = [&](uint64_t bound) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % bound;
  };
  for (int round = 0; round < 500; ++round) {
    std::vector<PurchaseLine> lines;
    size_t count = 1 + next(8);
    for (size_t i = 0; i < count; ++i) {
      PurchaseLine line = Line("S" + std::to_string(i), categories[next(5)], 1 + static_cast<int64_t>(next(5)), "0.00");
      line.unit_price = Money(static_cast<int64_t>(next(100000)), Eur());
      if (next(2) == 0) line.tags = {"promo"};
      lines.push_back(line);
    }
    auto result = EvaluateAccrual(version, Basket(lines), Context("2024-03-16T10:00:00Z", "", next(2) == 0));
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->per_line.size(), lines.size());
    ExpectAttributionAddsUp(*result);
    for (size_t i = 0; i < lines.size(); ++i) {
      bool excluded = lines[i].category == "gift_card" || lines[i].category == "deposit";
      if (excluded && lines[i].tags.empty()) {
        EXPECT_EQ(result->per_line[i], Points(0)) << round << " " << i;
      }
    }
  }
}

// ---------------------------------------------------------------- errors

TEST(AccrualErrors, BadPurchases) {
  ProgramVersion version = Retail();
  AccrualContext context = Context("2024-04-02T09:00:00Z");
  auto empty = EvaluateAccrual(version, Basket({}), context);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "lines: a purchase needs at least one line");

  auto zero = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00"), Line("B", "x", 0, "1.00")}), context);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.status().message(), HasSubstr("lines[1].quantity: 0 is less than 1"));

  auto negative = EvaluateAccrual(version, Basket({Line("A", "x", 1, "-0.01")}), context);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("lines[0].unit_price: -0.01 EUR is negative"));

  PurchaseLine dollars = Line("C", "x", 1, "1.00");
  dollars.unit_price = *Money::Parse("1.00", *Currency::FromCode("USD"));
  auto usd = EvaluateAccrual(version, Basket({Line("A", "x", 1, "1.00"), Line("B", "x", 1, "1.00"), dollars}), context);
  EXPECT_EQ(usd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(usd.status().message(), "lines[2].unit_price: USD is not the program currency EUR");
}

TEST(AccrualErrors, BadFlightsAndCustomActivities) {
  AccrualContext context = Context("2010-11-02T10:00:00Z");
  auto distance = EvaluateAccrual(MilesAndMore(), Flight(-5, "Y"), context);
  EXPECT_EQ(distance.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(distance.status().message(), "distance_miles: -5 is negative");

  auto usd = EvaluateAccrual(MilesAndMore(), Flight(500, "Y", *Money::Parse("99.00", *Currency::FromCode("USD"))),
                             context);
  EXPECT_EQ(usd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(usd.status().message(), "ticket_price: USD is not the program currency EUR");

  auto refund = EvaluateAccrual(MilesAndMore(), Activity{"x", CustomActivity{"card_spend", {}, Eur("-1.00")}}, context);
  EXPECT_EQ(refund.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refund.status().message(), HasSubstr("amount: -1.00 EUR is negative"));
}

// The four rule errors CheckAccrualRules reports, one version each: rule
// `rule` of Version("v", {Fixed("a", 1), rule}) is the bad one.
struct BadRule {
  const char* what;
  AccrualRule rule;
  const char* message;
};

std::vector<BadRule> BadRules() {
  AccrualRule unknown = Fixed("bonus", 5);
  unknown.effect.balance = "status";
  AccrualRule dollars = Fixed("bonus", 5);
  dollars.when.min_eligible_amount = *Money::Parse("10.00", *Currency::FromCode("USD"));
  AccrualRule negative = Fixed("minus", -5);
  AccrualRule minimum;
  minimum.id = "miles";
  minimum.effect.kind = Kind::kPerDistance;
  minimum.effect.booking_class_rates = {{"Y", R("1")}};
  minimum.effect.minimum = Points(-125);
  return {
      {"balance", unknown,
       R"(accrual[1] (rule "bonus").effect.balance: "status" is neither the redeemable balance "points" nor a )"
       "counter of version v"},
      {"min_eligible_amount", dollars,
       R"(accrual[1] (rule "bonus").when.min_eligible_amount: USD is not the program currency EUR)"},
      {"fixed", negative, R"(accrual[1] (rule "minus").effect.fixed: -5 is negative)"},
      {"minimum", minimum, R"(accrual[1] (rule "miles").effect.minimum: -125 is negative)"},
  };
}

TEST(CheckAccrualRules, NamesTheRuleAndTheField) {
  for (const BadRule& bad : BadRules()) {
    absl::Status status = CheckAccrualRules(Version("v", {Fixed("a", 1), bad.rule}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.what;
    EXPECT_EQ(status.message(), bad.message) << bad.what;
  }
  EXPECT_TRUE(CheckAccrualRules(Retail()).ok());
  EXPECT_TRUE(CheckAccrualRules(MilesAndMore()).ok());
  // A negative minimum of another kind is never used, so it is no error.
  AccrualRule unused = Fixed("a", 1);
  unused.effect.minimum = Points(-1);
  EXPECT_TRUE(CheckAccrualRules(Version("v", {unused})).ok());
}

TEST(CheckAccrualRules, ReportsTheFirstBadRuleInVersionOrder) {
  // Version order, not priority order: the fixed rule runs first but is
  // listed second.
  AccrualRule negative = Fixed("minus", -5, -1);
  AccrualRule unknown = Fixed("bonus", 5, 1);
  unknown.effect.balance = "status";
  EXPECT_THAT(CheckAccrualRules(Version("v", {unknown, negative})).message(),
              HasSubstr(R"(accrual[0] (rule "bonus").effect.balance)"));
}

TEST(ProgramFromVersions, ReportsEachAccrualRuleErrorWithTheVersion) {
  for (const BadRule& bad : BadRules()) {
    ProgramVersion good = Version("v0", {Fixed("a", 1)});
    ProgramVersion version = Version("v", {Fixed("a", 1), bad.rule});
    version.effective_from = At("2024-01-01T00:00:00Z");
    auto program = Program::FromVersions({good, version});
    EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument) << bad.what;
    EXPECT_EQ(program.status().message(), absl::StrCat("versions[1] (v): ", bad.message)) << bad.what;
  }
  EXPECT_TRUE(Program::FromVersions({Retail()}).ok());
}

// A version that did not pass CheckAccrualRules is still evaluated safely:
// the balance is resolved for every rule, a negative fixed amount or
// minimum is an error once the rule's effect is computed, and a
// min_eligible_amount in another currency is compared by its minor units.
TEST(AccrualErrors, UncheckedVersions) {
  AccrualContext context = Context("2024-04-02T09:00:00Z");
  Activity basket = Basket({Line("A", "x", 1, "1.00")});
  const std::vector<BadRule> bad = BadRules();
  auto balance = EvaluateAccrual(Version("v", {Fixed("a", 1), bad[0].rule}), basket, context);
  EXPECT_EQ(balance.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(balance.status().message(), bad[0].message);
  AccrualRule unknown = bad[0].rule;
  unknown.when.activity_types = {"flight"};  // never applies to the basket: still an error
  EXPECT_EQ(EvaluateAccrual(Version("v", {unknown}), basket, context).status().code(),
            absl::StatusCode::kInvalidArgument);

  // 1.00 EUR = 100 minor units, below 10.00 USD = 1,000: the rule does not apply.
  auto min_amount = EvaluateAccrual(Version("v", {Fixed("a", 1), bad[1].rule}), basket, context);
  ASSERT_TRUE(min_amount.ok()) << min_amount.status();
  EXPECT_THAT(RuleIds(*min_amount), ElementsAre("a"));

  auto fixed = EvaluateAccrual(Version("v", {Fixed("a", 1), bad[2].rule}), basket, context);
  EXPECT_EQ(fixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fixed.status().message(), bad[2].message);

  ProgramVersion miles = Version("v", {Fixed("a", 1), bad[3].rule});
  auto minimum = EvaluateAccrual(miles, Flight(100, "Y"), Context("2010-11-02T10:00:00Z"));
  EXPECT_EQ(minimum.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(minimum.status().message(), bad[3].message);
  // No rate for the booking class: the effect is never computed.
  auto other_class = EvaluateAccrual(miles, Flight(100, "J"), Context("2010-11-02T10:00:00Z"));
  ASSERT_TRUE(other_class.ok()) << other_class.status();
  EXPECT_EQ(other_class->redeemable, Points(1));
}

TEST(AccrualErrors, Overflow) {
  AccrualContext context = Context("2024-04-02T09:00:00Z");
  ProgramVersion retail = Retail();
  // 2^62 x 1.00 EUR = 2^62 x 100 minor units.
  auto line = EvaluateAccrual(retail, Basket({Line("A", "x", int64_t{1} << 62, "1.00")}), context);
  EXPECT_EQ(line.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(line.status().message(), HasSubstr("lines[0]"));

  // Two lines of 2^62 minor units each: their sum is 2^63.
  PurchaseLine half = Line("A", "x", 1, "0.00");
  half.unit_price = Money(int64_t{1} << 62, Eur());
  auto filtered = EvaluateAccrual(retail, Basket({half, half}), context);  // base has exclude filters
  EXPECT_EQ(filtered.status().code(), absl::StatusCode::kOutOfRange);
  auto whole = EvaluateAccrual(Version("v", {PerMoney("all", "1")}), Basket({half, half}), context);
  EXPECT_EQ(whole.status().code(), absl::StatusCode::kOutOfRange);

  // 90,000,000,000,000,000.00 EUR x 1000 = 9 x 10^19 points.
  PurchaseLine huge = Line("A", "x", 1, "0.00");
  huge.unit_price = Money(9'000'000'000'000'000'000, Eur());
  auto product = EvaluateAccrual(Version("v", {PerMoney("rich", "1000")}), Basket({huge}), context);
  EXPECT_EQ(product.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(product.status().message(), HasSubstr("rule \"rich\""));

  // Two fixed rules: (2^63 - 1) + 1.
  auto sum = EvaluateAccrual(Version("v", {Fixed("max", kMax), Fixed("one", 1)}), Basket({Line("A", "x", 1, "1.00")}),
                             context);
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kOutOfRange);

  // A multiplier over (2^63 - 1): x 2.
  auto multiplied = EvaluateAccrual(Version("v", {Fixed("max", kMax), Multiplier("x2", "2", {"max"}, 1)}),
                                    Flight(1, "Y"), context);
  EXPECT_EQ(multiplied.status().code(), absl::StatusCode::kOutOfRange);

  // (2^63 - 1) miles x 1.5.
  auto miles = EvaluateAccrual(MilesAndMore(), Flight(kMax, "J"), context);
  EXPECT_EQ(miles.status().code(), absl::StatusCode::kOutOfRange);

  // The largest amounts that fit are fine: (2^63 - 1) miles x 100 %.
  auto max_y = EvaluateAccrual(MilesAndMore(), Flight(kMax, "Y"), context);
  ASSERT_TRUE(max_y.ok()) << max_y.status();
  EXPECT_EQ(max_y->redeemable, Points(kMax));
}


// ---------------------------------------------------------------- explanations

// A line as EvaluateAccrual would explain it, built by hand.
AccrualLine Explained(Kind kind, int64_t product) {
  AccrualLine line;
  line.rule_id = "r";
  line.explanation.kind = kind;
  line.explanation.product = Points(product);
  line.desired = Points(product);
  line.granted = Points(product);
  return line;
}

TEST(AccrualFormulaText, EachEffectKind) {
  AccrualLine money = Explained(Kind::kPerMoney, 12);
  money.explanation.money = Eur("25.99");
  money.explanation.rate = R("0.5");
  money.explanation.exact = false;
  EXPECT_EQ(FormulaText(money), "floor(25.99 EUR x 0.5) = 12");
  money.explanation.rounding = Rounding::kHalfUp;
  money.explanation.product = Points(13);
  EXPECT_EQ(FormulaText(money), "round_half_up(25.99 EUR x 0.5) = 13");

  AccrualLine distance = Explained(Kind::kPerDistance, 5776);
  distance.explanation.distance_miles = 3851;
  distance.explanation.rate = R("1.5");
  distance.explanation.rate_key = "C";
  distance.explanation.exact = false;
  EXPECT_EQ(FormulaText(distance), "floor(3,851 mi x 150 % (C)) = 5,776");
  distance.explanation.rounding = Rounding::kHalfEven;
  distance.explanation.rate = R("0.255");  // 25.5 %
  distance.explanation.distance_miles = 100;
  distance.explanation.product = Points(26);
  distance.explanation.minimum = Points(125);
  distance.desired = Points(125);
  EXPECT_EQ(FormulaText(distance), "round_half_even(100 mi x 25.5 % (C)) = 26 < minimum 125");

  AccrualLine ticket = Explained(Kind::kPerTicketPrice, 7407);
  ticket.explanation.money = Eur("1234.56");
  ticket.explanation.rate = R("6");
  ticket.explanation.rate_key = "senator";
  ticket.explanation.exact = false;
  EXPECT_EQ(FormulaText(ticket), "floor(1234.56 EUR x 6 (senator)) = 7,407");
  ticket.explanation.rate_key.reset();  // the rule's own rate
  ticket.explanation.rounding = Rounding::kUp;
  ticket.explanation.product = Points(7408);
  EXPECT_EQ(FormulaText(ticket), "ceil(1234.56 EUR x 6) = 7,408");

  AccrualLine fixed = Explained(Kind::kFixed, 1500);
  EXPECT_EQ(FormulaText(fixed), "fixed 1,500");

  AccrualLine multiplier = Explained(Kind::kMultiplier, 1875);
  multiplier.explanation.base_points = Points(7500);
  multiplier.explanation.rate = R("0.25");
  EXPECT_EQ(FormulaText(multiplier), "7,500 x 0.25 = 1,875");
}

TEST(AccrualFormulaText, EachCapKind) {
  struct Case {
    AccrualCapKind kind;
    int64_t used;
    const char* text;
  };
  const Case cases[] = {
      {AccrualCapKind::kPerActivity, 0, "fixed 300; cap per_activity 100 bites: 300 -> 100"},
      {AccrualCapKind::kPerMemberDay, 70, "fixed 300; cap per_member_day 100 (70 used) bites: 300 -> 30"},
      {AccrualCapKind::kPerMemberMonth, 0, "fixed 300; cap per_member_month 100 bites: 300 -> 100"},
      {AccrualCapKind::kPerCampaign, 1500, "fixed 300; cap per_campaign 100 (1,500 used) bites: 300 -> 0"},
  };
  for (const Case& c : cases) {
    AccrualLine line = Explained(Kind::kFixed, 300);
    int64_t after = std::max<int64_t>(0, 100 - c.used);
    line.explanation.caps[0] = AccrualCapBite{c.kind, Points(100), Points(c.used), Points(300), Points(after)};
    line.explanation.cap_count = 1;
    line.granted = Points(after);
    EXPECT_EQ(FormulaText(line), c.text) << AccrualCapName(c.kind);
  }
  EXPECT_EQ(AccrualCapName(AccrualCapKind::kNone), "none");

  // No cap bit: no cap text.
  EXPECT_EQ(FormulaText(Explained(Kind::kFixed, 300)), "fixed 300");
}

TEST(AccrualFormulaText, EvaluatedLinesCarryTheirNumbers) {
  // 60.00 EUR x 2 = 120, per_activity 110 then per_member_day 100 with 70
  // used: 120 -> 110 -> 30.
  AccrualRule electronics = PerMoney("electronics", "2");
  electronics.cap.per_activity = Points(110);
  electronics.cap.per_member_day = Points(100);
  auto usage = [](absl::string_view) { return RuleUsage{Points(70), Points(70), Points(70), 1}; };
  AccrualContext context{At("2024-04-02T09:00:00Z"), "", false, usage};
  auto result = EvaluateAccrual(Version("v", {electronics}), Basket({Line("TV", "electronics", 1, "60.00")}), context);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->lines.size(), 1u);
  const AccrualExplanation& why = result->lines[0].explanation;
  EXPECT_EQ(why.kind, Kind::kPerMoney);
  EXPECT_EQ(why.money, Eur("60.00"));
  EXPECT_EQ(why.rate, R("2"));
  EXPECT_FALSE(why.rate_key.has_value());
  EXPECT_TRUE(why.exact);
  EXPECT_EQ(why.product, Points(120));
  EXPECT_FALSE(why.minimum.has_value());
  ASSERT_EQ(why.cap_count, 2);
  EXPECT_EQ(why.caps[0].kind, AccrualCapKind::kPerActivity);
  EXPECT_EQ(why.caps[0].after, Points(110));
  EXPECT_EQ(why.caps[1].kind, AccrualCapKind::kPerMemberDay);
  EXPECT_EQ(why.caps[1].used, Points(70));
  EXPECT_EQ(why.caps[1].before, Points(110));
  EXPECT_EQ(why.caps[1].after, Points(30));
  EXPECT_EQ(why.caps[2].kind, AccrualCapKind::kNone);
  EXPECT_EQ(FormulaText(result->lines[0]),
            "60.00 EUR x 2 = 120; cap per_activity 110 bites: 120 -> 110; cap per_member_day 100 (70 used) bites: "
            "110 -> 30");

  // A distance line raised to its minimum: class K, 150 mi x 25 % = 37.5.
  auto k = EvaluateAccrual(MilesAndMore(), Flight(150, "K"), AccrualContext{At("2010-11-02T10:00:00Z"), "", false,
                                                                              NoRuleUsage});
  ASSERT_TRUE(k.ok()) << k.status();
  const AccrualExplanation& miles = k->lines[0].explanation;
  EXPECT_EQ(miles.kind, Kind::kPerDistance);
  EXPECT_EQ(miles.distance_miles, 150);
  EXPECT_EQ(miles.rate_key, "K");
  EXPECT_FALSE(miles.exact);
  EXPECT_EQ(miles.product, Points(37));
  EXPECT_EQ(miles.minimum, Points(125));
  EXPECT_EQ(k->lines[0].desired, Points(125));
}

}  // namespace
}  // namespace loyalty
