// The audit report as one self-contained HTML page: the devaluation impact
// tables (both metrics, members affected, loss percentiles, the
// grandfathering options side by side, open holds and quotes), the notice
// findings, the revenue roll-forward of the contract liability by cohort,
// and inline SVG bar charts of the balance distribution, the awards
// affordable under each chart and the loss histogram.
//
// The page needs nothing but itself: CSS is inline, charts are inline SVG,
// there are no scripts, fonts, images or links to anything outside it, so it
// opens offline and can be archived with the audit. Every text taken from the
// input (titles, reward ids, version ids, facts) is HTML-escaped. Numbers are
// written with thousands separators ("2,200,000"), money with its currency
// ("EUR 942,857,142.86"). Each chart carries its numbers as text too: a
// table beside it and a <title> per bar, so the figures can be read by a
// screen reader and checked in the DOM.
//
//   HtmlReportInput input{.title = "Miles & More 2010 -> 2011"};
//   input.impacts.push_back({"20 million members", *impact});
//   input.notice = *CheckNotice(*program, {});
//   input.balances = *BalanceDistributionOf(*balances);
//   input.affordable.push_back(*AwardsAffordableOf(*change, *balances));
//   std::string page = RenderHtmlReport(input);
//
// Thread safety: a pure function of its input.
#ifndef LOYALTY_REPORT_HTML_H_
#define LOYALTY_REPORT_HTML_H_

#include <optional>
#include <string>
#include <vector>

#include "loyalty/audit.h"
#include "loyalty/distribution.h"

namespace loyalty {

// One impact result and what it was computed over ("20 million members",
// "the journal as of 3 January 2011").
struct LabelledImpact {
  std::string label;
  DevaluationImpact impact;
};

// A revenue report and its heading ("Revenue 2010").
struct LabelledRevenue {
  std::string label;
  RevenueReport revenue;
};

struct HtmlReportInput {
  std::string title;
  std::vector<LabelledImpact> impacts{};     // each gets its tables and loss histogram
  std::optional<NoticeReport> notice{};      // the notice check, if run
  std::optional<BalanceDistribution> balances{};  // chart (a), if given
  std::vector<AwardsAffordable> affordable{};  // chart (b), one per reward
  std::vector<LabelledRevenue> revenue{};      // each gets its roll-forward by cohort
};

// The page, UTF-8, starting with <!DOCTYPE html>. Total: any input renders
// (an empty section says that it has no data); never fails.
std::string RenderHtmlReport(const HtmlReportInput& input);

}  // namespace loyalty

#endif  // LOYALTY_REPORT_HTML_H_
