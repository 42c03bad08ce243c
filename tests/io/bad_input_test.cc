// The bad-input catalogue: malformed commands, values and program
// definitions, each with the error code and a message fragment that names
// the field, member, entry or reward at fault; after each, the engine's
// state digest and its journal (entry count, head hash) are unchanged.
//
// Every case runs against a fresh world (an engine over a memory store with
// a few members, credits, an accrual, a reversed debit, a released and a
// lapsed hold, an open and a lapsed quote, a closed member and one whose
// balance is 10 points short of 2^63 - 1), so cases cannot affect each
// other.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }
Currency Eur() { return *Currency::FromCode("EUR"); }
Money Eur(const char* amount) { return *Money::Parse(amount, Eur()); }
Money Usd(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("USD")); }

// A shop program: 1 point per EUR 2 on purchases, a catalog with a voucher
// and a cash + points item, an award chart, paying with points (EUR 0.01
// per point, at least 100), expiry after 36 months at the end of the
// quarter; a second version from 2012 raises the voucher's price.
constexpr char kProgram[] = R"({"versions": [
 {"id": "shop-2011", "name": "Shop", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2010-12-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z",
  "counters": ["status"],
  "accrual": [{"id": "base", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "0.5", "rounding": "down"}}],
  "redemption": {"airport_regions": {"FRA": "EU", "JFK": "NA"},
                 "award_chart": [{"from_region": "EU", "to_region": "NA", "cabin": "business", "price": 90000}],
                 "catalog": [{"id": "voucher", "name": "Voucher", "price": 500},
                             {"id": "mug", "name": "Mug", "price": 200}],
                 "pay_with_points": {"value_per_point": "0.01", "minimum_points": 100, "step_points": 10}},
  "expiry": {"months": 36, "round": "end_of_quarter"}},
 {"id": "shop-2012", "name": "Shop 2012", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2011-10-01T00:00:00Z", "effective_from": "2012-01-01T00:00:00Z",
  "counters": ["status"],
  "accrual": [{"id": "base", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "0.5", "rounding": "down"}}],
  "redemption": {"catalog": [{"id": "voucher", "name": "Voucher", "price": 600}]},
  "expiry": {"months": 36, "round": "end_of_quarter"}}
]})";

// A valid one-version document with `field` replaced, for program cases.
std::string VersionWith(const std::string& extra_or_replacement) {
  return R"({"versions": [{"id": "v1", "currency": "EUR", "time_zone": "Europe/Berlin",
    "announced_at": "2011-01-01T00:00:00Z", "effective_from": "2011-02-01T00:00:00Z")" +
         extra_or_replacement + "}]}";
}

struct World {
  FakeClock clock{At("2011-06-01T10:00:00Z")};
  std::unique_ptr<Engine> engine;
  uint64_t credit = 0;         // anna's raw credit of 1000
  uint64_t accrual = 0;        // anna's basket (2 lines, 15 points), line 0 returned
  uint64_t debit = 0;          // anna's redemption of 100, already reversed
  uint64_t open_debit = 0;     // anna's redemption of 10, not reversed
  uint64_t released_hold = 0;  // released
  uint64_t lapsed_hold = 0;    // ttl ran out at 09:00, no expiry run yet
  uint64_t open_hold = 0;
  uint64_t quote = 0;          // anna's quote for "voucher", open
  uint64_t lapsed_quote = 0;   // anna's quote for "voucher", lapsed

  Receipt Run(const Command& command) {
    auto receipt = engine->Execute(command);
    LOYALTY_CHECK(receipt.ok());
    return *std::move(receipt);
  }
  uint64_t Seq(const Command& command) { return Run(command).seq(); }

  World() {
    auto program = ParseProgram(kProgram);
    LOYALTY_CHECK(program.ok());
    engine = *Engine::Open(NewMemoryStore(), clock, *std::move(program));
    for (const char* who : {"anna", "ben", "carl", "dora"}) {
      Run(Enroll{.idempotency_key = std::string("enroll-") + who, .member = Id(who),
                 .at = At("2011-05-01T00:00:00Z")});
    }
    credit = Seq(Credit{.idempotency_key = "credit", .member = Id("anna"), .at = At("2011-05-02T00:00:00Z"),
                        .amount = Points(1000), .source = "welcome", .counters = {{"status", Points(5)}}});
    accrual = Seq(Accrue{.idempotency_key = "basket", .member = Id("anna"), .at = At("2011-05-03T00:00:00Z"),
                         .activity = {"basket-1", Purchase{"shop", "berlin", "store",
                                                           {PurchaseLine{"a", "food", {}, 1, Eur("10.00")},
                                                            PurchaseLine{"b", "food", {}, 1, Eur("20.00")}}}}});
    Run(ReturnLines{.idempotency_key = "return-0", .member = Id("anna"), .at = At("2011-05-04T00:00:00Z"),
                    .credit = accrual, .lines = {0}});
    debit = Seq(Redeem{.idempotency_key = "redeem", .member = Id("anna"), .at = At("2011-05-05T00:00:00Z"),
                       .amount = Points(100)});
    Run(ReverseDebit{.idempotency_key = "undo-redeem", .member = Id("anna"), .at = At("2011-05-06T00:00:00Z"),
                     .debit = debit});
    open_debit = Seq(Redeem{.idempotency_key = "redeem-10", .member = Id("anna"),
                            .at = At("2011-05-06T00:00:00Z"), .amount = Points(10)});
    released_hold = Seq(PlaceHold{.idempotency_key = "hold-1", .member = Id("anna"),
                                  .at = At("2011-05-07T00:00:00Z"), .amount = Points(50), .ttl = absl::Hours(24)});
    Run(ReleaseHold{.idempotency_key = "release-1", .member = Id("anna"), .at = At("2011-05-07T01:00:00Z"),
                    .hold = released_hold});
    quote = Seq(QuoteReward{.idempotency_key = "quote-1", .member = Id("anna"), .at = At("2011-06-01T09:00:00Z"),
                            .reward = "voucher", .ttl = absl::Hours(24)});
    lapsed_quote = Seq(QuoteReward{.idempotency_key = "quote-2", .member = Id("anna"),
                                   .at = At("2011-05-01T09:00:00Z"), .reward = "voucher", .ttl = absl::Hours(1)});
    // The last of anna's commands: a later one would release the lapsed
    // hold first.
    lapsed_hold = Seq(PlaceHold{.idempotency_key = "hold-2", .member = Id("anna"),
                                .at = At("2011-06-01T08:00:00Z"), .amount = Points(50), .ttl = absl::Hours(1)});
    open_hold = Seq(PlaceHold{.idempotency_key = "hold-3", .member = Id("anna"),
                              .at = At("2011-06-01T08:00:00Z"), .amount = Points(20), .ttl = absl::Hours(24)});
    Run(CloseMembership{.idempotency_key = "close-carl", .member = Id("carl"), .at = At("2011-05-10T00:00:00Z")});
    // dora's balance is 10 short of 2^63 - 1, and so is her status counter.
    Run(Credit{.idempotency_key = "credit-dora", .member = Id("dora"), .at = At("2011-05-02T00:00:00Z"),
               .amount = Points(kMax - 10), .counters = {{"status", Points(kMax - 10)}}});
  }
};

struct Case {
  const char* name;
  std::function<absl::Status(World&)> run;
  absl::StatusCode code;
  const char* fragment;  // names the field, member, entry or reward
};

// Adapters: the status of a command, of a parse, of any StatusOr.
std::function<absl::Status(World&)> Exec(std::function<Command(const World&)> make) {
  return [make](World& w) { return w.engine->Execute(make(w)).status(); };
}
std::function<absl::Status(World&)> Exec(Command command) {
  return [command](World& w) { return w.engine->Execute(command).status(); };
}
template <typename F>
std::function<absl::Status(World&)> Status(F f) {
  return [f](World&) { return f().status(); };
}
std::function<absl::Status(World&)> ProgramText(std::string json) {
  return [json](World&) { return ParseProgram(json).status(); };
}

using absl::StatusCode;
const StatusCode kInvalid = StatusCode::kInvalidArgument;
const StatusCode kNotFound = StatusCode::kNotFound;
const StatusCode kPrecondition = StatusCode::kFailedPrecondition;
const StatusCode kOutOfRange = StatusCode::kOutOfRange;
const StatusCode kExists = StatusCode::kAlreadyExists;

Purchase Basket(std::vector<PurchaseLine> lines) { return Purchase{"shop", "berlin", "store", std::move(lines)}; }
PurchaseLine Line(int64_t quantity, Money price) { return PurchaseLine{"sku", "food", {}, quantity, price}; }

const Case kCases[] = {
    // ---- amounts: negative, zero, overflowing
    {"CreditNegative", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(-5)}), kInvalid,
     "amount: must be positive, got -5"},
    {"CreditZero", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(0)}), kInvalid,
     "amount"},
    {"CreditInt64Min", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(INT64_MIN)}),
     kInvalid, "amount"},
    {"CreditOverflowsBalance", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(kMax)}),
     kOutOfRange, "member anna: crediting 9223372036854775807 points would overflow"},
    {"CreditNearOverflowSum", Exec(Credit{.idempotency_key = "k", .member = Id("dora"), .amount = Points(11)}),
     kOutOfRange, "member dora"},
    {"CounterNearOverflowSum",
     Exec(Credit{.idempotency_key = "k", .member = Id("dora"), .amount = Points(1),
                 .counters = {{"status", Points(11)}}}),
     kOutOfRange, "counters: status"},
    {"CounterEmptyName",
     Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(1), .counters = {{"", Points(1)}}}),
     kInvalid, "counters[0].counter"},
    {"CounterNegative",
     Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(1),
                 .counters = {{"status", Points(-1)}}}),
     kInvalid, "counters[0].amount"},
    {"AdjustOverflowsBalance",
     Exec(Adjust{.idempotency_key = "k", .member = Id("dora"), .delta = Points(11), .reason = "r", .actor = "a"}),
     kOutOfRange, "member dora"},
    {"AdjustInt64Min",
     Exec(Adjust{.idempotency_key = "k", .member = Id("anna"), .delta = Points(INT64_MIN), .reason = "r",
                 .actor = "a"}),
     kInvalid, "delta"},
    {"AdjustZero",
     Exec(Adjust{.idempotency_key = "k", .member = Id("anna"), .delta = Points(0), .reason = "r", .actor = "a"}),
     kInvalid, "delta"},
    {"AdjustBelowBalance",
     Exec(Adjust{.idempotency_key = "k", .member = Id("anna"), .delta = Points(-kMax), .reason = "r", .actor = "a"}),
     kPrecondition, "member anna: insufficient points"},
    {"AdjustWithoutReason",
     Exec(Adjust{.idempotency_key = "k", .member = Id("anna"), .delta = Points(5), .actor = "a"}), kInvalid,
     "reason"},
    {"AdjustWithoutActor",
     Exec(Adjust{.idempotency_key = "k", .member = Id("anna"), .delta = Points(5), .reason = "r"}), kInvalid,
     "actor"},
    {"RedeemNegative", Exec(Redeem{.idempotency_key = "k", .member = Id("anna"), .amount = Points(-1)}), kInvalid,
     "amount"},
    {"RedeemMoreThanBalance", Exec(Redeem{.idempotency_key = "k", .member = Id("anna"), .amount = Points(kMax)}),
     kPrecondition, "member anna: insufficient points"},
    {"TransferOverflowsReceiver",
     Exec(Transfer{.idempotency_key = "k", .member = Id("anna"), .to = Id("dora"), .amount = Points(11)}),
     kOutOfRange, "member dora"},
    {"TransferZero", Exec(Transfer{.idempotency_key = "k", .member = Id("anna"), .to = Id("ben"), .amount = Points(0)}),
     kInvalid, "amount"},
    {"TransferToSelf",
     Exec(Transfer{.idempotency_key = "k", .member = Id("anna"), .to = Id("anna"), .amount = Points(1)}), kInvalid,
     "to: must differ"},
    {"TransferMoreThanBalance",
     Exec(Transfer{.idempotency_key = "k", .member = Id("ben"), .to = Id("anna"), .amount = Points(1)}),
     kPrecondition, "member ben: insufficient points"},
    {"BasketQuantityTimesPriceOverflows",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"b", Basket({Line(kMax, Eur("1.00"))})}}),
     kOutOfRange, "lines[0]"},
    {"BasketTotalOverflows",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"b", Basket({Line(1, Money(kMax - 1, Eur())), Line(1, Money(kMax - 1, Eur()))})}}),
     kOutOfRange, "basket total"},
    {"AccrualOverflowsBalance",
     Exec(Accrue{.idempotency_key = "k", .member = Id("dora"), .activity = {"b", Basket({Line(1, Eur("100.00"))})}}),
     kOutOfRange, "member dora"},
    {"PayWithPointsNegative",
     Exec(PayWithPointsAtTill{.idempotency_key = "k", .member = Id("anna"), .points = Points(-100)}), kInvalid,
     "points"},
    {"PayWithPointsBelowMinimum",
     Exec(PayWithPointsAtTill{.idempotency_key = "k", .member = Id("anna"), .points = Points(50)}), kInvalid,
     "points: 50 is below the minimum of 100"},
    {"PayWithPointsOffStep",
     Exec(PayWithPointsAtTill{.idempotency_key = "k", .member = Id("anna"), .points = Points(105)}), kInvalid,
     "points: 105 is not a multiple of 10"},
    {"PayWithPointsHuge",
     Exec(PayWithPointsAtTill{.idempotency_key = "k", .member = Id("anna"), .points = Points(kMax - 7)}),
     kPrecondition, "member anna: insufficient points"},

    // ---- unknown members, rewards, entries
    {"UnknownMember", Exec(Credit{.idempotency_key = "k", .member = Id("nobody"), .amount = Points(1)}), kNotFound,
     "member nobody is not enrolled"},
    {"EmptyMember", Exec(Credit{.idempotency_key = "k", .member = MemberId(), .amount = Points(1)}), kInvalid,
     "member: must not be empty"},
    {"ReservedMember", Exec(Credit{.idempotency_key = "k", .member = Id("#program"), .amount = Points(1)}),
     kInvalid, "member: ids starting with '#' are reserved"},
    {"TransferToUnknownMember",
     Exec(Transfer{.idempotency_key = "k", .member = Id("anna"), .to = Id("ghost"), .amount = Points(1)}), kNotFound,
     "member ghost"},
    {"TransferToClosedMember",
     Exec(Transfer{.idempotency_key = "k", .member = Id("anna"), .to = Id("carl"), .amount = Points(1)}),
     kPrecondition, "member carl is closed"},
    {"CreditToClosedMember", Exec(Credit{.idempotency_key = "k", .member = Id("carl"), .amount = Points(1)}),
     kPrecondition, "member carl is closed"},
    {"CloseTwice", Exec(CloseMembership{.idempotency_key = "k", .member = Id("carl")}), kPrecondition,
     "member carl is closed"},
    {"EnrollTwice", Exec(Enroll{.idempotency_key = "k", .member = Id("anna")}), kExists,
     "member anna is already enrolled"},
    {"UnknownReward", Exec(RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = "yacht"}),
     kNotFound, "reward \"yacht\""},
    {"EmptyReward", Exec(RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = ""}), kInvalid,
     "reward: must not be empty"},
    {"UnknownRewardQuote",
     Exec(QuoteReward{.idempotency_key = "k", .member = Id("anna"), .reward = "award:EU-XX:business:round_trip",
                      .ttl = absl::Hours(1)}),
     kNotFound, "award:EU-XX:business:round_trip"},
    {"RewardTooExpensive",
     Exec(RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = "award:EU-NA:business:round_trip"}),
     kPrecondition, "member anna: insufficient points"},
    {"UnknownQuote",
     Exec(RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = "voucher", .quote = 999}), kNotFound,
     "no open quote 999"},
    {"QuoteForAnotherReward", Exec([](const World& w) -> Command {
       return RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = "mug", .quote = w.quote};
     }),
     kInvalid, "reward: quote"},
    {"LapsedQuote", Exec([](const World& w) -> Command {
       return RedeemReward{.idempotency_key = "k", .member = Id("anna"), .reward = "voucher", .quote = w.lapsed_quote};
     }),
     kPrecondition, "lapsed"},
    {"QuoteZeroTtl",
     Exec(QuoteReward{.idempotency_key = "k", .member = Id("anna"), .reward = "voucher", .ttl = absl::ZeroDuration()}),
     kInvalid, "ttl"},
    {"QuoteInfiniteTtl",
     Exec(QuoteReward{.idempotency_key = "k", .member = Id("anna"), .reward = "voucher",
                      .ttl = absl::InfiniteDuration()}),
     kInvalid, "ttl"},
    {"HoldRewardNegativeTtl",
     Exec(HoldReward{.idempotency_key = "k", .member = Id("anna"), .reward = "voucher", .ttl = -absl::Hours(1)}),
     kInvalid, "ttl"},

    // ---- refunds: more than was bought, twice, of something else
    {"ReverseEarnMoreThanCredited", Exec([](const World& w) -> Command {
       return ReverseEarn{.idempotency_key = "k", .member = Id("anna"), .credit = w.credit, .amount = Points(1001)};
     }),
     kPrecondition, "credit"},
    {"ReverseEarnUnknownCredit",
     Exec(ReverseEarn{.idempotency_key = "k", .member = Id("anna"), .credit = 999999, .amount = Points(1)}),
     kNotFound, "no credit 999999"},
    {"ReverseEarnOfADebit", Exec([](const World& w) -> Command {
       return ReverseEarn{.idempotency_key = "k", .member = Id("anna"), .credit = w.debit, .amount = Points(1)};
     }),
     kNotFound, "no credit"},
    {"ReverseEarnOfAnotherMembersCredit", Exec([](const World& w) -> Command {
       return ReverseEarn{.idempotency_key = "k", .member = Id("ben"), .credit = w.credit, .amount = Points(1)};
     }),
     kNotFound, "member ben: no credit"},
    {"ReverseEarnCounterBelowZero", Exec([](const World& w) -> Command {
       return ReverseEarn{.idempotency_key = "k", .member = Id("anna"), .credit = w.credit, .amount = Points(1),
                          .counters = {{"status", Points(6)}}};
     }),
     kPrecondition, "counter status"},
    {"ReverseDebitTwice", Exec([](const World& w) -> Command {
       return ReverseDebit{.idempotency_key = "k", .member = Id("anna"), .debit = w.debit};
     }),
     kPrecondition, "already reversed"},
    {"ReverseDebitUnknown", Exec(ReverseDebit{.idempotency_key = "k", .member = Id("anna"), .debit = 424242}),
     kNotFound, "no debit 424242"},
    {"ReverseDebitOfACredit", Exec([](const World& w) -> Command {
       return ReverseDebit{.idempotency_key = "k", .member = Id("anna"), .debit = w.credit};
     }),
     kNotFound, "no debit"},
    {"ReturnLineTwice", Exec([](const World& w) -> Command {
       return ReturnLines{.idempotency_key = "k", .member = Id("anna"), .credit = w.accrual, .lines = {0}};
     }),
     kPrecondition, "line 0 of accrual"},
    {"ReturnSameLineTwiceInOneCommand", Exec([](const World& w) -> Command {
       return ReturnLines{.idempotency_key = "k", .member = Id("anna"), .credit = w.accrual, .lines = {1, 1}};
     }),
     kPrecondition, "line 1"},
    {"ReturnLineOutOfRange", Exec([](const World& w) -> Command {
       return ReturnLines{.idempotency_key = "k", .member = Id("anna"), .credit = w.accrual, .lines = {7}};
     }),
     kInvalid, "lines[0]"},
    {"ReturnNoLines", Exec([](const World& w) -> Command {
       return ReturnLines{.idempotency_key = "k", .member = Id("anna"), .credit = w.accrual, .lines = {}};
     }),
     kInvalid, "lines"},
    {"ReturnLinesOfARawCredit", Exec([](const World& w) -> Command {
       return ReturnLines{.idempotency_key = "k", .member = Id("anna"), .credit = w.credit, .lines = {0}};
     }),
     kNotFound, "no accrual"},

    // ---- holds
    {"CaptureAfterRelease", Exec([](const World& w) -> Command {
       return CaptureHold{.idempotency_key = "k", .member = Id("anna"), .hold = w.released_hold};
     }),
     kNotFound, "no open hold"},
    {"ReleaseTwice", Exec([](const World& w) -> Command {
       return ReleaseHold{.idempotency_key = "k", .member = Id("anna"), .hold = w.released_hold};
     }),
     kNotFound, "no open hold"},
    {"CaptureExpiredHold", Exec([](const World& w) -> Command {
       return CaptureHold{.idempotency_key = "k", .member = Id("anna"), .hold = w.lapsed_hold};
     }),
     kPrecondition, "lapsed at 2011-06-01T09:00:00Z"},
    {"CaptureAnotherMembersHold", Exec([](const World& w) -> Command {
       return CaptureHold{.idempotency_key = "k", .member = Id("ben"), .hold = w.open_hold};
     }),
     kNotFound, "member ben: no open hold"},
    {"CaptureUnknownHold", Exec(CaptureHold{.idempotency_key = "k", .member = Id("anna"), .hold = 0}), kNotFound,
     "no open hold 0"},
    {"HoldZeroTtl",
     Exec(PlaceHold{.idempotency_key = "k", .member = Id("anna"), .amount = Points(1), .ttl = absl::ZeroDuration()}),
     kInvalid, "ttl"},
    {"HoldTtlOverAYear",
     Exec(PlaceHold{.idempotency_key = "k", .member = Id("anna"), .amount = Points(1), .ttl = absl::Hours(24 * 400)}),
     kInvalid, "ttl"},
    {"HoldMoreThanBalance",
     Exec(PlaceHold{.idempotency_key = "k", .member = Id("anna"), .amount = Points(kMax), .ttl = absl::Hours(1)}),
     kPrecondition, "member anna: insufficient points"},

    // ---- activities: empty basket, currencies, quantities
    {"EmptyBasket", Exec(Accrue{.idempotency_key = "k", .member = Id("anna"), .activity = {"b", Basket({})}}),
     kInvalid, "lines: a purchase needs at least one line"},
    {"EmptyActivityId",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"), .activity = {"", Basket({Line(1, Eur("1.00"))})}}),
     kInvalid, "activity.id"},
    {"MismatchedCurrency",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"), .activity = {"b", Basket({Line(1, Usd("1.00"))})}}),
     kInvalid, "lines[0].unit_price: USD is not the program currency EUR"},
    {"NegativePrice",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"b", Basket({Line(1, Eur("1.00")), Line(1, Eur("-1.00"))})}}),
     kInvalid, "lines[1].unit_price"},
    {"ZeroQuantity",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"), .activity = {"b", Basket({Line(0, Eur("1.00"))})}}),
     kInvalid, "lines[0].quantity"},
    {"NegativeDistance",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"f", FlightSegment{"LH", "LH400", "FRA", "JFK", -1, "business", "C", std::nullopt}}}),
     kInvalid, "distance_miles"},
    {"TicketPriceInOtherCurrency",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"f", FlightSegment{"LH", "LH400", "FRA", "JFK", 3851, "business", "C", Usd("900.00")}}}),
     kInvalid, "ticket_price: USD"},
    {"CustomAmountInOtherCurrency",
     Exec(Accrue{.idempotency_key = "k", .member = Id("anna"),
                 .activity = {"c", CustomActivity{"card_spend", {}, Usd("10.00")}}}),
     kInvalid, "amount: USD"},

    // ---- keys, texts, flags
    {"EmptyKey", Exec(Credit{.idempotency_key = "", .member = Id("anna"), .amount = Points(1)}), kInvalid,
     "idempotency_key"},
    {"OverlongKey", Exec(Credit{.idempotency_key = std::string(129, 'k'), .member = Id("anna"), .amount = Points(1)}),
     kInvalid, "idempotency_key"},
    {"KeyReusedWithOtherPayload",
     Exec(Credit{.idempotency_key = "credit", .member = Id("anna"), .amount = Points(999)}), kExists,
     "idempotency key \"credit\" was already used for a different command"},
    {"KeyReusedByOtherCommandKind", Exec(Redeem{.idempotency_key = "hold-1", .member = Id("anna"), .amount = Points(1)}),
     kExists, "idempotency key \"hold-1\""},
    {"OverlongSource",
     Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .amount = Points(1), .source = std::string(300, 's')}),
     kInvalid, "source"},
    {"EmptyFlag", Exec(SetMemberFlag{.idempotency_key = "k", .member = Id("anna"), .flag = ""}), kInvalid, "flag"},
    {"ClearUnsetFlag", Exec(SetMemberFlag{.idempotency_key = "k", .member = Id("anna"), .flag = "card", .on = false}),
     kPrecondition, "flag card is not set"},

    // ---- dates out of range
    {"At1899", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .at = At("1899-12-31T23:59:59Z"),
                           .amount = Points(1)}),
     kInvalid, "at: 1899-12-31T23:59:59Z is outside"},
    {"At9000", Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .at = At("9000-01-01T00:00:00Z"),
                           .amount = Points(1)}),
     kInvalid, "at:"},
    {"AtInstantMin", Exec(Enroll{.idempotency_key = "k", .member = Id("zed"), .at = Instant::Min()}), kInvalid,
     "at:"},
    {"AtInstantMax", Exec(Redeem{.idempotency_key = "k", .member = Id("anna"), .at = Instant::Max(), .amount = Points(1)}),
     kInvalid, "at:"},
    {"ExpiresBeforeCredit",
     Exec(Credit{.idempotency_key = "k", .member = Id("anna"), .at = At("2011-06-01T00:00:00Z"), .amount = Points(1),
                 .expires_at = At("2011-05-01T00:00:00Z")}),
     kInvalid, "expires_at"},
    {"ExpiryRunAsOfOutOfRange",
     [](World& w) { return w.engine->RunExpiry("expiry", Instant::FromUnixMicros(INT64_MIN + 1)).status(); }, kInvalid,
     "as_of"},
    {"ExpiryRunEmptyKey", [](World& w) { return w.engine->RunExpiry("", At("2011-06-01T00:00:00Z")).status(); },
     kInvalid, "idempotency_key"},

    // ---- value and time text
    {"MoneyTooManyDigits", Status([] { return Money::Parse("1.234", Eur()); }), kInvalid, "\"1.234\""},
    {"MoneyLetters", Status([] { return Money::Parse("12,50", Eur()); }), kInvalid, "\"12,50\""},
    {"MoneyEmpty", Status([] { return Money::Parse("", Eur()); }), kInvalid, "\"\""},
    {"MoneyOverflow", Status([] { return Money::Parse("92233720368547758.08", Eur()); }), kInvalid,
     "92233720368547758.08"},
    {"MoneyExponent", Status([] { return Money::Parse("1e3", Eur()); }), kInvalid, "\"1e3\""},
    {"UnknownCurrency", Status([] { return Currency::FromCode("XYZ"); }), kInvalid, "\"XYZ\""},
    {"LowercaseCurrency", Status([] { return Currency::FromCode("eur"); }), kInvalid, "\"eur\""},
    {"RateDecimalComma", Status([] { return Rate::Parse("1,5"); }), kInvalid, "\"1,5\""},
    {"RateNegative", Status([] { return Rate::Parse("-0.5"); }), kInvalid, "\"-0.5\""},
    {"RateTooPrecise", Status([] { return Rate::Parse("0.0000000000000000001"); }), kInvalid,
     "\"0.0000000000000000001\""},
    {"RateTooManyDigits", Status([] { return Rate::Parse("12345678901234567890"); }), kInvalid,
     "\"12345678901234567890\""},
    {"RateEmpty", Status([] { return Rate::Parse(""); }), kInvalid, "\"\""},
    {"DateFebruary29", Status([] { return Date::Parse("2011-02-29"); }), kInvalid, "\"2011-02-29\": 2011-02-29 is not a date: 2011-02 has days 1..28"},
    {"DateYear1399", Status([] { return Date::Parse("1399-12-31"); }), kInvalid, "\"1399-12-31\""},
    {"DateMonth13", Status([] { return Date::Parse("2011-13-01"); }), kInvalid, "month 13 is not in 1..12"},
    {"DateShort", Status([] { return Date::Parse("2011-1-1"); }), kInvalid, "\"2011-1-1\""},
    {"InstantWithoutZone", Status([] { return Instant::Parse("2011-01-03T00:00:00"); }), kInvalid,
     "\"2011-01-03T00:00:00\""},
    {"InstantGarbage", Status([] { return Instant::Parse("yesterday"); }), kInvalid, "\"yesterday\""},
    {"MemberIdWithSpace", Status([] { return MemberId::Parse("a b"); }), kInvalid, "\"a b\""},
    {"MemberIdTooLong", Status([] { return MemberId::Parse(std::string(65, 'm')); }), kInvalid, "mmmm"},
    {"RoundingUnknown", Status([] { return ParseRounding("nearest"); }), kInvalid, "nearest"},

    // ---- program definitions
    {"EffectiveBeforeAnnounced",
     ProgramText(R"({"versions": [{"id": "v1", "currency": "EUR", "time_zone": "Europe/Berlin",
       "announced_at": "2011-02-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z"}]})"),
     kInvalid, "versions[0].effective_from"},
    {"DanglingBaseRule",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "bonus", "effect": {"kind": "multiplier", "rate": "2",
       "base_rules": ["nope"]}}])")),
     kInvalid, "versions[0].accrual[0].effect.base_rules"},
    {"DanglingAwardRegion",
     ProgramText(VersionWith(R"(, "redemption": {"airport_regions": {"FRA": "EU"}, "award_chart": [
       {"from_region": "EU", "to_region": "NA", "cabin": "business", "price": 1}]})")),
     kInvalid, "versions[0].redemption.award_chart[0].to_region"},
    {"DanglingBalance",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "effect": {"kind": "fixed", "fixed": 1, "balance": "gold"}}])")),
     kInvalid, "versions[0].accrual[0].effect.balance"},
    {"DuplicateRuleIds",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "effect": {"kind": "fixed", "fixed": 1}},
       {"id": "r", "effect": {"kind": "fixed", "fixed": 2}}])")),
     kInvalid, "versions[0].accrual[1].id"},
    {"BadRateText",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "effect": {"kind": "per_money", "rate": "1,5"}}])")), kInvalid,
     "versions[0].accrual[0].effect.rate"},
    {"RateAsJsonFloat",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "effect": {"kind": "per_money", "rate": 0.5}}])")), kInvalid,
     "versions[0].accrual[0].effect.rate"},
    {"BadMoneyText",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "when": {"min_eligible_amount": "1.005"},
       "effect": {"kind": "fixed", "fixed": 1}}])")),
     kInvalid, "versions[0].accrual[0].when.min_eligible_amount"},
    {"BadDateText",
     ProgramText(VersionWith(R"(, "accrual": [{"id": "r", "when": {"from_date": "2011-02-30"},
       "effect": {"kind": "fixed", "fixed": 1}}])")),
     kInvalid, "versions[0].accrual[0].when.from_date"},
    {"BadInstantText",
     ProgramText(R"({"versions": [{"id": "v1", "currency": "EUR", "time_zone": "Europe/Berlin",
       "announced_at": "2011-13-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z"}]})"),
     kInvalid, "versions[0].announced_at"},
    {"UnknownCurrencyInProgram",
     ProgramText(R"({"versions": [{"id": "v1", "currency": "EURO", "time_zone": "Europe/Berlin",
       "announced_at": "2011-01-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z"}]})"),
     kInvalid, "versions[0].currency"},
    {"UnknownTimeZone",
     ProgramText(R"({"versions": [{"id": "v1", "currency": "EUR", "time_zone": "Mars/Olympus",
       "announced_at": "2011-01-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z"}]})"),
     kInvalid, "versions[0].time_zone"},
    {"NegativeCatalogPrice",
     ProgramText(VersionWith(R"(, "redemption": {"catalog": [{"id": "x", "price": -1}]})")), kInvalid,
     "versions[0].redemption.catalog[0].price"},
    {"HugeCatalogPrice",
     ProgramText(VersionWith(R"(, "redemption": {"catalog": [{"id": "x", "price": 18446744073709551615}]})")), kInvalid,
     "versions[0].redemption.catalog[0].price"},
    {"ZeroValuePerPoint",
     ProgramText(VersionWith(R"(, "redemption": {"pay_with_points": {"value_per_point": "0"}})")), kInvalid,
     "versions[0].redemption.pay_with_points.value_per_point"},
    {"UnknownField", ProgramText(VersionWith(R"(, "colour": "blue")")), kInvalid, "versions[0].colour"},
    {"MalformedJson", ProgramText(R"({"versions": [)"), kInvalid, "(root)"},
    {"NoVersions", ProgramText(R"({"versions": []})"), kInvalid, "versions"},
    {"EffectiveFromNotIncreasing",
     ProgramText(R"({"versions": [
       {"id": "a", "currency": "EUR", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-02-01T00:00:00Z"},
       {"id": "b", "currency": "EUR", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-02-01T00:00:00Z"}]})"),
     kInvalid, "versions[1].effective_from"},
    {"CurrencyDiffersAcrossVersions",
     ProgramText(R"({"versions": [
       {"id": "a", "currency": "EUR", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-02-01T00:00:00Z"},
       {"id": "b", "currency": "USD", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-03-01T00:00:00Z"}]})"),
     kInvalid, "versions[1].currency"},
    {"DuplicateVersionIds",
     ProgramText(R"({"versions": [
       {"id": "a", "currency": "EUR", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-02-01T00:00:00Z"},
       {"id": "a", "currency": "EUR", "time_zone": "UTC", "announced_at": "2011-01-01T00:00:00Z",
        "effective_from": "2011-03-01T00:00:00Z"}]})"),
     kInvalid, "versions[1].id"},
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.name; }

class BadInputTest : public ::testing::TestWithParam<Case> {};

TEST_P(BadInputTest, IsRefusedAndChangesNothing) {
  const Case& c = GetParam();
  World world;
  const Sha256 digest = world.engine->StateDigest();
  const uint64_t entries = world.engine->store().LastSeq();
  const Sha256 head = world.engine->store().HeadHash();

  absl::Status status = c.run(world);
  // BAD_INPUT_PRINT=1 lists every case with the status it got.
  if (std::getenv("BAD_INPUT_PRINT")) std::fprintf(stderr, "%-36s %s\n", c.name, status.ToString().c_str());
  EXPECT_EQ(status.code(), c.code) << status;
  EXPECT_NE(status.message().find(c.fragment), absl::string_view::npos)
      << "message \"" << status.message() << "\" lacks \"" << c.fragment << "\"";

  EXPECT_EQ(world.engine->StateDigest(), digest);
  EXPECT_EQ(world.engine->store().LastSeq(), entries);
  EXPECT_EQ(world.engine->store().HeadHash(), head);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadInputTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(BadInputCatalogue, HasAtLeastFiftyCases) { EXPECT_GE(std::size(kCases), 50u); }

// A batch whose commands all fail, or repeat a key with another payload,
// writes nothing.
TEST(BadInputCatalogue, BatchOfBadCommandsChangesNothing) {
  World world;
  const Sha256 digest = world.engine->StateDigest();
  const uint64_t entries = world.engine->store().LastSeq();
  std::vector<Command> batch = {
      Credit{.idempotency_key = "b1", .member = Id("nobody"), .amount = Points(1)},
      Credit{.idempotency_key = "b2", .member = Id("dora"), .amount = Points(kMax)},
      Credit{.idempotency_key = "credit", .member = Id("anna"), .amount = Points(2)},
      Redeem{.idempotency_key = "b3", .member = Id("ben"), .amount = Points(1)},
  };
  auto results = world.engine->ExecuteBatch(batch);
  EXPECT_EQ(results[0].status().code(), kNotFound);
  EXPECT_EQ(results[1].status().code(), kOutOfRange);
  EXPECT_EQ(results[2].status().code(), kExists);
  EXPECT_EQ(results[3].status().code(), kPrecondition);
  EXPECT_EQ(world.engine->StateDigest(), digest);
  EXPECT_EQ(world.engine->store().LastSeq(), entries);
}

// Reopening a journal with a program whose published version changed is
// refused, naming the version, and the journal is unchanged.
TEST(BadInputCatalogue, RepublishedVersionWithOtherContentIsRefused) {
  std::string path = ::testing::TempDir() + "/bad_input_republish.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  FakeClock clock(At("2011-06-01T10:00:00Z"));
  auto program = ParseProgram(kProgram);
  ASSERT_TRUE(program.ok()) << program.status();
  Sha256 digest;
  uint64_t entries;
  {
    auto engine = Engine::Open(*OpenSqliteStore(path), clock, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = "e", .member = Id("anna")}).ok());
    digest = (*engine)->StateDigest();
    entries = (*engine)->store().LastSeq();
  }
  std::string changed = kProgram;
  changed.replace(changed.find("\"price\": 500"), 12, "\"price\": 501");
  auto other = ParseProgram(changed);
  ASSERT_TRUE(other.ok()) << other.status();
  auto refused = Engine::Open(*OpenSqliteStore(path), clock, *other);
  EXPECT_EQ(refused.status().code(), kPrecondition);
  EXPECT_NE(refused.status().message().find("program version shop-2011"), absl::string_view::npos)
      << refused.status();
  auto reopened = Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->StateDigest(), digest);
  EXPECT_EQ((*reopened)->store().LastSeq(), entries);
}

}  // namespace
}  // namespace loyalty
