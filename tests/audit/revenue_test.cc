// Revenue accounting (loyalty/audit/revenue.h): hand-worked examples in
// the style of the IFRS 15 illustrative example for a customer loyalty
// programme, each figure computed in a comment; returns, partners,
// goodwill, completion, the general ledger, revisions and refusals.
#include "loyalty/audit/revenue.h"

#include <string>

#include "gtest/gtest.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const std::string& text) { return MemberId::FromValid(text); }
Currency Eur() { return *Currency::FromCode("EUR"); }
Money Eur(int64_t cents) { return Money(cents, Eur()); }

// 1 point per EUR 10 of purchase; a point is worth EUR 1.00; 95 % of the
// points are expected to be redeemed. Partner "fuel" funds EUR 0.02 a point.
constexpr char kProgram[] = R"({"versions": [{
  "id": "shop-2025", "currency": "EUR", "time_zone": "UTC",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
  "accrual": [{"id": "base", "priority": 10, "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "0.1", "rounding": "down"}}],
  "partners": [{"id": "fuel", "funding_per_point": "0.02", "reimbursement_per_point": "0.01"}],
  "expiry": {"months": 0},
  "accounting": {"standalone_value_per_point": "1.00", "expected_redemption_rate": "0.95",
                 "credit_sources": {"cobrand card": "0.008", "goodwill": "0"},
                 "accounts": {"contract_liability": "2400 Contract liability"}}
}]})";

class RevenueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kProgram);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;
    auto engine = Engine::Open(NewMemoryStore(), clock_, program_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    Run(Enroll{.idempotency_key = "enrol", .member = Id("M1"), .at = At("2025-01-02T00:00:00Z")});
  }

  uint64_t Run(const Command& command) {
    auto receipt = engine_->Execute(command);
    LOYALTY_CHECK(receipt.ok());
    return receipt->seq();
  }
  // A purchase of one line at `price` (minor units): price / 10 points.
  uint64_t Buy(const std::string& key, const char* at, int64_t price) {
    Purchase purchase{.partner = "", .store = "S1", .channel = "store",
                      .lines = {PurchaseLine{.sku = "goods", .unit_price = Eur(price)}}};
    return Run(Accrue{.idempotency_key = key, .member = Id("M1"), .at = At(at),
                      .activity = Activity{.id = key, .detail = purchase}});
  }
  void Spend(const std::string& key, const char* at, int64_t points) {
    Run(Redeem{.idempotency_key = key, .member = Id("M1"), .at = At(at), .amount = Points(points)});
  }
  void Revise(const std::string& key, const char* at, const char* rate, int cohort = 0) {
    auto receipt = engine_->ReviseEstimate({.idempotency_key = key, .effective_from = At(at),
                                            .expected_redemption_rate = *Rate::Parse(rate), .cohort = cohort,
                                            .actor = "controller", .reason = "redemption pattern"});
    LOYALTY_CHECK(receipt.ok());
  }
  RevenueReport Report(const char* from, const char* to) {
    auto report = RecogniseRevenue(engine_->store(), program_, {.from = At(from), .to = At(to)});
    LOYALTY_CHECK(report.ok());
    return *report;
  }

  FakeClock clock_{At("2027-06-01T00:00:00Z")};
  Program program_ = *Program::Create("unused", "UTC", {});
  std::unique_ptr<Engine> engine_;
};

// Debits equal credits, and every line has exactly one side.
void ExpectBalanced(const RevenueReport& report) {
  int64_t debit = 0, credit = 0;
  for (const LedgerLine& line : report.ledger) {
    EXPECT_TRUE((line.debit.minor_units() == 0) != (line.credit.minor_units() == 0)) << line.memo;
    debit += line.debit.minor_units();
    credit += line.credit.minor_units();
  }
  EXPECT_EQ(debit, credit);
}

TEST_F(RevenueTest, OnePeriodWithoutRevision) {
  Buy("sale", "2025-03-01T10:00:00Z", 10'000'000);
  Spend("spend-1", "2025-09-01T10:00:00Z", 4'500);
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  // SSP of the points: 10,000 x 1.00 x 0.95 = 9,500.00.
  // Allocated: 100,000 x 9,500 / (100,000 + 9,500) = 8,675.7990867... -> 8,675.80 (867,580 cents).
  EXPECT_EQ(r.total.deferred, Eur(867'580));
  // Cumulative: 867,580 x 4,500 / (10,000 x 0.95) = 410,958.947... -> 410,959.
  // On redemption: 4,500 x 867,580 / 10,000 = 390,411.0 -> 3,904.11.
  // Breakage: 410,959 - 390,411 = 20,548 -> 205.48.
  EXPECT_EQ(r.total.opening, Eur(0));
  EXPECT_EQ(r.total.on_redemption, Eur(390'411));
  EXPECT_EQ(r.total.breakage, Eur(20'548));
  EXPECT_EQ(r.total.catch_up, Eur(0));
  EXPECT_EQ(r.revenue, Eur(410'959));
  // Closing: 867,580 - 410,959 = 456,621 -> 4,566.21.
  EXPECT_EQ(r.total.closing, Eur(456'621));
  ASSERT_EQ(r.cohorts.size(), 1u);
  EXPECT_EQ(r.cohorts[0].cohort, 2025);
  EXPECT_EQ(r.cohorts[0].outstanding, Points(5'500));
  // Nothing expired yet: the history suggests 4,500 / 4,500 = 1.
  ASSERT_TRUE(r.cohorts[0].suggested_redemption_rate.has_value());
  EXPECT_EQ(r.cohorts[0].suggested_redemption_rate->ToDecimal(2), "1.00");
  ExpectBalanced(r);
  // Deferral: debit sales revenue, credit the liability; then 2 pairs of recognition.
  ASSERT_EQ(r.ledger.size(), 6u);
  EXPECT_EQ(r.ledger[0].account, "Revenue - sales");
  EXPECT_EQ(r.ledger[0].debit, Eur(867'580));
  EXPECT_EQ(r.ledger[1].account, "2400 Contract liability");
  EXPECT_EQ(r.ledger[1].credit, Eur(867'580));
  EXPECT_EQ(r.ledger[0].date.ToString(), "2025-03-01");
  EXPECT_EQ(r.ledger[2].date.ToString(), "2025-12-31");
}

TEST_F(RevenueTest, SecondPeriodRaisesTheEstimate) {
  Buy("sale", "2025-03-01T10:00:00Z", 10'000'000);
  Spend("spend-1", "2025-09-01T10:00:00Z", 4'500);
  Spend("spend-2", "2026-04-01T10:00:00Z", 4'000);
  Revise("raise", "2026-06-30T00:00:00Z", "0.97", 2025);
  RevenueReport r = Report("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
  // Opening: the closing of 2025, 4,566.21.
  EXPECT_EQ(r.total.opening, Eur(456'621));
  // At the old estimate: 867,580 x 8,500 / 9,500 = 776,255.789... -> 776,256;
  // recognised at it in 2026: 776,256 - 410,959 = 365,297.
  // On redemption: 4,000 x 867,580 / 10,000 = 347,032; breakage 365,297 - 347,032 = 18,265.
  EXPECT_EQ(r.total.on_redemption, Eur(347'032));
  EXPECT_EQ(r.total.breakage, Eur(18'265));
  // At the new one: 867,580 x 8,500 / 9,700 = 760,250.515... -> 760,251;
  // catch-up: 760,251 - 776,256 = -16,005.
  EXPECT_EQ(r.total.catch_up, Eur(-16'005));
  // Revenue: 365,297 - 16,005 = 349,292; closing 867,580 - 760,251 = 107,329.
  EXPECT_EQ(r.revenue, Eur(349'292));
  EXPECT_EQ(r.total.closing, Eur(107'329));
  ASSERT_EQ(r.revisions.size(), 1u);
  EXPECT_EQ(r.revisions[0].actor, "controller");
  EXPECT_EQ(*r.cohorts[0].expected_redemption_rate, *Rate::Parse("0.97"));
  ExpectBalanced(r);
  // 2025 is not restated: its report is the same as before the revision.
  EXPECT_EQ(Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z").revenue, Eur(410'959));
}

TEST_F(RevenueTest, RevisionDownwards) {
  Buy("sale", "2025-03-01T10:00:00Z", 10'000'000);
  Spend("spend-1", "2025-09-01T10:00:00Z", 4'500);
  Spend("spend-2", "2026-04-01T10:00:00Z", 4'000);
  Revise("lower", "2026-06-30T00:00:00Z", "0.90");
  RevenueReport r = Report("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
  // New: 867,580 x 8,500 / 9,000 = 819,381.11... -> 819,381; catch-up
  // 819,381 - 776,256 = 43,125; revenue 365,297 + 43,125 = 408,422;
  // closing 867,580 - 819,381 = 48,199.
  EXPECT_EQ(r.total.catch_up, Eur(43'125));
  EXPECT_EQ(r.revenue, Eur(408'422));
  EXPECT_EQ(r.total.closing, Eur(48'199));
  ExpectBalanced(r);
}

TEST_F(RevenueTest, CohortCompletedRecognisesTheRest) {
  Buy("sale", "2025-03-01T10:00:00Z", 1'000'000);  // 1,000 points
  Spend("spend", "2025-09-01T10:00:00Z", 1'000);
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  // SSP 1,000 x 1.00 x 0.95 = 950; allocated 10,000 x 950 / 10,950 = 867.5799... -> 867.58.
  // 1,000 redeemed >= 950 expected: the formula caps at 867.58, nothing left.
  EXPECT_EQ(r.total.deferred, Eur(86'758));
  EXPECT_EQ(r.revenue, Eur(86'758));
  EXPECT_EQ(r.total.closing, Eur(0));
  EXPECT_EQ(r.total.on_redemption, Eur(86'758));
  EXPECT_EQ(r.total.breakage, Eur(0));
}

// The accrual's command released a lapsed hold first, so the command is
// recorded on that release: the sale's price is still found.
TEST_F(RevenueTest, AnAccrualAfterALapsedHoldIsAllocated) {
  Buy("first", "2025-03-01T10:00:00Z", 1'000'000);  // 867.58, as above
  Run(PlaceHold{.idempotency_key = "hold", .member = Id("M1"), .at = At("2025-03-02T10:00:00Z"),
                .amount = Points(100), .ttl = absl::Hours(1)});
  Buy("second", "2025-03-05T10:00:00Z", 1'000'000);
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  EXPECT_EQ(r.total.deferred, Eur(2 * 86'758));
  EXPECT_EQ(r.not_deferred, Points(0));
}

TEST_F(RevenueTest, ReturnTakesBackItsShare) {
  uint64_t credit = Buy("sale", "2025-03-01T10:00:00Z", 1'000'000);  // 1,000 points, 867.58
  Run(ReverseEarn{.idempotency_key = "return-part", .member = Id("M1"), .at = At("2025-04-01T00:00:00Z"),
                  .credit = credit, .amount = Points(300)});
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  // 86,758 x 300 / 1,000 = 26,027.4 -> 26,027 taken back; 60,731 left for 700 points.
  EXPECT_EQ(r.total.reversed, Eur(26'027));
  EXPECT_EQ(r.total.closing, Eur(60'731));
  EXPECT_EQ(r.total.issued, Points(700));
  Run(ReverseEarn{.idempotency_key = "return-rest", .member = Id("M1"), .at = At("2025-05-01T00:00:00Z"),
                  .credit = credit, .amount = Points(700)});
  // The last reversal takes exactly what is left.
  r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  EXPECT_EQ(r.total.reversed, Eur(86'758));
  EXPECT_EQ(r.total.closing, Eur(0));
  EXPECT_EQ(r.revenue, Eur(0));
  ExpectBalanced(r);
}

TEST_F(RevenueTest, PartnersAndNamedSourcesDeferTheirFunding) {
  Run(Credit{.idempotency_key = "fuel", .member = Id("M1"), .at = At("2025-02-01T00:00:00Z"),
             .amount = Points(500), .source = "fill-up", .partner = "fuel"});
  Run(Credit{.idempotency_key = "card", .member = Id("M1"), .at = At("2025-02-02T00:00:00Z"),
             .amount = Points(1'000), .source = "cobrand card"});
  Run(Credit{.idempotency_key = "sorry", .member = Id("M1"), .at = At("2025-02-03T00:00:00Z"),
             .amount = Points(200), .source = "goodwill"});
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  // Fuel: 500 x 0.02 = 10.00; card: 1,000 x 0.008 = 8.00; goodwill: 0.
  EXPECT_EQ(r.total.deferred, Eur(1'800));
  EXPECT_EQ(r.not_deferred, Points(200));
  ASSERT_EQ(r.partners.size(), 1u);
  EXPECT_EQ(r.partners[0].partner, "fuel");
  EXPECT_EQ(r.partners[0].deferred, Eur(1'000));
  ExpectBalanced(r);
  EXPECT_EQ(r.ledger[0].account, "Receivable - points sold");
  EXPECT_EQ(r.ledger[0].partner, "fuel");
}

TEST_F(RevenueTest, CsvHasAHeaderAndOneRowPerLine) {
  Buy("sale", "2025-03-01T10:00:00Z", 10'000'000);
  Spend("spend-1", "2025-09-01T10:00:00Z", 4'500);
  RevenueReport r = Report("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
  std::string csv = LedgerCsv(r);
  EXPECT_EQ(csv.rfind("date,account,debit,credit,currency,cohort,partner,memo,seqs\r\n", 0), 0u);
  EXPECT_NE(csv.find("2025-03-01,Revenue - sales,8675.80,0.00,EUR,2025,,"), std::string::npos) << csv;
  size_t rows = 0;
  for (char c : csv) rows += c == '\n';
  EXPECT_EQ(rows, r.ledger.size() + 1);
}

TEST_F(RevenueTest, RevisionIsIdempotentAndValidated) {
  EstimateRevision revision{.idempotency_key = "r", .effective_from = At("2025-06-01T00:00:00Z"),
                            .expected_redemption_rate = *Rate::Parse("0.9"), .actor = "cfo"};
  auto first = engine_->ReviseEstimate(revision);
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = engine_->ReviseEstimate(revision);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->seq(), first->seq());
  revision.expected_redemption_rate = *Rate::Parse("0.8");
  EXPECT_EQ(engine_->ReviseEstimate(revision).status().code(), absl::StatusCode::kAlreadyExists);
  revision.idempotency_key = "r2";
  revision.expected_redemption_rate = *Rate::Parse("1.5");
  auto too_high = engine_->ReviseEstimate(revision);
  EXPECT_EQ(too_high.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_high.status().message().find("expected_redemption_rate"), std::string::npos);
  revision.expected_redemption_rate = *Rate::Parse("0");
  EXPECT_EQ(engine_->ReviseEstimate(revision).status().code(), absl::StatusCode::kInvalidArgument);
  revision.expected_redemption_rate = *Rate::Parse("0.9");
  revision.actor = "";
  EXPECT_EQ(engine_->ReviseEstimate(revision).status().code(), absl::StatusCode::kInvalidArgument);
  revision.actor = "cfo";
  revision.cohort = 10'000;
  EXPECT_EQ(engine_->ReviseEstimate(revision).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Revenue, RefusesAProgramWithoutAccounting) {
  auto program = Program::Create("plain", "UTC", {});
  ASSERT_TRUE(program.ok());
  auto store = NewMemoryStore();
  auto report = RecogniseRevenue(*store, *program, {.from = At("2025-01-01T00:00:00Z"), .to = At("2026-01-01T00:00:00Z")});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("accounting"), std::string::npos);
}

TEST(Revenue, RefusesAPeriodEndingBeforeItStarts) {
  auto program = ParseProgram(kProgram);
  ASSERT_TRUE(program.ok());
  auto store = NewMemoryStore();
  auto report = RecogniseRevenue(*store, *program, {.from = At("2026-01-01T00:00:00Z"), .to = At("2025-01-01T00:00:00Z")});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Revenue, ProgramRefusesAnEstimateOutsideZeroToOne) {
  std::string text = kProgram;
  text.replace(text.find("\"0.95\""), 6, "\"1.2\"");
  auto program = ParseProgram(text);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.status().message().find("versions[0].accounting.expected_redemption_rate"), std::string::npos)
      << program.status();
}

}  // namespace
}  // namespace loyalty
