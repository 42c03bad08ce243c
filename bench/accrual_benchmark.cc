// Accrual benchmarks (items per second): the pure evaluator on the paths a
// till and a booking backend call for every activity.
//
//   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target accrual_benchmark
//   ./build-release/bench/accrual_benchmark
//
// BM_AccrualBasket: one item is one EvaluateAccrual of a 5-line basket
// against a version of 20 rules (line filters, tiers, days of the week, two
// campaign windows, day / month / campaign / per-activity caps, max_uses, an
// exclusive group, multipliers), each line explained by its numbers (no
// text). Target: at least 1,000,000 per second on one thread.
// BM_AccrualBasketWithText: the same, plus FormulaText for every line, as
// an accrual entry's explanation does.
// BM_AccrualFlight: one item is one flight segment (award miles, status
// miles, tier bonus).
//
// Each benchmark also reports `allocs`, the heap allocations per item
// (counted by the global operator new below).
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/accrual.h"

namespace {
std::atomic<int64_t> allocations{0};
}  // namespace

// The replacements pair malloc with free; g++ 12 inlines them into each
// other's callers and then takes new-with-free for a mismatch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace loyalty {
namespace {

// Runs `body` once per iteration and reports the heap allocations per item.
template <typename Body>
void Measure(benchmark::State& state, Body body) {
  int64_t before = allocations.load(std::memory_order_relaxed);
  for (auto _ : state) body();
  int64_t count = allocations.load(std::memory_order_relaxed) - before;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs"] =
      state.iterations() == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(state.iterations());
}

using Kind = AccrualEffect::Kind;

Currency Eur() { return *Currency::FromCode("EUR"); }
Money Eur(const char* amount) { return *Money::Parse(amount, Eur()); }
Rate R(const char* text) { return *Rate::Parse(text); }

AccrualRule Rule(std::string id, Kind kind, int priority = 0) {
  AccrualRule rule;
  rule.id = std::move(id);
  rule.priority = priority;
  rule.effect.kind = kind;
  return rule;
}

AccrualRule PerMoney(std::string id, const char* rate, int priority = 0) {
  AccrualRule rule = Rule(std::move(id), Kind::kPerMoney, priority);
  rule.effect.rate = R(rate);
  return rule;
}

AccrualRule Fixed(std::string id, int64_t points, int priority = 0) {
  AccrualRule rule = Rule(std::move(id), Kind::kFixed, priority);
  rule.effect.fixed = Points(points);
  return rule;
}

AccrualRule Multiplier(std::string id, const char* rate, std::vector<std::string> base, int priority) {
  AccrualRule rule = Rule(std::move(id), Kind::kMultiplier, priority);
  rule.effect.rate = R(rate);
  rule.effect.base_rules = std::move(base);
  return rule;
}

// 20 rules of a retail coalition partner.
ProgramVersion RetailVersion() {
  std::vector<AccrualRule> rules;
  AccrualRule base = PerMoney("base", "0.5");  // 1 point per EUR 2
  base.when.exclude_categories = {"gift_card", "deposit"};
  rules.push_back(base);

  AccrualRule coffee = Multiplier("coffee-10x", "9", {"base"}, 10);  // campaign 1
  coffee.when.include_categories = {"coffee"};
  coffee.when.from_date = *Date::Parse("2024-03-01");
  coffee.when.until_date = *Date::Parse("2024-03-31");
  rules.push_back(coffee);

  AccrualRule easter = Multiplier("easter-5x", "4", {"base"}, 10);  // campaign 2
  easter.when.include_tags = {"easter"};
  easter.when.from_date = *Date::Parse("2024-03-10");
  easter.when.until_date = *Date::Parse("2024-04-01");
  easter.cap.per_campaign = Points(2000);
  rules.push_back(easter);

  AccrualRule welcome = Fixed("welcome", 500, 20);
  welcome.when.first_activity_only = true;
  rules.push_back(welcome);

  AccrualRule weekend = Fixed("weekend", 30, 30);
  weekend.exclusive_group = "bonus";
  weekend.when.days_of_week = {0, 6};
  rules.push_back(weekend);

  AccrualRule big = Fixed("big-basket", 50, 30);
  big.exclusive_group = "bonus";
  big.when.exclude_categories = {"gift_card", "deposit"};
  big.when.min_eligible_amount = Eur("50.00");
  rules.push_back(big);

  AccrualRule electronics = PerMoney("electronics", "2", 40);
  electronics.when.include_categories = {"electronics", "computers"};
  electronics.cap.per_member_day = Points(100);
  rules.push_back(electronics);

  AccrualRule online = Fixed("online", 20, 40);
  online.when.channels = {"online"};
  rules.push_back(online);

  AccrualRule rossmann = PerMoney("rossmann", "1", 40);
  rossmann.when.partners = {"rossmann"};
  rules.push_back(rossmann);

  AccrualRule berlin = Fixed("berlin-store", 5, 40);
  berlin.when.stores = {"berlin-1", "berlin-2"};
  rules.push_back(berlin);

  AccrualRule gold = Multiplier("gold-bonus", "0.25", {"base"}, 50);
  gold.when.member_tiers = {"gold", "platinum"};
  gold.effect.rounding = Rounding::kHalfEven;
  rules.push_back(gold);

  AccrualRule baby = Fixed("baby-first", 100, 40);
  baby.when.include_skus = {"BABY1", "BABY2"};
  baby.cap.max_uses = 1;
  rules.push_back(baby);

  AccrualRule organic = PerMoney("organic", "0.25", 40);
  organic.when.include_tags = {"organic"};
  organic.cap.per_activity = Points(50);
  rules.push_back(organic);

  AccrualRule monthly = PerMoney("monthly-extra", "0.1", 40);
  monthly.effect.rounding = Rounding::kHalfEven;
  monthly.when.exclude_tags = {"alcohol"};
  monthly.cap.per_member_month = Points(200);
  rules.push_back(monthly);

  AccrualRule spring = Fixed("spring-visit", 200, 40);
  spring.when.from_date = *Date::Parse("2024-03-01");
  spring.when.until_date = *Date::Parse("2024-05-31");
  spring.cap.per_campaign = Points(1000);
  rules.push_back(spring);

  AccrualRule card = PerMoney("card-spend", "0.5", 40);
  card.when.custom_types = {"card_spend"};
  rules.push_back(card);

  AccrualRule miles = Rule("flight-miles", Kind::kPerDistance, 40);
  miles.effect.booking_class_rates = {{"Y", R("1")}};
  rules.push_back(miles);

  AccrualRule weekday = Fixed("weekday", 10, 30);
  weekday.when.days_of_week = {1, 2, 3, 4, 5};
  weekday.exclusive_group = "bonus";
  rules.push_back(weekday);

  AccrualRule senator = Fixed("senator-visit", 25, 40);
  senator.when.member_tiers = {"senator"};
  rules.push_back(senator);

  AccrualRule drinks = PerMoney("drinks", "0.5", 40);
  drinks.when.include_categories = {"beverages", "coffee"};
  drinks.when.exclude_tags = {"alcohol"};
  rules.push_back(drinks);

  ProgramVersion version;
  version.id = "bench-retail";
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.accrual = std::move(rules);
  return version;
}

PurchaseLine Line(std::string sku, std::string category, int64_t quantity, const char* price,
                  std::vector<std::string> tags = {}) {
  PurchaseLine line;
  line.sku = std::move(sku);
  line.category = std::move(category);
  line.tags = std::move(tags);
  line.quantity = quantity;
  line.unit_price = Eur(price);
  return line;
}

RuleUsage SomeUsage(absl::string_view rule_id) {
  if (rule_id == "electronics") return {Points(40), Points(40), Points(40), 1};
  if (rule_id == "monthly-extra") return {Points(0), Points(150), Points(150), 3};
  return {};
}

struct BasketCase {
  ProgramVersion version;
  Activity activity;
  AccrualContext context;
};

BasketCase& Basket() {
  static BasketCase* basket = [] {
    Purchase purchase;
    purchase.partner = "dm";
    purchase.store = "berlin-1";
    purchase.channel = "store";
    purchase.lines = {Line("C1", "coffee", 2, "4.99", {"organic", "easter"}), Line("G1", "groceries", 1, "12.35"),
                      Line("GC", "gift_card", 1, "25.00"), Line("D", "deposit", 4, "0.25"),
                      Line("TV", "electronics", 1, "60.00")};
    return new BasketCase{RetailVersion(), Activity{"basket-1", purchase},
                          AccrualContext{*Instant::Parse("2024-03-16T10:00:00Z"), "gold", false, SomeUsage}};
  }();
  return *basket;
}

// Checks the basket once; false (and the benchmark skipped) on an error.
bool CheckBasket(benchmark::State& state, const BasketCase& basket) {
  auto check = EvaluateAccrual(basket.version, basket.activity, basket.context);
  if (!check.ok()) {
    state.SkipWithError(std::string(check.status().message()).c_str());
    return false;
  }
  state.counters["rules"] = static_cast<double>(basket.version.accrual.size());
  state.counters["lines_out"] = static_cast<double>(check->lines.size());
  state.counters["points"] = static_cast<double>(check->redeemable.value());
  return true;
}

void BM_AccrualBasket(benchmark::State& state) {
  const BasketCase& basket = Basket();
  if (!CheckBasket(state, basket)) return;
  Measure(state, [&] {
    auto result = EvaluateAccrual(basket.version, basket.activity, basket.context);
    benchmark::DoNotOptimize(result);
  });
}
BENCHMARK(BM_AccrualBasket);

void BM_AccrualBasketWithText(benchmark::State& state) {
  const BasketCase& basket = Basket();
  if (!CheckBasket(state, basket)) return;
  Measure(state, [&] {
    auto result = EvaluateAccrual(basket.version, basket.activity, basket.context);
    for (const AccrualLine& line : result->lines) {
      std::string text = FormulaText(line);
      benchmark::DoNotOptimize(text);
    }
    benchmark::DoNotOptimize(result);
  });
}
BENCHMARK(BM_AccrualBasketWithText);

void BM_AccrualFlight(benchmark::State& state) {
  AccrualRule award = Rule("award-miles", Kind::kPerDistance);
  award.effect.booking_class_rates = {{"F", R("3")}, {"A", R("3")}, {"J", R("1.5")}, {"C", R("1.5")},
                                      {"D", R("1.25")}, {"Y", R("1")}, {"B", R("1")}, {"M", R("1")},
                                      {"H", R("0.5")}, {"Q", R("0.5")}, {"K", R("0.25")}, {"L", R("0.25")}};
  award.effect.minimum = Points(125);
  AccrualRule status = award;
  status.id = "status-miles";
  status.effect.balance = "status_miles";
  AccrualRule senator = Rule("senator-bonus", Kind::kMultiplier, 10);
  senator.effect.rate = R("0.25");
  senator.effect.base_rules = {"award-miles"};
  senator.when.member_tiers = {"senator", "hon"};
  ProgramVersion version;
  version.id = "mm-2010";
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.redeemable_balance = "award_miles";
  version.counters = {"status_miles"};
  version.accrual = {award, status, senator};

  FlightSegment segment;
  segment.carrier = "LH";
  segment.flight_number = "LH454";
  segment.origin = "FRA";
  segment.destination = "SFO";
  segment.distance_miles = 5000;
  segment.cabin = "business";
  segment.booking_class = "J";
  Activity activity{"220-1234567890", segment};
  AccrualContext context{*Instant::Parse("2010-11-02T10:00:00Z"), "senator", false, NoRuleUsage};
  if (auto check = EvaluateAccrual(version, activity, context); !check.ok() || check->redeemable != Points(9375)) {
    state.SkipWithError("unexpected flight result");
    return;
  }
  Measure(state, [&] {
    auto result = EvaluateAccrual(version, activity, context);
    benchmark::DoNotOptimize(result);
  });
}
BENCHMARK(BM_AccrualFlight);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
