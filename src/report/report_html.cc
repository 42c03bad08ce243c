// The self-contained HTML audit report (report_html.h): tables of the
// devaluation impact and the notice check, and the three charts.
#include "loyalty/report_html.h"

#include <limits>
#include <optional>
#include <span>

#include "absl/strings/str_cat.h"
#include "report/html_text.h"
#include "report/svg_bar_chart.h"

namespace loyalty {

namespace {

using internal::EscapeHtml;
using internal::Grouped;
using internal::GroupedDecimal;
using internal::MoneyText;

constexpr char kStyle[] = R"css(
body { font-family: sans-serif; color: #1d2733; background: #ffffff; margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 3px solid #2f5d8a; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; color: #2f5d8a; }
h3 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #c5ced8; padding: .3em .6em; text-align: left; vertical-align: top; }
thead th { background: #e9eef4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
.severity { font-weight: bold; padding: .1em .4em; border-radius: .3em; }
.severity-violation { background: #f6d5d8; color: #8a1c2b; }
.severity-warning { background: #fbecc7; color: #7a5200; }
.severity-info { background: #dde9f6; color: #1f4d7a; }
figure.chart-figure { margin: 1em 0 2em; display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure.chart-figure figcaption { flex-basis: 100%; font-weight: bold; }
svg.chart { display: block; background: #fbfcfd; border: 1px solid #dde3ea; }
svg .bar.s0, svg .legend.s0 { fill: #2f5d8a; }
svg .bar.s1, svg .legend.s1 { fill: #d1495b; }
svg .grid { stroke: #dde3ea; stroke-width: 1; }
svg .axis { stroke: #1d2733; stroke-width: 1.5; }
svg text { font-family: sans-serif; fill: #1d2733; }
svg .chart-title { font-size: 15px; font-weight: bold; }
svg .tick, svg .category, svg .legend-label { font-size: 11px; }
svg .axis-label { font-size: 12px; font-style: italic; }
table.figures { font-size: .85em; }
p.note { color: #4a5866; font-size: .9em; }
)css";

std::string Cell(const std::string& text) { return absl::StrCat("<td>", EscapeHtml(text), "</td>"); }
std::string Number(Int128 value) { return absl::StrCat("<td class=\"num\">", Grouped(value), "</td>"); }
std::string NumberText(const std::string& text) { return absl::StrCat("<td class=\"num\">", text, "</td>"); }

// before - after of two exact ratios, or nullopt if the cross products do
// not fit in 128 bits.
std::optional<Fraction> Difference(const Fraction& a, const Fraction& b) {
  Int128 left, right, denominator, numerator;
  if (__builtin_mul_overflow(a.numerator, b.denominator, &left) ||
      __builtin_mul_overflow(b.numerator, a.denominator, &right) ||
      __builtin_mul_overflow(a.denominator, b.denominator, &denominator) ||
      __builtin_sub_overflow(left, right, &numerator)) {
    return std::nullopt;
  }
  return Fraction{numerator, denominator};
}

std::string ExactAwards(const Fraction& awards) { return GroupedDecimal(awards.ToDecimal(2)); }

void AppendMetrics(std::string& html, const DevaluationImpact& impact) {
  const Transition& t = impact.transition;
  std::optional<Fraction> pool_lost = Difference(impact.pool_awards_before, impact.pool_awards_after);
  absl::StrAppend(
      &html, "<table class=\"metrics\"><caption>Awards before and after, by both metrics</caption>\n",
      "<thead><tr><th scope=\"col\">metric</th><th scope=\"col\">at ", Grouped(t.price_before.value()), " (",
      EscapeHtml(t.version_before), ")</th><th scope=\"col\">at ", Grouped(t.price_after.value()), " (",
      EscapeHtml(t.version_after), ")</th><th scope=\"col\">awards lost</th><th scope=\"col\">value lost</th></tr>",
      "</thead>\n<tbody>\n");
  absl::StrAppend(&html, "<tr class=\"pool\"><th scope=\"row\">pool: outstanding / price</th>",
                  NumberText(ExactAwards(impact.pool_awards_before)),
                  NumberText(ExactAwards(impact.pool_awards_after)),
                  NumberText(pool_lost ? ExactAwards(*pool_lost) : "n/a (overflow)"),
                  NumberText(MoneyText(impact.pool_value_lost)), "</tr>\n");
  absl::StrAppend(&html, "<tr class=\"whole\"><th scope=\"row\">whole awards: sum of floor(balance / price)</th>",
                  Number(impact.whole_awards_before), Number(impact.whole_awards_after),
                  Number(impact.whole_awards_lost), NumberText(MoneyText(impact.whole_value_lost)), "</tr>\n");
  absl::StrAppend(&html, "</tbody></table>\n");
  absl::StrAppend(&html,
                  "<p class=\"note\">The pool metric divides all outstanding points by the price, as if they "
                  "were one balance; the whole-award metric counts, member by member, the awards a balance "
                  "actually buys. Value lost is the awards lost times the reference value of one award.</p>\n");
}

void AppendMembers(std::string& html, const DevaluationImpact& impact) {
  absl::StrAppend(&html, "<table class=\"members\"><caption>Members</caption>\n<tbody>\n");
  absl::StrAppend(&html, "<tr><th scope=\"row\">members</th>", Number(impact.members), "<td></td></tr>\n");
  absl::StrAppend(&html, "<tr><th scope=\"row\">points outstanding</th>", Number(impact.outstanding.value()),
                  "<td></td></tr>\n");
  absl::StrAppend(&html, "<tr><th scope=\"row\">members who could afford an award before</th>",
                  Number(impact.members_with_award_before),
                  NumberText(internal::PercentText(impact.members_with_award_before, impact.members)), "</tr>\n");
  absl::StrAppend(&html, "<tr class=\"affected\"><th scope=\"row\">members affected (fewer whole awards after)</th>",
                  Number(impact.members_affected),
                  NumberText(internal::PercentText(impact.members_affected, impact.members)), "</tr>\n");
  absl::StrAppend(&html, "</tbody></table>\n");
}

void AppendPercentiles(std::string& html, const DevaluationImpact& impact) {
  const Currency currency = impact.whole_value_lost.currency();
  auto row = [&](const char* name, const Percentiles& p, bool money) {
    auto cell = [&](int64_t value) { return money ? NumberText(MoneyText(Money(value, currency))) : Number(value); };
    absl::StrAppend(&html, "<tr><th scope=\"row\">", name, "</th>", cell(p.p50), cell(p.p90), cell(p.p99),
                    cell(p.max), "</tr>\n");
  };
  absl::StrAppend(&html, "<table class=\"percentiles\"><caption>Loss per affected member (nearest-rank "
                         "percentiles over the ",
                  Grouped(impact.members_affected), " members affected)</caption>\n",
                  "<thead><tr><th scope=\"col\">loss</th><th scope=\"col\">median</th><th scope=\"col\">90th</th>"
                  "<th scope=\"col\">99th</th><th scope=\"col\">largest</th></tr></thead>\n<tbody>\n");
  row("whole awards lost", impact.awards_lost, false);
  row("points short of keeping the awards", impact.shortfall, false);
  row("value lost", impact.money_lost_minor, true);
  absl::StrAppend(&html, "</tbody></table>\n");
}

void AppendOptions(std::string& html, const DevaluationImpact& impact) {
  if (impact.options.empty()) return;
  absl::StrAppend(&html, "<table class=\"options\"><caption>Grandfathering options side by side</caption>\n",
                  "<thead><tr><th scope=\"col\">option</th><th scope=\"col\">what it keeps</th>"
                  "<th scope=\"col\">whole awards</th><th scope=\"col\">awards protected</th>"
                  "<th scope=\"col\">members protected</th><th scope=\"col\">value protected</th></tr></thead>\n"
                  "<tbody>\n");
  for (const GrandfatheringOutcome& option : impact.options) {
    absl::StrAppend(&html, "<tr><th scope=\"row\">", EscapeHtml(option.option), "</th>", Cell(option.facts),
                    Number(option.whole_awards), Number(option.awards_protected), Number(option.members_protected),
                    NumberText(MoneyText(option.value_protected)), "</tr>\n");
  }
  absl::StrAppend(&html, "</tbody></table>\n");
}

void AppendOpen(std::string& html, const DevaluationImpact& impact) {
  if (!impact.open_at_change) return;
  const OpenAtChange& open = *impact.open_at_change;
  absl::StrAppend(&html, "<table class=\"open\"><caption>Holds and quotes open at the change</caption>\n<tbody>\n",
                  "<tr><th scope=\"row\">holds</th>", Number(open.holds), "</tr>\n",
                  "<tr><th scope=\"row\">points held</th>", Number(open.held.value()), "</tr>\n",
                  "<tr><th scope=\"row\">quotes</th>", Number(open.quotes), "</tr>\n",
                  "<tr><th scope=\"row\">points quoted</th>", Number(open.quoted.value()), "</tr>\n",
                  "<tr><th scope=\"row\">priced under the old version</th>", Number(open.priced_before), "</tr>\n",
                  "<tr><th scope=\"row\">new version keeps their price (price_lock)</th>",
                  Cell(open.price_lock ? "yes" : "no"), "</tr>\n",
                  "<tr><th scope=\"row\">extra points at the new price</th>", Number(open.repricing.value()),
                  "</tr>\n</tbody></table>\n");
}

std::vector<int64_t> Values(std::span<const int64_t> values) { return {values.begin(), values.end()}; }

void AppendLossHistogram(std::string& html, const DevaluationImpact& impact, size_t index) {
  internal::BarChart chart;
  chart.id = absl::StrCat("loss-histogram-", index);
  chart.title = absl::StrCat("Whole awards lost per member, ", impact.transition.reward);
  chart.x_label = "whole awards lost";
  chart.y_label = "members";
  for (size_t k = 1; k <= impact.histogram.size(); ++k) {
    chart.categories.push_back(k < impact.histogram.size() ? absl::StrCat(k) : absl::StrCat(k, " or more"));
  }
  chart.series.push_back({"members", Values(impact.histogram)});
  absl::StrAppend(&html, internal::RenderBarChart(chart));
}

void AppendImpact(std::string& html, const LabelledImpact& labelled, size_t index) {
  const DevaluationImpact& impact = labelled.impact;
  const Transition& t = impact.transition;
  absl::StrAppend(&html, "<section class=\"impact\" id=\"impact-", index, "\">\n<h2>Impact: ",
                  EscapeHtml(labelled.label), "</h2>\n");
  absl::StrAppend(&html, "<p>Reward <code class=\"reward\">", EscapeHtml(t.reward), "</code>: ",
                  Grouped(t.price_before.value()), " points under ", EscapeHtml(t.version_before), ", ",
                  Grouped(t.price_after.value()), " under ", EscapeHtml(t.version_after), ", announced ",
                  EscapeHtml(t.announced_at.ToString()), ", effective ", EscapeHtml(t.effective_from.ToString()),
                  ".</p>\n");
  AppendMetrics(html, impact);
  AppendMembers(html, impact);
  AppendPercentiles(html, impact);
  AppendOptions(html, impact);
  AppendOpen(html, impact);
  AppendLossHistogram(html, impact, index);
  absl::StrAppend(&html, "</section>\n");
}

void AppendNotice(std::string& html, const NoticeReport& notice) {
  absl::StrAppend(&html, "<section class=\"notice\" id=\"notice\">\n<h2>Notice check</h2>\n");
  absl::StrAppend(&html, "<table class=\"transitions\"><caption>Version changes</caption>\n<thead><tr>"
                         "<th scope=\"col\">from</th><th scope=\"col\">to</th><th scope=\"col\">announced</th>"
                         "<th scope=\"col\">effective</th><th scope=\"col\">days of notice</th></tr></thead>\n"
                         "<tbody>\n");
  for (const TransitionNotice& t : notice.transitions) {
    absl::StrAppend(&html, "<tr>", Cell(t.version_before), Cell(t.version), Cell(t.announced.ToString()),
                    Cell(t.effective.ToString()), Number(t.days), "</tr>\n");
  }
  absl::StrAppend(&html, "</tbody></table>\n");
  if (notice.findings.empty()) {
    absl::StrAppend(&html, "<p class=\"findings-none\">No findings.</p>\n</section>\n");
    return;
  }
  absl::StrAppend(&html, "<table class=\"findings\"><caption>Findings</caption>\n<thead><tr>"
                         "<th scope=\"col\">severity</th><th scope=\"col\">finding</th><th scope=\"col\">change</th>"
                         "<th scope=\"col\">subject</th><th scope=\"col\">facts</th></tr></thead>\n<tbody>\n");
  for (const Finding& finding : notice.findings) {
    absl::string_view severity = SeverityName(finding.severity);
    absl::StrAppend(&html, "<tr><td><span class=\"severity severity-", severity, "\">", severity, "</span></td>",
                    Cell(finding.code), Cell(absl::StrCat(finding.version_before, " -> ", finding.version)),
                    Cell(finding.subject), Cell(finding.facts), "</tr>\n");
  }
  absl::StrAppend(&html, "</tbody></table>\n</section>\n");
}

void AppendRevenue(std::string& html, const LabelledRevenue& labelled) {
  const RevenueReport& r = labelled.revenue;
  absl::StrAppend(&html, "<section class=\"revenue\">\n<h2>", EscapeHtml(labelled.label), "</h2>\n<p>Revenue ",
                  "recognised from ", EscapeHtml(r.from.ToString()), " to ", EscapeHtml(r.to.ToString()), ": <b>",
                  EscapeHtml(MoneyText(r.revenue)), "</b></p>\n");
  absl::StrAppend(&html, "<table class=\"revenue-roll-forward\"><caption>Contract liability by earning cohort"
                         "</caption>\n<thead><tr><th scope=\"col\">cohort</th><th scope=\"col\">opening</th>"
                         "<th scope=\"col\">deferred</th><th scope=\"col\">reversed</th>"
                         "<th scope=\"col\">on redemption</th><th scope=\"col\">breakage</th>"
                         "<th scope=\"col\">catch-up</th><th scope=\"col\">completion</th>"
                         "<th scope=\"col\">closing</th><th scope=\"col\">expected rate</th>"
                         "<th scope=\"col\">history suggests</th></tr></thead>\n<tbody>\n");
  auto row = [&](const CohortRevenue& c, const std::string& name) {
    absl::StrAppend(&html, "<tr>", Cell(name));
    for (const Money* m : {&c.opening, &c.deferred, &c.reversed, &c.on_redemption, &c.breakage, &c.catch_up,
                           &c.completion, &c.closing}) {
      absl::StrAppend(&html, NumberText(EscapeHtml(MoneyText(*m))));
    }
    absl::StrAppend(&html, Cell(c.expected_redemption_rate ? c.expected_redemption_rate->ToString() : ""),
                    Cell(c.suggested_redemption_rate ? c.suggested_redemption_rate->ToDecimal(4) : ""), "</tr>\n");
  };
  for (const CohortRevenue& c : r.cohorts) row(c, absl::StrCat(c.cohort));
  row(r.total, "total");
  absl::StrAppend(&html, "</tbody></table>\n</section>\n");
}

std::string BucketLabel(const BalanceBucket& bucket) {
  if (bucket.high == std::numeric_limits<int64_t>::max()) return absl::StrCat(Grouped(bucket.low), " or more");
  if (bucket.low == bucket.high) return Grouped(bucket.low);
  return absl::StrCat(Grouped(bucket.low), "\u2013", Grouped(bucket.high));
}

void AppendBalances(std::string& html, const BalanceDistribution& balances) {
  internal::BarChart chart;
  chart.id = "balance-distribution";
  chart.title = absl::StrCat("Members by balance (", Grouped(balances.members), " members, log-spaced buckets)");
  chart.x_label = "balance in points";
  chart.y_label = "members";
  std::vector<int64_t> members;
  for (const BalanceBucket& bucket : balances.buckets) {
    chart.categories.push_back(BucketLabel(bucket));
    members.push_back(bucket.members);
  }
  chart.series.push_back({"members", std::move(members)});
  absl::StrAppend(&html, "<section class=\"balances\">\n<h2>Balance distribution</h2>\n",
                  internal::RenderBarChart(chart), "</section>\n");
}

void AppendAffordable(std::string& html, const AwardsAffordable& afford, size_t index) {
  internal::BarChart chart;
  chart.id = absl::StrCat("awards-affordable-", index);
  chart.title = absl::StrCat("Whole awards a balance buys, ", afford.reward);
  chart.x_label = "whole awards affordable";
  chart.y_label = "members";
  for (int k = 0; k < AwardsAffordable::kBuckets; ++k) {
    chart.categories.push_back(k + 1 < AwardsAffordable::kBuckets ? absl::StrCat(k) : absl::StrCat(k, " or more"));
  }
  chart.series.push_back({absl::StrCat("at ", Grouped(afford.price_before.value()), " (", afford.version_before, ")"),
                          Values(afford.before)});
  chart.series.push_back({absl::StrCat("at ", Grouped(afford.price_after.value()), " (", afford.version_after, ")"),
                          Values(afford.after)});
  absl::StrAppend(&html, internal::RenderBarChart(chart));
}

}  // namespace

std::string RenderHtmlReport(const HtmlReportInput& input) {
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      EscapeHtml(input.title), "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<h1>", EscapeHtml(input.title),
      "</h1>\n");
  if (input.impacts.empty()) absl::StrAppend(&html, "<p class=\"empty\">No impact results.</p>\n");
  for (size_t i = 0; i < input.impacts.size(); ++i) AppendImpact(html, input.impacts[i], i);
  if (input.notice) AppendNotice(html, *input.notice);
  for (const LabelledRevenue& revenue : input.revenue) AppendRevenue(html, revenue);
  if (input.balances) AppendBalances(html, *input.balances);
  if (!input.affordable.empty()) {
    absl::StrAppend(&html, "<section class=\"affordable\">\n<h2>Awards affordable under each chart</h2>\n");
    for (size_t i = 0; i < input.affordable.size(); ++i) AppendAffordable(html, input.affordable[i], i);
    absl::StrAppend(&html, "</section>\n");
  }
  absl::StrAppend(&html, "</body>\n</html>\n");
  return html;
}

}  // namespace loyalty
