// Decide on its own: a small program and members' states in memory, no
// engine and no store. For every command kind, what a success decides (the
// entries' amounts, lots and dates) and every refusal, with its code and
// the field or member its message names. States are built by deciding and
// applying earlier commands, or by hand for states no command reaches
// easily (a debt at the limit of 64 bits).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loyalty/command.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

Instant At(const char* text) { return *Instant::Parse(text); }
Rate R(const char* text) { return *Rate::Parse(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("EUR")); }

const MemberId kAnn = MemberId::FromValid("ann");
const MemberId kBob = MemberId::FromValid("bob");
const Instant kEnrolled = Instant::FromUnixMicros(1577836800LL * 1000000);  // 2020-01-01T00:00:00Z

// The first version: 1 point per EUR on purchases and 5 status points per
// activity, lots lasting 12 months to the end of the month, a co-brand
// flag that protects them, three months of grace after closure, a mug in
// the catalog, paying at the till at EUR 0.01 per point, and a ladder of
// silver (100 status points, 10 % off rewards), gold (invitation only) and
// plus (paid, points never lapse).
ProgramVersion FirstVersion() {
  ProgramVersion v;
  v.id = "v1";
  v.counters = {"status"};
  AccrualRule base{.id = "base"};
  base.when.activity_types = {"purchase"};
  base.effect.kind = AccrualEffect::Kind::kPerMoney;
  base.effect.rate = R("1");
  AccrualRule status{.id = "status"};
  status.effect.fixed = Points(5);
  status.effect.balance = "status";
  v.accrual = {base, status};
  v.expiry = {12, ExpiryTerm::Round::kEndOfMonth};
  v.expiry.protected_by_flags = {"cobrand"};
  v.expiry.closure_grace_months = 3;
  v.redemption.catalog = {{"mug", "Mug", Points(500), std::nullopt, ""},
                          {"coffee", "Coffee", Points(100), std::nullopt, "cafe"}};
  v.redemption.pay_with_points = PayWithPoints{R("0.01"), Points(100), Points(10)};
  v.partners = {{"cafe", "Cafe", R("0.01"), R("0.01")}};
  Tier silver{.id = "silver"};
  silver.qualification.any_of = {TierRequirement{{{"status", Points(100)}}}};
  silver.benefits.redemption_discount = R("0.1");
  Tier gold{.id = "gold", .invitation_only = true};
  Tier plus{.id = "plus", .paid = true};
  plus.benefits.protects_from_expiry = true;
  v.tiers.tiers = {silver, gold, plus};
  v.tiers.validity_months = 12;
  return v;
}

// v1, then v2 from 2021-01-01, where the mug costs 600, with `promise`.
Program TwoVersions(Grandfathering promise) {
  ProgramVersion v2 = FirstVersion();
  v2.id = "v2";
  v2.announced_at = At("2020-12-01T00:00:00Z");
  v2.effective_from = At("2021-01-01T00:00:00Z");
  v2.redemption.catalog[0].price = Points(600);
  v2.grandfathering = promise;
  return *Program::FromVersions({FirstVersion(), v2});
}

Activity Basket(const char* id, std::vector<const char*> prices) {
  Purchase purchase;
  for (const char* price : prices) purchase.lines.push_back({.sku = "sku", .unit_price = Eur(price)});
  return Activity{id, purchase};
}

class DecideTest : public ::testing::Test {
 protected:
  DecideTest() : program_(*Program::FromVersions({FirstVersion()})) {
    Run(Enroll{.idempotency_key = "e-ann", .member = kAnn, .at = kEnrolled});
    Run(Enroll{.idempotency_key = "e-bob", .member = kBob, .at = kEnrolled});
  }

  absl::StatusOr<std::vector<Entry>> Try(const Command& command) {
    auto lookup = [this](const MemberId& id) -> const MemberState* {
      auto it = members_.find(id.value());
      return it == members_.end() ? nullptr : &it->second;
    };
    return Decide(program_, lookup, command, kEnrolled);
  }

  // Decides `command`, then applies its entries with the next seqs.
  std::vector<Entry> Run(const Command& command) {
    auto decided = Try(command);
    EXPECT_TRUE(decided.ok()) << decided.status();
    if (!decided.ok()) return {};
    for (Entry& entry : *decided) {
      entry.seq = ++seq_;
      ApplyToMember(members_[entry.member.value()], entry);
    }
    return *decided;
  }

  // Runs `command`; returns the seq of its first entry.
  uint64_t First(const Command& command) {
    std::vector<Entry> entries = Run(command);
    return entries.empty() ? 0 : entries.front().seq;
  }

  // Credits `amount` to `member` at `at`; returns the credit's seq.
  uint64_t Earn(const MemberId& member, int64_t amount, const char* at) {
    return First(Credit{.idempotency_key = "c", .member = member, .at = At(at), .amount = Points(amount)});
  }

  // Expects `command` refused with `code` and a message containing `text`.
  void ExpectRefused(const Command& command, absl::StatusCode code, const std::string& text) {
    auto decided = Try(command);
    ASSERT_FALSE(decided.ok());
    EXPECT_EQ(decided.status().code(), code) << decided.status();
    EXPECT_THAT(std::string(decided.status().message()), HasSubstr(text));
  }

  MemberState& State(const MemberId& id) { return members_[id.value()]; }

  Program program_;
  std::map<std::string, MemberState> members_;
  uint64_t seq_ = 0;
};

template <typename Body>
const Body& BodyOf(const Entry& entry) {
  const Body* body = std::get_if<Body>(&entry.body);
  EXPECT_NE(body, nullptr) << EntryKindName(entry.body);
  static const Body kEmpty{};
  return body == nullptr ? kEmpty : *body;
}

// ------------------------------------------------------------ every command

TEST_F(DecideTest, EveryCommandNeedsAKeyAMemberAndATimeInRange) {
  const Instant at = At("2020-02-01T00:00:00Z");
  ExpectRefused(Credit{.idempotency_key = "", .member = kAnn, .at = at, .amount = Points(1)},
                absl::StatusCode::kInvalidArgument, "idempotency_key: must have 1 to 128 bytes");
  ExpectRefused(Credit{.idempotency_key = std::string(129, 'k'), .member = kAnn, .at = at, .amount = Points(1)},
                absl::StatusCode::kInvalidArgument, "idempotency_key");
  ExpectRefused(Credit{.idempotency_key = "k", .member = MemberId(), .at = at, .amount = Points(1)},
                absl::StatusCode::kInvalidArgument, "member: must not be empty");
  ExpectRefused(
      Credit{.idempotency_key = "k", .member = MemberId::FromValid("#program"), .at = at, .amount = Points(1)},
      absl::StatusCode::kInvalidArgument, "member: ids starting with '#' are reserved");
  ExpectRefused(Credit{.idempotency_key = "k", .member = kAnn, .at = At("1899-12-31T23:59:59Z"), .amount = Points(1)},
                absl::StatusCode::kInvalidArgument, "at: ");
  ExpectRefused(Enroll{.idempotency_key = "k", .member = kAnn, .at = At("9000-01-01T00:00:00Z")},
                absl::StatusCode::kInvalidArgument, "outside 1900-01-01 to 9000-01-01");
}

TEST_F(DecideTest, EveryCommandButEnrolNeedsAnEnrolledMember) {
  const MemberId carl = MemberId::FromValid("carl");
  ExpectRefused(Redeem{.idempotency_key = "k", .member = carl, .amount = Points(1)}, absl::StatusCode::kNotFound,
                "member carl is not enrolled");
  ExpectRefused(Credit{.idempotency_key = "k", .member = kAnn, .at = At("2019-12-31T23:59:59Z"), .amount = Points(1)},
                absl::StatusCode::kInvalidArgument, "at: 2019-12-31T23:59:59Z is before member ann's enrolment");
}

TEST_F(DecideTest, TheFirstEntryRecordsTheCommandAndTheUnsetTimeIsTheClock) {
  Credit credit{.idempotency_key = "c-1", .member = kAnn, .amount = Points(10)};
  auto decided = Try(credit);
  ASSERT_TRUE(decided.ok()) << decided.status();
  const Entry& entry = decided->front();
  EXPECT_EQ(entry.command, RecordOf(Command(credit)));
  EXPECT_EQ(entry.command_digest, DigestOf(Command(credit)));
  EXPECT_EQ(entry.idempotency_key, "c-1");
  EXPECT_EQ(entry.business_time, kEnrolled);
  EXPECT_EQ(entry.recorded_at, kEnrolled);
  EXPECT_EQ(entry.version, "v1");
  EXPECT_EQ(entry.seq, 0u);
}

// ------------------------------------------------------------ membership

TEST_F(DecideTest, EnrolDecidesOneEnrolledEntry) {
  const MemberId carl = MemberId::FromValid("carl");
  auto decided = Try(Enroll{.idempotency_key = "e", .member = carl, .at = At("2020-03-01T00:00:00Z")});
  ASSERT_TRUE(decided.ok()) << decided.status();
  ASSERT_EQ(decided->size(), 1u);
  EXPECT_EQ(decided->front().member, carl);
  EXPECT_TRUE(std::holds_alternative<entries::Enrolled>(decided->front().body));
  EXPECT_EQ(decided->front().business_time, At("2020-03-01T00:00:00Z"));
  EXPECT_EQ(decided->front().partner, "");
}

TEST_F(DecideTest, EnrolTwiceIsAlreadyExists) {
  ExpectRefused(Enroll{.idempotency_key = "e", .member = kAnn}, absl::StatusCode::kAlreadyExists,
                "member ann is already enrolled");
}

TEST_F(DecideTest, SettingAProtectingFlagStopsTheLotsLapsing) {
  uint64_t credit = Earn(kAnn, 100, "2020-02-10T00:00:00Z");
  auto set =
      Run(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .at = At("2020-03-01T00:00:00Z"), .flag = "cobrand"});
  ASSERT_EQ(set.size(), 1u);
  const auto& body = BodyOf<entries::FlagChanged>(set[0]);
  EXPECT_EQ(body.flag, "cobrand");
  EXPECT_TRUE(body.on);
  EXPECT_EQ(body.renewals, (std::vector<LotRenewal>{{LotId{credit, 0}, Instant::Max()}}));
  // Cleared, the lot gets a fresh term from the day it is cleared.
  const Instant cleared = At("2020-05-15T00:00:00Z");
  auto clear =
      Run(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .at = cleared, .flag = "cobrand", .on = false});
  EXPECT_EQ(BodyOf<entries::FlagChanged>(clear[0]).renewals,
            (std::vector<LotRenewal>{{LotId{credit, 0}, program_.LotExpiry(cleared)}}));
  EXPECT_EQ(program_.LotExpiry(cleared), At("2021-06-01T00:00:00Z"));
}

TEST_F(DecideTest, AFlagThatProtectsNothingRenewsNoLot) {
  Earn(kAnn, 100, "2020-02-10T00:00:00Z");
  auto set =
      Run(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .at = At("2020-03-01T00:00:00Z"), .flag = "vip"});
  EXPECT_TRUE(BodyOf<entries::FlagChanged>(set[0]).renewals.empty());
  EXPECT_EQ(set[0].explanation, "set flag vip");
}

TEST_F(DecideTest, SetMemberFlagRefusals) {
  ExpectRefused(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .flag = ""}, absl::StatusCode::kInvalidArgument,
                "flag: must not be empty");
  ExpectRefused(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .flag = std::string(257, 'x')},
                absl::StatusCode::kInvalidArgument, "flag: longer than 256 bytes");
  ExpectRefused(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .flag = "cobrand", .on = false},
                absl::StatusCode::kFailedPrecondition, "member ann: flag cobrand is not set");
  Run(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .flag = "cobrand"});
  ExpectRefused(SetMemberFlag{.idempotency_key = "f", .member = kAnn, .flag = "cobrand"},
                absl::StatusCode::kFailedPrecondition, "member ann: flag cobrand is already set");
}

TEST_F(DecideTest, ClosingKeepsThePointsRedeemableForTheGrace) {
  Earn(kAnn, 100, "2020-02-10T00:00:00Z");
  auto closed = Run(CloseMembership{.idempotency_key = "x", .member = kAnn, .at = At("2020-03-10T12:00:00Z")});
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(BodyOf<entries::MembershipClosed>(closed[0]).redeemable_until, At("2020-06-10T00:00:00Z"));
  EXPECT_THAT(closed[0].explanation, HasSubstr("100 points redeemable until 2020-06-10T00:00:00Z"));
}

TEST_F(DecideTest, AClosedMemberNeitherEarnsNorSpendsAfterTheGrace) {
  Earn(kAnn, 1000, "2020-02-10T00:00:00Z");
  Run(CloseMembership{.idempotency_key = "x", .member = kAnn, .at = At("2020-03-10T00:00:00Z")});
  const Instant within = At("2020-04-01T00:00:00Z");
  const Instant after = At("2020-06-10T00:00:00Z");
  for (const Command& earns : std::vector<Command>{
           Credit{.idempotency_key = "k", .member = kAnn, .at = within, .amount = Points(1)},
           Accrue{.idempotency_key = "k", .member = kAnn, .at = within, .activity = Basket("b", {"1.00"})},
           GrantTier{.idempotency_key = "k", .member = kAnn, .at = within, .tier = "gold", .reason = "r", .actor = "a"},
           SubscribeTier{.idempotency_key = "k", .member = kAnn, .at = within, .tier = "plus", .paid_until = after},
           Adjust{
               .idempotency_key = "k", .member = kAnn, .at = within, .delta = Points(1), .reason = "r", .actor = "a"},
           CloseMembership{.idempotency_key = "k", .member = kAnn, .at = within}}) {
    ExpectRefused(earns, absl::StatusCode::kFailedPrecondition, "member ann is closed");
  }
  // Spending is allowed within the grace, and so is a negative adjustment.
  EXPECT_TRUE(Try(Redeem{.idempotency_key = "k", .member = kAnn, .at = within, .amount = Points(10)}).ok());
  EXPECT_TRUE(
      Try(Adjust{.idempotency_key = "k", .member = kAnn, .at = after, .delta = Points(-1), .reason = "r", .actor = "a"})
          .ok());
  for (const Command& spends : std::vector<Command>{
           Redeem{.idempotency_key = "k", .member = kAnn, .at = after, .amount = Points(1)},
           PlaceHold{.idempotency_key = "k", .member = kAnn, .at = after, .amount = Points(1), .ttl = absl::Hours(1)},
           RedeemReward{.idempotency_key = "k", .member = kAnn, .at = after, .reward = "mug"},
           HoldReward{.idempotency_key = "k", .member = kAnn, .at = after, .reward = "mug", .ttl = absl::Hours(1)},
           PayWithPointsAtTill{.idempotency_key = "k", .member = kAnn, .at = after, .points = Points(100)},
           Transfer{.idempotency_key = "k", .member = kAnn, .at = after, .to = kBob, .amount = Points(1)}}) {
    ExpectRefused(spends, absl::StatusCode::kFailedPrecondition,
                  "member ann is closed; its points were redeemable until 2020-06-10T00:00:00Z");
  }
}

// ------------------------------------------------------------ earning

TEST_F(DecideTest, CreditMakesALotThatExpiresAsTheProgramSays) {
  const Instant at = At("2020-03-10T09:00:00Z");
  auto decided = Run(Credit{.idempotency_key = "c",
                            .member = kAnn,
                            .at = at,
                            .amount = Points(250),
                            .source = "welcome",
                            .counters = {{"status", Points(20)}}});
  ASSERT_EQ(decided.size(), 1u);
  const auto& body = BodyOf<entries::Credited>(decided[0]);
  EXPECT_EQ(body.amount, Points(250));
  EXPECT_EQ(body.debt_paid, Points(0));
  EXPECT_EQ(body.expires_at, At("2021-04-01T00:00:00Z"));  // 12 months, to the end of March 2021
  EXPECT_EQ(body.source, "welcome");
  EXPECT_EQ(body.counters, (std::vector<CounterDelta>{{"status", Points(20)}}));
  EXPECT_EQ(body.local_day, Date::Parse("2020-03-10")->days_since_epoch());
  EXPECT_EQ(decided[0].explanation, "credit of 250 points from welcome, valid through 2021-03-31");
}

TEST_F(DecideTest, CreditWithItsOwnExpiryAndDebtToSettle) {
  State(kAnn).mutable_detail().debt = Points(30);
  auto decided = Try(Credit{.idempotency_key = "c",
                            .member = kAnn,
                            .at = At("2020-03-10T00:00:00Z"),
                            .amount = Points(100),
                            .expires_at = At("2020-04-01T00:00:00Z")});
  ASSERT_TRUE(decided.ok()) << decided.status();
  const auto& body = BodyOf<entries::Credited>(decided->front());
  EXPECT_EQ(body.expires_at, At("2020-04-01T00:00:00Z"));
  EXPECT_EQ(body.debt_paid, Points(30));
  EXPECT_THAT(decided->front().explanation, HasSubstr("; 30 settle debt"));
}

TEST_F(DecideTest, CreditReachingATierAddsTheTierChange) {
  auto decided = Run(Credit{.idempotency_key = "c",
                            .member = kAnn,
                            .at = At("2020-03-10T00:00:00Z"),
                            .amount = Points(10),
                            .counters = {{"status", Points(100)}}});
  ASSERT_EQ(decided.size(), 2u);
  const auto& tier = BodyOf<entries::TierChanged>(decided[1]);
  EXPECT_EQ(tier.tier, "silver");
  EXPECT_EQ(tier.reason, "qualified");
  EXPECT_FALSE(tier.paid);
  EXPECT_EQ(decided[1].command, "");  // only the first entry records the command
  EXPECT_EQ(decided[1].idempotency_key, "c");
}

TEST_F(DecideTest, CreditRefusals) {
  const Instant at = At("2020-03-10T00:00:00Z");
  ExpectRefused(Credit{.idempotency_key = "c", .member = kAnn, .at = at, .amount = Points(0)},
                absl::StatusCode::kInvalidArgument, "amount: must be positive, got 0");
  ExpectRefused(
      Credit{.idempotency_key = "c", .member = kAnn, .at = at, .amount = Points(1), .source = std::string(257, 's')},
      absl::StatusCode::kInvalidArgument, "source: longer than 256 bytes");
  ExpectRefused(
      Credit{.idempotency_key = "c", .member = kAnn, .at = at, .amount = Points(1), .counters = {{"", Points(1)}}},
      absl::StatusCode::kInvalidArgument, "counters[0].counter: must not be empty");
  ExpectRefused(Credit{.idempotency_key = "c",
                       .member = kAnn,
                       .at = at,
                       .amount = Points(1),
                       .counters = {{"status", Points(1)}, {"status", Points(-1)}}},
                absl::StatusCode::kInvalidArgument, "counters[1].amount: must be positive, got -1");
  Earn(kAnn, INT64_MAX - 10, "2020-02-01T00:00:00Z");
  ExpectRefused(Credit{.idempotency_key = "c", .member = kAnn, .at = at, .amount = Points(11)},
                absl::StatusCode::kOutOfRange, "member ann: crediting 11 points would overflow the balance");
  State(kBob).mutable_detail().counters["status"] = Points(INT64_MAX);
  ExpectRefused(
      Credit{
          .idempotency_key = "c", .member = kBob, .at = at, .amount = Points(1), .counters = {{"status", Points(1)}}},
      absl::StatusCode::kOutOfRange, "counters: status would overflow");
  ExpectRefused(Credit{.idempotency_key = "c", .member = kBob, .at = at, .amount = Points(1), .expires_at = at},
                absl::StatusCode::kInvalidArgument, "expires_at: must be after the credit's time");
  ExpectRefused(Credit{.idempotency_key = "c", .member = kBob, .at = at, .amount = Points(1), .partner = "fuelco"},
                absl::StatusCode::kInvalidArgument, "partner: \"fuelco\" is not a partner of version v1");
}

TEST_F(DecideTest, CreditAtAPartnerNamesIt) {
  auto decided = Try(Credit{.idempotency_key = "c", .member = kAnn, .amount = Points(1), .partner = "cafe"});
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->front().partner, "cafe");
}

TEST_F(DecideTest, AdjustUpMakesALotAndDownDrawsFromTheLots) {
  uint64_t credit = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-10T00:00:00Z");
  auto up = Run(Adjust{
      .idempotency_key = "a", .member = kAnn, .at = at, .delta = Points(40), .reason = "goodwill", .actor = "agent-7"});
  const auto& plus = BodyOf<entries::Adjusted>(up[0]);
  EXPECT_EQ(plus.delta, Points(40));
  EXPECT_EQ(plus.expires_at, At("2021-04-01T00:00:00Z"));
  EXPECT_EQ(plus.debt_paid, Points(0));
  EXPECT_TRUE(plus.draws.empty());
  EXPECT_EQ(up[0].explanation, "adjusted by 40 points by agent-7: goodwill");
  auto down = Run(Adjust{
      .idempotency_key = "a", .member = kAnn, .at = at, .delta = Points(-120), .reason = "error", .actor = "agent-7"});
  const auto& minus = BodyOf<entries::Adjusted>(down[0]);
  EXPECT_EQ(minus.expires_at, Instant::Max());
  // The credit's lot expires first (end of February 2021), then the adjustment's.
  EXPECT_EQ(minus.draws, (std::vector<LotDraw>{{LotId{credit, 0}, Points(100)}, {LotId{up[0].seq, 0}, Points(20)}}));
}

TEST_F(DecideTest, AdjustRefusals) {
  auto adjust = [](int64_t delta, const char* reason, const char* actor) {
    return Adjust{.idempotency_key = "a",
                  .member = kAnn,
                  .at = At("2020-03-10T00:00:00Z"),
                  .delta = Points(delta),
                  .reason = reason,
                  .actor = actor};
  };
  ExpectRefused(adjust(0, "r", "a"), absl::StatusCode::kInvalidArgument, "delta: must not be zero");
  ExpectRefused(adjust(INT64_MIN, "r", "a"), absl::StatusCode::kInvalidArgument, "delta: out of range");
  ExpectRefused(adjust(1, "", "a"), absl::StatusCode::kInvalidArgument, "reason: must not be empty");
  ExpectRefused(adjust(1, "r", ""), absl::StatusCode::kInvalidArgument, "actor: must not be empty");
  ExpectRefused(adjust(-1, "r", "a"), absl::StatusCode::kFailedPrecondition,
                "member ann: insufficient points: 0 available, 1 requested");
  Earn(kAnn, INT64_MAX, "2020-02-01T00:00:00Z");
  ExpectRefused(adjust(1, "r", "a"), absl::StatusCode::kOutOfRange, "member ann: crediting 1 points would overflow");
}

// ------------------------------------------------------------ accrual

TEST_F(DecideTest, AccrueRecordsWhatEachLineEarned) {
  const Instant at = At("2020-03-10T00:00:00Z");
  auto decided =
      Run(Accrue{.idempotency_key = "a", .member = kAnn, .at = at, .activity = Basket("b-1", {"12.50", "7.99"})});
  ASSERT_EQ(decided.size(), 1u);
  const auto& body = BodyOf<entries::Credited>(decided[0]);
  // The basket is rated once, floor(20.49) = 20; the lines share the 20.
  EXPECT_EQ(body.amount, Points(20));
  EXPECT_EQ(body.line_points, (std::vector<Points>{Points(12), Points(8)}));
  EXPECT_EQ(body.unattributed, Points(0));
  EXPECT_EQ(body.counters, (std::vector<CounterDelta>{{"status", Points(5)}}));
  EXPECT_EQ(body.activity, "b-1");
  EXPECT_EQ(body.source, "purchase b-1");
  EXPECT_EQ(body.expires_at, At("2021-04-01T00:00:00Z"));
  EXPECT_EQ(body.local_day, Date::Parse("2020-03-10")->days_since_epoch());
  EXPECT_EQ(body.grants, (std::vector<RuleGrant>{{"base", Points(20)}, {"status", Points(5)}}));
  EXPECT_THAT(decided[0].explanation, HasSubstr("accrued 20 points on purchase b-1 under v1, valid through 2021-03-31; "
                                                "base -> points: floor(20.49 EUR x 1) = 20"));
}

TEST_F(DecideTest, AccrueRefusals) {
  const Instant at = At("2020-03-10T00:00:00Z");
  ExpectRefused(Accrue{.idempotency_key = "a", .member = kAnn, .at = at, .activity = Basket("", {"1.00"})},
                absl::StatusCode::kInvalidArgument, "activity.id: must not be empty");
  ExpectRefused(Accrue{.idempotency_key = "a", .member = kAnn, .at = at, .activity = Basket("b", {})},
                absl::StatusCode::kInvalidArgument, "lines: a purchase needs at least one line");
  Activity at_fuelco = Basket("b", {"1.00"});
  std::get<Purchase>(at_fuelco.detail).partner = "fuelco";
  ExpectRefused(Accrue{.idempotency_key = "a", .member = kAnn, .at = at, .activity = at_fuelco},
                absl::StatusCode::kInvalidArgument, "activity.detail.partner: \"fuelco\" is not a partner");
  Earn(kAnn, INT64_MAX - 1, "2020-02-01T00:00:00Z");
  ExpectRefused(Accrue{.idempotency_key = "a", .member = kAnn, .at = at, .activity = Basket("b", {"2.00"})},
                absl::StatusCode::kOutOfRange, "member ann: crediting 2 points would overflow the balance");
  State(kBob).mutable_detail().counters["status"] = Points(INT64_MAX - 4);
  ExpectRefused(Accrue{.idempotency_key = "a", .member = kBob, .at = at, .activity = Basket("b", {"2.00"})},
                absl::StatusCode::kOutOfRange, "counters: status would overflow");
}

// ------------------------------------------------------------ reversals

TEST_F(DecideTest, ReverseEarnTakesFromTheLotThenMakesDebt) {
  uint64_t credit = First(Credit{.idempotency_key = "c",
                                 .member = kAnn,
                                 .at = At("2020-02-01T00:00:00Z"),
                                 .amount = Points(100),
                                 .counters = {{"status", Points(10)}}});
  Run(Redeem{.idempotency_key = "r", .member = kAnn, .at = At("2020-02-02T00:00:00Z"), .amount = Points(70)});
  auto reversed = Run(ReverseEarn{.idempotency_key = "v",
                                  .member = kAnn,
                                  .at = At("2020-02-03T00:00:00Z"),
                                  .credit = credit,
                                  .amount = Points(50),
                                  .counters = {{"status", Points(10)}}});
  ASSERT_EQ(reversed.size(), 1u);
  const auto& body = BodyOf<entries::EarnReversed>(reversed[0]);
  EXPECT_EQ(body.credit, credit);
  EXPECT_EQ(body.amount, Points(50));
  EXPECT_EQ(body.from_lot, Points(30));
  EXPECT_EQ(body.debt_added, Points(20));
  EXPECT_EQ(body.counter_day, Date::Parse("2020-02-01")->days_since_epoch());
  EXPECT_EQ(reversed[0].explanation, "reversed 50 points of credit " + std::to_string(credit) +
                                         ": 30 from its lot, 20 already spent become debt");
}

TEST_F(DecideTest, ReverseEarnRefusals) {
  uint64_t credit = First(Credit{.idempotency_key = "c",
                                 .member = kAnn,
                                 .at = At("2020-02-01T00:00:00Z"),
                                 .amount = Points(100),
                                 .counters = {{"status", Points(10)}}});
  auto reverse = [&](uint64_t which, int64_t amount, std::vector<CounterDelta> counters = {}) {
    return ReverseEarn{.idempotency_key = "v",
                       .member = kAnn,
                       .at = At("2020-02-03T00:00:00Z"),
                       .credit = which,
                       .amount = Points(amount),
                       .counters = std::move(counters)};
  };
  ExpectRefused(reverse(credit, 0), absl::StatusCode::kInvalidArgument, "amount: must be positive, got 0");
  ExpectRefused(reverse(credit, 1, {{"status", Points(0)}}), absl::StatusCode::kInvalidArgument,
                "counters[0].amount: must be positive");
  ExpectRefused(reverse(999, 1), absl::StatusCode::kNotFound, "member ann: no credit 999");
  uint64_t adjustment = First(Adjust{.idempotency_key = "a",
                                     .member = kAnn,
                                     .at = At("2020-02-02T00:00:00Z"),
                                     .delta = Points(5),
                                     .reason = "r",
                                     .actor = "a"});
  ExpectRefused(reverse(adjustment, 1), absl::StatusCode::kNotFound, absl::StrCat("no credit ", adjustment));
  ExpectRefused(
      reverse(credit, 101), absl::StatusCode::kFailedPrecondition,
      absl::StrCat("member ann: reversing 101 of credit ", credit, " exceeds the 100 points not yet reversed"));
  ExpectRefused(reverse(credit, 1, {{"status", Points(11)}}), absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: counter status of credit ", credit, "'s day is below 11"));
  // A member who owes points has none available: the reversal finds no
  // lot to take from, and the debt it adds would overflow.
  State(kAnn).mutable_detail().debt = Points(INT64_MAX);
  for (Lot& lot : State(kAnn).lots) lot.remaining = Points(0);
  State(kAnn).balance = Points(0);
  ExpectRefused(reverse(credit, 1), absl::StatusCode::kOutOfRange, "debt would overflow");
}

TEST_F(DecideTest, ReturnLinesReversesWhatTheLinesEarned) {
  uint64_t credit = First(Accrue{.idempotency_key = "a",
                                 .member = kAnn,
                                 .at = At("2020-03-10T00:00:00Z"),
                                 .activity = Basket("b", {"12.00", "8.00"})});
  auto first = Run(ReturnLines{
      .idempotency_key = "r", .member = kAnn, .at = At("2020-03-11T00:00:00Z"), .credit = credit, .lines = {1}});
  const auto& one = BodyOf<entries::EarnReversed>(first[0]);
  EXPECT_EQ(one.amount, Points(8));
  EXPECT_EQ(one.from_lot, Points(8));
  EXPECT_EQ(one.debt_added, Points(0));
  EXPECT_EQ(one.lines, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(one.counters.empty());
  // The last line takes the activity's counters with it.
  auto last = Run(ReturnLines{
      .idempotency_key = "r", .member = kAnn, .at = At("2020-03-12T00:00:00Z"), .credit = credit, .lines = {0}});
  const auto& two = BodyOf<entries::EarnReversed>(last[0]);
  EXPECT_EQ(two.amount, Points(12));
  EXPECT_EQ(two.counters, (std::vector<CounterDelta>{{"status", Points(5)}}));
  EXPECT_EQ(two.counter_day, Date::Parse("2020-03-10")->days_since_epoch());
  EXPECT_THAT(last[0].explanation, HasSubstr("12 points earned on them reversed with the activity's bonuses"));
}

// A manual reversal took the accrual's status counter back already: the
// return of its last line, which takes the counters with it, is refused
// rather than driving the counter below zero.
TEST_F(DecideTest, ReturnAfterItsCountersWereReversedIsRefused) {
  uint64_t credit = First(Accrue{.idempotency_key = "a",
                                 .member = kAnn,
                                 .at = At("2020-03-10T00:00:00Z"),
                                 .activity = Basket("b", {"12.00", "8.00"})});
  Run(ReverseEarn{.idempotency_key = "v",
                  .member = kAnn,
                  .at = At("2020-03-11T00:00:00Z"),
                  .credit = credit,
                  .amount = Points(1),
                  .counters = {{"status", Points(5)}}});
  ExpectRefused(ReturnLines{.idempotency_key = "r", .member = kAnn, .at = At("2020-03-12T00:00:00Z"),
                            .credit = credit, .lines = {0, 1}},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: counter status of accrual ", credit, "'s day is below 5"));
}

TEST_F(DecideTest, ReturnLinesRefusals) {
  uint64_t credit = First(Accrue{.idempotency_key = "a",
                                 .member = kAnn,
                                 .at = At("2020-03-10T00:00:00Z"),
                                 .activity = Basket("b", {"12.00", "8.00"})});
  auto lines = [&](uint64_t which, std::vector<uint32_t> returned) {
    return ReturnLines{.idempotency_key = "r",
                       .member = kAnn,
                       .at = At("2020-03-11T00:00:00Z"),
                       .credit = which,
                       .lines = std::move(returned)};
  };
  ExpectRefused(lines(999, {0}), absl::StatusCode::kNotFound, "member ann: no accrual 999");
  ExpectRefused(lines(credit, {}), absl::StatusCode::kInvalidArgument, "lines: name at least one line to return");
  ExpectRefused(lines(credit, {0, 2}), absl::StatusCode::kInvalidArgument,
                absl::StrCat("lines[1]: accrual ", credit, " has 2 lines"));
  ExpectRefused(lines(credit, {1, 1}), absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: line 1 of accrual ", credit, " is already returned"));
  Run(ReverseEarn{.idempotency_key = "v",
                  .member = kAnn,
                  .at = At("2020-03-10T12:00:00Z"),
                  .credit = credit,
                  .amount = Points(15)});
  ExpectRefused(lines(credit, {0}), absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: returning these lines reverses 12 points, but only 5 of accrual ", credit,
                             " are not yet reversed"));
}

TEST_F(DecideTest, ReverseDebitRestoresTheSameLots) {
  Earn(kAnn, 50, "2020-02-01T00:00:00Z");
  uint64_t b = Earn(kAnn, 50, "2020-03-01T00:00:00Z");
  uint64_t debit =
      First(Redeem{.idempotency_key = "r", .member = kAnn, .at = At("2020-03-02T00:00:00Z"), .amount = Points(70)});
  State(kAnn).mutable_detail().debt = Points(60);  // owed since, say, a reversal elsewhere
  auto reversed =
      Run(ReverseDebit{.idempotency_key = "d", .member = kAnn, .at = At("2020-03-03T00:00:00Z"), .debit = debit});
  const auto& body = BodyOf<entries::DebitReversed>(reversed[0]);
  EXPECT_EQ(body.debit, debit);
  EXPECT_EQ(body.amount, Points(70));
  EXPECT_EQ(body.debt_paid, Points(60));
  // The debt takes the points of the soonest-expiring lot first.
  EXPECT_EQ(body.draws, (std::vector<LotDraw>{{LotId{b, 0}, Points(10)}}));
}

TEST_F(DecideTest, ReverseDebitRefusals) {
  Earn(kAnn, 50, "2020-02-01T00:00:00Z");
  uint64_t debit =
      First(Redeem{.idempotency_key = "r", .member = kAnn, .at = At("2020-03-02T00:00:00Z"), .amount = Points(10)});
  ExpectRefused(ReverseDebit{.idempotency_key = "d", .member = kAnn, .debit = 999}, absl::StatusCode::kNotFound,
                "member ann: no debit 999");
  Run(ReverseDebit{.idempotency_key = "d", .member = kAnn, .at = At("2020-03-03T00:00:00Z"), .debit = debit});
  ExpectRefused(ReverseDebit{.idempotency_key = "d", .member = kAnn, .at = At("2020-03-04T00:00:00Z"), .debit = debit},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: debit ", debit, " is already reversed"));
}

// ------------------------------------------------------------ spending

TEST_F(DecideTest, RedeemSpendsTheSoonestExpiringLotsFirst) {
  uint64_t late = Earn(kAnn, 100, "2020-05-01T00:00:00Z");
  uint64_t early = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  auto decided = Run(Redeem{.idempotency_key = "r",
                            .member = kAnn,
                            .at = At("2020-06-01T00:00:00Z"),
                            .amount = Points(150),
                            .reason = "gift"});
  const auto& body = BodyOf<entries::Debited>(decided[0]);
  EXPECT_EQ(body.amount, Points(150));
  EXPECT_EQ(body.draws, (std::vector<LotDraw>{{LotId{early, 0}, Points(100)}, {LotId{late, 0}, Points(50)}}));
  EXPECT_EQ(body.price, RewardPrice{});
  EXPECT_FALSE(body.value.has_value());
  EXPECT_EQ(decided[0].explanation,
            absl::StrCat("redeemed 150 points for gift: 100 from lot ", early, ", 50 from lot ", late));
}

TEST_F(DecideTest, RedeemRefusals) {
  Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-01T00:00:00Z");
  ExpectRefused(Redeem{.idempotency_key = "r", .member = kAnn, .at = at, .amount = Points(-5)},
                absl::StatusCode::kInvalidArgument, "amount: must be positive, got -5");
  ExpectRefused(
      Redeem{.idempotency_key = "r", .member = kAnn, .at = at, .amount = Points(5), .reason = std::string(300, 'r')},
      absl::StatusCode::kInvalidArgument, "reason: longer than 256 bytes");
  ExpectRefused(Redeem{.idempotency_key = "r", .member = kAnn, .at = at, .amount = Points(101)},
                absl::StatusCode::kFailedPrecondition, "member ann: insufficient points: 100 available, 101 requested");
  // Lapsed lots are not spendable.
  ExpectRefused(Redeem{.idempotency_key = "r", .member = kAnn, .at = At("2021-03-01T00:00:00Z"), .amount = Points(1)},
                absl::StatusCode::kFailedPrecondition, "member ann: insufficient points: 0 available, 1 requested");
  ExpectRefused(Redeem{.idempotency_key = "r", .member = kAnn, .at = at, .amount = Points(1), .partner = "fuelco"},
                absl::StatusCode::kInvalidArgument, "partner: \"fuelco\"");
}

TEST_F(DecideTest, PayWithPointsValuesThePointsRoundedDown) {
  uint64_t lot = Earn(kAnn, 1000, "2020-02-01T00:00:00Z");
  auto decided = Run(PayWithPointsAtTill{.idempotency_key = "p",
                                         .member = kAnn,
                                         .at = At("2020-03-01T00:00:00Z"),
                                         .points = Points(250),
                                         .partner = "cafe"});
  const auto& body = BodyOf<entries::Debited>(decided[0]);
  EXPECT_EQ(body.amount, Points(250));
  EXPECT_EQ(body.value, Eur("2.50"));
  EXPECT_EQ(body.price.reward, "pay_with_points");
  EXPECT_EQ(body.price.version, "v1");
  EXPECT_EQ(body.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(250)}}));
  EXPECT_EQ(decided[0].partner, "cafe");
}

TEST_F(DecideTest, PayWithPointsRefusals) {
  Earn(kAnn, 150, "2020-02-01T00:00:00Z");
  auto pay = [](int64_t points) {
    return PayWithPointsAtTill{
        .idempotency_key = "p", .member = kAnn, .at = At("2020-03-01T00:00:00Z"), .points = Points(points)};
  };
  ExpectRefused(pay(0), absl::StatusCode::kInvalidArgument, "points: must be positive, got 0");
  ExpectRefused(pay(90), absl::StatusCode::kInvalidArgument, "points: 90 is below the minimum of 100");
  ExpectRefused(pay(105), absl::StatusCode::kInvalidArgument, "points: 105 is not a multiple of 10");
  ExpectRefused(pay(160), absl::StatusCode::kFailedPrecondition, "member ann: insufficient points: 150 available");
  ProgramVersion without = FirstVersion();
  without.redemption.pay_with_points.reset();
  program_ = *Program::FromVersions({without});
  ExpectRefused(pay(100), absl::StatusCode::kFailedPrecondition, "version v1 offers no paying with points");
}

TEST_F(DecideTest, PlaceHoldReservesLotsUntilItsTimeToLive) {
  uint64_t lot = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  auto decided = Run(PlaceHold{.idempotency_key = "h",
                               .member = kAnn,
                               .at = At("2020-03-01T00:00:00Z"),
                               .amount = Points(60),
                               .ttl = absl::Hours(48),
                               .reason = "booking"});
  const auto& body = BodyOf<entries::HoldPlaced>(decided[0]);
  EXPECT_EQ(body.amount, Points(60));
  EXPECT_EQ(body.expires_at, At("2020-03-03T00:00:00Z"));
  EXPECT_EQ(body.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(60)}}));
  EXPECT_EQ(body.quote, 0u);
}

TEST_F(DecideTest, PlaceHoldRefusals) {
  Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  auto hold = [](int64_t amount, absl::Duration ttl, std::string reason = "") {
    return PlaceHold{.idempotency_key = "h",
                     .member = kAnn,
                     .at = At("2020-03-01T00:00:00Z"),
                     .amount = Points(amount),
                     .ttl = ttl,
                     .reason = std::move(reason)};
  };
  ExpectRefused(hold(0, absl::Hours(1)), absl::StatusCode::kInvalidArgument, "amount: must be positive");
  ExpectRefused(hold(1, absl::Hours(1), std::string(257, 'r')), absl::StatusCode::kInvalidArgument,
                "reason: longer than");
  ExpectRefused(hold(1, absl::ZeroDuration()), absl::StatusCode::kInvalidArgument,
                "ttl: must be positive and at most 366 days");
  ExpectRefused(hold(1, absl::Hours(24 * 366 + 1)), absl::StatusCode::kInvalidArgument, "ttl: ");
  ExpectRefused(hold(101, absl::Hours(1)), absl::StatusCode::kFailedPrecondition, "member ann: insufficient points");
}

TEST_F(DecideTest, CaptureAndReleaseAHold) {
  uint64_t lot = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  auto hold = [&](int n) {
    return First(PlaceHold{.idempotency_key = "h",
                           .member = kAnn,
                           .at = At("2020-03-01T00:00:00Z"),
                           .amount = Points(30 + n),
                           .ttl = absl::Hours(24)});
  };
  uint64_t captured = hold(0);
  uint64_t released = hold(1);
  auto capture =
      Run(CaptureHold{.idempotency_key = "c", .member = kAnn, .at = At("2020-03-01T12:00:00Z"), .hold = captured});
  const auto& taken = BodyOf<entries::HoldCaptured>(capture[0]);
  EXPECT_EQ(taken.hold, captured);
  EXPECT_EQ(taken.amount, Points(30));
  EXPECT_EQ(taken.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(30)}}));
  EXPECT_EQ(capture[0].explanation, absl::StrCat("captured hold ", captured, ": 30 points"));
  State(kAnn).mutable_detail().debt = Points(11);
  auto release =
      Run(ReleaseHold{.idempotency_key = "r", .member = kAnn, .at = At("2020-03-01T18:00:00Z"), .hold = released});
  const auto& back = BodyOf<entries::HoldReleased>(release[0]);
  EXPECT_EQ(back.hold, released);
  EXPECT_FALSE(back.lapsed);
  EXPECT_EQ(back.amount, Points(31));
  EXPECT_EQ(back.debt_paid, Points(11));
  EXPECT_EQ(back.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(20)}}));
}

// A command first releases the member's lapsed holds. A hold that cannot be
// released (one forged into a journal, drawing on a lot that does not
// exist) refuses the command instead of crashing.
TEST_F(DecideTest, ALapsedHoldThatDoesNotFitRefusesTheCommand) {
  State(kAnn).mutable_detail().holds[99] =
      Hold{Points(5), At("2020-03-02T00:00:00Z"), {{LotId{12345, 0}, Points(5)}}, RewardPrice{}, At("2020-03-01T00:00:00Z")};
  State(kAnn).mutable_detail().held = Points(5);
  ExpectRefused(Credit{.idempotency_key = "c", .member = kAnn, .at = At("2020-03-05T00:00:00Z"), .amount = Points(10)},
                absl::StatusCode::kFailedPrecondition, "member ann: hold 99 cannot be released: no lot 12345/0");
}

TEST_F(DecideTest, CaptureAndReleaseRefusals) {
  Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  uint64_t hold = First(PlaceHold{.idempotency_key = "h",
                                  .member = kAnn,
                                  .at = At("2020-03-01T00:00:00Z"),
                                  .amount = Points(30),
                                  .ttl = absl::Hours(24)});
  ExpectRefused(CaptureHold{.idempotency_key = "c", .member = kAnn, .hold = 999}, absl::StatusCode::kNotFound,
                "member ann: no open hold 999");
  ExpectRefused(CaptureHold{.idempotency_key = "c", .member = kAnn, .at = At("2020-03-02T00:00:00Z"), .hold = hold},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: hold ", hold, " lapsed at 2020-03-02T00:00:00Z"));
  ExpectRefused(ReleaseHold{.idempotency_key = "r", .member = kAnn, .hold = 999}, absl::StatusCode::kNotFound,
                "member ann: no open hold 999");
}

// ------------------------------------------------------------ rewards

TEST_F(DecideTest, QuoteRedeemAndHoldARewardAtTheCatalogPrice) {
  uint64_t lot = Earn(kAnn, 2000, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-01T00:00:00Z");
  auto quoted =
      Run(QuoteReward{.idempotency_key = "q", .member = kAnn, .at = at, .reward = "mug", .ttl = absl::Hours(1)});
  const auto& quote = BodyOf<entries::Quoted>(quoted[0]);
  EXPECT_EQ(quote.amount, Points(500));
  EXPECT_EQ(quote.expires_at, At("2020-03-01T01:00:00Z"));
  EXPECT_EQ(quote.price.reward, "mug");
  EXPECT_EQ(quote.price.version, "v1");
  auto redeemed =
      Run(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = at, .reward = "mug", .quote = quoted[0].seq});
  const auto& debit = BodyOf<entries::Debited>(redeemed[0]);
  EXPECT_EQ(debit.amount, Points(500));
  EXPECT_EQ(debit.quote, quoted[0].seq);
  EXPECT_EQ(debit.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(500)}}));
  auto held =
      Run(HoldReward{.idempotency_key = "h", .member = kAnn, .at = at, .reward = "coffee", .ttl = absl::Hours(2)});
  const auto& hold = BodyOf<entries::HoldPlaced>(held[0]);
  EXPECT_EQ(hold.amount, Points(100));
  EXPECT_EQ(hold.expires_at, At("2020-03-01T02:00:00Z"));
  EXPECT_EQ(hold.price.reward, "coffee");
  EXPECT_EQ(held[0].partner, "cafe");  // the catalog item's partner
  auto captured = Run(CaptureHold{.idempotency_key = "c", .member = kAnn, .at = at, .hold = held[0].seq});
  EXPECT_EQ(captured[0].partner, "cafe");
  EXPECT_EQ(BodyOf<entries::HoldCaptured>(captured[0]).price.reward, "coffee");
}

TEST_F(DecideTest, ASilverMemberPaysTenPercentLess) {
  Run(Credit{.idempotency_key = "c",
             .member = kAnn,
             .at = At("2020-02-01T00:00:00Z"),
             .amount = Points(1000),
             .counters = {{"status", Points(100)}}});
  auto redeemed =
      Run(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = At("2020-03-01T00:00:00Z"), .reward = "mug"});
  const auto& debit = BodyOf<entries::Debited>(redeemed[0]);
  EXPECT_EQ(debit.amount, Points(450));
  EXPECT_EQ(debit.price.tier, "silver");
  EXPECT_EQ(debit.price.discount, Points(50));
}

TEST_F(DecideTest, RewardRefusals) {
  Earn(kAnn, 400, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-01T00:00:00Z");
  ExpectRefused(
      QuoteReward{.idempotency_key = "q", .member = kAnn, .at = at, .reward = "mug", .ttl = absl::ZeroDuration()},
      absl::StatusCode::kInvalidArgument, "ttl: must be positive and at most 366 days");
  ExpectRefused(
      HoldReward{.idempotency_key = "h", .member = kAnn, .at = at, .reward = "mug", .ttl = absl::Hours(24 * 367)},
      absl::StatusCode::kInvalidArgument, "ttl: must be positive and at most 366 days");
  ExpectRefused(QuoteReward{.idempotency_key = "q", .member = kAnn, .at = at, .reward = "", .ttl = absl::Hours(1)},
                absl::StatusCode::kInvalidArgument, "reward: must not be empty");
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = at, .reward = "yacht"},
                absl::StatusCode::kNotFound, "yacht");
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = at, .reward = "mug"},
                absl::StatusCode::kFailedPrecondition, "member ann: insufficient points: 400 available, 500 requested");
  ExpectRefused(HoldReward{.idempotency_key = "h", .member = kAnn, .at = at, .reward = "mug", .ttl = absl::Hours(1)},
                absl::StatusCode::kFailedPrecondition, "member ann: insufficient points");
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = at, .reward = "coffee", .quote = 999},
                absl::StatusCode::kNotFound, "member ann: no open quote 999");
  uint64_t quote =
      First(QuoteReward{.idempotency_key = "q", .member = kAnn, .at = at, .reward = "coffee", .ttl = absl::Hours(1)});
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = at, .reward = "mug", .quote = quote},
                absl::StatusCode::kInvalidArgument, absl::StrCat("reward: quote ", quote, " is for coffee, not mug"));
  ExpectRefused(HoldReward{.idempotency_key = "h",
                           .member = kAnn,
                           .at = At("2020-03-01T01:00:00Z"),
                           .reward = "coffee",
                           .quote = quote,
                           .ttl = absl::Hours(1)},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: quote ", quote, " lapsed at 2020-03-01T01:00:00Z"));
}

TEST_F(DecideTest, AQuoteOrHoldFromTheVersionBeforeNeedsAPriceLock) {
  program_ = TwoVersions({.price_lock = false});
  Earn(kAnn, 2000, "2020-02-01T00:00:00Z");
  const Instant before = At("2020-12-31T23:00:00Z");
  const Instant after = At("2021-01-01T00:30:00Z");
  uint64_t quote =
      First(QuoteReward{.idempotency_key = "q", .member = kAnn, .at = before, .reward = "mug", .ttl = absl::Hours(2)});
  uint64_t hold =
      First(HoldReward{.idempotency_key = "h", .member = kAnn, .at = before, .reward = "mug", .ttl = absl::Hours(2)});
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = after, .reward = "mug", .quote = quote},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: quote ", quote,
                             " was priced under v1; v2 (in force since "
                             "2021-01-01T00:00:00Z) does not lock earlier prices: quote again"));
  ExpectRefused(CaptureHold{.idempotency_key = "c", .member = kAnn, .at = after, .hold = hold},
                absl::StatusCode::kFailedPrecondition,
                absl::StrCat("member ann: hold ", hold,
                             " was priced under v1; v2 does not lock earlier prices: release it and hold again"));
  // Without the quote, the new price applies.
  auto now = Run(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = after, .reward = "mug"});
  EXPECT_EQ(BodyOf<entries::Debited>(now[0]).amount, Points(600));
}

TEST_F(DecideTest, APriceLockKeepsTheEarlierPrice) {
  program_ = TwoVersions({.price_lock = true});
  Earn(kAnn, 2000, "2020-02-01T00:00:00Z");
  const Instant before = At("2020-12-31T23:00:00Z");
  const Instant after = At("2021-01-01T00:30:00Z");
  uint64_t quote =
      First(QuoteReward{.idempotency_key = "q", .member = kAnn, .at = before, .reward = "mug", .ttl = absl::Hours(2)});
  uint64_t hold =
      First(HoldReward{.idempotency_key = "h", .member = kAnn, .at = before, .reward = "mug", .ttl = absl::Hours(2)});
  auto redeemed =
      Run(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = after, .reward = "mug", .quote = quote});
  const auto& debit = BodyOf<entries::Debited>(redeemed[0]);
  EXPECT_EQ(debit.amount, Points(500));
  EXPECT_EQ(debit.price.grandfathering, "price_lock");
  EXPECT_EQ(redeemed[0].version, "v2");
  auto captured = Run(CaptureHold{.idempotency_key = "c", .member = kAnn, .at = after, .hold = hold});
  const auto& capture = BodyOf<entries::HoldCaptured>(captured[0]);
  EXPECT_EQ(capture.amount, Points(500));
  EXPECT_EQ(capture.price.grandfathering, "price_lock");
  EXPECT_THAT(captured[0].explanation, HasSubstr("price locked under v2"));
}

TEST_F(DecideTest, PointsEarnedBeforeTheCutOffPayTheOldPrice) {
  program_ = TwoVersions({.earned_before = At("2020-06-01T00:00:00Z")});
  uint64_t old_lot = Earn(kAnn, 200, "2020-02-01T00:00:00Z");
  uint64_t new_lot = Earn(kAnn, 1000, "2020-07-01T00:00:00Z");
  auto redeemed =
      Run(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = At("2021-01-10T00:00:00Z"), .reward = "mug"});
  const auto& debit = BodyOf<entries::Debited>(redeemed[0]);
  // 200 of the old 500 are covered; the other 300/500 of the new 600, rounded up, are 360.
  EXPECT_EQ(debit.amount, Points(560));
  EXPECT_EQ(debit.price.grandfathering, "earned_before");
  EXPECT_EQ(debit.price.old_points, Points(200));
  EXPECT_EQ(debit.price.new_points, Points(360));
  EXPECT_EQ(debit.draws, (std::vector<LotDraw>{{LotId{old_lot, 0}, Points(200)}, {LotId{new_lot, 0}, Points(360)}}));
}

TEST_F(DecideTest, TheNewShareOfASplitPriceNeedsLotsEarnedAfterTheCutOff) {
  program_ = TwoVersions({.earned_before = At("2020-06-01T00:00:00Z")});
  Earn(kAnn, 200, "2020-02-01T00:00:00Z");
  Earn(kAnn, 100, "2020-07-01T00:00:00Z");
  ExpectRefused(RedeemReward{.idempotency_key = "r", .member = kAnn, .at = At("2021-01-10T00:00:00Z"), .reward = "mug"},
                absl::StatusCode::kFailedPrecondition, "member ann: insufficient points: 300 available, 360 requested");
}

// ------------------------------------------------------------ transfer

TEST_F(DecideTest, TransferMovesLotsWithTheirDatesAfterTheReceiversDebt) {
  uint64_t lot = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  State(kBob).mutable_detail().debt = Points(15);
  auto decided = Run(Transfer{
      .idempotency_key = "t", .member = kAnn, .at = At("2020-03-01T00:00:00Z"), .to = kBob, .amount = Points(40)});
  ASSERT_EQ(decided.size(), 2u);
  EXPECT_EQ(decided[0].member, kAnn);
  const auto& out = BodyOf<entries::TransferredOut>(decided[0]);
  EXPECT_EQ(out.to, kBob);
  EXPECT_EQ(out.amount, Points(40));
  EXPECT_EQ(out.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(40)}}));
  EXPECT_EQ(decided[1].member, kBob);
  EXPECT_EQ(decided[1].command, "");
  const auto& in = BodyOf<entries::TransferredIn>(decided[1]);
  EXPECT_EQ(in.from, kAnn);
  EXPECT_EQ(in.amount, Points(40));
  EXPECT_EQ(in.debt_paid, Points(15));
  EXPECT_EQ(in.lots,
            (std::vector<TransferredLot>{{Points(25), At("2020-02-01T00:00:00Z"), At("2021-03-01T00:00:00Z")}}));
}

TEST_F(DecideTest, TransferRefusals) {
  Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-01T00:00:00Z");
  auto transfer = [&](const MemberId& to, int64_t amount) {
    return Transfer{.idempotency_key = "t", .member = kAnn, .at = at, .to = to, .amount = Points(amount)};
  };
  const MemberId carl = MemberId::FromValid("carl");
  ExpectRefused(transfer(kBob, 0), absl::StatusCode::kInvalidArgument, "amount: must be positive");
  ExpectRefused(transfer(kAnn, 1), absl::StatusCode::kInvalidArgument, "to: must differ from the sending member");
  ExpectRefused(transfer(carl, 1), absl::StatusCode::kNotFound, "member carl is not enrolled");
  Run(Enroll{.idempotency_key = "e", .member = carl, .at = At("2020-03-02T00:00:00Z")});
  ExpectRefused(transfer(carl, 1), absl::StatusCode::kInvalidArgument,
                "at: 2020-03-01T00:00:00Z is before member carl's enrolment at 2020-03-02T00:00:00Z");
  Run(CloseMembership{.idempotency_key = "x", .member = kBob, .at = At("2020-02-15T00:00:00Z")});
  ExpectRefused(transfer(kBob, 1), absl::StatusCode::kFailedPrecondition, "member bob is closed");
  const MemberId dora = MemberId::FromValid("dora");
  Run(Enroll{.idempotency_key = "e", .member = dora, .at = kEnrolled});
  Earn(dora, INT64_MAX, "2020-02-01T00:00:00Z");
  ExpectRefused(transfer(dora, 1), absl::StatusCode::kOutOfRange, "member dora: crediting 1 points would overflow");
  const MemberId emil = MemberId::FromValid("emil");
  Run(Enroll{.idempotency_key = "e", .member = emil, .at = kEnrolled});
  ExpectRefused(transfer(emil, 101), absl::StatusCode::kFailedPrecondition,
                "member ann: insufficient points: 100 available, 101 requested");
}

// ------------------------------------------------------------ status

TEST_F(DecideTest, GrantTierUntilADateOrForAQualificationsValidity) {
  Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  const Instant at = At("2020-03-10T12:00:00Z");
  auto granted = Run(GrantTier{.idempotency_key = "g",
                               .member = kAnn,
                               .at = at,
                               .tier = "gold",
                               .valid_until = At("2020-12-31T00:00:00Z"),
                               .reason = "partner of the year",
                               .actor = "ceo"});
  const auto& body = BodyOf<entries::TierChanged>(granted[0]);
  EXPECT_EQ(body.tier, "gold");
  EXPECT_EQ(body.valid_until, At("2020-12-31T00:00:00Z"));
  EXPECT_EQ(body.reason, "manual");
  EXPECT_FALSE(body.paid);
  EXPECT_TRUE(body.renewals.empty());
  EXPECT_THAT(granted[0].explanation, HasSubstr("granted by ceo: partner of the year"));
  auto defaulted =
      Try(GrantTier{.idempotency_key = "g", .member = kBob, .at = at, .tier = "silver", .reason = "r", .actor = "a"});
  ASSERT_TRUE(defaulted.ok()) << defaulted.status();
  EXPECT_GT(BodyOf<entries::TierChanged>(defaulted->front()).valid_until, at);
}

TEST_F(DecideTest, GrantTierRefusals) {
  const Instant at = At("2020-03-10T00:00:00Z");
  auto grant = [&](const char* tier, const char* reason, const char* actor,
                   std::optional<Instant> until = std::nullopt) {
    return GrantTier{.idempotency_key = "g",
                     .member = kAnn,
                     .at = at,
                     .tier = tier,
                     .valid_until = until,
                     .reason = reason,
                     .actor = actor};
  };
  ExpectRefused(grant("platinum", "r", "a"), absl::StatusCode::kNotFound,
                "tier: platinum is not on the ladder of version v1");
  ExpectRefused(grant("", "r", "a"), absl::StatusCode::kNotFound, "tier: (empty) is not on the ladder");
  ExpectRefused(grant("plus", "r", "a"), absl::StatusCode::kInvalidArgument,
                "tier: plus is a paid tier: subscribe to it");
  ExpectRefused(grant("gold", "", "a"), absl::StatusCode::kInvalidArgument, "reason: must not be empty");
  ExpectRefused(grant("gold", "r", ""), absl::StatusCode::kInvalidArgument, "actor: must not be empty");
  ExpectRefused(grant("gold", "r", "a", at), absl::StatusCode::kInvalidArgument,
                "valid_until: must be after the grant's time");
  State(kAnn).mutable_detail().status.lifetime_tier = "gold";
  ExpectRefused(grant("silver", "r", "a"), absl::StatusCode::kFailedPrecondition,
                "member ann holds gold for life, above silver");
}

TEST_F(DecideTest, SubscribingToAProtectingTierStopsTheLotsLapsing) {
  uint64_t lot = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  auto subscribed = Run(SubscribeTier{.idempotency_key = "s",
                                      .member = kAnn,
                                      .at = At("2020-03-01T00:00:00Z"),
                                      .tier = "plus",
                                      .paid_until = At("2021-03-01T00:00:00Z")});
  const auto& body = BodyOf<entries::TierChanged>(subscribed[0]);
  EXPECT_EQ(body.tier, "plus");
  EXPECT_TRUE(body.paid);
  EXPECT_EQ(body.reason, "paid");
  EXPECT_EQ(body.valid_until, At("2021-03-01T00:00:00Z"));
  EXPECT_EQ(body.renewals, (std::vector<LotRenewal>{{LotId{lot, 0}, Instant::Max()}}));
  // Cancelled, the lots get a fresh term from the cancellation.
  const Instant cancelled = At("2020-06-15T00:00:00Z");
  auto cancel = Run(CancelTierSubscription{.idempotency_key = "x", .member = kAnn, .at = cancelled});
  const auto& end = BodyOf<entries::TierChanged>(cancel[0]);
  EXPECT_EQ(end.tier, "");
  EXPECT_TRUE(end.paid);
  EXPECT_EQ(end.reason, "cancelled");
  EXPECT_EQ(end.valid_until, cancelled);
  EXPECT_EQ(end.renewals, (std::vector<LotRenewal>{{LotId{lot, 0}, At("2021-07-01T00:00:00Z")}}));
}

TEST_F(DecideTest, SubscribeAndCancelRefusals) {
  const Instant at = At("2020-03-01T00:00:00Z");
  auto subscribe = [&](const char* tier, Instant until) {
    return SubscribeTier{.idempotency_key = "s", .member = kAnn, .at = at, .tier = tier, .paid_until = until};
  };
  ExpectRefused(subscribe("gold", At("2021-01-01T00:00:00Z")), absl::StatusCode::kInvalidArgument,
                "tier: gold is not a paid tier of version v1");
  ExpectRefused(subscribe("", At("2021-01-01T00:00:00Z")), absl::StatusCode::kInvalidArgument,
                "tier: (empty) is not a paid tier");
  ExpectRefused(subscribe("plus", at), absl::StatusCode::kInvalidArgument,
                "paid_until: must be after the subscription's time");
  ExpectRefused(subscribe("plus", Instant::Max()), absl::StatusCode::kInvalidArgument,
                "paid_until: never is outside 1900-01-01 to 9000-01-01");
  ExpectRefused(CancelTierSubscription{.idempotency_key = "x", .member = kAnn, .at = at},
                absl::StatusCode::kFailedPrecondition, "member ann has no paid tier");
}

// ------------------------------------------------------------ period runs

TEST_F(DecideTest, ExpiryReleasesLapsedHoldsThenExpiresTheirLots) {
  uint64_t lot = Earn(kAnn, 100, "2020-02-01T00:00:00Z");
  uint64_t hold = First(PlaceHold{.idempotency_key = "h",
                                  .member = kAnn,
                                  .at = At("2020-03-01T00:00:00Z"),
                                  .amount = Points(30),
                                  .ttl = absl::Hours(24)});
  const Instant as_of = At("2021-03-01T00:00:00Z");
  std::vector<Entry> decided = DecideExpiry(program_, kAnn, State(kAnn), as_of, "run", CommandDigest{}, as_of);
  ASSERT_EQ(decided.size(), 2u);
  const auto& released = BodyOf<entries::HoldReleased>(decided[0]);
  EXPECT_EQ(released.hold, hold);
  EXPECT_TRUE(released.lapsed);
  EXPECT_EQ(released.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(30)}}));
  const auto& expired = BodyOf<entries::Expired>(decided[1]);
  EXPECT_EQ(expired.amount, Points(100));
  EXPECT_EQ(expired.draws, (std::vector<LotDraw>{{LotId{lot, 0}, Points(100)}}));
  // Nothing is due the day before the lot lapses.
  const Instant day_before = At("2021-02-28T00:00:00Z");
  EXPECT_EQ(DecideExpiry(program_, kAnn, State(kAnn), day_before, "run", CommandDigest{}, day_before).size(), 1u);
}

TEST_F(DecideTest, TierReviewEndsAPaidTierNotRenewed) {
  Run(SubscribeTier{.idempotency_key = "s",
                    .member = kAnn,
                    .at = At("2020-03-01T00:00:00Z"),
                    .tier = "plus",
                    .paid_until = At("2020-04-01T00:00:00Z")});
  const Instant as_of = At("2020-04-01T00:00:00Z");
  std::vector<Entry> decided = DecideTierReview(program_, kAnn, State(kAnn), as_of, "run", CommandDigest{}, as_of);
  ASSERT_EQ(decided.size(), 1u);
  const auto& body = BodyOf<entries::TierChanged>(decided[0]);
  EXPECT_EQ(body.tier, "");
  EXPECT_TRUE(body.paid);
  EXPECT_EQ(body.reason, "expired");
  EXPECT_TRUE(DecideTierReview(program_, kBob, State(kBob), as_of, "run", CommandDigest{}, as_of).empty());
}

}  // namespace
}  // namespace loyalty
