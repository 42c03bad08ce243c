// The revenue report: the contract liability roll-forward by cohort from
// the revenue fold, and its general-ledger lines.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/revenue_fold.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/revenue.h"
#include "loyalty/check.h"
#include "store/chain_check.h"

namespace loyalty {
namespace {

using internal::CohortFold;
using internal::CohortTotals;

// Cumulative revenue by the formula: allocated x redeemed / (issued x
// rate), at most allocated; all of it when nothing was issued. nullopt on
// overflow.
std::optional<Int128> ByRedemptions(const CohortTotals& t, const Rate& rate) {
  if (t.allocated == 0) return 0;
  if (t.issued <= 0) return t.allocated;
  const Int128 redeemed = std::max<Int128>(t.redeemed, 0);
  Int128 scaled_redeemed, expected, numerator;
  if (__builtin_mul_overflow(redeemed, PowerOfTen(rate.scale()), &scaled_redeemed) ||
      __builtin_mul_overflow(t.issued, static_cast<Int128>(rate.mantissa()), &expected)) {
    return std::nullopt;
  }
  if (scaled_redeemed >= expected) return t.allocated;
  if (__builtin_mul_overflow(t.allocated, scaled_redeemed, &numerator)) return std::nullopt;
  return DivideRounded(numerator, expected, Rounding::kHalfEven);
}

// No point of the cohort is left to deliver.
bool Finished(const CohortTotals& t) { return t.issued - t.redeemed - t.expired <= 0; }

// Minor units in the report's lines, Int128 until narrowed.
struct Lines {
  Int128 opening = 0, deferred = 0, reversed = 0, on_redemption = 0, breakage = 0, catch_up = 0, completion = 0,
         closing = 0, allocated = 0, recognised = 0;
  Int128 issued = 0, redeemed = 0, expired = 0, redeemed_in_period = 0;
};

// The last instant before `at` (the first for the first).
Instant JustBefore(Instant at) { return at == Instant::Min() ? at : Instant::FromUnixMicros(at.unix_micros() - 1); }

absl::StatusOr<Lines> LinesOf(int cohort, const CohortFold& fold, const internal::RevenueFold& revenue,
                              const RevenueOptions& options) {
  const Instant before_from = JustBefore(options.from);
  const Instant before_to = JustBefore(options.to);
  const Rate old_rate = revenue.RateAt(cohort, before_from);
  const Rate new_rate = revenue.RateAt(cohort, before_to);
  const CohortTotals& start = fold.before_from;
  const CohortTotals& end = fold.before_to;
  auto start_formula = ByRedemptions(start, old_rate);
  auto old_formula = ByRedemptions(end, old_rate);
  auto new_formula = ByRedemptions(end, new_rate);
  if (!start_formula || !old_formula || !new_formula) {
    return absl::OutOfRangeError(absl::StrCat("the revenue of cohort ", cohort, " overflows"));
  }
  const Int128 at_start = Finished(start) ? start.allocated : *start_formula;
  const Int128 at_end = Finished(end) ? end.allocated : *new_formula;
  Lines l;
  l.opening = start.allocated - at_start;
  l.deferred = fold.deferred;
  l.reversed = fold.reversed;
  l.catch_up = *new_formula - *old_formula;
  l.completion = at_end - *new_formula;
  l.on_redemption = end.issued > 0 ? DivideRounded(fold.redeemed_in_period * end.allocated, end.issued,
                                                   Rounding::kHalfEven)
                                   : 0;
  l.breakage = (*old_formula - at_start) - l.on_redemption;
  l.closing = end.allocated - at_end;
  l.allocated = end.allocated;
  l.recognised = at_end;
  l.issued = end.issued;
  l.redeemed = end.redeemed;
  l.expired = end.expired;
  l.redeemed_in_period = fold.redeemed_in_period;
  LOYALTY_CHECK(l.closing == l.opening + l.deferred - l.reversed - l.on_redemption - l.breakage - l.catch_up -
                                 l.completion);
  return l;
}

void AddLines(Lines& sum, const Lines& l) {
  for (Int128 Lines::*field : {&Lines::opening, &Lines::deferred, &Lines::reversed, &Lines::on_redemption,
                               &Lines::breakage, &Lines::catch_up, &Lines::completion, &Lines::closing,
                               &Lines::allocated, &Lines::recognised, &Lines::issued, &Lines::redeemed,
                               &Lines::expired, &Lines::redeemed_in_period}) {
    sum.*field += l.*field;
  }
}

// Narrows to the report's types; OutOfRange naming the line.
class Narrow {
 public:
  explicit Narrow(Currency currency) : currency_(currency) {}
  Money ToMoney(Int128 minor, absl::string_view what) {
    if (!Fits(minor)) Fail(what);
    return Money(Fits(minor) ? static_cast<int64_t>(minor) : 0, currency_);
  }
  Points ToPoints(Int128 points, absl::string_view what) {
    if (!Fits(points)) Fail(what);
    return Points(Fits(points) ? static_cast<int64_t>(points) : 0);
  }
  const absl::Status& status() const { return status_; }

 private:
  static bool Fits(Int128 v) { return v <= INT64_MAX && v >= INT64_MIN; }
  void Fail(absl::string_view what) {
    if (status_.ok()) status_ = absl::OutOfRangeError(absl::StrCat(what, " overflows"));
  }
  Currency currency_;
  absl::Status status_;
};

CohortRevenue Narrowed(int cohort, const Lines& l, Narrow& n) {
  CohortRevenue r;
  r.cohort = cohort;
  r.issued = n.ToPoints(l.issued, "issued");
  r.redeemed = n.ToPoints(l.redeemed, "redeemed");
  r.expired = n.ToPoints(l.expired, "expired");
  r.outstanding = n.ToPoints(l.issued - l.redeemed - l.expired, "outstanding");
  r.redeemed_in_period = n.ToPoints(l.redeemed_in_period, "redeemed");
  r.opening = n.ToMoney(l.opening, "opening");
  r.deferred = n.ToMoney(l.deferred, "deferred");
  r.reversed = n.ToMoney(l.reversed, "reversed");
  r.on_redemption = n.ToMoney(l.on_redemption, "on_redemption");
  r.breakage = n.ToMoney(l.breakage, "breakage");
  r.catch_up = n.ToMoney(l.catch_up, "catch_up");
  r.completion = n.ToMoney(l.completion, "completion");
  r.closing = n.ToMoney(l.closing, "closing");
  r.allocated = n.ToMoney(l.allocated, "allocated");
  r.recognised = n.ToMoney(l.recognised, "recognised");
  const Int128 left = std::max<Int128>(l.redeemed, 0) + l.expired;
  if (left > 0) r.suggested_redemption_rate = Fraction{std::max<Int128>(l.redeemed, 0), left};
  return r;
}

// "3,5-9,12" of ascending seqs.
std::string SeqRanges(std::vector<uint64_t> seqs) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::vector<std::string> parts;
  for (size_t i = 0; i < seqs.size();) {
    size_t j = i;
    while (j + 1 < seqs.size() && seqs[j + 1] == seqs[j] + 1) ++j;
    parts.push_back(j == i ? absl::StrCat(seqs[i]) : absl::StrCat(seqs[i], "-", seqs[j]));
    i = j + 1;
  }
  return absl::StrJoin(parts, ",");
}

// Appends a balanced pair: `amount` from `debit` to `credit` (swapped if
// negative); nothing if zero.
void Pair(std::vector<LedgerLine>& ledger, const LedgerLine& base, const std::string& debit,
          const std::string& credit, const Money& amount) {
  if (amount.minor_units() == 0) return;
  const bool forward = amount.minor_units() > 0;
  const Money magnitude(forward ? amount.minor_units() : -amount.minor_units(), amount.currency());
  LedgerLine line = base;
  line.account = forward ? debit : credit;
  line.debit = magnitude;
  line.credit = Money(0, amount.currency());
  ledger.push_back(line);
  line.account = forward ? credit : debit;
  line.debit = Money(0, amount.currency());
  line.credit = magnitude;
  ledger.push_back(std::move(line));
}

const LedgerAccounts& AccountsAt(const Program& program, Instant at) {
  const ProgramVersion& version = program.InForceJustBefore(at);
  if (version.accounting) return version.accounting->accounts;
  for (const auto& v : program.versions()) {
    if (v->accounting) return v->accounting->accounts;
  }
  static const LedgerAccounts kDefault;
  return kDefault;
}

void PostDeferrals(const internal::RevenueFold& fold, const LedgerAccounts& accounts, RevenueReport& report,
                   Narrow& n) {
  for (const auto& [key, posting] : fold.postings()) {
    LedgerLine base;
    base.date = Date::FromDaysSinceEpoch(key.day);
    base.cohort = key.cohort;
    base.partner = key.partner;
    base.seqs = SeqRanges(posting.seqs);
    const std::string& source = key.funded ? accounts.funding_receivable : accounts.sales_revenue;
    Money amount = n.ToMoney(posting.amount, "a ledger line");
    if (key.reversal) {
      base.memo = "allocation taken back by returns and reversals";
      Pair(report.ledger, base, accounts.contract_liability, source, amount);
    } else {
      base.memo = key.funded ? "points funded, deferred" : "sale price allocated to points issued, deferred";
      Pair(report.ledger, base, source, accounts.contract_liability, amount);
    }
  }
}

void PostRecognition(const RevenueReport& report, const std::map<int, CohortFold>& cohorts,
                     const LedgerAccounts& accounts, const TimeZone& zone, std::vector<LedgerLine>& ledger) {
  const Date day = zone.LocalDate(JustBefore(std::clamp(report.to, FirstBusinessTime(), EndOfBusinessTime())));
  for (const CohortRevenue& c : report.cohorts) {
    LedgerLine base;
    base.date = day;
    base.cohort = c.cohort;
    auto it = cohorts.find(c.cohort);
    const std::string redemptions = it == cohorts.end() ? "" : SeqRanges(it->second.period_seqs);
    base.seqs = redemptions;
    base.memo = "revenue on points redeemed";
    Pair(ledger, base, accounts.contract_liability, accounts.redemption_revenue, c.on_redemption);
    base.memo = "breakage, in proportion to redemptions";
    Pair(ledger, base, accounts.contract_liability, accounts.breakage_revenue, c.breakage);
    std::vector<uint64_t> revisions;
    for (const EstimateChange& change : report.revisions) {
      if (change.cohort == 0 || change.cohort == c.cohort) revisions.push_back(change.seq);
    }
    base.seqs = SeqRanges(revisions);
    base.memo = "cumulative catch-up of a revised estimate";
    Pair(ledger, base, accounts.contract_liability, accounts.estimate_change, c.catch_up);
    base.seqs = redemptions;
    base.memo = "cohort completed: no point left";
    Pair(ledger, base, accounts.contract_liability, accounts.breakage_revenue, c.completion);
  }
}

absl::Status CheckOptions(const Program& program, const RevenueOptions& options) {
  if (options.from > options.to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: ", options.from.ToString(), " is after to: ", options.to.ToString()));
  }
  for (const auto& version : program.versions()) {
    if (version->accounting) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "no version of the program has an accounting section: revenue needs the stand-alone value per point and "
      "the expected redemption rate (docs/revenue.md)");
}

// Folds the verified journal.
absl::Status FoldJournal(const Store& store, const RevenueOptions& options, internal::RevenueFold& fold) {
  auto chain = internal::Chain::For(options.journal_key);
  if (!chain.ok()) return chain.status();
  internal::JournalProjection journal({.links = store.KeepsMemberLinks()});
  absl::Status failed;
  internal::ChainCheck check = internal::CheckChain(store, *chain, [&](const Entry& entry) {
    if (!failed.ok()) return;
    const MemberState* member = internal::IsProgramEntry(entry) ? nullptr : journal.Find(entry.member);
    // The fold reads the member as it is before the entry; an entry that
    // does not fit is reported as such rather than as what the fold made of it.
    absl::Status added = fold.Add(entry, member);
    failed = journal.Admit(entry);
    if (failed.ok()) failed = added;
  });
  if (!failed.ok()) return failed;
  if (check.fault != internal::ChainFault::kNone) return absl::DataLossError(check.detail);
  return journal.Finish();
}

}  // namespace

absl::StatusOr<RevenueReport> RecogniseRevenue(const Store& store, const Program& program,
                                               const RevenueOptions& given) {
  if (absl::Status valid = CheckOptions(program, given); !valid.ok()) return valid;
  // Every entry is dated in the business-time range: bounds beyond it mean
  // the same period, and keep the ledger's dates civil.
  RevenueOptions options = given;
  options.from = std::clamp(given.from, FirstBusinessTime(), EndOfBusinessTime());
  options.to = std::clamp(given.to, FirstBusinessTime(), EndOfBusinessTime());
  internal::RevenueFold fold(program, options);
  if (absl::Status folded = FoldJournal(store, options, fold); !folded.ok()) return folded;
  RevenueReport report;
  report.from = given.from;
  report.to = given.to;
  report.currency = program.versions().front()->currency;
  Narrow n(report.currency);
  Lines total;
  const Instant before_to = JustBefore(options.to);
  for (const auto& [cohort, cohort_fold] : fold.cohorts()) {
    auto lines = LinesOf(cohort, cohort_fold, fold, options);
    if (!lines.ok()) return lines.status();
    AddLines(total, *lines);
    CohortRevenue r = Narrowed(cohort, *lines, n);
    r.expected_redemption_rate = fold.RateAt(cohort, before_to);
    report.cohorts.push_back(std::move(r));
  }
  report.total = Narrowed(0, total, n);
  report.revenue = n.ToMoney(total.on_redemption + total.breakage + total.catch_up + total.completion, "revenue");
  report.not_deferred = n.ToPoints(fold.not_deferred(), "not_deferred");
  for (const auto& [partner, sums] : fold.partners()) {
    report.partners.push_back({partner, n.ToPoints(sums.first, "partner points"), n.ToMoney(sums.second, "deferred")});
  }
  for (const internal::Revision& r : fold.revisions()) {
    if (r.effective >= options.from && r.effective < options.to) report.revisions.push_back(r.change);
  }
  const LedgerAccounts& accounts = AccountsAt(program, options.to);
  PostDeferrals(fold, accounts, report, n);
  PostRecognition(report, fold.cohorts(), accounts, program.zone(), report.ledger);
  std::stable_sort(report.ledger.begin(), report.ledger.end(),
                   [](const LedgerLine& a, const LedgerLine& b) { return a.date < b.date; });
  if (!n.status().ok()) return n.status();
  return report;
}

namespace {

// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// "1234.50", the currency's minor digits.
std::string Amount(const Money& money) {
  return Fraction{money.minor_units(), PowerOfTen(money.currency().exponent())}.ToDecimal(
      money.currency().exponent());
}

}  // namespace

std::string LedgerCsv(const RevenueReport& report) {
  std::string out = "date,account,debit,credit,currency,cohort,partner,memo,seqs\r\n";
  for (const LedgerLine& line : report.ledger) {
    absl::StrAppend(&out, line.date.ToString(), ",", CsvField(line.account), ",", Amount(line.debit), ",",
                    Amount(line.credit), ",", line.debit.currency().code(), ",", line.cohort, ",",
                    CsvField(line.partner), ",", CsvField(line.memo), ",", CsvField(line.seqs), "\r\n");
  }
  return out;
}

}  // namespace loyalty
