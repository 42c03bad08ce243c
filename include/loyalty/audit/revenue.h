// Revenue accounting for points (IFRS 15 / ASC 606), from the journal
// alone: the part of each sale's price allocated to the points it issued,
// deferred as a contract liability and recognised as points are redeemed,
// with expected breakage, revised estimates as cumulative catch-ups, and a
// general-ledger export. Part of the audit (loyalty/audit.h); the method,
// with a worked example, is in docs/revenue.md.
//
//   auto report = RecogniseRevenue(store, program, {.from = y2025, .to = y2026});
//   report->revenue;                    // recognised in 2025
//   report->total.closing;              // the contract liability at its end
//   for (const LedgerLine& line : report->ledger) { ... }  // debits == credits
#ifndef LOYALTY_AUDIT_REVENUE_H_
#define LOYALTY_AUDIT_REVENUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

struct RevenueOptions {
  Instant from;  // the period is [from, to), by business time
  Instant to;
  // The key of a keyed journal, to verify its chain with (store.h).
  std::optional<std::string> journal_key{};
};

// The contract liability of one earning cohort (the points earned in one
// calendar year, program zone), or of all of them, over the period:
// closing = opening + deferred - reversed - on_redemption - breakage
//           - catch_up - completion, exactly, in minor units.
struct CohortRevenue {
  int cohort = 0;  // the year; 0 for the total
  // Points that entered the cohort's lots (less those taken back), were
  // redeemed (net of reversed redemptions) and expired, through the
  // period's end, and what is left: issued - redeemed - expired.
  Points issued, redeemed, expired, outstanding;
  Points redeemed_in_period;
  // The estimate in force at the period's end (none for the total), and
  // the journal's own history through then, redeemed / (redeemed +
  // expired), offered beside it and never applied (none before any point
  // left the cohort).
  std::optional<Rate> expected_redemption_rate;
  std::optional<Fraction> suggested_redemption_rate;
  Money opening{0, *Currency::FromCode("EUR")};
  Money deferred{0, *Currency::FromCode("EUR")};       // allocated to points issued in the period
  Money reversed{0, *Currency::FromCode("EUR")};       // allocation taken back by returns and reversals
  Money on_redemption{0, *Currency::FromCode("EUR")};  // points redeemed x allocated / issued
  Money breakage{0, *Currency::FromCode("EUR")};       // the rest of the revenue at the old estimate
  Money catch_up{0, *Currency::FromCode("EUR")};       // of the estimates revised in the period
  Money completion{0, *Currency::FromCode("EUR")};     // what remained when no point was left
  Money closing{0, *Currency::FromCode("EUR")};
  Money allocated{0, *Currency::FromCode("EUR")};   // in total, through the period's end
  Money recognised{0, *Currency::FromCode("EUR")};  // in total, through the period's end
};

// Points issued at a coalition partner in the period: the partner
// recognises its sale; the operator defers what the partner funds.
struct PartnerRevenue {
  std::string partner;
  Points issued;
  Money deferred{0, *Currency::FromCode("EUR")};
};

// A revised estimate (Engine::ReviseEstimate) effective in the period.
struct EstimateChange {
  uint64_t seq = 0;
  Instant effective_from;
  int cohort = 0;  // 0: every cohort
  Rate expected_redemption_rate = *Rate::Parse("1");
  std::string actor;
  std::string reason;
};

// A general-ledger journal line. Exactly one of debit and credit is
// non-zero; the lines of a report balance.
struct LedgerLine {
  Date date;  // program zone
  std::string account;
  Money debit{0, *Currency::FromCode("EUR")};
  Money credit{0, *Currency::FromCode("EUR")};
  int cohort = 0;
  std::string partner;
  std::string memo;
  std::string seqs;  // the journal entries it comes from: "3,5-9,12"
};

struct RevenueReport {
  Instant from;
  Instant to;
  Currency currency = *Currency::FromCode("EUR");
  std::vector<CohortRevenue> cohorts;  // ascending; cohorts with nothing through the period's end left out
  CohortRevenue total;                 // the sum of the cohorts' lines
  Money revenue{0, *Currency::FromCode("EUR")};  // recognised in the period
  Points not_deferred;  // issued in the period with nothing allocated (goodwill, unpriced, unnamed source)
  std::vector<PartnerRevenue> partners;   // by id
  std::vector<EstimateChange> revisions;  // effective in the period, in journal order
  std::vector<LedgerLine> ledger;         // by date, then as generated
};

// Reads the journal (verifying its chain and every entry, as RollForward
// does) and accounts for the points as revenue over [from, to) under the
// program's `accounting` sections:
//   * allocation: each credit, when it is journaled, is allocated
//     price x SSP / (price + SSP), SSP = points x standalone value per point
//     x expected redemption rate (the deciding version's section, the rate
//     in force then), rounded half-even to the minor unit once: that is the
//     amount its sale books. A credit at a partner defers points x the
//     partner's funding per point; a raw credit its source's rate; others
//     nothing.
//   * recognition, per cohort: cumulative = allocated x redeemed / (issued
//     x expected redemption rate), at most allocated, and all of it once no
//     point is left; rounded half-even once per cohort and date. The
//     period recognises the cumulative at its end less the one at its
//     start; revising an estimate moves only the end (the catch-up).
//   * a reversal takes back its share of the credit's allocation, in
//     proportion to points (the last takes what is left), rounded half-even.
// Estimates in force at an instant: the latest of the versions' sections
// (effective from their effective_from) and revised estimates (from their
// business time) effective at or before it; a revision wins a tie.
// Errors: InvalidArgument if from > to; FailedPrecondition if no version
// has an accounting section, or naming the entry whose partner its version
// does not define; DataLoss as RollForward; OutOfRange on overflow.
absl::StatusOr<RevenueReport> RecogniseRevenue(const Store& store, const Program& program,
                                               const RevenueOptions& options);

// The general-ledger lines as CSV (RFC 4180, a header line first): date,
// account, debit, credit, currency, cohort, partner, memo, seqs.
std::string LedgerCsv(const RevenueReport& report);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_REVENUE_H_
