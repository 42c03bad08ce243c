// Golden scenarios through the whole library: programs loaded from JSON,
// activities accrued, rewards redeemed, purchase lines returned. Every
// expected figure is worked out by hand in the comments.
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("EUR")); }

// A drugstore program after PAYBACK (public program terms): 1 point per EUR 2 (rate
// 0.5, rounded down) except gift cards and deposits; a "10x on baby
// products" campaign in March 2011 (4.5 more per EUR on top of the base
// 0.5), capped at 200 points per member and day; a welcome bonus of 500 on
// the first purchase; points worth EUR 0.01 at the till; points expire 36
// months after earning, on the next 30 September.
constexpr char kDrugstore[] = R"({"versions": [{
  "id": "drugstore-2011", "name": "Drugstore points", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2011-01-01T00:00:00+01:00", "effective_from": "2011-01-01T00:00:00+01:00",
  "redeemable_balance": "points",
  "accrual": [
    {"id": "base", "priority": 10,
     "when": {"activity_types": ["purchase"], "exclude_categories": ["gift_cards", "deposit"]},
     "effect": {"kind": "per_money", "rate": "0.5", "rounding": "down", "balance": "points"}},
    {"id": "baby-10x", "priority": 20,
     "when": {"activity_types": ["purchase"], "include_categories": ["baby"],
              "from_date": "2011-03-01", "until_date": "2011-03-31"},
     "effect": {"kind": "per_money", "rate": "4.5", "rounding": "down", "balance": "points"},
     "cap": {"per_member_day": 200}},
    {"id": "welcome", "priority": 30,
     "when": {"activity_types": ["purchase"], "first_activity_only": true},
     "effect": {"kind": "fixed", "fixed": 500, "balance": "points"}}
  ],
  "redemption": {"pay_with_points": {"value_per_point": "0.01", "minimum_points": 100, "step_points": 1}},
  "expiry": {"months": 36, "round": "fixed_day", "fixed_month": 9, "fixed_day": 30}
}]})";

PurchaseLine Line(const char* sku, const char* category, int64_t quantity, const char* price) {
  return PurchaseLine{sku, category, {}, quantity, Eur(price)};
}

TEST(GoldenRetail, DrugstoreDay) {
  auto program = ParseProgram(kDrugstore);
  ASSERT_TRUE(program.ok()) << program.status();
  FakeClock clock(At("2011-03-01T09:00:00Z"));
  std::string path = ::testing::TempDir() + "/drugstore.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto engine = *Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("anna")}).ok());

  // Basket 1, 1 March: diapers 2 x 12.50 (baby), a 50.00 gift card, shampoo
  // 3.99, a 0.25 bottle deposit.
  //   base on 25.00 + 3.99 = 28.99: 28.99 x 0.5 = 14.495 -> 14
  //   baby-10x on 25.00: 25.00 x 4.5 = 112.5 -> 112 (cap 200 not reached)
  //   welcome: 500
  //   total 626. Attribution: base 14 over 25.00 and 3.99 -> 12.07 and
  //   1.93 -> 12 and 1, the leftover point to the larger remainder (line 2):
  //   12 and 2; baby-10x all on line 0: lines [124, 0, 2, 0], 500 to the
  //   basket as a whole.
  Purchase basket1{"drugstore", "berlin-01", "store",
                   {Line("diapers", "baby", 2, "12.50"), Line("gift-50", "gift_cards", 1, "50.00"),
                    Line("shampoo", "drugstore", 1, "3.99"), Line("deposit", "deposit", 1, "0.25")}};
  auto first = engine->Execute(Accrue{.idempotency_key = "b1", .member = Id("anna"), .at = At("2011-03-01T09:00:00Z"),
                                      .activity = {"basket-1", basket1}});
  ASSERT_TRUE(first.ok()) << first.status();
  const auto& credit1 = std::get<entries::Credited>(first->entries[0].body);
  EXPECT_EQ(credit1.amount, Points(626));
  EXPECT_EQ(credit1.line_points, (std::vector<Points>{Points(124), Points(0), Points(2), Points(0)}));
  EXPECT_EQ(credit1.unattributed, Points(500));
  EXPECT_EQ(first->entries[0].version, "drugstore-2011");
  // 1 Mar 2011 + 36 months = 1 Mar 2014, next 30 September: valid through
  // 30 Sep 2014, lapsing at 1 Oct 2014 00:00 in Berlin (22:00 UTC).
  EXPECT_EQ(credit1.expires_at, At("2014-09-30T22:00:00Z"));

  // Basket 2, same day: diapers 30.00. base 15; baby-10x 30.00 x 4.5 = 135
  // but only 200 - 112 = 88 remain under the daily cap; no welcome bonus.
  // Total 103.
  Purchase basket2{"drugstore", "berlin-01", "store", {Line("diapers", "baby", 1, "30.00")}};
  auto second = engine->Execute(Accrue{.idempotency_key = "b2", .member = Id("anna"), .at = At("2011-03-01T15:00:00Z"),
                                       .activity = {"basket-2", basket2}});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(std::get<entries::Credited>(second->entries[0].body).amount, Points(103));
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->available, Points(729));

  // Paying 600 points at the till: EUR 6.00. Both lots lapse together;
  // the older one (basket 1) is used first: 600 of its 626.
  auto paid = engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay", .member = Id("anna"),
                                                  .at = At("2011-03-02T10:00:00Z"), .points = Points(600)});
  ASSERT_TRUE(paid.ok()) << paid.status();
  EXPECT_EQ(std::get<entries::Debited>(paid->entries[0].body).value, Eur("6.00"));
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->available, Points(129));

  // The diapers of basket 1 come back: exactly the 124 points that line
  // earned. Its lot has 26 left; the other 98 were spent, and come from
  // the member's other points: basket 2's lot, 103 -> 5. No debt.
  auto returned = engine->Execute(ReturnLines{.idempotency_key = "ret", .member = Id("anna"),
                                              .at = At("2011-03-03T10:00:00Z"), .credit = first->seq(),
                                              .lines = {0}});
  ASSERT_TRUE(returned.ok()) << returned.status();
  const auto& reversal = std::get<entries::EarnReversed>(returned->entries[0].body);
  EXPECT_EQ(reversal.amount, Points(124));
  EXPECT_EQ(reversal.from_lot, Points(26));
  EXPECT_EQ(reversal.draws, (std::vector<LotDraw>{{LotId{second->seq(), 0}, Points(98)}}));
  EXPECT_EQ(reversal.debt_added, Points(0));
  EXPECT_EQ(*engine->BalanceOf(Id("anna")), (Balance{Points(5), Points(0), Points(0)}));
  // The same line cannot be returned twice.
  auto twice = engine->Execute(ReturnLines{.idempotency_key = "ret2", .member = Id("anna"),
                                           .credit = first->seq(), .lines = {0}});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);

  // A manual reversal of 500 more of basket 1's points: its lot is empty,
  // basket 2's 5 points are taken, and the 495 no lot covers become debt.
  // Returning the shampoo line afterwards would reverse more than the
  // accrual has left (626 earned, 624 reversed, lines 1-3 and the welcome
  // bonus worth 502): refused.
  ASSERT_TRUE(engine->Execute(ReverseEarn{.idempotency_key = "manual", .member = Id("anna"),
                                          .credit = first->seq(), .amount = Points(500)})
                  .ok());
  auto over = engine->Execute(ReturnLines{.idempotency_key = "ret3", .member = Id("anna"),
                                          .credit = first->seq(), .lines = {1, 2, 3}});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition) << over.status();
  EXPECT_EQ(*engine->BalanceOf(Id("anna")), (Balance{Points(0), Points(0), Points(495)}));

  // Paying below the minimum or without points is refused, changing nothing.
  auto small = engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay2", .member = Id("anna"), .points = Points(99)});
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->debt, Points(495));

  // Replaying the journal reproduces the whole state: lots, debt, the
  // returned line, the campaign's daily usage.
  Sha256 live = engine->StateDigest();
  engine.reset();
  auto replayed = Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->StateDigest(), live);
}

// A drugstore engine on a fresh SQLite journal `name` in the scratch
// directory, with the clock at `now`; anna enrolled.
struct Drugstore {
  explicit Drugstore(const char* name, const char* now)
      : path(::testing::TempDir() + "/" + name), clock(At(now)) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
    Reopen();
    EXPECT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("anna"), .at = At("2011-01-01T00:00:00Z")}).ok());
  }
  void Reopen() {
    engine.reset();  // its store holds the journal's writer lock
    auto opened = Engine::Open(*OpenSqliteStore(path), clock, *ParseProgram(kDrugstore));
    EXPECT_TRUE(opened.ok()) << opened.status();
    engine = *std::move(opened);
  }
  absl::StatusOr<Receipt> Buy(const char* key, const char* at, const char* basket, std::vector<PurchaseLine> lines) {
    return engine->Execute(Accrue{.idempotency_key = key, .member = Id("anna"), .at = At(at),
                                  .activity = {basket, Purchase{"drugstore", "berlin-01", "store", std::move(lines)}}});
  }
  Balance Anna() { return *engine->BalanceOf(Id("anna")); }

  std::string path;
  FakeClock clock;
  std::unique_ptr<Engine> engine;
};

// Basket 1 of the drugstore day (diapers 2 x 12.50, shampoo 3.99): base 14
// (12 on the diapers, 2 on the shampoo), baby-10x 112 on the diapers, the
// welcome bonus 500: 626 points, lines [124, 2], 500 to the basket.
std::vector<PurchaseLine> Basket1() { return {Line("diapers", "baby", 2, "12.50"), Line("shampoo", "drugstore", 1, "3.99")}; }

// Issue 22, item 1. A return of points already spent takes them from the
// member's other points, soonest-expiring first, before any debt:
//   1 Mar  basket 1: 626, lot A, valid through 30 Sep 2014.
//   10 Mar towels 100.00 (home): base 50, lot B, valid through 30 Sep 2014.
//   15 Mar pays 600 at the till: A and B lapse together, A is older: A 26.
//   5 Oct  towels 200.00: base 100, lot C; 5 Oct 2011 + 36 months, next
//          30 Sep: valid through 30 Sep 2015. Available 26 + 50 + 100 = 176.
//   7 Oct  the diapers come back: 124 = 26 from A, then B's 50 (it lapses
//          first), then 48 of C. No debt; available 52.
//   8 Oct  the shampoo comes back, the last line, with the welcome bonus:
//          2 + 500 = 502 = C's 52 and 450 of debt. Available 0.
//   9 Oct  towels 300.00: 150 pay 150 of the debt: debt 300, available 0.
TEST(GoldenRetail, AReturnTakesFromTheMembersOtherPointsBeforeDebt) {
  Drugstore shop("return_draws.db", "2011-03-01T09:00:00Z");
  auto a = shop.Buy("b1", "2011-03-01T09:00:00Z", "basket-1", Basket1());
  auto b = shop.Buy("b2", "2011-03-10T09:00:00Z", "basket-2", {Line("towels", "home", 1, "100.00")});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(shop.engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay", .member = Id("anna"),
                                                       .at = At("2011-03-15T10:00:00Z"), .points = Points(600)})
                  .ok());
  auto c = shop.Buy("b3", "2011-10-05T09:00:00Z", "basket-3", {Line("towels", "home", 1, "200.00")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(std::get<entries::Credited>(c->entries[0].body).expires_at, At("2015-09-30T22:00:00Z"));
  EXPECT_EQ(shop.Anna(), (Balance{Points(176), Points(0), Points(0)}));

  auto diapers = shop.engine->Execute(ReturnLines{.idempotency_key = "r0", .member = Id("anna"),
                                                  .at = At("2011-10-07T09:00:00Z"), .credit = a->seq(), .lines = {0}});
  ASSERT_TRUE(diapers.ok()) << diapers.status();
  const auto& first = std::get<entries::EarnReversed>(diapers->entries[0].body);
  EXPECT_EQ(first.from_lot, Points(26));
  EXPECT_EQ(first.draws, (std::vector<LotDraw>{{LotId{b->seq(), 0}, Points(50)}, {LotId{c->seq(), 0}, Points(48)}}));
  EXPECT_EQ(first.debt_added, Points(0));
  EXPECT_EQ(shop.Anna(), (Balance{Points(52), Points(0), Points(0)}));

  auto shampoo = shop.engine->Execute(ReturnLines{.idempotency_key = "r1", .member = Id("anna"),
                                                  .at = At("2011-10-08T09:00:00Z"), .credit = a->seq(), .lines = {1}});
  ASSERT_TRUE(shampoo.ok()) << shampoo.status();
  const auto& second = std::get<entries::EarnReversed>(shampoo->entries[0].body);
  EXPECT_EQ(second.amount, Points(502));
  EXPECT_EQ(second.from_lot, Points(0));
  EXPECT_EQ(second.draws, (std::vector<LotDraw>{{LotId{c->seq(), 0}, Points(52)}}));
  EXPECT_EQ(second.debt_added, Points(450));
  EXPECT_EQ(shop.Anna(), (Balance{Points(0), Points(0), Points(450)}));
  // In debt, nothing can be spent.
  auto spend = shop.engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay2", .member = Id("anna"),
                                                        .at = At("2011-10-08T10:00:00Z"), .points = Points(100)});
  EXPECT_EQ(spend.status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(shop.Buy("b4", "2011-10-09T09:00:00Z", "basket-4", {Line("towels", "home", 1, "300.00")}).ok());
  EXPECT_EQ(shop.Anna(), (Balance{Points(0), Points(0), Points(300)}));
  // The journal replays to the same state.
  const Sha256 live = shop.engine->StateDigest();
  shop.Reopen();
  EXPECT_EQ(shop.engine->StateDigest(), live);
}

// A drugstore basket returned unit by unit after most of its points were
// spent. Each return takes back its units' share of what the line earned,
// floor(points x units returned so far / units) less what was taken before:
//   1 Mar  basket 1: shampoo 3 x 3.99 = 11.97, diapers 4 x 12.50 = 50.00.
//          base on 61.97: 30.985 -> 30, by amount 5.79 and 24.21 -> 5 and
//          24, the leftover point to the larger remainder: 6 and 24.
//          baby-10x on 50.00: 225, capped at 200 a day, all on the diapers.
//          welcome 500, to the basket. 730 points; lines [6, 224] of 3 and
//          4 units.
//   2 Mar  pays 600 at the till: 130 left.
//   3 Mar  1 of 4 diapers: floor(224 x 1/4) = 56. 74 left.
//   4 Mar  1 of 3 shampoos: floor(6 x 1/3) = 2. 72 left.
//   5 Mar  the other 3 diapers: 224 - 56 = 168: 72 from the lot, 96 debt.
//          3 more shampoos: refused, 2 are left.
//   6 Mar  the last 2 shampoos: 6 - 2 = 4, and with the basket's last unit
//          the welcome bonus: 504, all debt: 600 owed, the points paid.
//   56 + 2 + 168 + 504 = 730, what the basket earned.
TEST(GoldenRetail, APartialReturnAfterSpending) {
  Drugstore shop("partial_return.db", "2011-03-01T09:00:00Z");
  auto basket = shop.Buy("b1", "2011-03-01T09:00:00Z", "basket-1",
                         {Line("shampoo", "drugstore", 3, "3.99"), Line("diapers", "baby", 4, "12.50")});
  ASSERT_TRUE(basket.ok()) << basket.status();
  const auto& credit = std::get<entries::Credited>(basket->entries[0].body);
  EXPECT_EQ(credit.amount, Points(730));
  EXPECT_EQ(credit.line_points, (std::vector<Points>{Points(6), Points(224)}));
  EXPECT_EQ(credit.unattributed, Points(500));
  EXPECT_EQ(credit.line_units, (std::vector<int64_t>{3, 4}));
  ASSERT_TRUE(shop.engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay", .member = Id("anna"),
                                                       .at = At("2011-03-02T10:00:00Z"), .points = Points(600)})
                  .ok());
  auto give_back = [&](const char* key, const char* at, uint32_t line, int64_t units) {
    return shop.engine->Execute(ReturnLines{.idempotency_key = key, .member = Id("anna"), .at = At(at),
                                            .credit = basket->seq(), .lines = {line}, .quantities = {units}});
  };
  auto reversal = [](const absl::StatusOr<Receipt>& r) { return std::get<entries::EarnReversed>(r->entries[0].body); };
  auto one_diaper = give_back("r1", "2011-03-03T10:00:00Z", 1, 1);
  ASSERT_TRUE(one_diaper.ok()) << one_diaper.status();
  EXPECT_EQ(reversal(one_diaper).amount, Points(56));
  EXPECT_EQ(shop.Anna(), (Balance{Points(74), Points(0), Points(0)}));
  auto one_shampoo = give_back("r2", "2011-03-04T10:00:00Z", 0, 1);
  ASSERT_TRUE(one_shampoo.ok()) << one_shampoo.status();
  EXPECT_EQ(reversal(one_shampoo).amount, Points(2));
  auto diapers = give_back("r3", "2011-03-05T10:00:00Z", 1, 3);
  ASSERT_TRUE(diapers.ok()) << diapers.status();
  EXPECT_EQ(reversal(diapers).amount, Points(168));
  EXPECT_EQ(reversal(diapers).from_lot, Points(72));
  EXPECT_EQ(reversal(diapers).debt_added, Points(96));
  auto too_many = give_back("r4", "2011-03-05T11:00:00Z", 0, 3);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(too_many.status().message().find("line 0 of accrual " + std::to_string(basket->seq()) +
                                             " has 2 unit(s) left to return, not 3"),
            absl::string_view::npos)
      << too_many.status();
  auto last = give_back("r5", "2011-03-06T10:00:00Z", 0, 2);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(reversal(last).amount, Points(504));
  EXPECT_EQ(reversal(last).debt_added, Points(504));
  EXPECT_EQ(shop.Anna(), (Balance{Points(0), Points(0), Points(600)}));
  // Replaying the journal gives the same state, the units returned included.
  Sha256 live = shop.engine->StateDigest();
  shop.Reopen();
  EXPECT_EQ(shop.engine->StateDigest(), live);
}

// Issue 22, item 2. An activity (here a receipt number) is credited to a
// member once per partner, whatever the idempotency key: a retro claim of a receipt
// already credited is refused, before and after its lines are returned
// and after a restart. Basket 1 earns 626 (see above) at entry 3, after the
// program's version and anna's enrolment.
TEST(GoldenRetail, AnActivityIsCreditedOnce) {
  Drugstore shop("activity_once.db", "2011-03-01T09:00:00Z");
  auto till = shop.Buy("till-1", "2011-03-01T09:00:00Z", "receipt-0815", Basket1());
  ASSERT_TRUE(till.ok()) << till.status();
  ASSERT_EQ(till->seq(), 3u);
  const std::string refusal = "member anna: activity \"receipt-0815\" at partner drugstore was already credited by entry 3";
  auto claim = shop.Buy("claim-1", "2011-03-05T09:00:00Z", "receipt-0815", Basket1());
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(claim.status().message()), refusal);
  // The till's own retry is the same command: its receipt, not a refusal.
  auto retry = shop.Buy("till-1", "2011-03-01T09:00:00Z", "receipt-0815", Basket1());
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed);

  ASSERT_TRUE(shop.engine->Execute(ReturnLines{.idempotency_key = "r0", .member = Id("anna"),
                                               .at = At("2011-03-06T09:00:00Z"), .credit = 3, .lines = {0}})
                  .ok());
  EXPECT_EQ(std::string(shop.Buy("claim-2", "2011-03-07T09:00:00Z", "receipt-0815", Basket1()).status().message()),
            refusal);
  shop.Reopen();
  EXPECT_EQ(std::string(shop.Buy("claim-3", "2011-03-08T09:00:00Z", "receipt-0815", Basket1()).status().message()),
            refusal);
  // 626 earned, 124 returned; the claims changed nothing.
  EXPECT_EQ(shop.Anna(), (Balance{Points(502), Points(0), Points(0)}));
}

// Issue 22, item 3. A hold whose time-to-live has passed frees its points
// at once; the member's next command journals the release first:
//   09:00 basket 1: 626 in lot A.
//   10:00 a hold of 600 for two hours: available 26, held 600.
//   11:00 the diapers come back: 124 = A's 26 and 98 of debt.
//   12:30 (the hold lapsed at 12:00) the balance counts it released: its
//         600 pay the 98 of debt, 502 are available; nothing journaled yet.
//         Paying 500 at the till writes the release, then the payment,
//         which draws 500 of A's 502: 2 left.
TEST(GoldenRetail, ALapsedHoldFreesItsPointsAtOnce) {
  Drugstore shop("lapsed_hold.db", "2011-03-01T09:00:00Z");
  auto bought = shop.Buy("b1", "2011-03-01T09:00:00Z", "basket-1", Basket1());
  ASSERT_TRUE(bought.ok()) << bought.status();
  auto hold = shop.engine->Execute(PlaceHold{.idempotency_key = "h", .member = Id("anna"), .at = At("2011-03-01T10:00:00Z"),
                                             .amount = Points(600), .ttl = absl::Hours(2)});
  ASSERT_TRUE(hold.ok()) << hold.status();
  ASSERT_TRUE(shop.engine->Execute(ReturnLines{.idempotency_key = "r0", .member = Id("anna"),
                                               .at = At("2011-03-01T11:00:00Z"), .credit = bought->seq(), .lines = {0}})
                  .ok());
  shop.clock.Set(At("2011-03-01T11:00:00Z"));
  EXPECT_EQ(shop.Anna(), (Balance{Points(0), Points(600), Points(98)}));

  shop.clock.Set(At("2011-03-01T12:30:00Z"));
  const uint64_t journaled = shop.engine->store().LastSeq();
  EXPECT_EQ(shop.Anna(), (Balance{Points(502), Points(0), Points(0)}));
  EXPECT_EQ(*shop.engine->BalanceAsOf(Id("anna"), At("2011-03-01T11:59:59Z")), (Balance{Points(0), Points(600), Points(98)}));
  EXPECT_EQ(*shop.engine->BalanceAsOf(Id("anna"), At("2011-03-01T12:00:00Z")), (Balance{Points(502), Points(0), Points(0)}));
  EXPECT_EQ(shop.engine->store().LastSeq(), journaled);

  auto paid = shop.engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay", .member = Id("anna"), .points = Points(500)});
  ASSERT_TRUE(paid.ok()) << paid.status();
  ASSERT_EQ(paid->entries.size(), 2u);
  const auto& release = std::get<entries::HoldReleased>(paid->entries[0].body);
  EXPECT_TRUE(release.lapsed);
  EXPECT_EQ(release.hold, hold->seq());
  EXPECT_EQ(release.debt_paid, Points(98));
  EXPECT_EQ(paid->entries[0].explanation,
            absl::StrCat("hold ", hold->seq(), " lapsed at 2011-03-01T12:00:00Z: 600 points back to their lots; 98 settle debt"));
  ASSERT_EQ(paid->own().size(), 1u);
  EXPECT_EQ(paid->seq(), paid->entries[1].seq);
  EXPECT_EQ(std::get<entries::Debited>(paid->entries[1].body).amount, Points(500));
  EXPECT_EQ(shop.Anna(), (Balance{Points(2), Points(0), Points(0)}));
  auto capture = shop.engine->Execute(CaptureHold{.idempotency_key = "cap", .member = Id("anna"), .hold = hold->seq()});
  EXPECT_EQ(capture.status().code(), absl::StatusCode::kNotFound);
}

std::string ExampleProgramText() {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(GoldenAirline, FlightsEarnByDistanceAndBookingClass) {
  auto program = ParseProgram(ExampleProgramText());
  ASSERT_TRUE(program.ok()) << program.status();
  FakeClock clock(At("2010-06-01T00:00:00Z"));
  auto engine = *Engine::Open(NewMemoryStore(), clock, *program);
  // Both versions are published to the journal with their content hashes.
  EXPECT_EQ(engine->store().LastSeq(), 2u);
  ASSERT_TRUE(engine->Execute(Enroll{.idempotency_key = "e", .member = Id("M-887")}).ok());

  // FRA-JFK, 3,851 miles, booking class J (200 %): 7,702 award miles and
  // 7,702 status miles.
  FlightSegment out{"LH", "LH400", "FRA", "JFK", 3851, "business", "J", std::nullopt};
  auto flown = engine->Execute(Accrue{.idempotency_key = "LH400", .member = Id("M-887"),
                                      .at = At("2010-06-01T16:40:00Z"), .activity = {"LH400-0601", out}});
  ASSERT_TRUE(flown.ok()) << flown.status();
  const auto& credit = std::get<entries::Credited>(flown->entries[0].body);
  EXPECT_EQ(credit.amount, Points(7'702));
  EXPECT_EQ(credit.counters, (std::vector<CounterDelta>{{"status_miles", Points(7'702)}}));
  // A 95-mile hop in class K (25 %): 23 miles, raised to the minimum 125.
  FlightSegment hop{"LH", "LH100", "FRA", "MUC", 95, "economy", "K", std::nullopt};
  auto short_hop = engine->Execute(Accrue{.idempotency_key = "LH100", .member = Id("M-887"),
                                          .at = At("2010-06-02T08:00:00Z"), .activity = {"LH100-0602", hop}});
  ASSERT_TRUE(short_hop.ok());
  EXPECT_EQ(std::get<entries::Credited>(short_hop->entries[0].body).amount, Points(125));
  auto state = engine->Snapshot(Id("M-887"));
  EXPECT_EQ(state->balance, Points(7'827));
  EXPECT_EQ(state->detail().counters.at("status_miles"), Points(7'827));

  // The award chart of the version in force prices the award.
  ASSERT_TRUE(engine->Execute(Credit{.idempotency_key = "bulk", .member = Id("M-887"), .at = At("2010-07-01T00:00:00Z"),
                                     .amount = Points(887'000 - 7'827), .source = "history"})
                  .ok());
  auto award = engine->Execute(RedeemReward{.idempotency_key = "award", .member = Id("M-887"),
                                            .at = At("2011-01-05T10:00:00Z"),
                                            .reward = "award:EU-NA:business:round_trip"});
  ASSERT_TRUE(award.ok()) << award.status();
  EXPECT_EQ(std::get<entries::Debited>(award->entries[0].body).amount, Points(105'000));
}

TEST(GoldenAirline, APublishedVersionNeverChanges) {
  auto program = ParseProgram(ExampleProgramText());
  ASSERT_TRUE(program.ok());
  FakeClock clock(At("2011-01-01T00:00:00Z"));
  std::string path = ::testing::TempDir() + "/published.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  {
    auto engine = Engine::Open(*OpenSqliteStore(path), clock, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
  }
  {
    // Opening again with the same definitions publishes nothing new.
    auto engine = Engine::Open(*OpenSqliteStore(path), clock, *program);
    ASSERT_TRUE(engine.ok());
    EXPECT_EQ((*engine)->store().LastSeq(), 2u);
  }
  // The 2011 chart edited in place (105,000 -> 100,000) under the same id.
  std::string edited = ExampleProgramText();
  size_t at = edited.find("\"price\": 105000");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 15, "\"price\": 100000");
  auto changed = ParseProgram(edited);
  ASSERT_TRUE(changed.ok());
  auto refused = Engine::Open(*OpenSqliteStore(path), clock, *changed);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("mm-2011"), absl::string_view::npos) << refused.status();
}

}  // namespace
}  // namespace loyalty
