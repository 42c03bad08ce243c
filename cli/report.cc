// JSON and text renderings of the run report and the audit results (see
// report.h). The text renderer works on the JSON form, so both show the same
// figures under the same names.
#include "report.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace loyalty::cli {
namespace {

using ::loyalty::cli::ToJson;  // the public overloads, beside those below

Json TextOrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Json ToJson(const Percentiles& p) { return Json{{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}}; }

Json ToJson(const BalancesResult& result) {
  Json rows = Json::array();
  for (const BalanceRow& row : result.rows) {
    Json line{{"member", row.member.value()}};
    line.update(ToJson(row.figures));
    rows.push_back(line);
  }
  return Json{{"members", rows}};
}

Json ToJson(const Statement& statement) {
  Json lines = Json::array();
  for (const StatementLine& line : statement.lines) {
    lines.push_back(Json{{"entry", line.seq}, {"time", line.business_time.ToString()}, {"version", line.version},
                         {"kind", line.kind}, {"change", line.delta.available.value()},
                         {"available", line.balance.available.value()}, {"held", line.balance.held.value()},
                         {"debt", line.balance.debt.value()}, {"explanation", line.explanation}});
  }
  Json vouchers = Json::array();
  for (const StatementVoucher& v : statement.vouchers) {
    vouchers.push_back(Json{{"voucher", absl::StrCat(v.voucher.accrual, "/", v.voucher.number)},
                            {"card", v.card}, {"reward", v.reward}, {"issued_at", v.issued_at.ToString()},
                            {"expires_at", v.expires_at.ToString()}, {"state", v.state},
                            {"closed_by", v.closed_by == 0 ? Json(nullptr) : Json(v.closed_by)}});
  }
  return Json{{"member", statement.member.value()}, {"opening", ToJson(statement.opening)},
              {"lines", lines}, {"closing", ToJson(statement.closing)},
              {"stamps", Json(statement.stamps)}, {"vouchers", vouchers}};
}

Json ToJson(const ImpactResult& result) {
  const DevaluationImpact& i = result.impact;
  Json options = Json::array();
  for (const GrandfatheringOutcome& o : i.options) {
    options.push_back(Json{{"option", o.option}, {"whole_awards", o.whole_awards},
                           {"awards_protected", o.awards_protected}, {"members_protected", o.members_protected},
                           {"value_protected", ToJson(o.value_protected)}, {"facts", o.facts}});
  }
  Json histogram = Json::array();
  for (size_t k = 0; k < i.histogram.size(); ++k) {
    histogram.push_back(Json{{"awards_lost", k + 1 == i.histogram.size() ? absl::StrCat(k + 1, "+")
                                                                           : absl::StrCat(k + 1)},
                             {"members", i.histogram[k]}});
  }
  Json out{{"basis", result.basis},
           {"reward", i.transition.reward},
           {"from", i.transition.version_before},
           {"to", i.transition.version_after},
           {"price_before", i.transition.price_before.value()},
           {"price_after", i.transition.price_after.value()},
           {"announced", i.transition.announced_at.ToString()},
           {"effective", i.transition.effective_from.ToString()},
           {"members", i.members},
           {"outstanding", i.outstanding.value()},
           {"pool", Json{{"metric", "outstanding points / price, exact"},
                         {"awards_before", i.pool_awards_before.ToDecimal(2)},
                         {"awards_after", i.pool_awards_after.ToDecimal(2)},
                         {"value_lost", ToJson(i.pool_value_lost)}}},
           {"whole_awards", Json{{"metric", "sum over members of floor(balance / price)"},
                                 {"before", i.whole_awards_before},
                                 {"after", i.whole_awards_after},
                                 {"lost", i.whole_awards_lost},
                                 {"value_lost", ToJson(i.whole_value_lost)}}},
           {"members_with_award_before", i.members_with_award_before},
           {"members_affected", i.members_affected},
           {"awards_lost", ToJson(i.awards_lost)},
           {"shortfall", ToJson(i.shortfall)},
           {"loss_histogram", histogram},
           {"grandfathering", options},
           {"open_at_change", nullptr}};  // not known of a synthetic population
  if (i.open_at_change) {
    const OpenAtChange& o = *i.open_at_change;
    out["open_at_change"] = Json{{"holds", o.holds}, {"quotes", o.quotes}, {"held", o.held.value()},
                                 {"quoted", o.quoted.value()}, {"priced_before", o.priced_before},
                                 {"price_lock", o.price_lock}, {"repricing", o.repricing.value()}};
  }
  return out;
}

Json ToJson(const NoticeReport& report) {
  Json transitions = Json::array();
  for (const TransitionNotice& t : report.transitions) {
    transitions.push_back(Json{{"from", t.version_before}, {"to", t.version}, {"announced", t.announced.ToString()},
                               {"effective", t.effective.ToString()}, {"days", t.days}});
  }
  Json findings = Json::array();
  for (const Finding& f : report.findings) {
    findings.push_back(Json{{"severity", std::string(SeverityName(f.severity))}, {"code", f.code},
                            {"version", f.version}, {"subject", f.subject}, {"facts", f.facts}});
  }
  return Json{{"transitions", transitions}, {"findings", findings}};
}


Json ToJson(const LiabilityRollForward& r) {
  Json lines = Json::array();
  auto line = [&](const char* name, const ValuedPoints& v) {
    lines.push_back(Json{{"line", name}, {"points", v.points.value()}, {"value", ToJson(v.value)}});
  };
  line("opening", r.opening);
  line("issued", r.issued);
  line("redeemed", r.redeemed);
  line("expired", r.expired);
  line("earn_reversed", r.earn_reversed);
  line("redemption_reversed", r.redemption_reversed);
  line("adjusted", r.adjusted);
  line("transferred", r.transferred);
  line("closing", r.closing);
  Json breakage = Json::array();
  for (const CohortBreakage& c : r.breakage) {
    breakage.push_back(Json{{"year", std::to_string(c.year)}, {"redeemed", c.redeemed.value()}, {"expired", c.expired.value()},
                            {"breakage", c.breakage.ToDecimal(4)}});
  }
  return Json{{"from", r.from.ToString()}, {"to", r.to.ToString()}, {"roll_forward", lines},
              {"closing_parts", ToJson(r.closing_parts)}, {"breakage", breakage}};
}

Json ToJson(const SettlementResult& r) {
  Json partners = Json::array();
  for (const PartnerSettlement& s : r.partners) partners.push_back(ToJson(s));
  return Json{{"from", r.from.ToString()}, {"to", r.to.ToString()}, {"partners", partners}};
}

Json ToJson(const LedgerLine& line) {
  return Json{{"date", line.date.ToString()}, {"account", line.account},
              {"debit", ToJson(line.debit)},  {"credit", ToJson(line.credit)},
              {"cohort", std::to_string(line.cohort)}, {"partner", line.partner},
              {"memo", line.memo},            {"seqs", line.seqs}};
}

Json ToJson(const RevenueReport& r) {
  Json roll_forward = Json::array();
  Json cohorts = Json::array();
  auto add = [&](const CohortRevenue& c, const std::string& name) {
    roll_forward.push_back(Json{{"cohort", name}, {"opening", ToJson(c.opening)}, {"deferred", ToJson(c.deferred)},
                                {"reversed", ToJson(c.reversed)}, {"on_redemption", ToJson(c.on_redemption)},
                                {"breakage", ToJson(c.breakage)}, {"catch_up", ToJson(c.catch_up)},
                                {"completion", ToJson(c.completion)}, {"closing", ToJson(c.closing)}});
    auto rate = [](const std::optional<Rate>& rate) { return rate ? Json(rate->ToString()) : Json(nullptr); };
    cohorts.push_back(Json{{"cohort", name}, {"issued", c.issued.value()}, {"redeemed", c.redeemed.value()},
                           {"expired", c.expired.value()}, {"outstanding", c.outstanding.value()},
                           {"redeemed_in_period", c.redeemed_in_period.value()},
                           {"expected_redemption_rate", rate(c.expected_redemption_rate)},
                           {"suggested_redemption_rate", c.suggested_redemption_rate
                                                             ? Json(c.suggested_redemption_rate->ToDecimal(4))
                                                             : Json(nullptr)},
                           {"allocated", ToJson(c.allocated)}, {"recognised", ToJson(c.recognised)}});
  };
  for (const CohortRevenue& c : r.cohorts) add(c, std::to_string(c.cohort));
  add(r.total, "total");
  Json partners = Json::array();
  for (const PartnerRevenue& p : r.partners) {
    partners.push_back(Json{{"partner", p.partner}, {"issued", p.issued.value()}, {"deferred", ToJson(p.deferred)},
                            {"recognises", "the partner its sale; the operator the points it funds"}});
  }
  Json revisions = Json::array();
  for (const EstimateChange& e : r.revisions) {
    revisions.push_back(Json{{"entry", e.seq}, {"effective_from", e.effective_from.ToString()},
                             {"cohort", e.cohort == 0 ? "all" : std::to_string(e.cohort)},
                             {"expected_redemption_rate", e.expected_redemption_rate.ToString()},
                             {"actor", e.actor}, {"reason", e.reason}});
  }
  Json ledger = Json::array();
  for (const LedgerLine& line : r.ledger) ledger.push_back(ToJson(line));
  return Json{{"from", r.from.ToString()}, {"to", r.to.ToString()}, {"revenue", ToJson(r.revenue)},
              {"roll_forward", roll_forward}, {"cohorts", cohorts}, {"not_deferred", r.not_deferred.value()},
              {"partners", partners}, {"revisions", revisions}, {"ledger", ledger}};
}

// ------------------------------------------------------------ text

bool IsPeriod(const Json& value) {
  return value.is_object() && value.size() == 2 && value.contains("first") && value.contains("last") &&
         value["first"].is_string() && value["last"].is_string();
}

// `value` as a person reads it: money as "0.46 EUR", a period of days as
// "2011-01-01..2011-12-31", null as "-".
Json Readable(const Json& value) {
  if (value.is_null()) return "-";
  if (IsMoney(value)) return MoneyText(value);
  if (IsPeriod(value)) return absl::StrCat(value["first"].get<std::string>(), "..", value["last"].get<std::string>());
  if (!value.is_structured()) return value;
  Json out = value.is_array() ? Json::array() : Json::object();
  if (value.is_array()) {
    for (const Json& element : value) out.push_back(Readable(element));
  } else {
    for (const auto& [key, element] : value.items()) out[key] = Readable(element);
  }
  return out;
}

bool IsTable(const Json& value) {
  return value.is_array() && !value.empty() &&
         std::all_of(value.begin(), value.end(), [](const Json& row) { return row.is_object(); });
}

std::string Scalar(const Json& value) {
  if (value.is_string()) return GroupedDecimal(value.get<std::string>());
  if (value.is_number_integer()) return Grouped(value.get<int64_t>());
  if (value.is_object()) {  // a small nested object in a table cell
    std::string out;
    for (const auto& [key, inner] : value.items()) absl::StrAppend(&out, out.empty() ? "" : " ", key, "=", Scalar(inner));
    return out.empty() ? "-" : out;
  }
  if (value.is_array() && value.empty()) return "-";
  return value.dump();
}

// A number a table right-aligns: an integer, or a decimal string with an
// optional currency code ("0.46 EUR", "-0.10 EUR", "1885714.29").
bool IsFigure(const Json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_string()) return false;
  absl::string_view text = value.get_ref<const std::string&>();
  if (text.size() > 4 && text[text.size() - 4] == ' ' &&
      std::all_of(text.end() - 3, text.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    text.remove_suffix(4);
  }
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  size_t point = text.find('.');
  absl::string_view whole = text.substr(0, point);
  absl::string_view fraction = point == text.npos ? absl::string_view() : text.substr(point + 1);
  auto digits = [](absl::string_view part) {
    return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(whole) && (point == text.npos || digits(fraction));
}

void Table(const Json& rows, const std::string& indent, std::string& out) {
  std::vector<std::string> columns;
  for (const Json& row : rows) {
    for (const auto& [key, unused] : row.items()) {
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
    }
  }
  std::vector<std::vector<std::string>> cells(1, columns);
  for (const Json& row : rows) {
    std::vector<std::string> line;
    for (const std::string& column : columns) line.push_back(row.contains(column) ? Scalar(row[column]) : "");
    cells.push_back(line);
  }
  std::vector<size_t> width(columns.size(), 0);
  std::vector<bool> numeric(columns.size(), true);
  for (size_t c = 0; c < columns.size(); ++c) {
    for (size_t r = 0; r < cells.size(); ++r) width[c] = std::max(width[c], cells[r][c].size());
    for (const Json& row : rows) {
      if (row.contains(columns[c]) && !IsFigure(row[columns[c]])) numeric[c] = false;
    }
  }
  for (const auto& line : cells) {
    std::string text = indent;
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string& cell = line[c];
      std::string pad(width[c] - cell.size(), ' ');
      bool last = c + 1 == columns.size();
      if (numeric[c]) absl::StrAppend(&text, pad, cell);
      else absl::StrAppend(&text, cell, last ? "" : pad);
      if (!last) text += "  ";
    }
    out += text + "\n";
  }
}

void Block(const Json& object, const std::string& indent, std::string& out) {
  size_t key_width = 0;
  for (const auto& [key, value] : object.items()) {
    if (!value.is_object() && !IsTable(value)) key_width = std::max(key_width, key.size());
  }
  for (const auto& [key, value] : object.items()) {
    if (value.is_object()) {
      out += indent + key + ":\n";
      Block(value, indent + "  ", out);
    } else if (IsTable(value)) {
      out += indent + key + ":\n";
      Table(value, indent + "  ", out);
    } else {
      out += indent + key + std::string(key_width - key.size() + 2, ' ') + Scalar(value) + "\n";
    }
  }
}

}  // namespace

std::string Grouped(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -(value + 1) + uint64_t{1} : uint64_t(value));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string GroupedDecimal(const std::string& text) {
  absl::string_view number = text;
  absl::string_view currency;
  if (number.size() > 4 && number[number.size() - 4] == ' ') {
    currency = number.substr(number.size() - 4);
    number.remove_suffix(4);
    if (!std::all_of(currency.begin() + 1, currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return text;
  }
  absl::string_view sign;
  if (!number.empty() && number.front() == '-') {
    sign = number.substr(0, 1);
    number.remove_prefix(1);
  }
  size_t point = number.find('.');
  absl::string_view whole = number.substr(0, point);
  absl::string_view fraction = point == number.npos ? absl::string_view() : number.substr(point);
  auto digits = [](absl::string_view part) {
    return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  // A figure has a fraction or a currency; a bare digit string (a year, an
  // id) is not one.
  if (!digits(whole) || (point != number.npos && !digits(fraction.substr(1))) ||
      (point == number.npos && currency.empty())) {
    return text;
  }
  std::string out(sign);
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) out += ',';
    out += whole[i];
  }
  return absl::StrCat(out, fraction, currency);
}

Json ToJson(const Money& money) {
  // Money::ToString is "<amount> <currency>", the amount exact with the
  // currency's minor digits.
  const std::string text = money.ToString();
  const size_t space = text.rfind(' ');
  return Json{{"amount", text.substr(0, space)}, {"currency", std::string(money.currency().code())}};
}

bool IsMoney(const Json& value) {
  return value.is_object() && value.size() == 2 && value.contains("amount") && value.contains("currency") &&
         value["amount"].is_string() && value["currency"].is_string();
}

std::string MoneyText(const Json& money) {
  return absl::StrCat(money["amount"].get<std::string>(), " ", money["currency"].get<std::string>());
}

Json ToJson(const PartnerSettlement& s) {
  return Json{{"partner", s.partner},
              {"issued", s.issued.value()},
              {"redeemed", s.redeemed.value()},
              {"owed_to_operator", ToJson(s.owed_to_operator)},
              {"owed_to_partner", ToJson(s.owed_to_partner)},
              {"net", ToJson(s.net)}};
}

Json Document(absl::string_view command, const Json& body) {
  Json out{{"format", absl::StrCat("loyalty.", command, "/", kJsonFormatVersion)}};
  for (const auto& [key, value] : body.items()) out[key] = value;
  return out;
}

Json ToJson(const MemberBalance& balance) {
  return Json{{"available", balance.available.value()}, {"held", balance.held.value()},
              {"debt", balance.debt.value()}};
}

Json ToJson(const ReportSection& section) {
  static constexpr const char* kKinds[] = {"balances", "statement", "impact", "notice", "liability", "settlement",
                                           "revenue"};
  static_assert(std::size(kKinds) == std::variant_size_v<decltype(section.result)>);
  Json body = std::visit([](const auto& result) { return ToJson(result); }, section.result);
  return Json{{"report", kKinds[section.result.index()]}, {"title", TextOrNull(section.title)}, {"result", body}};
}

Json TimelineRows(const RunReport& report) {
  Json steps = Json::array();
  // A partner column only in scenarios where some step runs at a partner.
  const bool partners = std::any_of(report.steps.begin(), report.steps.end(),
                                    [](const StepOutcome& step) { return !step.partner.empty(); });
  for (const StepOutcome& step : report.steps) {
    Json line{{"step", step.where}, {"at", step.at.ToString()}, {"action", step.action}, {"member", step.member}};
    if (partners) line["partner"] = step.partner;
    line["outcome"] = step.outcome;
    steps.push_back(std::move(line));
  }
  return steps;
}

Json ToJson(const RunReport& report) {
  Json steps = Json::array();
  for (const StepOutcome& step : report.steps) {
    steps.push_back(Json{{"step", step.where},
                         {"at", step.at.ToString()},
                         {"action", step.action},
                         {"member", TextOrNull(step.member)},
                         {"partner", TextOrNull(step.partner)},
                         {"outcome", step.result}});
  }
  Json sections = Json::array();
  for (const ReportSection& section : report.sections) sections.push_back(ToJson(section));
  Json failures = Json::array();
  for (const std::string& failure : report.failures) failures.push_back(failure);
  return Document("run", Json{{"scenario", report.scenario},
                              {"title", TextOrNull(report.title)},
                              {"steps", steps},
                              {"reports", sections},
                              {"journal", Json{{"entries", report.journal_entries}, {"head", report.journal_head},
                                               {"state_digest", report.state_digest}}},
                              {"expectations_failed", failures}});
}

Json ToJson(const JournalVerification& v) {
  return Json{{"result", std::string(JournalFaultName(v.fault))},
              {"entries", v.entries},
              {"head", ToHex(v.head)},
              {"bad_entry", v.ok() ? Json(nullptr) : Json(v.bad_seq)},
              {"detail", TextOrNull(v.detail)},
              {"summary", v.Summary()}};
}

std::string ToText(const Json& document) {
  Json readable = Readable(document);
  if (readable.is_object()) readable.erase("format");
  std::string out;
  if (IsTable(readable)) Table(readable, "", out);
  else if (readable.is_object()) Block(readable, "", out);
  else out = Scalar(readable) + "\n";
  return out;
}

}  // namespace loyalty::cli
