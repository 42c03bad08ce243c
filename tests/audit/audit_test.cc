// The audit: the 2011 figures (pool and whole-award metrics, notice), the
// synthetic population against a naive recount, journal verification of a
// tampered SQLite file, statements, the liability roll-forward against the
// engine's balances, and replay against the live digest.
#include "loyalty/audit.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "store/chain_pipeline.h"
#include "journal/command_codec.h"
#include "core/divider.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

constexpr char kAward[] = "award:EU-NA:business:round_trip";

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const std::string& text) { return MemberId::FromValid(text); }
Currency Eur() { return *Currency::FromCode("EUR"); }

Program MilesAndMore() {
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json");
  LOYALTY_CHECK(program.ok());
  return *std::move(program);
}

Transition Change2011() {
  auto change = TransitionOf(MilesAndMore(), "mm-2010", "mm-2011", kAward);
  LOYALTY_CHECK(change.ok());
  return *change;
}

ImpactOptions ThreeThousandEuro() {
  return ImpactOptions{.value_per_award = Money(300'000, Eur()), .as_of = At("2011-01-03T00:00:00+01:00")};
}

// ------------------------------------------------------------ exact helpers

TEST(Divider, AgreesWithHardwareDivision) {
  std::mt19937_64 random(7);
  std::vector<uint64_t> divisors = {1, 2, 3, 7, 90'000, 105'000, 4000, (uint64_t{1} << 32) + 1, UINT64_MAX,
                                    UINT64_MAX - 1, uint64_t{1} << 63};
  for (int i = 0; i < 200; ++i) divisors.push_back(random() >> (random() % 64));
  for (uint64_t d : divisors) {
    if (d == 0) continue;
    internal::Divider divider(d);
    for (uint64_t n : {uint64_t{0}, uint64_t{1}, d - 1, d, d + 1, 2 * d, UINT64_MAX, UINT64_MAX - 1}) {
      ASSERT_EQ(divider.Divide(n), n / d) << n << " / " << d;
    }
    for (int j = 0; j < 2000; ++j) {
      uint64_t n = random() >> (random() % 64);
      ASSERT_EQ(divider.Divide(n), n / d) << n << " / " << d;
    }
  }
}

TEST(Fraction, Decimal) {
  EXPECT_EQ((Fraction{198'000'000'000, 105'000}).ToDecimal(2), "1885714.29");
  EXPECT_EQ((Fraction{198'000'000'000, 90'000}).ToDecimal(0), "2200000");
  EXPECT_EQ((Fraction{1, 8}).ToDecimal(2), "0.12");  // half-even
  EXPECT_EQ((Fraction{-3, 2}).ToDecimal(0, Rounding::kHalfUp), "-2");
}

TEST(InverseNormalCdf, KnownValuesAndRoundTrip) {
  EXPECT_NEAR(InverseNormalCdf(0.975), 1.959963984540054, 1e-13);
  EXPECT_NEAR(InverseNormalCdf(0.5), 0.0, 1e-15);
  EXPECT_NEAR(InverseNormalCdf(0.001), -3.090232306167813, 1e-12);
  EXPECT_NEAR(InverseNormalCdf(1e-10), -6.361340902404056, 1e-9);
  for (double p : {1e-8, 0.01, 0.02425, 0.1, 0.3, 0.7, 0.9, 0.99, 1 - 1e-8}) {
    EXPECT_NEAR(0.5 * std::erfc(-InverseNormalCdf(p) / std::sqrt(2.0)), p, p * 1e-12) << p;
  }
}

// ------------------------------------------------------------ the 2011 figures

TEST(Devaluation, TransitionFromTheProgram) {
  Transition change = Change2011();
  EXPECT_EQ(change.price_before, Points(90'000));
  EXPECT_EQ(change.price_after, Points(105'000));
  EXPECT_EQ(change.effective_from, At("2011-01-03T00:00:00+01:00"));
  EXPECT_TRUE(change.declared.price_lock);
  EXPECT_EQ(TransitionOf(MilesAndMore(), "mm-2010", "mm-2099", kAward).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(TransitionOf(MilesAndMore(), "mm-2010", "mm-2011", "award:nowhere").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(TransitionOf(MilesAndMore(), "mm-2011", "mm-2010", kAward).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Devaluation, PoolMetricOn198BillionMiles) {
  // The pool as one balance: the press's method.
  std::vector<int64_t> pool = {198'000'000'000};
  auto impact = ImpactOfBalances(Change2011(), pool, ThreeThousandEuro());
  ASSERT_TRUE(impact.ok()) << impact.status();
  EXPECT_EQ(impact->outstanding, Points(198'000'000'000));
  EXPECT_EQ(impact->pool_awards_before.Rounded(Rounding::kDown), 2'200'000);
  EXPECT_EQ(impact->pool_awards_before.ToDecimal(2), "2200000.00");
  EXPECT_EQ(impact->pool_awards_after.Rounded(Rounding::kDown), 1'885'714);
  EXPECT_EQ(impact->pool_awards_after.ToDecimal(2), "1885714.29");
  // EUR 942,857,142.857... : 942,857,142.86 to the cent, 942,857,143 to the euro.
  EXPECT_EQ(impact->pool_value_lost, Money(94'285'714'286, Eur()));
  EXPECT_EQ(DivideRounded(impact->pool_value_lost_minor.numerator, impact->pool_value_lost_minor.denominator * 100,
                          Rounding::kHalfEven),
            942'857'143);
}

TEST(Devaluation, MemberWith887000Miles) {
  std::vector<int64_t> one = {887'000};
  auto impact = ImpactOfBalances(Change2011(), one, ThreeThousandEuro());
  ASSERT_TRUE(impact.ok());
  EXPECT_EQ(impact->whole_awards_before, 9);
  EXPECT_EQ(impact->whole_awards_after, 8);
  EXPECT_EQ(impact->whole_awards_lost, 1);
  EXPECT_EQ(impact->whole_value_lost, Money(300'000, Eur()));
  EXPECT_EQ(impact->members_affected, 1);
  // 9 x 105,000 - 887,000 miles short of the nine awards.
  EXPECT_EQ(impact->shortfall.max, 58'000);
  EXPECT_EQ(impact->awards_lost.p50, 1);
  EXPECT_EQ(impact->money_lost_minor.p99, 300'000);
  EXPECT_EQ(impact->histogram[0], 1);
}

TEST(Devaluation, DistributionAndOptionsOverSmallPopulation) {
  // 0 .. 9 awards' worth and one large balance.
  std::vector<int64_t> balances = {0, 50'000, 90'000, 100'000, 105'000, 180'000, 200'000, 887'000, 9'000'000};
  auto impact = ImpactOfBalances(Change2011(), balances, ThreeThousandEuro());
  ASSERT_TRUE(impact.ok());
  // Lost: 90,000 and 100,000 (1 -> 0), 180,000 and 200,000 (2 -> 1),
  // 887,000 (9 -> 8), 9,000,000 (100 -> 85).
  EXPECT_EQ(impact->members_affected, 6);
  EXPECT_EQ(impact->members_with_award_before, 7);
  EXPECT_EQ(impact->awards_lost.p50, 1);
  EXPECT_EQ(impact->awards_lost.max, 15);
  EXPECT_EQ(impact->histogram[0], 5);
  EXPECT_EQ(impact->histogram[DevaluationImpact::kHistogramBuckets - 1], 1);
  ASSERT_EQ(impact->options.size(), 5u);
  EXPECT_EQ(impact->options[0].option, "none");
  EXPECT_EQ(impact->options[0].whole_awards, impact->whole_awards_after);
  EXPECT_EQ(impact->options[1].option, "as_declared");  // price_lock only
  EXPECT_EQ(impact->options[1].awards_protected, 0);
  EXPECT_EQ(impact->options[2].option, "earned_before");
  EXPECT_EQ(impact->options[2].whole_awards, impact->whole_awards_before);
  EXPECT_EQ(impact->options[3].option, "book_by");
  EXPECT_EQ(impact->options[3].awards_protected, impact->whole_awards_lost);
  EXPECT_EQ(impact->options[4].option, "notice_90_days");
  EXPECT_EQ(impact->options[4].members_protected, 6);
  EXPECT_EQ(impact->options[4].value_protected, impact->whole_value_lost);
}

TEST(Devaluation, RejectsBadInput) {
  std::vector<int64_t> negative = {5, -1};
  EXPECT_EQ(ImpactOfBalances(Change2011(), negative, ThreeThousandEuro()).status().message(),
            "balances[1]: -1 is negative");
  Transition free = Change2011();
  free.price_before = Points(0);
  std::vector<int64_t> one = {1};
  EXPECT_EQ(ImpactOfBalances(free, one, ThreeThousandEuro()).status().code(), absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------------------ synthetic population

// Whole awards counted the slow way: take the price away while it fits.
int64_t NaiveWholeAwards(const std::vector<int64_t>& balances, int64_t price) {
  int64_t awards = 0;
  for (int64_t balance : balances) {
    for (int64_t left = balance; left >= price; left -= price) ++awards;
  }
  return awards;
}

void CheckPopulation(int64_t members, int64_t total) {
  auto balances = SyntheticBalances(
      {.members = members, .median = Points(2000), .sigma = *Rate::Parse("1.8"), .total = Points(total)});
  ASSERT_TRUE(balances.ok()) << balances.status();
  ASSERT_EQ(balances->size(), static_cast<size_t>(members));
  Int128 sum = 0;
  for (size_t i = 0; i < balances->size(); ++i) {
    sum += (*balances)[i];
    if (i > 0) {
      ASSERT_LE((*balances)[i - 1], (*balances)[i]) << i;
    }
  }
  EXPECT_EQ(sum, static_cast<Int128>(total));
  auto impact = ImpactOfBalances(Change2011(), *balances, ThreeThousandEuro());
  ASSERT_TRUE(impact.ok());
  EXPECT_EQ(impact->whole_awards_before, NaiveWholeAwards(*balances, 90'000));
  EXPECT_EQ(impact->whole_awards_after, NaiveWholeAwards(*balances, 105'000));
  // Whole awards are fewer than the pool: small balances buy nothing.
  EXPECT_LT(impact->whole_awards_before, impact->pool_awards_before.Rounded(Rounding::kDown));
  std::cout << members << " members: whole awards " << impact->whole_awards_before << " -> "
            << impact->whole_awards_after << " (pool " << impact->pool_awards_before.ToDecimal(0) << " -> "
            << impact->pool_awards_after.ToDecimal(0) << "), affected " << impact->members_affected << "\n";
}

TEST(SyntheticPopulation, ScaledToTheTotalAndCountedTwice) {
  // The airline's mean balance (9,900) on fewer members.
  CheckPopulation(200'000, 1'980'000'000);
}

TEST(SyntheticPopulation, Deterministic) {
  SyntheticPopulation spec{.members = 1001, .median = Points(2000), .sigma = *Rate::Parse("1.8"),
                           .total = Points(9'909'900)};
  auto a = SyntheticBalances(spec);
  auto b = SyntheticBalances(spec);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, *b);
  // Member 500 of 1001 sits on the median (before scaling).
  auto unscaled = SyntheticBalances({.members = 1001, .median = Points(2000), .sigma = *Rate::Parse("0"),
                                     .total = Points(2000 * 1001)});
  ASSERT_TRUE(unscaled.ok());
  EXPECT_EQ((*unscaled)[500], 2000);
}

TEST(SyntheticPopulation, RejectsBadInput) {
  EXPECT_EQ(SyntheticBalances({.members = 0, .median = Points(1), .total = Points(1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(SyntheticBalances({.members = 1, .median = Points(0), .total = Points(1)}).status().message().find("median"),
            std::string::npos);
  EXPECT_NE(SyntheticBalances({.members = 1, .median = Points(1), .total = Points(-1)}).status().message().find("total"),
            std::string::npos);
  EXPECT_NE(SyntheticBalances({.members = 1, .median = Points(1), .sigma = *Rate::Parse("10.5"), .total = Points(1)})
                .status()
                .message()
                .find("sigma"),
            std::string::npos);
}

#ifdef NDEBUG
// The airline's scale: 20 million members, 198 billion miles (optimised
// builds only; a few seconds).
TEST(SyntheticPopulation, TwentyMillionMembers) { CheckPopulation(20'000'000, 198'000'000'000); }
#endif

// ------------------------------------------------------------ notice

TEST(Notice, MilesAndMore2011) {
  auto report = CheckNotice(MilesAndMore(), {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->transitions.size(), 1u);
  EXPECT_EQ(report->transitions[0].announced.ToString(), "2010-12-01");
  EXPECT_EQ(report->transitions[0].effective.ToString(), "2011-01-03");
  EXPECT_EQ(report->transitions[0].days, 33);
  ASSERT_EQ(report->findings.size(), 2u);
  EXPECT_EQ(report->findings[0].code, "short_notice");
  EXPECT_EQ(report->findings[0].severity, Severity::kViolation);
  EXPECT_NE(report->findings[0].facts.find("33 days of notice, below the minimum of 90"), std::string::npos)
      << report->findings[0].facts;
  EXPECT_EQ(report->findings[1].code, "devaluation_without_grandfathering");
  EXPECT_EQ(report->findings[1].subject, kAward);
  EXPECT_NE(report->findings[1].facts.find("90000 -> 105000 points (+16.67 %)"), std::string::npos)
      << report->findings[1].facts;
  // A month of notice is enough for a 30-day minimum.
  auto lenient = CheckNotice(MilesAndMore(), {.minimum_days = 30});
  EXPECT_EQ(lenient->findings.size(), 1u);
  EXPECT_EQ(CheckNotice(MilesAndMore(), {.minimum_days = -1}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Notice, ValidityAndGrandfathering) {
  ProgramVersion a;
  a.id = "a";
  a.effective_from = At("2020-01-01T00:00:00Z");
  a.announced_at = At("2019-06-01T00:00:00Z");
  a.expiry = ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter};
  a.expiry.protected_by_flags = {"cobrand"};
  a.redemption.catalog = {{"mug", "Mug", Points(1000), std::nullopt}, {"bag", "Bag", Points(5000), std::nullopt}};
  ProgramVersion b = a;
  b.id = "b";
  b.announced_at = At("2020-02-01T00:00:00Z");
  b.effective_from = At("2020-06-01T00:00:00Z");  // 121 days
  b.expiry.months = 24;
  b.expiry.inactivity_months = 18;
  b.expiry.protected_by_flags = {};
  b.redemption.catalog = {{"mug", "Mug", Points(1200), std::nullopt}};
  b.grandfathering.earned_before = b.effective_from;
  auto program = Program::FromVersions({a, b});
  ASSERT_TRUE(program.ok()) << program.status();
  auto report = CheckNotice(*program, {});
  ASSERT_TRUE(report.ok());
  std::vector<std::string> codes;
  for (const Finding& f : report->findings) codes.push_back(f.code);
  // The dearer mug is grandfathered (earned_before); the rest are findings.
  EXPECT_EQ(codes, (std::vector<std::string>{"reward_withdrawn", "validity_shortened", "inactivity_rule_tightened",
                                             "expiry_protection_removed"}));
  EXPECT_EQ(report->transitions[0].days, 121);
}

// A reward that was free and gets a price is a devaluation with no
// percentage to give.
TEST(Notice, RewardThatWasFreeGetsAPrice) {
  ProgramVersion a;
  a.id = "a";
  a.effective_from = At("2020-01-01T00:00:00Z");
  a.announced_at = At("2019-06-01T00:00:00Z");
  a.redemption.catalog = {{"mug", "Mug", Points(0), std::nullopt}};
  ProgramVersion b = a;
  b.id = "b";
  b.announced_at = At("2020-02-01T00:00:00Z");
  b.effective_from = At("2020-06-01T00:00:00Z");
  b.redemption.catalog = {{"mug", "Mug", Points(500), std::nullopt}};
  auto program = Program::FromVersions({a, b});
  ASSERT_TRUE(program.ok()) << program.status();
  auto report = CheckNotice(*program, {});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->findings.size(), 1u);
  EXPECT_EQ(report->findings[0].code, "devaluation_without_grandfathering");
  EXPECT_NE(report->findings[0].facts.find("0 -> 500 points (was free)"), std::string::npos)
      << report->findings[0].facts;
}

// ------------------------------------------------------------ a journal with a varied workload

// An engine over the 2010/2011 program with members who earn, spend, hold,
// quote, transfer, return, adjust and lapse, across the change.
class Workload : public ::testing::Test {
 protected:
  void Run(std::unique_ptr<Store> store) {
    clock_ = std::make_unique<FakeClock>(At("2009-01-01T00:00:00Z"));
    auto engine = Engine::Open(std::move(store), *clock_, MilesAndMore());
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    for (int m = 0; m < 6; ++m) Ok(Enroll{.idempotency_key = "enroll-" + Name(m), .member = Id(Name(m)),
                                          .at = At("2008-01-01T00:00:00Z")});
    Ok(Credit{.idempotency_key = "c0", .member = Id(Name(0)), .at = At("2009-03-01T00:00:00Z"),
              .amount = Points(887'000), .source = "history"});
    Ok(Credit{.idempotency_key = "c1", .member = Id(Name(1)), .at = At("2009-05-01T00:00:00Z"),
              .amount = Points(95'000), .source = "history"});
    Ok(Credit{.idempotency_key = "c2", .member = Id(Name(2)), .at = At("2008-01-15T00:00:00Z"),
              .amount = Points(4'000), .source = "old"});
    uint64_t credit3 = Ok(Credit{.idempotency_key = "c3", .member = Id(Name(3)), .at = At("2010-02-01T00:00:00Z"),
                                 .amount = Points(200'000), .source = "history"})
                           .entries[0]
                           .seq;
    FlightSegment jfk{"LH", "LH400", "FRA", "JFK", 3851, "business", "J", std::nullopt};
    Ok(Accrue{.idempotency_key = "f4", .member = Id(Name(4)), .at = At("2010-06-01T16:40:00Z"),
              .activity = {"LH400-0601", jfk}});
    Ok(Credit{.idempotency_key = "c5", .member = Id(Name(5)), .at = At("2010-03-01T00:00:00Z"),
              .amount = Points(120'000), .source = "history"});
    // Before the change: a hold and a quote at the 2010 price, a redemption.
    clock_->Set(At("2010-12-20T10:00:00Z"));
    hold_ = Ok(HoldReward{.idempotency_key = "h3", .member = Id(Name(3)), .reward = kAward, .ttl = absl::Hours(24 * 30)})
                .entries[0]
                .seq;
    Ok(QuoteReward{.idempotency_key = "q5", .member = Id(Name(5)), .reward = kAward, .ttl = absl::Hours(24 * 30)});
    uint64_t debit = Ok(RedeemReward{.idempotency_key = "r0", .member = Id(Name(0)), .reward = kAward}).seq();
    Ok(Transfer{.idempotency_key = "t1", .member = Id(Name(1)), .to = Id(Name(4)), .amount = Points(5'000)});
    Ok(Adjust{.idempotency_key = "a4", .member = Id(Name(4)), .delta = Points(-100), .reason = "typo", .actor = "ops"});
    // After the change.
    clock_->Set(At("2011-01-05T10:00:00Z"));
    Ok(CaptureHold{.idempotency_key = "cap3", .member = Id(Name(3)), .hold = hold_});
    Ok(ReverseDebit{.idempotency_key = "rev0", .member = Id(Name(0)), .debit = debit});
    Ok(RedeemReward{.idempotency_key = "r0b", .member = Id(Name(0)), .reward = kAward});
    Ok(ReverseEarn{.idempotency_key = "re3", .member = Id(Name(3)), .credit = credit3, .amount = Points(50'000)});
    Ok(Adjust{.idempotency_key = "a1", .member = Id(Name(1)), .delta = Points(1'234), .reason = "goodwill", .actor = "ops"});
    // 2008-01-15 + 36 months, end of quarter: lapses 2011-04-01 in Berlin.
    clock_->Set(At("2011-05-01T00:00:00Z"));
    auto expiry = engine_->RunExpiry("expiry-2011-05", clock_->Now());
    ASSERT_TRUE(expiry.ok()) << expiry.status();
    Ok(Redeem{.idempotency_key = "r5", .member = Id(Name(5)), .amount = Points(1'000), .reason = "lounge"});
  }

  static std::string Name(int m) { return "M-" + std::to_string(m); }

  Receipt Ok(const Command& command) {
    auto receipt = engine_->Execute(command);
    EXPECT_TRUE(receipt.ok()) << IdempotencyKeyOf(command) << ": " << receipt.status();
    return receipt.ok() ? *receipt : Receipt{};
  }

  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<Engine> engine_;
  uint64_t hold_ = 0;
};

TEST_F(Workload, ReplayDigestEqualsLiveDigest) {
  Run(NewMemoryStore());
  auto replayed = Replay(engine_->store());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->entries, engine_->store().LastSeq());
  EXPECT_EQ(replayed->applied, replayed->entries);
  EXPECT_EQ(replayed->head, engine_->store().HeadHash());
  EXPECT_EQ(replayed->state_digest, engine_->StateDigest());
  EXPECT_EQ(replayed->members.size(), 6u);
  EXPECT_EQ(replayed->published.size(), 2u);
  for (const auto& [id, state] : replayed->members) {
    EXPECT_EQ(state.balance, engine_->BalanceOf(id)->available) << id.value();
  }
}

TEST_F(Workload, ImpactOnMembersAtTheChange) {
  Run(NewMemoryStore());
  Transition change = Change2011();
  // The journal up to the change: the hold and the quote are open.
  auto at_change = Replay(engine_->store(), change.effective_from);
  ASSERT_TRUE(at_change.ok());
  EXPECT_LT(at_change->applied, at_change->entries);
  std::vector<const MemberState*> states = at_change->States();
  auto impact = ImpactOnMembers(change, states, ThreeThousandEuro());
  ASSERT_TRUE(impact.ok()) << impact.status();
  // M-0 887,000 - 90,000 = 797,000 (8 -> 7); M-1 90,000 (1 -> 0); M-3
  // 200,000 - 90,000 held = 110,000 (1 -> 1); M-5 120,000 (1 -> 1).
  EXPECT_EQ(impact->members, 6);
  EXPECT_EQ(impact->whole_awards_before, 8 + 1 + 1 + 1);
  EXPECT_EQ(impact->whole_awards_after, 7 + 0 + 1 + 1);
  EXPECT_EQ(impact->members_affected, 2);
  ASSERT_TRUE(impact->open_at_change.has_value());
  EXPECT_EQ(impact->open_at_change->holds, 1);
  EXPECT_EQ(impact->open_at_change->quotes, 1);
  EXPECT_EQ(impact->open_at_change->held, Points(90'000));
  EXPECT_EQ(impact->open_at_change->priced_before, 2);
  EXPECT_TRUE(impact->open_at_change->price_lock);
  EXPECT_EQ(impact->open_at_change->repricing, Points(30'000));
  // Every lot was earned before the change: earned_before keeps everything.
  EXPECT_EQ(impact->options[2].option, "earned_before");
  EXPECT_EQ(impact->options[2].whole_awards, impact->whole_awards_before);
  EXPECT_EQ(impact->options[2].members_protected, 2);
}

TEST_F(Workload, RollForwardClosesOnTheBalances) {
  Run(NewMemoryStore());
  LiabilityOptions options{.from = At("2010-01-01T00:00:00Z"), .to = At("2030-01-01T00:00:00Z"),
                           .value_per_point = *Rate::Parse("0.01")};
  auto liability = RollForward(engine_->store(), TimeZone::Utc(), options);
  ASSERT_TRUE(liability.ok()) << liability.status();
  int64_t sum = 0;
  for (int m = 0; m < 6; ++m) {
    auto balance = engine_->BalanceOf(Id(Name(m)));
    sum += balance->available.value() + balance->held.value() - balance->debt.value();
  }
  EXPECT_EQ(liability->closing.points, Points(sum));
  EXPECT_EQ(liability->closing.value, Money(sum, Eur()));  // one cent a mile
  // Opening: the three credits of 2008 and 2009.
  EXPECT_EQ(liability->opening.points, Points(887'000 + 95'000 + 4'000));
  EXPECT_EQ(liability->expired.points, Points(4'000));
  EXPECT_EQ(liability->redeemed.points, Points(90'000 + 90'000 + 105'000 + 1'000));
  EXPECT_EQ(liability->redemption_reversed.points, Points(90'000));
  EXPECT_EQ(liability->earn_reversed.points, Points(50'000));
  EXPECT_EQ(liability->adjusted.points, Points(1'234 - 100));
  EXPECT_EQ(liability->transferred.points, Points(0));
  // Breakage by earning year: the 2008 cohort lapsed entirely.
  ASSERT_FALSE(liability->breakage.empty());
  EXPECT_EQ(liability->breakage.front().year, 2008);
  EXPECT_EQ(liability->breakage.front().breakage.ToDecimal(2), "1.00");
  // Ending before the period starts: the opening is the closing.
  auto early = RollForward(engine_->store(), TimeZone::Utc(),
                           {.from = At("2010-01-01T00:00:00Z"), .to = At("2010-01-01T00:00:00Z")});
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->closing.points, early->opening.points);
  EXPECT_EQ(RollForward(engine_->store(), TimeZone::Utc(), {.from = options.to, .to = options.from}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(Workload, StatementWithRunningBalance) {
  Run(NewMemoryStore());
  auto statement = StatementOf(engine_->store(), Id("M-0"), At("2010-01-01T00:00:00Z"), At("2012-01-01T00:00:00Z"));
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_EQ(statement->opening.available, Points(887'000));
  std::vector<std::string> kinds;
  for (const StatementLine& line : statement->lines) kinds.push_back(line.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"debited", "debit_reversed", "debited"}));
  EXPECT_EQ(statement->lines[0].balance.available, Points(797'000));
  EXPECT_EQ(statement->lines[1].balance.available, Points(887'000));
  EXPECT_EQ(statement->lines[2].balance.available, Points(782'000));
  EXPECT_EQ(statement->lines[2].version, "mm-2011");
  EXPECT_FALSE(statement->lines[0].explanation.empty());
  EXPECT_EQ(statement->closing.available, engine_->BalanceOf(Id("M-0"))->available);
  EXPECT_EQ(StatementOf(engine_->store(), Id("M-nobody"), At("2010-01-01T00:00:00Z"), At("2012-01-01T00:00:00Z"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

// ------------------------------------------------------------ re-rating

// Every command kind's record decodes to a command with the same record.
TEST(RecordedCommand, RoundTripsEveryKind) {
  const MemberId m = Id("M-1");
  const Instant at = At("2011-01-05T10:00:00Z");
  Purchase basket{"dm", "store-7", "store",
                  {{"sku-1", "care", {"organic", "promo"}, 2, Money(199, Eur())},
                   {"sku-2", "baby", {}, 1, Money(5, Eur())}}};
  CustomActivity survey{"survey", {{"channel", "app"}, {"topic", "care"}}, Money(1000, Eur())};
  FlightSegment flight{"LH", "LH400", "FRA", "JFK", 3851, "business", "J", Money(250000, Eur())};
  std::vector<Command> commands = {
      Enroll{"k", m, at},
      Credit{"k", m, std::nullopt, Points(500), "src", at, {{"status_miles", Points(500)}}},
      Redeem{"k", m, at, Points(7), "why"},
      Credit{"k", m, at, Points(5), "fuel", std::nullopt, {}, "fuelco"},
      Redeem{"k", m, at, Points(7), "why", "freshmart"},
      PayWithPointsAtTill{"k", m, at, Points(100), "freshmart"},
      PlaceHold{"k", m, at, Points(8), absl::Hours(3), "why"},
      CaptureHold{"k", m, at, 12},
      ReleaseHold{"k", m, at, 13},
      ReverseEarn{"k", m, at, 14, Points(9), {{"segments", Points(1)}}},
      ReverseDebit{"k", m, at, 15},
      Adjust{"k", m, at, Points(-3), "typo", "ops"},
      Transfer{"k", m, at, Id("M-2"), Points(10)},
      Accrue{"k", m, at, {"LH400", flight}},
      Accrue{"k", m, at, {"basket-1", basket}},
      Accrue{"k", m, at, {"survey-1", survey}},
      ReturnLines{"k", m, at, 16, {0, 1}},
      ReturnLines{"k", m, at, 16, {0, 1}, {ReturnLines::kWholeLine, 2}},
      QuoteReward{"k", m, at, kAward, absl::Hours(24)},
      RedeemReward{"k", m, at, kAward, 17},
      HoldReward{"k", m, at, kAward, 0, absl::Hours(48)},
      PayWithPointsAtTill{"k", m, at, Points(100)},
      SetMemberFlag{"k", m, at, "co-brand", false},
      CloseMembership{"k", m, at},
      GrantTier{"k", m, at, "senator", at, "goodwill", "ops"},
      SubscribeTier{"k", m, at, "club", At("2012-01-01T00:00:00Z")},
      CancelTierSubscription{"k", m, at},
      SendTransfer{"k", m, at, Id("M-2"), Points(10)},
      ReceiveTransfer{"k", m, at, Id("M-2"), Points(10), {{Points(10), At("2010-01-01T00:00:00Z"), Instant::Max()}}},
      SettleTransfer{"k", m, std::nullopt, 21, true, "member M-2 is closed"},
      RedeemVoucher{"k", m, at, VoucherId{22, 1}},
      PurchasePoints{"k", m, at, Points(1000), Money(2500, *Currency::FromCode("EUR"))},
      PurchasePoints{"k", m, at, Points(500)},
      RefundPoints{"k", m, at, 23},
  };
  std::set<size_t> kinds;
  for (const Command& command : commands) {
    kinds.insert(command.index());
    Entry entry;
    entry.idempotency_key = "k";
    entry.command = RecordOf(command);
    entry.command_digest = DigestOf(command);
    auto decoded = RecordedCommandOf(entry);
    ASSERT_TRUE(decoded.ok()) << command.index() << ": " << decoded.status();
    const Command& back = std::get<Command>(*decoded);
    EXPECT_EQ(back.index(), command.index());
    EXPECT_EQ(RecordOf(back), entry.command) << command.index();
    EXPECT_EQ(IdempotencyKeyOf(back), "k");
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Command>);

  Entry run_entry;
  run_entry.idempotency_key = "close-2010";
  run_entry.command = RecordOf(PeriodRun{PeriodRun::Kind::kClosePeriod, "ignored", At("2011-01-01T00:00:00Z")});
  run_entry.command_digest = internal::DigestOfRecord(run_entry.command);
  auto run = RecordedCommandOf(run_entry);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(std::get<PeriodRun>(*run).kind, PeriodRun::Kind::kClosePeriod);
  EXPECT_EQ(std::get<PeriodRun>(*run).idempotency_key, "close-2010");
  EXPECT_EQ(std::get<PeriodRun>(*run).as_of, At("2011-01-01T00:00:00Z"));
}

TEST(RecordedCommand, MalformedRecordsAreDataLoss) {
  Entry entry;
  entry.seq = 41;
  EXPECT_TRUE(absl::IsNotFound(RecordedCommandOf(entry).status()));
  entry.command = RecordOf(Redeem{"k", Id("M-1"), std::nullopt, Points(7), "why"});
  entry.command_digest = DigestOf(Redeem{"k", Id("M-1"), std::nullopt, Points(8), "why"});
  auto mismatch = RecordedCommandOf(entry);
  EXPECT_TRUE(absl::IsDataLoss(mismatch.status()));
  EXPECT_NE(mismatch.status().message().find("journal entry 41"), std::string::npos) << mismatch.status();
  // Truncated, trailing bytes, an unknown tag: each with a digest that fits.
  const std::string good = entry.command;
  for (std::string bad : {good.substr(0, good.size() - 1), good + "x", std::string("\x30", 1)}) {
    entry.command = bad;
    entry.command_digest = internal::DigestOfRecord(bad);
    EXPECT_TRUE(absl::IsDataLoss(RecordedCommandOf(entry).status())) << bad.size();
  }
}

// Re-rated under the program that wrote it, the journal decides the same
// entries: nothing differs and the digest is the engine's.
TEST_F(Workload, RerateUnderTheSameProgramChangesNothing) {
  Run(NewMemoryStore());
  auto rerated = Rerate(engine_->store(), MilesAndMore());
  ASSERT_TRUE(rerated.ok()) << rerated.status();
  EXPECT_EQ(rerated->entries, engine_->store().LastSeq());
  // 6 enrolments, 6 credits and accruals, 5 commands before the change,
  // 5 after, the expiry run and the last redemption.
  EXPECT_EQ(rerated->commands, 24u);
  EXPECT_EQ(rerated->entries_decided, engine_->store().LastSeq() - 2);  // less the two publications
  EXPECT_EQ(rerated->failed, 0u);
  EXPECT_TRUE(rerated->members_changed.empty());
  EXPECT_TRUE(rerated->commands_changed.empty());
  EXPECT_EQ(rerated->members, 6);
  EXPECT_EQ(rerated->recorded_available, rerated->rerated_available);
  EXPECT_EQ(rerated->state_digest, engine_->StateDigest());
}

// As if the 2011 chart had never been published: M-0's second award
// (r0b, 5 Jan 2011) costs 90,000 instead of 105,000; nothing else changes
// (the hold captured on 5 Jan kept its 2010 price under price_lock anyway).
TEST_F(Workload, RerateAsIfTheChangeNeverHappened) {
  Run(NewMemoryStore());
  auto without = ProgramWithout(MilesAndMore(), "mm-2011");
  ASSERT_TRUE(without.ok()) << without.status();
  auto rerated = Rerate(engine_->store(), *without);
  ASSERT_TRUE(rerated.ok()) << rerated.status();
  EXPECT_EQ(rerated->failed, 0u);
  ASSERT_EQ(rerated->commands_changed.size(), 1u);
  const CommandRerated& award = rerated->commands_changed[0];
  EXPECT_EQ(award.idempotency_key, "r0b");
  EXPECT_EQ(award.reward, kAward);
  EXPECT_EQ(award.recorded_kind, "debited");
  EXPECT_EQ(award.recorded_points, Points(105'000));
  EXPECT_EQ(award.rerated_kind, "debited");
  EXPECT_EQ(award.rerated_points, Points(90'000));
  ASSERT_EQ(rerated->members_changed.size(), 1u);
  const MemberRerated& m0 = rerated->members_changed[0];
  EXPECT_EQ(m0.member, Id("M-0"));
  EXPECT_EQ(m0.recorded.available, Points(887'000 - 105'000));
  EXPECT_EQ(m0.rerated.available, Points(887'000 - 90'000));
  EXPECT_EQ(rerated->rerated_available.value() - rerated->recorded_available.value(), 15'000);
  EXPECT_NE(rerated->state_digest, engine_->StateDigest());
  // The re-rated states are there to inspect.
  EXPECT_EQ(rerated->states.at(Id("M-0")).balance, Points(797'000));
}

// A what-if chart of 900,000 miles for 2010: the award and the hold of
// December 2010 fail, and so do the commands that refer to them (the
// capture of the hold, the reversal of the redemption); the quote, which
// reserves nothing, states the dearer price.
TEST_F(Workload, RerateFailuresPropagateToReferences) {
  Run(NewMemoryStore());
  std::vector<ProgramVersion> versions;
  const Program recorded = MilesAndMore();
  for (const auto& version : recorded.versions()) versions.push_back(*version);
  for (AwardChartRow& row : versions[0].redemption.award_chart) {
    if (row.cabin == "business") row.price = Points(900'000);
  }
  auto dear = Program::FromVersions(std::move(versions));
  ASSERT_TRUE(dear.ok()) << dear.status();
  auto rerated = Rerate(engine_->store(), *dear);
  ASSERT_TRUE(rerated.ok()) << rerated.status();
  std::map<std::string, const CommandRerated*> changed;
  for (const CommandRerated& command : rerated->commands_changed) changed[command.idempotency_key] = &command;
  ASSERT_TRUE(changed.contains("q5"));
  EXPECT_EQ(changed["q5"]->recorded_points, Points(90'000));
  EXPECT_EQ(changed["q5"]->rerated_kind, "quoted");
  EXPECT_EQ(changed["q5"]->rerated_points, Points(900'000));
  changed.erase("q5");
  for (const char* key : {"h3", "r0", "cap3", "rev0"}) {
    ASSERT_TRUE(changed.contains(key)) << key;
    EXPECT_FALSE(changed[key]->rerated_error.ok()) << key;
    EXPECT_EQ(changed[key]->rerated_kind, "") << key;
  }
  EXPECT_EQ(rerated->failed, changed.size());
  EXPECT_TRUE(absl::IsFailedPrecondition(changed["h3"]->rerated_error)) << changed["h3"]->rerated_error;
  EXPECT_NE(changed["cap3"]->rerated_error.message().find("hold: entry"), std::string::npos)
      << changed["cap3"]->rerated_error;
  EXPECT_NE(changed["rev0"]->rerated_error.message().find("debit: entry"), std::string::npos)
      << changed["rev0"]->rerated_error;
  // M-0 still buys the 2011 award (887,000 - 105,000); M-3 keeps the
  // 90,000 it never spent (200,000 - 50,000 reversed).
  std::map<std::string, const MemberRerated*> members;
  for (const MemberRerated& member : rerated->members_changed) members[member.member.value()] = &member;
  EXPECT_FALSE(members.contains("M-0"));
  ASSERT_TRUE(members.contains("M-3"));
  EXPECT_EQ(members["M-3"]->recorded.available, Points(60'000));
  EXPECT_EQ(members["M-3"]->rerated.available, Points(150'000));
}

TEST(Rerate, ProgramWithoutChecksItsVersion) {
  auto program = MilesAndMore();
  EXPECT_TRUE(absl::IsNotFound(ProgramWithout(program, "mm-2012").status()));
  auto only = ProgramWithout(program, "mm-2011");
  ASSERT_TRUE(only.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ProgramWithout(*only, "mm-2010").status()));
}

// ------------------------------------------------------------ tampering with an SQLite journal

std::string TempPath(const std::string& name) {
  std::string path = ::testing::TempDir() + "/audit-" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}


class TamperedJournal : public Workload {
 protected:
  // Runs the workload into an SQLite file and closes it.
  std::string Write(const std::string& name) {
    std::string path = TempPath(name);
    auto store = OpenSqliteStore(path);
    EXPECT_TRUE(store.ok());
    Run(*std::move(store));
    entries_ = engine_->store().LastSeq();
    engine_.reset();
    return path;
  }
  uint64_t entries_ = 0;
};

TEST_F(TamperedJournal, IntactJournalIsOk) {
  std::string path = Write("intact.db");
  auto verified = VerifyJournalFile(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(verified->entries, entries_);
  EXPECT_EQ(verified->Summary().rfind("ok, " + std::to_string(entries_) + " entries, head ", 0), 0u)
      << verified->Summary();
  EXPECT_EQ(verified->Summary(), "ok, " + std::to_string(entries_) + " entries, head " + ToHex(verified->head));
}

TEST_F(TamperedJournal, Modified) {
  std::string path = Write("modified.db");
  // Entry 9 (M-0's credit from "history"), one letter changed.
  ASSERT_EQ(Sql(path, "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'history', 'hystory') AS BLOB) "
                      "WHERE seq = 9"),
            absl::OkStatus());
  auto verified = VerifyJournalFile(path);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->fault, JournalFault::kModified) << verified->Summary();
  EXPECT_EQ(verified->bad_seq, 9u);
  EXPECT_EQ(verified->entries, 8u);
}

TEST_F(TamperedJournal, Missing) {
  std::string path = Write("missing.db");
  ASSERT_EQ(Sql(path, "DELETE FROM journal WHERE seq = 5"), absl::OkStatus());
  auto verified = VerifyJournalFile(path);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->fault, JournalFault::kMissing) << verified->Summary();
  EXPECT_EQ(verified->bad_seq, 5u);
  EXPECT_NE(verified->Summary().find("entry 5: missing"), std::string::npos) << verified->Summary();
}

TEST_F(TamperedJournal, Reordered) {
  std::string path = Write("reordered.db");
  ASSERT_EQ(Sql(path,
                "UPDATE journal SET seq = -1 WHERE seq = 4; UPDATE journal SET seq = 4 WHERE seq = 7;"
                "UPDATE journal SET seq = 7 WHERE seq = -1;"),
            absl::OkStatus());
  auto verified = VerifyJournalFile(path);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->fault, JournalFault::kReordered) << verified->Summary();
  EXPECT_EQ(verified->bad_seq, 4u);
  EXPECT_EQ(verified->entries, 3u);
}

TEST_F(TamperedJournal, Truncated) {
  std::string path = Write("truncated.db");
  ASSERT_EQ(Sql(path, "DELETE FROM journal WHERE seq > " + std::to_string(entries_ - 3)), absl::OkStatus());
  auto verified = VerifyJournalFile(path);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->fault, JournalFault::kTruncated) << verified->Summary();
  EXPECT_EQ(verified->entries, entries_ - 3);
  EXPECT_EQ(verified->bad_seq, entries_ - 2);
  // The engine refuses to open it; replay names the damage too.
  EXPECT_EQ(OpenSqliteStore(path).status().code(), absl::StatusCode::kDataLoss);
  auto inspected = OpenSqliteStore(path, {.verify_on_open = false});
  ASSERT_TRUE(inspected.ok());
  EXPECT_EQ(Replay(**inspected).status().code(), absl::StatusCode::kDataLoss);
  std::vector<Entry> more(1);
  EXPECT_EQ((*inspected)->Append(more).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(VerifyJournalFile, NotAJournal) {
  std::string path = TempPath("other.db");
  ASSERT_EQ(Sql(path, "CREATE TABLE customers(id INTEGER)"), absl::OkStatus());
  EXPECT_EQ(VerifyJournalFile(path).status().code(), absl::StatusCode::kFailedPrecondition);
}


// ------------------------------------------------------------ pipelined chain check

// A journal held as rows (entry, stored bytes) that a test may damage:
// change a row's bytes, drop, swap or cut rows, fail the read at a seq.
class RowStore final : public Store {
 public:
  struct Row {
    Entry entry;
    std::string bytes;
  };
  explicit RowStore(const Store& from) : last_(from.LastSeq()), head_(from.HeadHash()) {
    absl::Status read = from.ReadStored(1, [&](const Entry& entry, absl::string_view bytes) {
      rows_.push_back({entry, std::string(bytes)});
      return absl::OkStatus();
    });
    LOYALTY_CHECK(read.ok());
  }
  std::vector<Row>& rows() { return rows_; }
  void FailAt(uint64_t seq) { fail_at_ = seq; }

  absl::Status Append(std::span<Entry>) override { return absl::UnimplementedError("read only"); }
  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    return ReadStored(from, [&](const Entry& entry, absl::string_view) { return visit(entry); });
  }
  absl::Status ReadStored(uint64_t from,
                          absl::FunctionRef<absl::Status(const Entry&, absl::string_view)> visit) const override {
    for (const Row& row : rows_) {
      if (row.entry.seq == fail_at_) return absl::DataLossError("bad row");
      if (row.entry.seq < from) continue;
      if (absl::Status status = visit(row.entry, row.bytes); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    for (const Row& row : rows_) {
      if (row.entry.seq == seq) return row.entry;
    }
    return absl::NotFoundError("no entry");
  }
  std::optional<KeyRecord> FindKey(absl::string_view) const override { return std::nullopt; }
  uint64_t LastSeq() const override { return last_; }
  Sha256 HeadHash() const override { return head_; }

 private:
  std::vector<Row> rows_;
  uint64_t last_;
  Sha256 head_;
  uint64_t fail_at_ = 0;
};

// A journal of `entries` credits and redemptions over `members` members
// (plus their enrolments; the first 2 * members all credits), in memory;
// with `transfers`, about 4 in 13 of the commands after those are transfers
// (two entries under one key).
std::unique_ptr<Engine> CreditJournal(FakeClock& clock, int entries, int members, bool transfers = false) {
  auto engine = Engine::Open(NewMemoryStore(), clock, MilesAndMore());
  LOYALTY_CHECK(engine.ok());
  std::vector<Command> batch;
  for (int m = 0; m < members; ++m) {
    batch.push_back(Enroll{.idempotency_key = "enroll-" + std::to_string(m), .member = Id("M-" + std::to_string(m))});
  }
  for (int n = 0; n < entries; ++n) {
    MemberId member = Id("M-" + std::to_string(n % members));
    if (transfers && n * 7919 % 13 < 4 && n >= 2 * members) {  // not periodic with the blocks
      batch.push_back(Transfer{.idempotency_key = "t-" + std::to_string(n), .member = member,
                               .to = Id("M-" + std::to_string((n + 1) % members)), .amount = Points(5)});
    } else if (n % 4 == 3 && n >= 2 * members) {
      batch.push_back(Redeem{.idempotency_key = "r-" + std::to_string(n), .member = member, .amount = Points(10),
                             .reason = "test"});
    } else {
      batch.push_back(Credit{.idempotency_key = "c-" + std::to_string(n), .member = member, .amount = Points(100),
                             .source = "test"});
    }
  }
  for (const auto& receipt : (*engine)->ExecuteBatch(batch)) EXPECT_TRUE(receipt.ok()) << receipt.status();
  return *std::move(engine);
}

// What a chain check found and which entries it passed on, in order.
struct Checked {
  internal::ChainCheck check;
  std::vector<uint64_t> seqs;
};

Checked Sequential(const Store& store) {
  Checked checked;
  checked.check = internal::CheckChain(store, internal::Chain(), [&](const Entry& e) { checked.seqs.push_back(e.seq); });
  return checked;
}

Checked Pipelined(const Store& store, size_t block, internal::PipelineOptions::Linker linker) {
  Checked checked;
  internal::PipelineOptions options{.block_entries = block, .blocks = 2, .inline_below = 0, .linker = linker};
  checked.check = internal::CheckChainPipelined(
      store, internal::Chain(),
      [&](std::span<const Entry> run) {
        EXPECT_FALSE(run.empty());
        EXPECT_LE(run.size(), block);
        for (const Entry& e : run) checked.seqs.push_back(e.seq);
      },
      options);
  return checked;
}

// The pipelined check agrees with the sequential one in everything, for
// blocks from one entry to more than the journal, whichever thread checks
// the links.
void ExpectSameAsSequential(const Store& store, const std::string& what) {
  Checked expected = Sequential(store);
  using Linker = internal::PipelineOptions::Linker;
  for (Linker linker : {Linker::kWhicheverHasTime, Linker::kReadingThread, Linker::kCallingThread}) {
    for (size_t block : {1, 2, 3, 8, 64, 1000}) {
      SCOPED_TRACE(what + ", block " + std::to_string(block) + ", linker " + std::to_string(static_cast<int>(linker)));
      Checked got = Pipelined(store, block, linker);
      EXPECT_EQ(got.check.fault, expected.check.fault);
      EXPECT_EQ(got.check.entries, expected.check.entries);
      EXPECT_EQ(got.check.head, expected.check.head);
      EXPECT_EQ(got.check.bad_seq, expected.check.bad_seq);
      EXPECT_EQ(got.check.detail, expected.check.detail);
      EXPECT_EQ(got.seqs, expected.seqs);
    }
  }
}

class PipelinedChain : public ::testing::Test {
 protected:
  void SetUp() override { engine_ = CreditJournal(clock_, 200, 7); }
  RowStore Rows() const { return RowStore(engine_->store()); }
  uint64_t last() const { return engine_->store().LastSeq(); }

  FakeClock clock_{At("2011-01-03T00:00:00Z")};
  std::unique_ptr<Engine> engine_;
};

TEST_F(PipelinedChain, IntactShortAndEmptyJournals) {
  RowStore intact = Rows();
  ExpectSameAsSequential(intact, "intact");
  EXPECT_EQ(Sequential(intact).check.fault, internal::ChainFault::kNone);
  EXPECT_EQ(Sequential(intact).seqs.size(), last());
  RowStore shorter = Rows();
  shorter.rows().resize(5);  // shorter than a block of 8: truncated
  ExpectSameAsSequential(shorter, "five entries");
  auto empty_engine = Engine::Open(NewMemoryStore(), clock_, MilesAndMore());
  ASSERT_TRUE(empty_engine.ok());
  ExpectSameAsSequential((*empty_engine)->store(), "empty");
  EXPECT_EQ(Sequential((*empty_engine)->store()).check.fault, internal::ChainFault::kNone);
}

TEST_F(PipelinedChain, ModifiedEntryInAnyBlockIsTheFirstBadEntry) {
  for (uint64_t seq : {uint64_t{1}, uint64_t{8}, uint64_t{9}, uint64_t{64}, uint64_t{150}, last()}) {
    RowStore damaged = Rows();
    damaged.rows()[seq - 1].bytes.back() ^= 1;
    ExpectSameAsSequential(damaged, "modified " + std::to_string(seq));
    EXPECT_EQ(Sequential(damaged).check.bad_seq, seq);
  }
  // Two bad entries in different blocks: the first is reported.
  RowStore twice = Rows();
  twice.rows()[100].bytes.back() ^= 1;
  twice.rows()[30].bytes.back() ^= 1;
  ExpectSameAsSequential(twice, "modified 31 and 101");
  EXPECT_EQ(Sequential(twice).check.bad_seq, 31u);
  // A modified entry before a missing one: the modified one is first.
  RowStore then_missing = Rows();
  then_missing.rows().erase(then_missing.rows().begin() + 120);
  then_missing.rows()[40].bytes.back() ^= 1;
  ExpectSameAsSequential(then_missing, "modified 41, missing 121");
  EXPECT_EQ(Sequential(then_missing).check.fault, internal::ChainFault::kModified);
}

TEST_F(PipelinedChain, MissingReorderedTruncatedUnreadable) {
  RowStore missing = Rows();
  missing.rows().erase(missing.rows().begin() + 99);
  ExpectSameAsSequential(missing, "missing 100");
  EXPECT_EQ(Sequential(missing).check.fault, internal::ChainFault::kMissing);
  RowStore reordered = Rows();
  std::swap(reordered.rows()[70], reordered.rows()[73]);
  ExpectSameAsSequential(reordered, "reordered 71");
  EXPECT_EQ(Sequential(reordered).check.fault, internal::ChainFault::kReordered);
  RowStore truncated = Rows();
  truncated.rows().resize(last() - 3);
  ExpectSameAsSequential(truncated, "truncated");
  EXPECT_EQ(Sequential(truncated).check.fault, internal::ChainFault::kTruncated);
  RowStore unreadable = Rows();
  unreadable.FailAt(77);
  ExpectSameAsSequential(unreadable, "unreadable 77");
  EXPECT_EQ(Sequential(unreadable).check.fault, internal::ChainFault::kUnreadable);
  // A key for an unkeyed journal: nothing read.
  auto keyed = internal::Chain::For(std::string(32, 'k'));
  ASSERT_TRUE(keyed.ok());
  internal::PipelineOptions options{.block_entries = 8, .inline_below = 0};
  int calls = 0;
  auto check = internal::CheckChainPipelined(Rows(), *keyed, [&](std::span<const Entry>) { ++calls; }, options);
  EXPECT_EQ(check.fault, internal::ChainFault::kKeyMismatch);
  EXPECT_EQ(calls, 0);
}

// ------------------------------------------------------------ pipelined read

// ReadPipelined gives the entries Read gives, in order and in runs of at
// most a block, and ends with the read's error or with visit's (then
// giving nothing more), for blocks from one entry to more than the journal.
TEST_F(PipelinedChain, ReadGivesWhatReadGives) {
  RowStore intact = Rows();
  RowStore failing_at_77 = Rows();
  failing_at_77.FailAt(77);
  for (uint64_t from : {uint64_t{1}, uint64_t{50}, last(), last() + 1}) {
    for (bool failing : {false, true}) {
      const RowStore& store = failing ? failing_at_77 : intact;
      std::vector<uint64_t> expected;
      absl::Status expected_status = store.Read(from, [&](const Entry& e) {
        expected.push_back(e.seq);
        return absl::OkStatus();
      });
      for (size_t block : {1, 3, 64, 1000}) {
        SCOPED_TRACE(absl::StrCat("from ", from, failing ? ", failing at 77" : "", ", block ", block));
        internal::PipelineOptions options{.block_entries = block, .blocks = 2, .inline_below = 0};
        std::vector<uint64_t> got;
        absl::Status status = internal::ReadPipelined(
            store, from,
            [&](std::span<const Entry> run) {
              EXPECT_FALSE(run.empty());
              EXPECT_LE(run.size(), block);
              for (const Entry& e : run) got.push_back(e.seq);
              return absl::OkStatus();
            },
            options);
        EXPECT_EQ(status, expected_status);
        EXPECT_EQ(got, expected);
      }
    }
  }
  // visit's error ends the read: nothing after the run that failed.
  for (size_t block : {1, 8}) {
    internal::PipelineOptions options{.block_entries = block, .blocks = 2, .inline_below = 0};
    std::vector<uint64_t> got;
    absl::Status status = internal::ReadPipelined(
        Rows(), 1,
        [&](std::span<const Entry> run) -> absl::Status {
          for (const Entry& e : run) got.push_back(e.seq);
          return got.size() >= 100 ? absl::DataLossError("stop") : absl::OkStatus();
        },
        options);
    EXPECT_EQ(status, absl::DataLossError("stop"));
    ASSERT_GE(got.size(), 100u);
    EXPECT_LT(got.size(), 100 + block);
    EXPECT_EQ(got.front(), 1u);
    EXPECT_EQ(got.back(), got.size());
  }
}

// ------------------------------------------------------------ link check

// LinkCheck over `store`'s rows from seq 1 with blocks of `block`: the
// first bad link it reports, and how many rows it took before refusing.
struct LinksChecked {
  std::optional<uint64_t> bad;
  size_t added = 0;
};
LinksChecked CheckLinks(RowStore& store, size_t block) {
  internal::LinkCheck links(internal::Chain(), Sha256{}, {.block_entries = block, .blocks = 2});
  LinksChecked checked;
  for (const RowStore::Row& row : store.rows()) {
    if (!links.Add(row.entry.seq, row.bytes, row.entry.hash)) break;
    ++checked.added;
  }
  checked.bad = links.Finish();
  return checked;
}

// The first bad link is found wherever it lies in a block, whether the
// rows fill a block (checked on the second thread) or not (on this one);
// an intact journal has none.
TEST_F(PipelinedChain, LinkCheckFindsTheFirstBadLink) {
  for (size_t block : {1, 3, 64, 1000}) {
    SCOPED_TRACE(absl::StrCat("block ", block));
    RowStore intact = Rows();
    LinksChecked whole = CheckLinks(intact, block);
    EXPECT_EQ(whole.bad, std::nullopt);
    EXPECT_EQ(whole.added, last());
    for (uint64_t seq : {uint64_t{1}, uint64_t{2}, uint64_t{64}, uint64_t{65}, last()}) {
      RowStore damaged = Rows();
      damaged.rows()[seq - 1].bytes.back() ^= 1;
      damaged.rows()[last() - 1].bytes.front() ^= 1;  // a second bad link, unless seq is the last
      EXPECT_EQ(CheckLinks(damaged, block).bad, seq) << "damage at " << seq;
      RowStore stored_hash = Rows();
      stored_hash.rows()[seq - 1].entry.hash[7] ^= 1;  // its own link fails (and its successor's)
      EXPECT_EQ(CheckLinks(stored_hash, block).bad, seq) << "hash of " << seq;
    }
  }
  // A bad link found by the second thread refuses the rows after the
  // blocks in flight: with two blocks of one row, the third at the latest
  // (the second if the first is checked before it is added).
  RowStore early = Rows();
  early.rows()[0].bytes.back() ^= 1;
  LinksChecked stopped = CheckLinks(early, 1);
  EXPECT_EQ(stopped.bad, 1u);
  EXPECT_GE(stopped.added, 1u);
  EXPECT_LE(stopped.added, 2u);
  // Nothing added: nothing wrong.
  internal::LinkCheck none(internal::Chain(), Sha256{});
  EXPECT_EQ(none.Finish(), std::nullopt);
}

// Replay and re-rating of a journal long enough to take the second thread
// by default: the live digest, and the sequential check's error.
TEST(PipelinedReplay, LongJournalReplaysAndReportsTheFirstBadEntry) {
  FakeClock clock(At("2011-01-03T00:00:00Z"));
  std::unique_ptr<Engine> engine = CreditJournal(clock, 20'000, 50, /*transfers=*/true);
  ASSERT_GE(engine->store().LastSeq(), internal::PipelineOptions().inline_below);
  // Some transfer's two entries straddle two blocks (re-rating carries
  // the first over to the next run).
  const uint64_t block = internal::PipelineOptions().block_entries;
  bool straddles = false;
  for (uint64_t end = block; end < engine->store().LastSeq(); end += block) {
    auto last = engine->store().Get(end);
    auto next = engine->store().Get(end + 1);
    ASSERT_TRUE(last.ok() && next.ok());
    straddles = straddles || last->idempotency_key == next->idempotency_key;
  }
  EXPECT_TRUE(straddles);
  auto replayed = Replay(engine->store());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->state_digest, engine->StateDigest());
  EXPECT_EQ(replayed->entries, engine->store().LastSeq());
  auto rerated = Rerate(engine->store(), MilesAndMore());
  ASSERT_TRUE(rerated.ok()) << rerated.status();
  EXPECT_EQ(rerated->state_digest, engine->StateDigest());
  EXPECT_TRUE(rerated->members_changed.empty());
  EXPECT_TRUE(rerated->commands_changed.empty());
  uint64_t members_entries = 0;  // all but the program's own (VersionPublished)
  ASSERT_TRUE(engine->store().Read(1, [&](const Entry& entry) {
    members_entries += std::holds_alternative<entries::VersionPublished>(entry.body) ? 0 : 1;
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(rerated->entries_decided, members_entries);
  RowStore damaged(engine->store());
  damaged.rows()[15'000].bytes.back() ^= 1;
  damaged.rows()[19'000].bytes.back() ^= 1;
  absl::Status expected = internal::ChainCheckStatus(internal::CheckChain(damaged));
  EXPECT_EQ(Replay(damaged).status(), expected);
  EXPECT_EQ(Rerate(damaged, MilesAndMore()).status(), expected);
  EXPECT_NE(expected.message().find("journal entry 15001: modified"), std::string::npos) << expected;
}

}  // namespace
}  // namespace loyalty
