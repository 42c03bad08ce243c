// Scenario files: a program history, members, a timeline of commands, synthetic
// populations and the reports wanted, read from JSON (docs/scenario-format.md).
// A scenario is the unit the `loyalty run` command executes; this header only
// describes and loads it (the io part), running it is the command line's job.
//
//   auto scenario = LoadScenarioFile("examples/airline-2011/scenario.json");
//   if (!scenario.ok()) {
//     std::cerr << scenario.status().message() << "\n";  // every problem, one per line
//   }
//   for (const ScenarioStep& step : scenario->timeline) { ... }  // in time order
//
// Validation is complete, not first-error: InvalidArgument whose message lists
// every problem, one per line, as `<json path>: <reason>`, for example
//
//   timeline[4].capture.hold: "award-9" names no earlier step
//   program.versions[1].redemption.award_chart[0].price: expected an integer, got a string
//
// Program versions given by file are loaded with LoadProgramFile's rules and
// their problems carry the scenario path of the reference and the file's own
// path. Amounts are never JSON floating-point numbers: points are integers,
// rates and money decimal strings.
//
// Thread safety: the functions keep no state and may be called concurrently.
#ifndef LOYALTY_SCENARIO_H_
#define LOYALTY_SCENARIO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/audit.h"
#include "loyalty/command.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// One figure a step or report must produce: the value at `path` (dotted keys
// into the JSON form of the result, e.g. "available" or
// "whole_awards.before") must equal `json`, the expected value as canonical
// JSON text ("887000", "\"1885714.29\"").
struct Expectation {
  std::string path;
  std::string json;
  std::string where;  // the scenario path of the expectation, for messages
  // On a step that concerns every member (run_expiry, close_period): the
  // member whose figures `path` names. Empty on a member's command (its
  // own member) and on a report.
  std::string member{};
};

// Timeline actions besides the engine's commands.
struct RunExpiryStep {};    // Engine::RunExpiry as of the step's time
struct ClosePeriodStep {};  // Engine::ClosePeriod as of the step's time
struct PublishStep {        // the version becomes known to the engine
  std::string version;
};
// SettlePartners over [from, to) for `partner` ("" = every partner), or,
// when the step runs at a partner, PartnerHandle::Settlement (which refuses
// another partner's settlement).
struct SettlementStep {
  Instant from;
  Instant to;
  std::string partner;
};

// Engine::ReviseEstimate from the step's time, under the step's key.
struct EstimateStep {
  EstimateRevision revision;
};

struct ScenarioStep {
  std::string where;  // "timeline[3]" or "members[0]" (an enrolment)
  std::string name;   // optional handle that later steps refer to
  Instant at;
  std::string key;    // idempotency key ("<scenario id>/<where>" unless given)
  // The coalition partner at which the step happens: a command or a
  // settlement runs through Engine::ForPartner(partner), under the handle's
  // rules; empty: through the engine, as the operator.
  std::string partner;
  std::variant<Command, RunExpiryStep, ClosePeriodStep, PublishStep, SettlementStep, EstimateStep> action;
  // The index in `timeline` of the earlier step whose receipt's first entry
  // fills the command's reference (CaptureHold::hold, ReleaseHold::hold,
  // RedeemReward::quote, HoldReward::quote, ReturnLines::credit,
  // ReverseEarn::credit, ReverseDebit::debit).
  std::optional<size_t> refers_to;
  // The canonical code name the command must fail with ("FAILED_PRECONDITION"),
  // to show a refusal; empty: it must succeed.
  std::string expect_error;
  // With expect_error: a text the error's message must contain ("" = any).
  std::string expect_error_message;
  // The member's figures after the step (each Expectation::member's, on a
  // run_expiry or close_period step).
  std::vector<Expectation> expect;
};

struct ScenarioPopulation {
  std::string name;
  SyntheticPopulation population;
};

// The reports a scenario asks for, in the order asked.
struct BalancesWanted {
  std::vector<MemberId> members;  // empty: every member of the journal
};
struct StatementWanted {
  MemberId member;
  std::optional<Instant> from;  // unset: from the first entry
  std::optional<Instant> to;    // unset: to the end
};
struct ImpactWanted {
  std::string version_before;
  std::string version_after;
  std::string reward;
  std::string population;  // a ScenarioPopulation's name; empty: the journal's members as of the change
  ImpactOptions options;   // as_of defaults to the new version's effective_from
  bool as_of_given = false;
};
struct NoticeWanted {
  NoticeOptions options;
};
struct LiabilityWanted {
  LiabilityOptions options;
};
struct RevenueWanted {  // RecogniseRevenue over [from, to)
  RevenueOptions options;
};
struct SettlementWanted {  // SettlePartners over [from, to)
  Instant from;
  Instant to;
  std::string partner;  // empty: every partner of the program
};

struct ScenarioReport {
  std::string where;  // "reports[2]"
  std::string title;  // optional heading
  std::variant<BalancesWanted, StatementWanted, ImpactWanted, NoticeWanted, LiabilityWanted, SettlementWanted,
               RevenueWanted>
      what;
  std::vector<Expectation> expect;
};

struct Scenario {
  std::string id;
  std::string title;
  std::string description;
  Program program;  // every version of the scenario
  // Ids of the versions the engine starts with: those no step publishes.
  std::vector<std::string> initially_published;
  std::vector<ScenarioStep> timeline;  // members' enrolments first, then in time order
  std::vector<ScenarioPopulation> populations;
  std::vector<ScenarioReport> reports;
};

// Parses a scenario document. Relative program file paths are resolved
// against `base_directory` ("" = the working directory). InvalidArgument
// listing every problem with its JSON path: malformed JSON, unknown or
// duplicate fields, missing or mistyped values, a timeline out of time order,
// references to unknown steps, members, versions, partners or populations,
// a period whose end is before its start, versions
// published out of order; the program's own problems as ParseProgram reports
// them, under `program.versions[i]`. A program file that cannot be read is
// reported as a problem naming the file. Also refused: a population that
// SyntheticBalances would refuse (CheckSyntheticPopulation: more than
// kMaxSyntheticMembers members, sigma above 10, ...), and a document, or a
// program file, nested more than 64 arrays and objects deep (named with
// the line and column), before it is parsed. ResourceExhausted if memory
// runs out while loading.
absl::StatusOr<Scenario> ParseScenario(absl::string_view json_text, const std::string& base_directory);

// Reads and parses the scenario at `path`, resolving program files against
// its directory. The error of a file that cannot be read carries the
// canonical code of its errno and names the path; InvalidArgument messages
// prefix every line with `<path>: `.
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);

}  // namespace loyalty

#endif  // LOYALTY_SCENARIO_H_
