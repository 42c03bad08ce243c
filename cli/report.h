// What `loyalty run` produces: the typed results of every report a scenario
// asks for, the outcome of every step, and the journal's fingerprint, kept
// in one place so that each renderer (text tables, JSON, and the HTML page
// `run --html` writes) reads the same data.
#ifndef LOYALTY_CLI_REPORT_H_
#define LOYALTY_CLI_REPORT_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "loyalty/audit.h"
#include "loyalty/distribution.h"
#include "loyalty/ledger.h"
#include "member_figures.h"
#include "nlohmann/json.hpp"

namespace loyalty::cli {

using Json = nlohmann::ordered_json;

// The version of the JSON documents the commands print with --json, in
// their "format" field ("loyalty.run/2"; docs/json-output.md). Version 1
// was the output before the field existed.
inline constexpr int kJsonFormatVersion = 2;

// One member's balance and status at the end of the run.
struct BalanceRow {
  MemberId member;
  MemberFigures figures;
};
struct BalancesResult {
  std::vector<BalanceRow> rows;
};
struct ImpactResult {
  std::string basis;  // "population mm-members-2010 (synthetic)" or "journal members as of ..."
  DevaluationImpact impact;
  // For the HTML page's charts: the balances and the awards they buy.
  BalanceDistribution balances{};
  AwardsAffordable affordable{};
};

// SettlePartners over [from, to): one row per partner, ascending id.
struct SettlementResult {
  Instant from;
  Instant to;
  std::vector<PartnerSettlement> partners;
};

struct ReportSection {
  std::string where;  // "reports[2]"
  std::string title;
  std::variant<BalancesResult, Statement, ImpactResult, NoticeReport, LiabilityRollForward, SettlementResult,
               RevenueReport>
      result;
};

struct StepOutcome {
  std::string where;
  Instant at;
  std::string action{};  // "accrue", "hold", ...
  std::string member{};  // empty for program-wide steps
  std::string partner; // the partner whose handle ran the step; empty for the operator
  std::string outcome{};  // for people: "entry 12, +1,200", "refused as expected: ...", ...
  Json result{};          // for programs: the outcome's JSON form (step_json.h)
};

struct RunReport {
  std::string scenario;
  std::string title;
  std::string description;
  std::vector<StepOutcome> steps{};
  std::vector<ReportSection> sections{};
  uint64_t journal_entries = 0;
  std::string journal_head{};
  std::string state_digest{};
  std::vector<std::string> failures{};  // expectations not met, one line each
};

// JSON forms, with a fixed key order (docs/json-output.md). Points are
// integers, exact ratios decimal strings, money {"amount": "0.46",
// "currency": "EUR"}; what is absent is null.
Json ToJson(const Money& money);
// Whether `value` is the JSON form of money, and that money as text
// ("0.46 EUR").
bool IsMoney(const Json& value);
std::string MoneyText(const Json& money);
Json ToJson(const MemberBalance& balance);
Json ToJson(const PartnerSettlement& row);
Json ToJson(const ReportSection& section);
Json ToJson(const RunReport& report);  // a whole document, with its "format"
Json ToJson(const JournalVerification& verification);

// The document a command prints with --json: "format":
// "loyalty.<command>/<kJsonFormatVersion>", then the fields of `body`.
Json Document(absl::string_view command, const Json& body);

// The run's steps as its text timeline shows them: one row per step with
// its outcome in words (StepOutcome::outcome).
Json TimelineRows(const RunReport& report);

// A person's view of a JSON document: scalars as aligned "key  value"
// lines, arrays of objects as aligned tables with a header row, nested
// objects as indented blocks. Money reads "0.46 EUR", null "-"; the
// document's "format" is left out.
std::string ToText(const Json& document);

// "887,000".
std::string Grouped(int64_t value);

// A decimal figure of the JSON output with its thousands grouped, for text
// output only: "1885714.29" -> "1,885,714.29", "-942857142.86 EUR" ->
// "-942,857,142.86 EUR", "887000 JPY" -> "887,000 JPY". Any other text, a
// bare digit string ("2011", an id) included, is returned unchanged.
std::string GroupedDecimal(const std::string& text);

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_REPORT_H_
