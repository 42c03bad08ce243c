// The JSON scenario loader (loyalty/scenario.h): walks a scenario document
// against docs/scenario-format.md, collecting every problem with its JSON
// path, loads the program versions (inline or from files, through
// ParseProgram so that a scenario's program obeys the program format's
// rules), and turns the timeline into engine commands. The paths, messages
// and value readers are json_fields.h's, shared with the program loader.
// nlohmann::json may throw; the entry points catch everything.
#include <algorithm>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "loyalty/io.h"
#include "io/json_fields.h"
#include "loyalty/scenario.h"

namespace loyalty {
namespace {

using internal::Element;
using internal::FieldPath;
using internal::Fields;
using internal::Json;
using internal::Kind;
using internal::kInt64Max;
using internal::kOptional;
using internal::kRequired;
using internal::ParseDocument;
using internal::Problems;
using internal::Quote;
using internal::ReadFile;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTtlDays = 36600;  // a hundred years; beyond, a day count is a mistake

std::string Resolve(const std::string& base_directory, const std::string& path) {
  if (base_directory.empty() || absl::StartsWith(path, "/")) return path;
  return absl::StrCat(base_directory, "/", path);
}

// ------------------------------------------------------------ program

// Where each version of the assembled program document came from.
struct VersionOrigin {
  std::string path;  // "program.versions[1]"
  std::string file;  // the file it was read from, if any
  size_t index_in_file = 0;
};

// Assembles {"versions": [...]} from inline objects and files, then parses
// it with ParseProgram; its problems are mapped back to scenario paths.
std::optional<Program> ReadProgram(const Json& value, const std::string& base_directory, Problems& problems) {
  Json document = {{"versions", Json::array()}};
  std::vector<VersionOrigin> origins;
  auto add_file = [&](const std::string& path, const std::string& file) {
    std::string resolved = Resolve(base_directory, file);
    absl::StatusOr<std::string> text = ReadFile(resolved, "program file");
    if (!text.ok()) {
      problems.Add(path, text.status().message());
      return;
    }
    Problems file_problems;
    std::optional<Json> parsed = ParseDocument(*text, file_problems);
    if (!file_problems.empty()) {  // malformed, too deep, or a duplicate key
      // Held here: the lines below view its message.
      const absl::Status file_status = file_problems.ToStatus();
      for (absl::string_view line : absl::StrSplit(file_status.message(), '\n')) {
        absl::ConsumePrefix(&line, "(root): ");
        problems.Add(path, absl::StrCat(resolved, ": ", line));
      }
      return;
    }
    if (parsed->is_object() && parsed->contains("versions") && (*parsed)["versions"].is_array()) {
      size_t index = 0;
      for (const Json& version : (*parsed)["versions"]) {
        document["versions"].push_back(version);
        origins.push_back({path, resolved, index++});
      }
    } else {
      document["versions"].push_back(*parsed);
      origins.push_back({path, resolved, SIZE_MAX});
    }
  };
  if (value.is_string()) {
    add_file("program", value.get<std::string>());
  } else {
    Fields f(value, "program", problems, {"versions"});
    const Json* versions = f.Get("versions", kRequired);
    if (versions != nullptr && !versions->is_array()) {
      problems.Add("program.versions", absl::StrCat("expected an array, got ", Kind(*versions)));
    } else if (versions != nullptr) {
      for (size_t i = 0; i < versions->size(); ++i) {
        std::string path = Element("program.versions", i);
        const Json& item = (*versions)[i];
        if (item.is_string()) {
          add_file(path, item.get<std::string>());
        } else if (item.is_object() && item.size() == 1 && item.contains("file") && item["file"].is_string()) {
          add_file(path, item["file"].get<std::string>());
        } else {
          document["versions"].push_back(item);
          origins.push_back({path, "", 0});
        }
      }
    }
  }
  if (!problems.empty()) return std::nullopt;
  absl::StatusOr<Program> program = ParseProgram(document.dump());
  if (program.ok()) return *std::move(program);
  for (absl::string_view line : absl::StrSplit(program.status().message(), '\n')) {
    // "versions[k]<rest>" -> the scenario path of version k.
    size_t close = line.find(']');
    size_t k = 0;
    if (absl::StartsWith(line, "versions[") && close != line.npos &&
        absl::SimpleAtoi(line.substr(9, close - 9), &k) && k < origins.size()) {
      const VersionOrigin& origin = origins[k];
      absl::string_view rest = line.substr(close + 1);
      if (origin.file.empty()) {
        problems.AddLine(absl::StrCat(origin.path, rest));
      } else if (origin.index_in_file == SIZE_MAX) {
        problems.AddLine(absl::StrCat(origin.path, " (", origin.file, ")", rest));
      } else {
        problems.AddLine(
            absl::StrCat(origin.path, " (", origin.file, " versions[", origin.index_in_file, "])", rest));
      }
    } else {
      problems.AddLine(absl::StrCat("program: ", line));
    }
  }
  return std::nullopt;
}

// ------------------------------------------------------------ expectations

// Reads the figures of `expect` (at `path`), each a dotted path and the
// value it must have, into `out`; `member` names whose figures they are
// ("" for the step's own member or a report).
void ReadFigures(const Json& expect, const std::string& path, const std::string& member,
                 std::vector<Expectation>& out, Problems& problems) {
  if (!expect.is_object() || expect.empty()) {
    problems.Add(path, absl::StrCat("expected a non-empty object of figures, got ", Kind(expect)));
    return;
  }
  for (const auto& [key, value] : expect.items()) {
    std::string where = FieldPath(path, key);
    if (value.is_number_float()) {
      problems.Add(where, "a figure is an integer or a decimal string, never a JSON number with a fraction");
      continue;
    }
    out.push_back({.path = key, .json = value.dump(), .where = where, .member = member});
  }
}

std::vector<Expectation> ReadExpect(const Fields& f, Problems& problems) {
  std::vector<Expectation> out;
  const Json* expect = f.Get("expect");
  if (expect != nullptr) ReadFigures(*expect, f.PathOf("expect"), "", out, problems);
  return out;
}

// Reads the `expect` of a step that concerns every member (run_expiry,
// close_period): the figures of each member it names, {"M-1": {"tier":
// null}}; every member must be enrolled by an earlier step.
std::vector<Expectation> ReadExpectByMember(const Fields& f, const std::set<std::string>& enrolled,
                                            Problems& problems) {
  std::vector<Expectation> out;
  const Json* expect = f.Get("expect");
  if (expect == nullptr) return out;
  std::string path = f.PathOf("expect");
  if (!expect->is_object() || expect->empty()) {
    problems.Add(path, absl::StrCat("expected an object of members' figures ({\"<member>\": {...}}), got ",
                                    Kind(*expect)));
    return out;
  }
  for (const auto& [member, figures] : expect->items()) {
    std::string where = FieldPath(path, member);
    if (!enrolled.count(member)) {
      problems.Add(where, absl::StrCat(Quote(member), " is not enrolled by an earlier step"));
      continue;
    }
    ReadFigures(figures, where, member, out, problems);
  }
  return out;
}

// ------------------------------------------------------------ timeline

struct Context {
  Currency currency;
  const Program* program = nullptr;
  std::map<std::string, size_t> step_names;  // name -> timeline index
  std::set<std::string> members;
  std::set<std::string> partners;  // of every version of the program
  std::vector<std::string> publish_order;  // the versions the timeline publishes
};

// Whose partner id is read: a step's (the handle it runs through) must be
// one of the program's partners; a command's own partner field is a free
// label in a program without partners, as Decide takes it.
enum class PartnerOf { kStep, kCommand };

// Reads the partner id at `key`.
std::string ReadPartner(const Fields& f, const std::string& key, const Context& context, Problems& problems,
                        PartnerOf of = PartnerOf::kCommand) {
  std::optional<std::string> id = f.String(key);
  if (!id) return "";
  if (!context.partners.count(*id) && (of == PartnerOf::kStep || !context.partners.empty())) {
    problems.Add(f.PathOf(key),
                 absl::StrCat(Quote(*id), " is not a partner of the program (",
                              context.partners.empty() ? "it has none" : absl::StrJoin(context.partners, ", "), ")"));
  }
  return *id;
}

// Reads a period [from, to): both required, to not before from.
std::pair<Instant, Instant> ReadPeriod(const Fields& f, Problems& problems) {
  std::optional<Instant> from = f.InstantField("from", kRequired);
  std::optional<Instant> to = f.InstantField("to", kRequired);
  if (from && to && *to < *from) {
    problems.Add(f.PathOf("to"), absl::StrCat(to->ToString(), " is before from, ", from->ToString()));
  }
  return {from.value_or(Instant()), to.value_or(Instant())};
}

std::optional<Activity> ReadActivity(const Json& value, const std::string& path, const Context& context,
                                     Problems& problems) {
  Fields f(value, path, problems, {"id", "flight", "purchase", "custom"});
  if (!f.ok()) return std::nullopt;
  Activity activity;
  activity.id = f.String("id", kRequired).value_or("");
  int kinds = f.Has("flight") + f.Has("purchase") + f.Has("custom");
  if (kinds != 1) {
    problems.Add(path, "needs exactly one of flight, purchase, custom");
    return std::nullopt;
  }
  if (const Json* flight = f.Get("flight")) {
    Fields g(*flight, f.PathOf("flight"), problems,
             {"carrier", "flight_number", "origin", "destination", "distance_miles", "cabin", "booking_class",
              "ticket_price"});
    FlightSegment segment;
    segment.carrier = g.String("carrier").value_or("");
    segment.flight_number = g.String("flight_number").value_or("");
    segment.origin = g.String("origin", kRequired).value_or("");
    segment.destination = g.String("destination", kRequired).value_or("");
    segment.distance_miles = g.Integer("distance_miles", 0, kInt64Max, kRequired).value_or(0);
    segment.cabin = g.String("cabin", kRequired).value_or("");
    segment.booking_class = g.String("booking_class", kRequired).value_or("");
    segment.ticket_price = g.MoneyField("ticket_price", context.currency);
    activity.detail = segment;
  } else if (const Json* purchase = f.Get("purchase")) {
    Fields g(*purchase, f.PathOf("purchase"), problems, {"partner", "store", "channel", "lines"});
    Purchase basket;
    basket.partner = ReadPartner(g, "partner", context, problems);
    basket.store = g.String("store").value_or("");
    basket.channel = g.String("channel").value_or("store");
    const Json* lines = g.Get("lines", kRequired);
    if (lines != nullptr && (!lines->is_array() || lines->empty())) {
      problems.Add(g.PathOf("lines"), absl::StrCat("expected a non-empty array of lines, got ", Kind(*lines)));
    } else if (lines != nullptr) {
      for (size_t i = 0; i < lines->size(); ++i) {
        Fields l((*lines)[i], Element(g.PathOf("lines"), i), problems,
                 {"sku", "category", "tags", "quantity", "unit_price"});
        PurchaseLine line;
        line.sku = l.String("sku", kRequired).value_or("");
        line.category = l.String("category").value_or("");
        line.tags = l.Strings("tags").value_or(std::vector<std::string>());
        line.quantity = l.Integer("quantity", 1, kInt64Max).value_or(1);
        line.unit_price = l.MoneyField("unit_price", context.currency, kRequired).value_or(Money(0, context.currency));
        basket.lines.push_back(std::move(line));
      }
    }
    activity.detail = std::move(basket);
  } else {
    Fields g(*f.Get("custom"), f.PathOf("custom"), problems, {"type", "attributes", "amount"});
    CustomActivity custom;
    custom.type = g.String("type", kRequired).value_or("");
    if (const Json* attributes = g.Get("attributes")) {
      if (!attributes->is_object()) {
        problems.Add(g.PathOf("attributes"), absl::StrCat("expected an object of strings, got ", Kind(*attributes)));
      } else {
        for (const auto& [key, text] : attributes->items()) {
          if (!text.is_string()) {
            problems.Add(FieldPath(g.PathOf("attributes"), key), absl::StrCat("expected a string, got ", Kind(text)));
          } else {
            custom.attributes[key] = text.get<std::string>();
          }
        }
      }
    }
    custom.amount = g.MoneyField("amount", context.currency);
    activity.detail = std::move(custom);
  }
  return activity;
}

constexpr const char* kStepCommon[] = {"at", "name", "key", "partner", "note", "expect", "expect_error"};
constexpr const char* kErrorCodes[] = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION",
                                       "OUT_OF_RANGE", "PERMISSION_DENIED"};

// Reads a step's expected refusal: a code name, or {"code", "message"}.
void ReadExpectError(const Fields& f, ScenarioStep& step, Problems& problems) {
  const Json* value = f.Get("expect_error");
  if (value == nullptr) return;
  std::string path = f.PathOf("expect_error");
  std::optional<std::string> code;
  if (value->is_object()) {
    Fields g(*value, path, problems, {"code", "message"});
    code = g.String("code", kRequired);
    step.expect_error_message = g.String("message").value_or("");
    if (!code) return;
    path = g.PathOf("code");
  } else {
    code = f.String("expect_error");
    if (!code) return;
  }
  if (std::find(std::begin(kErrorCodes), std::end(kErrorCodes), *code) == std::end(kErrorCodes)) {
    problems.Add(path, absl::StrCat(Quote(*code), " is not one of ", absl::StrJoin(kErrorCodes, ", ")));
  }
  step.expect_error = *code;
}

// Reads the reference field `key` of an action: the name of an earlier step.
std::optional<size_t> Reference(const Fields& f, const std::string& key, bool required, const Context& context,
                                Problems& problems) {
  std::optional<std::string> name = f.String(key, required ? kRequired : kOptional);
  if (!name) return std::nullopt;
  auto it = context.step_names.find(*name);
  if (it == context.step_names.end()) {
    problems.Add(f.PathOf(key), absl::StrCat(Quote(*name), " names no earlier step"));
    return std::nullopt;
  }
  return it->second;
}

absl::Duration Days(const Fields& f, int64_t default_days) {
  return absl::Hours(24 * f.Integer("ttl_days", 1, kMaxTtlDays).value_or(default_days));
}

// Reads the `member` of a member's command: required, and enrolled by an
// earlier step.
MemberId ReadEnrolledMember(const Fields& g, const Context& context, Problems& problems) {
  std::optional<MemberId> member = g.MemberField("member", kRequired);
  if (member && !context.members.count(member->value())) {
    problems.Add(g.PathOf("member"), absl::StrCat(Quote(member->value()), " is not enrolled by an earlier step"));
  }
  return member.value_or(MemberId());
}

// The action of one timeline step: its name ("accrue"), its value, the path
// of that value, and the fields of the step itself.
struct StepAction {
  absl::string_view name;
  const Json& body;
  std::string path;
  const Fields& step;
};

// Reads a step's action into step.action (and step.refers_to); false if the
// action is unusable, which leaves the step out of the timeline.
using ActionReader = bool (*)(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems);

// Refuses expected figures on a step that changes no member (publish,
// settlement): `report` is where its figures are stated instead.
void RefuseExpect(const StepAction& action, const ScenarioStep& step, absl::string_view report, Problems& problems) {
  if (!step.expect.empty()) {
    problems.Add(action.step.PathOf("expect"),
                 absl::StrCat("only a member's command, run_expiry or close_period can state expected figures; use ",
                              report));
  }
}

// Checks that an operator's step (expiry, period close, publish) names no
// partner to run through.
void CheckOperatorStep(const StepAction& action, const ScenarioStep& step, Problems& problems) {
  if (!step.partner.empty()) {
    problems.Add(action.step.PathOf("partner"), absl::StrCat(action.name, " is the operator's, never a partner's"));
  }
}

// Reads an enroll step: the new member's id, which later steps may name.
bool ReadEnroll(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  if (!action.body.is_string()) {
    problems.Add(action.path, absl::StrCat("expected a member id, got ", Kind(action.body)));
    return false;
  }
  auto member = MemberId::Parse(action.body.get<std::string>());
  if (!member.ok()) {
    problems.Add(action.path, member.status().message());
    return false;
  }
  context.members.insert(member->value());
  step.action = Command(Enroll{.idempotency_key = step.key, .member = *member, .at = step.at});
  return true;
}

// Reads a run_expiry or close_period step: the operator's, with {} as its
// body. Its expected figures name the members they are of (ReadStep).
bool ReadOperatorRun(const StepAction& action, ScenarioStep& step, Context&, Problems& problems) {
  if (!action.body.is_object() || !action.body.empty()) problems.Add(action.path, "expected {}");
  CheckOperatorStep(action, step, problems);
  if (action.name == "run_expiry") step.action = RunExpiryStep{};
  else step.action = ClosePeriodStep{};
  return true;
}

// Reads a publish step: the id of the program version that takes effect.
bool ReadPublish(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  if (!action.body.is_string()) {
    problems.Add(action.path, absl::StrCat("expected a version id, got ", Kind(action.body)));
    return false;
  }
  std::string version = action.body.get<std::string>();
  if (context.program != nullptr && context.program->Find(version) == nullptr) {
    problems.Add(action.path, absl::StrCat(Quote(version), " is not a version of the program"));
  }
  CheckOperatorStep(action, step, problems);
  RefuseExpect(action, step, "a report", problems);
  context.publish_order.push_back(version);
  step.action = PublishStep{version};
  return true;
}

// Reads a settlement step: the partners' settlement over a period, as the
// operator sees it or as the step's partner does.
bool ReadSettlementStep(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"partner", "from", "to"});
  auto [from, to] = ReadPeriod(g, problems);
  RefuseExpect(action, step, "a settlement report", problems);
  step.action = SettlementStep{.from = from, .to = to,
                               .partner = ReadPartner(g, "partner", context, problems, PartnerOf::kStep)};
  return true;
}

// Reads an accrue step: a member's activity, which the program turns into
// points.
bool ReadAccrue(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "activity"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  const Json* activity = g.Get("activity", kRequired);
  if (activity == nullptr) return false;
  std::optional<Activity> read = ReadActivity(*activity, g.PathOf("activity"), context, problems);
  if (!read) return false;
  step.action =
      Command(Accrue{.idempotency_key = step.key, .member = member, .at = step.at, .activity = *std::move(read)});
  return true;
}

// Reads a credit step: points given to a member outright.
bool ReadCredit(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "points", "source", "expires_at", "partner"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.action = Command(Credit{.idempotency_key = step.key, .member = member, .at = step.at,
                               .amount = Points(g.Integer("points", 1, kInt64Max, kRequired).value_or(1)),
                               .source = g.String("source").value_or("scenario credit"),
                               .expires_at = g.InstantField("expires_at"), .counters = {},
                               .partner = ReadPartner(g, "partner", context, problems)});
  return true;
}

// Reads a redeem or hold step: of a reward (priced by an earlier quote, if
// it names one) or of points.
bool ReadRedeemOrHold(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  const bool hold = action.name == "hold";
  Fields g(action.body, action.path, problems,
           {"member", "reward", "points", "quote", "reason", "ttl_days", "partner"});
  std::string partner = ReadPartner(g, "partner", context, problems);
  if (g.Has("partner") && (g.Has("reward") || hold)) {
    problems.Add(g.PathOf("partner"),
                 "only a redemption of points names its partner; a reward's is its catalog item's");
  }
  MemberId member = ReadEnrolledMember(g, context, problems);
  if (g.Has("reward") == g.Has("points")) {
    problems.Add(action.path, "needs exactly one of reward, points");
    return false;
  }
  const std::string& key = step.key;
  if (g.Has("reward")) {
    std::string reward = g.String("reward", kRequired).value_or("");
    step.refers_to = Reference(g, "quote", false, context, problems);
    if (hold) {
      step.action = Command(
          HoldReward{.idempotency_key = key, .member = member, .at = step.at, .reward = reward, .ttl = Days(g, 7)});
    } else {
      step.action = Command(RedeemReward{.idempotency_key = key, .member = member, .at = step.at, .reward = reward});
    }
    return true;
  }
  Points points(g.Integer("points", 1, kInt64Max, kRequired).value_or(1));
  std::string reason = g.String("reason").value_or("");
  if (g.Has("quote")) problems.Add(g.PathOf("quote"), "a quote is for a reward, not for points");
  if (hold) {
    step.action = Command(PlaceHold{.idempotency_key = key, .member = member, .at = step.at, .amount = points,
                                    .ttl = Days(g, 7), .reason = reason});
  } else {
    step.action = Command(Redeem{.idempotency_key = key, .member = member, .at = step.at, .amount = points,
                                 .reason = reason, .partner = partner});
  }
  return true;
}

// Reads a pay_at_till step: points spent at a partner's till.
bool ReadPayAtTill(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "points", "partner"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.action = Command(PayWithPointsAtTill{.idempotency_key = step.key, .member = member, .at = step.at,
                                            .points = Points(g.Integer("points", 1, kInt64Max, kRequired).value_or(1)),
                                            .partner = ReadPartner(g, "partner", context, problems)});
  return true;
}

// Reads a quote step: a reward's price for a member, which a later redeem or
// hold can name.
bool ReadQuote(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "reward", "ttl_days"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.action = Command(QuoteReward{.idempotency_key = step.key, .member = member, .at = step.at,
                                    .reward = g.String("reward", kRequired).value_or(""), .ttl = Days(g, 1)});
  return true;
}

// Reads a capture or release step: the end of the hold an earlier step
// placed.
bool ReadCaptureOrRelease(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "hold"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.refers_to = Reference(g, "hold", true, context, problems);
  if (action.name == "capture") {
    step.action = Command(CaptureHold{.idempotency_key = step.key, .member = member, .at = step.at});
  } else {
    step.action = Command(ReleaseHold{.idempotency_key = step.key, .member = member, .at = step.at});
  }
  return true;
}

// Reads one line of a return step into `command`: a 0-based line number
// (the whole line), or {"line": N, "quantity": Q} (Q of its units).
void ReadReturnedLine(const Json& item, const std::string& path, ReturnLines& command, Problems& problems) {
  int64_t quantity = ReturnLines::kWholeLine;
  std::optional<int64_t> line;
  if (item.is_object()) {
    Fields l(item, path, problems, {"line", "quantity"});
    line = l.Integer("line", 0, UINT32_MAX, kRequired);
    quantity = l.Integer("quantity", 1, kInt64Max, kRequired).value_or(1);
  } else if (item.is_number_unsigned() && item.get<uint64_t>() <= UINT32_MAX) {
    line = item.get<int64_t>();
  } else {
    problems.Add(path, absl::StrCat("expected a line number or {\"line\", \"quantity\"}, got ", Kind(item)));
  }
  command.lines.push_back(static_cast<uint32_t>(line.value_or(0)));
  command.quantities.push_back(quantity);
}

// Reads a return step: lines of an earlier accrual's purchase, by their
// 0-based numbers, whole or some of their units.
bool ReadReturn(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "accrual", "lines"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.refers_to = Reference(g, "accrual", true, context, problems);
  ReturnLines command{.idempotency_key = step.key, .member = member, .at = step.at, .credit = 0, .lines = {}};
  const Json* lines = g.Get("lines", kRequired);
  if (lines != nullptr && (!lines->is_array() || lines->empty())) {
    problems.Add(g.PathOf("lines"), "expected a non-empty array of line numbers (0-based)");
  } else if (lines != nullptr) {
    for (size_t i = 0; i < lines->size(); ++i) ReadReturnedLine((*lines)[i], Element(g.PathOf("lines"), i), command, problems);
  }
  // Whole lines only: the command as it was before quantities.
  if (std::all_of(command.quantities.begin(), command.quantities.end(),
                  [](int64_t q) { return q == ReturnLines::kWholeLine; })) {
    command.quantities.clear();
  }
  step.action = Command(std::move(command));
  return true;
}

// Reads a reverse_debit step: the undoing of an earlier step's debit.
bool ReadReverseDebit(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "debit"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.refers_to = Reference(g, "debit", true, context, problems);
  step.action = Command(ReverseDebit{.idempotency_key = step.key, .member = member, .at = step.at});
  return true;
}

// Reads a redeem_voucher step: a voucher that an earlier accrual step's
// stamp card issued, by its number among that accrual's vouchers (0 if
// not given).
bool ReadRedeemVoucher(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "voucher", "number"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.refers_to = Reference(g, "voucher", true, context, problems);
  const auto number = static_cast<uint32_t>(g.Integer("number", 0, kMaxVouchersPerActivity - 1).value_or(0));
  step.action = Command(
      RedeemVoucher{.idempotency_key = step.key, .member = member, .at = step.at, .voucher = {0, number}});
  return true;
}

// Reads a buy_points step: points bought at the version's price, and the
// price the member was shown, if given.
bool ReadBuyPoints(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "points", "price"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  PurchasePoints command{.idempotency_key = step.key, .member = member, .at = step.at,
                         .points = Points(g.Integer("points", 1, kInt64Max, kRequired).value_or(1))};
  command.price = g.MoneyField("price", context.currency);
  step.action = Command(std::move(command));
  return true;
}

// Reads a refund_points step: the unused points of an earlier buy_points
// step, refunded.
bool ReadRefundPoints(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "purchase"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.refers_to = Reference(g, "purchase", true, context, problems);
  step.action = Command(RefundPoints{.idempotency_key = step.key, .member = member, .at = step.at});
  return true;
}

// Reads a transfer step: points sent from one enrolled member to another,
// under the version's transfer rules.
bool ReadTransfer(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "to", "points"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  std::optional<MemberId> to = g.MemberField("to", kRequired);
  if (to && !context.members.count(to->value())) {
    problems.Add(g.PathOf("to"), absl::StrCat(Quote(to->value()), " is not enrolled by an earlier step"));
  }
  step.action = Command(Transfer{.idempotency_key = step.key, .member = member, .at = step.at,
                                 .to = to.value_or(MemberId()),
                                 .amount = Points(g.Integer("points", 1, kInt64Max, kRequired).value_or(1))});
  return true;
}

// Reads an adjust step: a signed correction of a member's points by an
// actor, with its reason.
bool ReadAdjust(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "points", "reason", "actor"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  int64_t delta = g.Integer("points", kInt64Min, kInt64Max, kRequired).value_or(0);
  if (g.Has("points") && delta == 0) problems.Add(g.PathOf("points"), "must not be 0");
  step.action = Command(Adjust{.idempotency_key = step.key, .member = member, .at = step.at, .delta = Points(delta),
                               .reason = g.String("reason", kRequired).value_or(""),
                               .actor = g.String("actor", kRequired).value_or("")});
  return true;
}

// Reads a set_flag step: a member's flag turned on or off.
bool ReadSetFlag(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member", "flag", "on"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.action = Command(SetMemberFlag{.idempotency_key = step.key, .member = member, .at = step.at,
                                      .flag = g.String("flag", kRequired).value_or(""),
                                      .on = g.Bool("on").value_or(true)});
  return true;
}

// Reads a close_membership step: the member whose membership ends.
bool ReadCloseMembership(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"member"});
  MemberId member = ReadEnrolledMember(g, context, problems);
  step.action = Command(CloseMembership{.idempotency_key = step.key, .member = member, .at = step.at});
  return true;
}

// Reads an estimate step: a revised expected redemption rate, for one
// earning cohort ("2024") or all, from the step's time.
bool ReadEstimate(const StepAction& action, ScenarioStep& step, Context& context, Problems& problems) {
  Fields g(action.body, action.path, problems, {"expected_redemption_rate", "cohort", "actor", "reason"});
  EstimateRevision revision;
  revision.idempotency_key = step.key;
  revision.effective_from = step.at;
  if (auto rate = g.RateField("expected_redemption_rate", kRequired)) {
    if (!IsShare(*rate)) problems.Add(g.PathOf("expected_redemption_rate"), "is not a share in (0, 1]");
    revision.expected_redemption_rate = *rate;
  }
  if (auto cohort = g.String("cohort")) {
    int year = 0;
    if (!absl::SimpleAtoi(*cohort, &year) || year < 1 || year > 9999 || *cohort != absl::StrCat(year)) {
      problems.Add(g.PathOf("cohort"), "a cohort is a calendar year, \"1\" to \"9999\"");
    }
    revision.cohort = year;
  }
  revision.actor = g.String("actor").value_or("scenario");
  revision.reason = g.String("reason", kOptional, /*non_empty=*/false).value_or("");
  if (context.program != nullptr &&
      std::none_of(context.program->versions().begin(), context.program->versions().end(),
                   [](const auto& version) { return version->accounting.has_value(); })) {
    problems.Add(action.path, "no version of the program has an accounting section");
  }
  CheckOperatorStep(action, step, problems);
  RefuseExpect(action, step, "a revenue report", problems);
  step.action = EstimateStep{std::move(revision)};
  return true;
}

// An action a step can have, with its reader.
struct StepKind {
  const char* action;
  ActionReader read;
};

// Every action, in the order the messages list them.
constexpr StepKind kStepKinds[] = {
    {"enroll", ReadEnroll},
    {"accrue", ReadAccrue},
    {"credit", ReadCredit},
    {"redeem", ReadRedeemOrHold},
    {"pay_at_till", ReadPayAtTill},
    {"quote", ReadQuote},
    {"hold", ReadRedeemOrHold},
    {"capture", ReadCaptureOrRelease},
    {"release", ReadCaptureOrRelease},
    {"return", ReadReturn},
    {"reverse_debit", ReadReverseDebit},
    {"redeem_voucher", ReadRedeemVoucher},
    {"buy_points", ReadBuyPoints},
    {"refund_points", ReadRefundPoints},
    {"transfer", ReadTransfer},
    {"adjust", ReadAdjust},
    {"set_flag", ReadSetFlag},
    {"close_membership", ReadCloseMembership},
    {"run_expiry", ReadOperatorRun},
    {"close_period", ReadOperatorRun},
    {"publish", ReadPublish},
    {"settlement", ReadSettlementStep},
    {"estimate", ReadEstimate},
};

// Appends the action of a step kind, for listing them in a message.
void AppendAction(std::string* out, const StepKind& kind) { out->append(kind.action); }

// Reads one timeline step: the fields every step has, then its one action.
// A step with an unusable action is left out of the timeline.
void ReadStep(const Json& value, size_t index, const std::string& scenario_id, Context& context,
              std::vector<ScenarioStep>& timeline, Problems& problems) {
  std::string path = Element("timeline", index);
  std::vector<std::string> known(std::begin(kStepCommon), std::end(kStepCommon));
  for (const StepKind& kind : kStepKinds) known.push_back(kind.action);
  Fields f(value, path, problems, known);
  if (!f.ok()) return;
  ScenarioStep step;
  step.where = path;
  step.at = f.InstantField("at", kRequired).value_or(Instant());
  step.name = f.String("name").value_or("");
  step.key = f.String("key").value_or(absl::StrCat(scenario_id, "/", path));
  step.partner = ReadPartner(f, "partner", context, problems, PartnerOf::kStep);
  f.String("note");
  ReadExpectError(f, step, problems);
  std::vector<std::string> actions;
  const StepKind* kind = nullptr;
  for (const StepKind& candidate : kStepKinds) {
    if (!f.Has(candidate.action)) continue;
    actions.push_back(candidate.action);
    kind = &candidate;
  }
  // A step that concerns every member states the figures of the members
  // it names; a member's command, those of its member.
  const bool every_member = actions.size() == 1 && (kind->read == ReadOperatorRun);
  step.expect = every_member ? ReadExpectByMember(f, context.members, problems) : ReadExpect(f, problems);
  if (actions.size() != 1) {
    problems.Add(path, actions.empty()
                           ? absl::StrCat("needs one action: ", absl::StrJoin(kStepKinds, ", ", AppendAction))
                           : absl::StrCat("has more than one action: ", absl::StrJoin(actions, ", ")));
    return;
  }
  if (!kind->read({kind->action, *f.Get(kind->action), f.PathOf(kind->action), f}, step, context, problems)) return;
  if (!step.name.empty()) {
    if (auto [it, inserted] = context.step_names.emplace(step.name, timeline.size()); !inserted) {
      problems.Add(f.PathOf("name"), absl::StrCat(Quote(step.name), " is also the name of ", timeline[it->second].where));
    }
  }
  timeline.push_back(std::move(step));
}

// ------------------------------------------------------------ reports

std::optional<ScenarioReport> ReadReport(const Json& value, size_t index, const Scenario& partial,
                                         const Context& context, Problems& problems) {
  std::string path = Element("reports", index);
  constexpr const char* kKinds[] = {"balances", "statement", "impact", "notice", "liability", "settlement", "revenue"};
  Fields f(value, path, problems,
           {"title", "expect", "balances", "statement", "impact", "notice", "liability", "settlement", "revenue"});
  if (!f.ok()) return std::nullopt;
  ScenarioReport report{.where = path, .title = f.String("title").value_or(""), .what = BalancesWanted{},
                        .expect = ReadExpect(f, problems)};
  std::vector<std::string> kinds;
  for (const char* kind : kKinds) {
    if (f.Has(kind)) kinds.push_back(kind);
  }
  if (kinds.size() != 1) {
    problems.Add(path, absl::StrCat("needs exactly one of ", absl::StrJoin(kKinds, ", ")));
    return std::nullopt;
  }
  const std::string& kind = kinds.front();
  const Json& body = *f.Get(kind);
  const std::string body_path = f.PathOf(kind);
  const Currency currency = partial.program.versions().front()->currency;
  if (kind == "balances") {
    Fields g(body, body_path, problems, {"members"});
    BalancesWanted wanted;
    std::vector<std::string> ids = g.Strings("members").value_or(std::vector<std::string>());
    for (size_t i = 0; i < ids.size(); ++i) {
      auto id = MemberId::Parse(ids[i]);
      if (!id.ok()) problems.Add(Element(g.PathOf("members"), i), id.status().message());
      else wanted.members.push_back(*id);
    }
    report.what = std::move(wanted);
  } else if (kind == "statement") {
    Fields g(body, body_path, problems, {"member", "from", "to"});
    report.what = StatementWanted{.member = g.MemberField("member", kRequired).value_or(MemberId()), .from = g.InstantField("from"),
                                  .to = g.InstantField("to")};
  } else if (kind == "impact") {
    Fields g(body, body_path, problems,
             {"from", "to", "reward", "population", "value_per_award", "as_of", "book_by", "notice_days"});
    ImpactWanted wanted;
    wanted.version_before = g.String("from", kRequired).value_or("");
    wanted.version_after = g.String("to", kRequired).value_or("");
    wanted.reward = g.String("reward", kRequired).value_or("");
    for (const char* key : {"from", "to"}) {
      std::optional<std::string> id = g.String(key);
      if (id && partial.program.Find(*id) == nullptr) {
        problems.Add(g.PathOf(key), absl::StrCat(Quote(*id), " is not a version of the program"));
      }
    }
    wanted.population = g.String("population").value_or("");
    if (!wanted.population.empty() &&
        std::none_of(partial.populations.begin(), partial.populations.end(),
                     [&](const ScenarioPopulation& p) { return p.name == wanted.population; })) {
      problems.Add(g.PathOf("population"), absl::StrCat(Quote(wanted.population), " is not a population of the scenario"));
    }
    wanted.options.value_per_award = g.MoneyField("value_per_award", currency, kRequired).value_or(Money(0, currency));
    if (std::optional<Instant> as_of = g.InstantField("as_of")) {
      wanted.options.as_of = *as_of;
      wanted.as_of_given = true;
    }
    wanted.options.book_by = g.InstantField("book_by");
    wanted.options.notice_days = g.Integer("notice_days", 0, kInt64Max).value_or(90);
    report.what = std::move(wanted);
  } else if (kind == "notice") {
    Fields g(body, body_path, problems, {"minimum_days"});
    report.what = NoticeWanted{{.minimum_days = g.Integer("minimum_days", 0, kInt64Max).value_or(90)}};
  } else if (kind == "revenue") {
    Fields g(body, body_path, problems, {"from", "to"});
    auto [from, to] = ReadPeriod(g, problems);
    if (std::none_of(partial.program.versions().begin(), partial.program.versions().end(),
                     [](const auto& version) { return version->accounting.has_value(); })) {
      problems.Add(body_path, "no version of the program has an accounting section");
    }
    report.what = RevenueWanted{{.from = from, .to = to}};
  } else if (kind == "settlement") {
    Fields g(body, body_path, problems, {"from", "to", "partner"});
    auto [from, to] = ReadPeriod(g, problems);
    report.what = SettlementWanted{.from = from, .to = to,
                                   .partner = ReadPartner(g, "partner", context, problems, PartnerOf::kStep)};
  } else {
    Fields g(body, body_path, problems, {"from", "to", "value_per_point"});
    LiabilityWanted wanted;
    wanted.options.from = g.InstantField("from", kRequired).value_or(Instant());
    wanted.options.to = g.InstantField("to", kRequired).value_or(Instant());
    wanted.options.currency = currency;
    if (std::optional<Rate> rate = g.RateField("value_per_point")) {
      wanted.options.value_per_point = *rate;
    } else if (const auto& pay = partial.program.InForceJustBefore(wanted.options.to).redemption.pay_with_points) {
      // The period's points are worth what the version it ends under pays.
      wanted.options.value_per_point = pay->value_per_point;
    }
    if (wanted.options.to < wanted.options.from) problems.Add(g.PathOf("to"), "is before from");
    report.what = std::move(wanted);
  }
  return report;
}

// ------------------------------------------------------------ the document

// Reads the scenario's id, title and description, then its program; nothing
// if the program is missing or unusable, as every later section needs it.
std::optional<Scenario> ReadHeading(const Fields& f, const std::string& base_directory, Problems& problems) {
  std::string id = f.String("id", kRequired).value_or("scenario");
  std::string title = f.String("title").value_or("");
  std::string description = f.String("description").value_or("");
  const Json* program_json = f.Get("program", kRequired);
  if (program_json == nullptr) return std::nullopt;
  std::optional<Program> program = ReadProgram(*program_json, base_directory, problems);
  if (!program) return std::nullopt;
  return Scenario{.id = id, .title = title, .description = description, .program = *std::move(program),
                  .initially_published = {}, .timeline = {}, .populations = {}, .reports = {}};
}

// What the steps are read against: the program, its currency, and the
// partners of every version.
Context ContextOf(const Program& program) {
  Context context{.currency = program.versions().front()->currency, .program = &program,
                  .step_names = {}, .members = {}, .partners = {}, .publish_order = {}};
  for (const auto& version : program.versions()) {
    for (const Partner& partner : version->partners) context.partners.insert(partner.id);
  }
  return context;
}

// Reads the `members` section: each member enrolled at its time, with its
// flags set, by steps before the timeline's.
void ReadMembers(const Fields& f, const std::string& scenario_id, Context& context,
                 std::vector<ScenarioStep>& timeline, Problems& problems) {
  const Json* members = f.Get("members");
  if (members == nullptr) return;
  if (!members->is_array()) {
    problems.Add("members", absl::StrCat("expected an array, got ", Kind(*members)));
    return;
  }
  for (size_t i = 0; i < members->size(); ++i) {
    std::string path = Element("members", i);
    Fields g((*members)[i], path, problems, {"id", "enrolled_at", "flags", "note"});
    std::optional<MemberId> member = g.MemberField("id", kRequired);
    std::optional<Instant> at = g.InstantField("enrolled_at", kRequired);
    std::vector<std::string> flags = g.Strings("flags").value_or(std::vector<std::string>());
    g.String("note");
    if (!member || !at) continue;
    if (!context.members.insert(member->value()).second) {
      problems.Add(g.PathOf("id"), absl::StrCat(Quote(member->value()), " is listed twice"));
      continue;
    }
    std::string key = absl::StrCat(scenario_id, "/", path);
    timeline.push_back({.where = path, .name = "", .at = *at, .key = key, .partner = "",
                        .action = Command(Enroll{.idempotency_key = key, .member = *member, .at = at}),
                        .refers_to = std::nullopt, .expect_error = "", .expect_error_message = "", .expect = {}});
    for (size_t k = 0; k < flags.size(); ++k) {
      std::string flag_key = absl::StrCat(key, ".flags[", k, "]");
      timeline.push_back(
          {.where = absl::StrCat(path, ".flags[", k, "]"), .name = "", .at = *at, .key = flag_key, .partner = "",
           .action = Command(SetMemberFlag{.idempotency_key = flag_key, .member = *member, .at = at,
                                           .flag = flags[k], .on = true}),
           .refers_to = std::nullopt, .expect_error = "", .expect_error_message = "", .expect = {}});
    }
  }
}

// Reads the `timeline` section: its steps follow the members' enrollments.
void ReadTimeline(const Fields& f, const std::string& scenario_id, Context& context,
                  std::vector<ScenarioStep>& timeline, Problems& problems) {
  const Json* steps = f.Get("timeline", kRequired);
  if (steps == nullptr) return;
  if (!steps->is_array()) {
    problems.Add("timeline", absl::StrCat("expected an array of steps, got ", Kind(*steps)));
    return;
  }
  for (size_t i = 0; i < steps->size(); ++i) ReadStep((*steps)[i], i, scenario_id, context, timeline, problems);
}

// Checks that the steps, enrollments of the members section included, are
// in time order: the run sets the clock to each in turn.
void CheckTimeOrder(const std::vector<ScenarioStep>& timeline, Problems& problems) {
  for (size_t i = 1; i < timeline.size(); ++i) {
    if (timeline[i].at < timeline[i - 1].at) {
      problems.Add(FieldPath(timeline[i].where, "at"),
                   absl::StrCat(timeline[i].at.ToString(), " is before ", timeline[i - 1].where, " at ",
                                timeline[i - 1].at.ToString(), "; steps must be in time order"));
    }
  }
}

// Sets the versions the engine starts with: those before the first version
// the timeline publishes. Published versions come after them, each once, in
// the program's order; checked only when nothing else is wrong.
void SetInitiallyPublished(const std::vector<std::string>& publish_order, Scenario& scenario, Problems& problems) {
  const auto& versions = scenario.program.versions();
  size_t first_published = versions.size();
  for (size_t i = 0; i < versions.size(); ++i) {
    if (std::find(publish_order.begin(), publish_order.end(), versions[i]->id) != publish_order.end()) {
      first_published = std::min(first_published, i);
    }
  }
  std::vector<std::string> expected_order;
  for (size_t i = first_published; i < versions.size(); ++i) expected_order.push_back(versions[i]->id);
  if (first_published == 0) {
    problems.Add("timeline", "publishes the program's first version; the engine needs one to start with");
  } else if (publish_order != expected_order && problems.empty()) {
    problems.Add("timeline", absl::StrCat("publishes ", absl::StrJoin(publish_order, ", "),
                                          "; after the first published version every later one must be "
                                          "published once, in the program's order: ",
                                          absl::StrJoin(expected_order, ", ")));
  }
  for (size_t i = 0; i < first_published; ++i) scenario.initially_published.push_back(versions[i]->id);
}

// Reads the `populations` section: synthetic members' balances for the
// impact reports.
void ReadPopulations(const Fields& f, std::vector<ScenarioPopulation>& populations, Problems& problems) {
  const Json* items = f.Get("populations");
  if (items == nullptr) return;
  if (!items->is_array()) {
    problems.Add("populations", absl::StrCat("expected an array, got ", Kind(*items)));
    return;
  }
  for (size_t i = 0; i < items->size(); ++i) {
    Fields g((*items)[i], Element("populations", i), problems, {"name", "members", "median", "sigma", "total"});
    ScenarioPopulation population;
    population.name = g.String("name", kRequired).value_or("");
    population.population.members = g.Integer("members", 1, kInt64Max, kRequired).value_or(1);
    population.population.median = Points(g.Integer("median", 1, kInt64Max, kRequired).value_or(1));
    population.population.sigma = g.RateField("sigma", kRequired).value_or(*Rate::Parse("1"));
    population.population.total = Points(g.Integer("total", 0, kInt64Max, kRequired).value_or(0));
    // Here rather than when a report computes the balances: a size that
    // cannot be allocated is refused with the file's other problems.
    if (absl::Status checked = CheckSyntheticPopulation(population.population); !checked.ok()) {
      problems.AddLine(absl::StrCat(g.path(), ".", checked.message()));
    }
    populations.push_back(std::move(population));
  }
}

// Reads the `reports` section, against the program and populations already
// read.
void ReadReports(const Fields& f, const Context& context, Scenario& scenario, Problems& problems) {
  const Json* reports = f.Get("reports");
  if (reports == nullptr) return;
  if (!reports->is_array()) {
    problems.Add("reports", absl::StrCat("expected an array, got ", Kind(*reports)));
    return;
  }
  for (size_t i = 0; i < reports->size(); ++i) {
    if (auto report = ReadReport((*reports)[i], i, scenario, context, problems)) {
      scenario.reports.push_back(*std::move(report));
    }
  }
}

// Reads a scenario document section by section, reporting every problem
// found; after an unusable program, only those found before it.
absl::StatusOr<Scenario> ParseScenarioOrThrow(absl::string_view json_text, const std::string& base_directory) {
  Problems problems;
  std::optional<Json> document = ParseDocument(json_text, problems);
  if (!document) return problems.ToStatus();
  Fields f(*document, "", problems,
           {"id", "title", "description", "program", "members", "timeline", "populations", "reports"});
  if (!f.ok()) return problems.ToStatus();
  std::optional<Scenario> scenario = ReadHeading(f, base_directory, problems);
  if (!scenario) return problems.ToStatus();
  Context context = ContextOf(scenario->program);
  ReadMembers(f, scenario->id, context, scenario->timeline, problems);
  ReadTimeline(f, scenario->id, context, scenario->timeline, problems);
  CheckTimeOrder(scenario->timeline, problems);
  SetInitiallyPublished(context.publish_order, *scenario, problems);
  ReadPopulations(f, scenario->populations, problems);
  ReadReports(f, context, *scenario, problems);
  if (!problems.empty()) return problems.ToStatus();
  return *std::move(scenario);
}

}  // namespace

absl::StatusOr<Scenario> ParseScenario(absl::string_view json_text, const std::string& base_directory) {
  try {
    return ParseScenarioOrThrow(json_text, base_directory);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "scenario");
  }
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  try {
    absl::StatusOr<std::string> text = ReadFile(path, "scenario file");
    if (!text.ok()) return text.status();
    size_t slash = path.rfind('/');
    std::string directory = slash == std::string::npos ? "" : path.substr(0, slash == 0 ? 1 : slash);
    auto scenario = ParseScenarioOrThrow(*text, directory);
    if (scenario.ok()) return scenario;
    return internal::PrefixLines(scenario.status(), path);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "scenario");
  }
}

}  // namespace loyalty
