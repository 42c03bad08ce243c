// Internal: a bar chart as inline SVG for the HTML report, with its numbers
// as a table beside it. One or two series of counts over the same
// categories, bars side by side; a linear y axis from 0 to a round top.
#ifndef LOYALTY_SRC_REPORT_SVG_BAR_CHART_H_
#define LOYALTY_SRC_REPORT_SVG_BAR_CHART_H_

#include <cstdint>
#include <string>
#include <vector>

namespace loyalty::internal {

struct BarSeries {
  std::string name;             // legend and table header
  std::vector<int64_t> values;  // one per category, >= 0
};

struct BarChart {
  std::string id;     // unique in the page: [a-z0-9-]+
  std::string title;  // plain text (escaped when written)
  std::string x_label;
  std::string y_label;
  std::vector<std::string> categories;  // plain text
  std::vector<BarSeries> series;        // 1 or 2
};

// The top of the y axis: the smallest 1, 2 or 5 x 10^k that is >= the
// largest value (1 if every value is 0).
int64_t AxisTop(int64_t largest);

// Plot height in px: a bar of value v is round_half_up(v x kPlotHeight /
// AxisTop) px high, written with two decimals.
inline constexpr int kPlotHeight = 240;

// <figure> with the <svg> (title, axes, ticks, labels, legend, one <rect
// class="bar s<series>" data-value="v"> per bar with a <title>) and a
// <table class="figures"> of the same numbers. Preconditions (checked):
// 1 or 2 series, each with one value >= 0 per category.
std::string RenderBarChart(const BarChart& chart);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_REPORT_SVG_BAR_CHART_H_
