// RunScenario (scenario_run.h): the timeline on an engine with a fake clock,
// then the reports through the audit API, then the expected figures.
#include "scenario_run.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "journal_view.h"
#include "loyalty/engine.h"
#include "loyalty/partner.h"
#include "member_figures.h"
#include "step_json.h"

namespace loyalty::cli {
namespace {

constexpr const char* kCommandNames[] = {
    "enroll", "credit", "redeem", "hold", "capture", "release", "reverse_earn", "reverse_debit", "adjust",
    "transfer", "accrue", "return", "quote", "redeem", "hold", "pay_at_till", "set_flag", "close_membership",
    "grant_tier", "subscribe_tier", "cancel_tier_subscription", "send_transfer", "receive_transfer",
    "settle_transfer", "redeem_voucher", "buy_points", "refund_points"};
static_assert(std::size(kCommandNames) == std::variant_size_v<Command>);

// The program made of the first `count` versions of `program`.
absl::StatusOr<Program> Prefix(const Program& program, size_t count) {
  std::vector<ProgramVersion> versions;
  for (size_t i = 0; i < count; ++i) versions.push_back(*program.versions()[i]);
  return Program::FromVersions(std::move(versions));
}

// Sets the command's reference to an earlier step's seq.
void SetReference(Command& command, uint64_t seq) {
  std::visit(
      [&](auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CaptureHold> || std::is_same_v<T, ReleaseHold>) c.hold = seq;
        if constexpr (std::is_same_v<T, RedeemReward> || std::is_same_v<T, HoldReward>) c.quote = seq;
        if constexpr (std::is_same_v<T, ReturnLines> || std::is_same_v<T, ReverseEarn>) c.credit = seq;
        if constexpr (std::is_same_v<T, ReverseDebit>) c.debit = seq;
        if constexpr (std::is_same_v<T, RedeemVoucher>) c.voucher.accrual = seq;
        if constexpr (std::is_same_v<T, RefundPoints>) c.purchase = seq;
      },
      command);
}

// The value at dotted `path` in `document`, or nullptr.
const Json* Find(const Json& document, const std::string& path) {
  const Json* at = &document;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string key(part);
    if (at->is_object() && at->contains(key)) {
      at = &(*at)[key];
    } else if (at->is_array() && !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit) &&
               std::stoul(key) < at->size()) {
      at = &(*at)[std::stoul(key)];
    } else {
      return nullptr;
    }
  }
  return at;
}

// Whether `found` is what `expected` says. Money, {"amount", "currency"}
// in the JSON output, may also be expected as its text, "0.46 EUR".
bool Matches(const Json& found, const Json& expected) {
  if (IsMoney(found) && expected.is_string()) return expected.get<std::string>() == MoneyText(found);
  return found.dump() == expected.dump();
}

// Checks the expectations `expect` against `actual`; those of `member`
// only, if given (a step that concerns every member).
void Check(const std::vector<Expectation>& expect, const Json& actual, std::vector<std::string>& failures,
           const std::string* member = nullptr) {
  for (const Expectation& e : expect) {
    if (member != nullptr && e.member != *member) continue;
    const Json* found = Find(actual, e.path);
    if (found == nullptr) {
      failures.push_back(absl::StrCat(e.where, ": expected ", e.json, ", but the result has no ", e.path));
    } else if (!Matches(*found, Json::parse(e.json))) {
      failures.push_back(absl::StrCat(e.where, ": expected ", e.json, ", got ", found->dump()));
    }
  }
}

// A settlement step: SettlePartners as the operator, or the partner handle's
// own settlement when the step runs at `at_partner`.
absl::StatusOr<std::vector<PartnerSettlement>> Settle(Engine& engine, const SettlementStep& step,
                                                      const std::string& at_partner) {
  if (at_partner.empty()) return SettlePartners(engine.store(), engine.program(), step.from, step.to, step.partner);
  auto handle = engine.ForPartner(at_partner);
  if (!handle.ok()) return handle.status();
  auto own = handle->Settlement(step.from, step.to, step.partner.empty() ? at_partner : step.partner);
  if (!own.ok()) return own.status();
  return std::vector<PartnerSettlement>{*std::move(own)};
}

// "skyways: issued 1,200, redeemed 1,000, net 5.40 EUR; ..."
std::string SettlementOutcome(const std::vector<PartnerSettlement>& rows) {
  std::string out;
  for (const PartnerSettlement& s : rows) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", s.partner, ": issued ", Grouped(s.issued.value()), ", redeemed ",
                    Grouped(s.redeemed.value()), ", net ", s.net.ToString());
  }
  return out.empty() ? "no partners" : out;
}

// The distributions an impact's charts show, over balances or member states.
template <typename Population>
absl::Status Chart(const Transition& transition, Population population, ImpactResult& result) {
  auto balances = BalanceDistributionOf(population);
  if (!balances.ok()) return balances.status();
  auto affordable = AwardsAffordableOf(transition, population);
  if (!affordable.ok()) return affordable.status();
  result.balances = *std::move(balances);
  result.affordable = *std::move(affordable);
  return absl::OkStatus();
}

// The balances report: the members' figures at the end of the journal,
// their qualification period the one in force at the scenario's last step.
absl::StatusOr<BalancesResult> BalancesOf(const Scenario& scenario, const ScenarioReport& wanted,
                                          const BalancesWanted& balances, const Store& store,
                                          const std::optional<std::string>& journal_key) {
  auto replayed = Replay(store, Instant::Max(), journal_key);
  if (!replayed.ok()) return replayed.status();
  const Instant end = scenario.timeline.empty() ? Instant::FromUnixMicros(0) : scenario.timeline.back().at;
  BalancesResult result;
  auto add = [&](const MemberId& id, const MemberState& s) {
    result.rows.push_back({id, FiguresOf(scenario.program, s, end)});
  };
  if (balances.members.empty()) {
    std::vector<MemberId> ids;
    for (const auto& [id, state] : replayed->members) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (const MemberId& id : ids) add(id, replayed->members.at(id));
  }
  for (const MemberId& id : balances.members) {
    auto it = replayed->members.find(id);
    if (it == replayed->members.end()) {
      return absl::NotFoundError(absl::StrCat(wanted.where, ".balances.members: no member ", id.value()));
    }
    add(id, it->second);
  }
  return result;
}

absl::StatusOr<ReportSection> Produce(const Scenario& scenario, const ScenarioReport& wanted, const Store& store,
                                      const std::optional<std::string>& journal_key) {
  ReportSection section{.where = wanted.where, .title = wanted.title, .result = BalancesResult{}};
  const Program& program = scenario.program;
  if (const auto* balances = std::get_if<BalancesWanted>(&wanted.what)) {
    auto result = BalancesOf(scenario, wanted, *balances, store, journal_key);
    if (!result.ok()) return result.status();
    section.result = *std::move(result);
  } else if (const auto* statement = std::get_if<StatementWanted>(&wanted.what)) {
    auto result = StatementOf(store, statement->member, statement->from.value_or(Instant::Min()),
                              statement->to.value_or(Instant::Max()));
    if (!result.ok()) return result.status();
    section.result = *std::move(result);
  } else if (const auto* impact = std::get_if<ImpactWanted>(&wanted.what)) {
    auto transition = TransitionOf(program, impact->version_before, impact->version_after, impact->reward);
    if (!transition.ok()) return transition.status();
    ImpactOptions options = impact->options;
    if (!impact->as_of_given) options.as_of = transition->effective_from;
    ImpactResult result;
    absl::StatusOr<DevaluationImpact> computed;
    if (!impact->population.empty()) {
      const ScenarioPopulation* population = nullptr;
      for (const auto& p : scenario.populations) {
        if (p.name == impact->population) population = &p;
      }
      auto balances = SyntheticBalances(population->population);
      if (!balances.ok()) return balances.status();
      computed = ImpactOfBalances(*transition, *balances, options);
      if (absl::Status charted = Chart(*transition, std::span<const int64_t>(*balances), result); !charted.ok()) {
        return charted;
      }
      result.basis = absl::StrCat("synthetic population ", population->name, ": ",
                                  Grouped(population->population.members), " members, median ",
                                  Grouped(population->population.median.value()), ", sigma ",
                                  population->population.sigma.ToString(), ", total ",
                                  Grouped(population->population.total.value()));
    } else {
      Instant before_change = Instant::FromUnixMicros(transition->effective_from.unix_micros() - 1);
      auto replayed = Replay(store, before_change, journal_key);
      if (!replayed.ok()) return replayed.status();
      std::vector<const MemberState*> states = replayed->States();
      computed = ImpactOnMembers(*transition, states, options);
      if (absl::Status charted = Chart(*transition, std::span<const MemberState* const>(states), result);
          !charted.ok()) {
        return charted;
      }
      result.basis = absl::StrCat("journal members as of ", before_change.ToString());
    }
    if (!computed.ok()) return computed.status();
    result.impact = *std::move(computed);
    section.result = std::move(result);
  } else if (const auto* notice = std::get_if<NoticeWanted>(&wanted.what)) {
    auto result = CheckNotice(program, notice->options);
    if (!result.ok()) return result.status();
    section.result = *std::move(result);
  } else if (const auto* liability = std::get_if<LiabilityWanted>(&wanted.what)) {
    auto result = RollForward(store, program.zone(), liability->options);
    if (!result.ok()) return result.status();
    section.result = *std::move(result);
  } else if (const auto* revenue = std::get_if<RevenueWanted>(&wanted.what)) {
    RevenueOptions options = revenue->options;
    options.journal_key = journal_key;
    auto result = RecogniseRevenue(store, program, options);
    if (!result.ok()) return result.status();
    section.result = *std::move(result);
  } else {
    const auto& settlement = std::get<SettlementWanted>(wanted.what);
    auto rows = SettlePartners(store, program, settlement.from, settlement.to, settlement.partner);
    if (!rows.ok()) return rows.status();
    section.result = SettlementResult{.from = settlement.from, .to = settlement.to, .partners = *std::move(rows)};
  }
  return section;
}

// Opens the run's engine over `journal` with the program's first `published`
// versions, closing the one open before; a publish step reopens it.
absl::Status OpenEngine(const Scenario& scenario, size_t published, Store& journal, const Clock& clock,
                        std::unique_ptr<Engine>& engine) {
  engine.reset();
  auto program = Prefix(scenario.program, published);
  if (!program.ok()) return program.status();
  auto opened = Engine::Open(std::make_unique<JournalView>(journal), clock, *std::move(program));
  if (!opened.ok()) return opened.status();
  engine = *std::move(opened);
  return absl::OkStatus();
}

// A settlement step's rows, which it reads and writes nothing.
using Settled = std::optional<std::vector<PartnerSettlement>>;

// Performs a step other than a publish: a member's command (through the
// step's partner, if it names one), a settlement, expiry or a period close.
// Sets the outcome's action and member; `settled` gets a settlement's
// rows. `first_seq`: the first entry of each earlier step, for references.
absl::StatusOr<Receipt> Perform(Engine& engine, const ScenarioStep& step, const std::vector<uint64_t>& first_seq,
                                StepOutcome& outcome, Settled& settled) {
  if (const auto* command = std::get_if<Command>(&step.action)) {
    Command filled = *command;
    if (step.refers_to) SetReference(filled, first_seq[*step.refers_to]);
    outcome.action = kCommandNames[filled.index()];
    outcome.member = MemberOf(filled).value();
    if (step.partner.empty()) return engine.Execute(filled);
    auto handle = engine.ForPartner(step.partner);
    if (!handle.ok()) return handle.status();
    return handle->Execute(filled);
  }
  if (const auto* settlement = std::get_if<SettlementStep>(&step.action)) {
    outcome.action = "settlement";
    auto rows = Settle(engine, *settlement, step.partner);
    if (!rows.ok()) return rows.status();
    settled = *std::move(rows);
    return Receipt{};
  }
  if (const auto* estimate = std::get_if<EstimateStep>(&step.action)) {
    outcome.action = "estimate";
    return engine.ReviseEstimate(estimate->revision);
  }
  if (std::holds_alternative<RunExpiryStep>(step.action)) {
    outcome.action = "run_expiry";
    return engine.RunExpiry(step.key, step.at);
  }
  outcome.action = "close_period";
  return engine.ClosePeriod(step.key, step.at);
}

// Checks the refusal a step expects (its expect_error) against what it got:
// the step's outcome if they match, else the error that ends the run.
absl::StatusOr<std::string> ExpectedRefusal(const ScenarioStep& step, const absl::StatusOr<Receipt>& receipt) {
  const std::string expected = absl::StrCat(
      step.expect_error,
      step.expect_error_message.empty() ? "" : absl::StrCat(" with \"", step.expect_error_message, "\""));
  if (receipt.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(step.where, ": expected ", expected, ", but the command succeeded"));
  }
  if (absl::StatusCodeToString(receipt.status().code()) != step.expect_error ||
      !absl::StrContains(receipt.status().message(), step.expect_error_message)) {
    return absl::FailedPreconditionError(
        absl::StrCat(step.where, ": expected ", expected, ", got ", receipt.status().ToString()));
  }
  return absl::StrCat("refused as expected: ", receipt.status().ToString());
}

// "entry 12..14, +1,200": the entries a receipt holds and the change of the
// member's available points.
std::string EntriesOutcome(const Receipt& receipt) {
  int64_t change = 0;
  for (const Entry& entry : receipt.entries) change += DeltaOf(entry.body).available.value();
  return absl::StrCat("entry ", receipt.entries.front().seq,
                      receipt.entries.size() > 1 ? absl::StrCat("..", receipt.entries.back().seq) : "",
                      change != 0 ? absl::StrCat(", ", change > 0 ? "+" : "", Grouped(change)) : "");
}

// The outcome shown for a performed step (whose action is `action`), or the
// error that ends the run: a refusal not expected, or an expected one that
// did not come.
absl::StatusOr<std::string> OutcomeOf(const ScenarioStep& step, const std::string& action,
                                      const absl::StatusOr<Receipt>& receipt, const Settled& settled) {
  std::string outcome;
  if (!step.expect_error.empty()) {
    absl::StatusOr<std::string> refused = ExpectedRefusal(step, receipt);
    if (!refused.ok()) return refused.status();
    outcome = *std::move(refused);
  } else if (!receipt.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(step.where, " (", action, "): ", receipt.status().ToString()));
  } else if (settled) {
    outcome = SettlementOutcome(*settled);
  } else if (receipt->entries.empty()) {
    outcome = "nothing due";
  } else {
    outcome = EntriesOutcome(*receipt);
  }
  if (receipt.ok() && receipt->replayed) outcome += " (already in the journal)";
  return outcome;
}

// The members whose figures a step expects: its command's member, or those
// its expectations name (run_expiry, close_period), each once.
std::vector<MemberId> MembersExpected(const ScenarioStep& step) {
  if (const auto* command = std::get_if<Command>(&step.action)) return {MemberOf(*command)};
  std::vector<MemberId> members;
  for (const Expectation& e : step.expect) {
    MemberId member = MemberId::FromValid(e.member);
    if (std::find(members.begin(), members.end(), member) == members.end()) members.push_back(member);
  }
  return members;
}

// Checks the figures a step expects of members against the members after
// the step, as of its time; those that differ go to `failures`. `replayed`:
// the journal already held the step, so the members are replayed as of the
// step, not taken as of the journal's end.
absl::Status CheckStepExpect(const ScenarioStep& step, bool replayed, const Engine& engine, const Store& journal,
                             const std::optional<std::string>& journal_key, std::vector<std::string>& failures) {
  const bool every_member = !std::holds_alternative<Command>(step.action);
  std::optional<ReplayedJournal> as_of_step;
  if (replayed) {
    auto replayed_journal = Replay(journal, step.at, journal_key);
    if (!replayed_journal.ok()) return replayed_journal.status();
    as_of_step = *std::move(replayed_journal);
  }
  for (const MemberId& member : MembersExpected(step)) {
    MemberState state;
    if (as_of_step) {
      auto it = as_of_step->members.find(member);
      if (it == as_of_step->members.end()) {
        return absl::NotFoundError(absl::StrCat(step.where, ": no member ", member.value()));
      }
      state = it->second;
    } else {
      auto snapshot = engine.Snapshot(member);
      if (!snapshot.ok()) return snapshot.status();
      state = *std::move(snapshot);
    }
    Check(step.expect, ToJson(FiguresOf(engine.program(), state, step.at)), failures,
          every_member ? &member.value() : nullptr);
  }
  return absl::OkStatus();
}

// The JSON form of a performed step's outcome that OutcomeOf accepted: the
// refusal it expected, the settlement it read or what it wrote.
absl::StatusOr<Json> ResultOf(const absl::StatusOr<Receipt>& receipt, const Settled& settled) {
  if (!receipt.ok()) return RefusalJson(receipt.status());
  if (settled) return SettledJson(*settled);
  if (!receipt->entries.empty()) {
    if (const auto* revised = std::get_if<entries::EstimateRevised>(&receipt->entries.front().body)) {
      return RevisedJson(*receipt, *revised);
    }
  }
  return DoneJson(*receipt);
}

// Produces the reports the scenario asks for, after its timeline, and
// checks their expected figures.
absl::Status ProduceReports(const Scenario& scenario, const Store& journal,
                            const std::optional<std::string>& journal_key, RunReport& report) {
  for (const ScenarioReport& wanted : scenario.reports) {
    auto section = Produce(scenario, wanted, journal, journal_key);
    if (!section.ok()) {
      return absl::Status(section.status().code(), absl::StrCat(wanted.where, ": ", section.status().message()));
    }
    Check(wanted.expect, ToJson(*section)["result"], report.failures);
    report.sections.push_back(*std::move(section));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunReport> RunScenario(const Scenario& scenario, std::unique_ptr<Store> journal,
                                      const std::optional<std::string>& journal_key) {
  RunReport report{.scenario = scenario.id, .title = scenario.title, .description = scenario.description};
  const Instant start = scenario.timeline.empty() ? Instant::FromUnixMicros(0) : scenario.timeline.front().at;
  FakeClock clock(start);
  size_t published = scenario.initially_published.size();
  // A journal that held entries before the run: a step that writes nothing
  // now (a refusal, nothing due) may have later steps' entries after it,
  // so its expected figures are those replayed as of its time.
  const bool rerun = journal->LastSeq() > 0;
  std::unique_ptr<Engine> engine;
  if (absl::Status status = OpenEngine(scenario, published, *journal, clock, engine); !status.ok()) return status;

  std::vector<uint64_t> first_seq(scenario.timeline.size(), 0);
  for (size_t i = 0; i < scenario.timeline.size(); ++i) {
    const ScenarioStep& step = scenario.timeline[i];
    clock.Set(step.at);
    StepOutcome outcome{.where = step.where, .at = step.at, .partner = step.partner};
    if (const auto* publish = std::get_if<PublishStep>(&step.action)) {
      outcome.action = "publish";
      if (absl::Status status = OpenEngine(scenario, ++published, *journal, clock, engine); !status.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(step.where, ": publishing ", publish->version, ": ", status.message()));
      }
      outcome.outcome = absl::StrCat(publish->version, " published");
      outcome.result = PublishedJson(publish->version);
      report.steps.push_back(std::move(outcome));
      continue;
    }
    Settled settled;
    absl::StatusOr<Receipt> receipt = Perform(*engine, step, first_seq, outcome, settled);
    absl::StatusOr<std::string> shown = OutcomeOf(step, outcome.action, receipt, settled);
    if (!shown.ok()) return shown.status();
    outcome.outcome = *std::move(shown);
    if (receipt.ok() && !receipt->entries.empty()) first_seq[i] = receipt->seq();
    if (!step.expect.empty()) {
      const bool as_of_step = receipt.ok() ? receipt->replayed || (rerun && receipt->entries.empty()) : rerun;
      absl::Status checked = CheckStepExpect(step, as_of_step, *engine, *journal, journal_key, report.failures);
      if (!checked.ok()) return checked;
    }
    absl::StatusOr<Json> result = ResultOf(receipt, settled);
    if (!result.ok()) {
      return absl::Status(result.status().code(), absl::StrCat(step.where, ": ", result.status().message()));
    }
    outcome.result = *std::move(result);
    report.steps.push_back(std::move(outcome));
  }
  if (absl::Status produced = ProduceReports(scenario, *journal, journal_key, report); !produced.ok()) {
    return produced;
  }
  report.journal_entries = journal->LastSeq();
  report.journal_head = journal->Head().ToString();
  report.state_digest = ToHex(engine->StateDigest());
  return report;
}

}  // namespace loyalty::cli
