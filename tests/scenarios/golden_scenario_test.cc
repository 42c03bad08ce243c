// Golden scenarios through the whole library: programs loaded from JSON,
// activities accrued, rewards redeemed, purchase lines returned. Every
// expected figure is worked out by hand in the comments.
#include <fstream>
#include <sstream>

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
  // earned. Its lot has 26 left; the other 98 were spent and become debt.
  auto returned = engine->Execute(ReturnLines{.idempotency_key = "ret", .member = Id("anna"),
                                              .at = At("2011-03-03T10:00:00Z"), .credit = first->entries[0].seq,
                                              .lines = {0}});
  ASSERT_TRUE(returned.ok()) << returned.status();
  const auto& reversal = std::get<entries::EarnReversed>(returned->entries[0].body);
  EXPECT_EQ(reversal.amount, Points(124));
  EXPECT_EQ(reversal.from_lot, Points(26));
  EXPECT_EQ(reversal.debt_added, Points(98));
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->available, Points(103));
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->debt, Points(98));
  // The same line cannot be returned twice.
  auto twice = engine->Execute(ReturnLines{.idempotency_key = "ret2", .member = Id("anna"),
                                           .credit = first->entries[0].seq, .lines = {0}});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);

  // After a manual reversal of the rest of basket 1's points, returning its
  // shampoo line would reverse more than the accrual has left: refused.
  // 626 earned, 124 reversed; reversing 500 leaves 2 (the shampoo's).
  ASSERT_TRUE(engine->Execute(ReverseEarn{.idempotency_key = "manual", .member = Id("anna"),
                                          .credit = first->entries[0].seq, .amount = Points(500)})
                  .ok());
  auto over = engine->Execute(ReturnLines{.idempotency_key = "ret3", .member = Id("anna"),
                                          .credit = first->entries[0].seq, .lines = {1, 2, 3}});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition) << over.status();
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->debt, Points(98 + 500));

  // Paying below the minimum or without points is refused, changing nothing.
  auto small = engine->Execute(PayWithPointsAtTill{.idempotency_key = "pay2", .member = Id("anna"), .points = Points(99)});
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->BalanceOf(Id("anna"))->available, Points(103));

  // Replaying the journal reproduces the whole state: lots, debt, the
  // returned line, the campaign's daily usage.
  Sha256 live = engine->StateDigest();
  engine.reset();
  auto replayed = Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ((*replayed)->StateDigest(), live);
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
