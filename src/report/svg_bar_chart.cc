// Bar charts as inline SVG with a table of their numbers (svg_bar_chart.h).
// Coordinates are computed in hundredths of a pixel with integer arithmetic.
#include "report/svg_bar_chart.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "report/html_text.h"
#include "loyalty/check.h"
#include "loyalty/value.h"

namespace loyalty::internal {

namespace {

constexpr int kLeft = 96;         // room for the y tick labels and the y axis title
constexpr int kTop = 48;          // room for the title and the legend
constexpr int kBottom = 112;      // room for slanted category labels and the x axis title
constexpr int kRight = 24;
constexpr int kGap = 10;          // between category groups
constexpr int kMinPlotWidth = 560;

// Hundredths of a pixel as SVG text: 12345 -> "123.45".
std::string Px(int64_t centi) { return Fraction{centi, 100}.ToDecimal(2); }

// The y of value v in hundredths of a pixel (0 at the axis top).
int64_t HeightCenti(int64_t value, int64_t top) {
  return static_cast<int64_t>(DivideRounded(Int128{value} * kPlotHeight * 100, top, Rounding::kHalfUp));
}

// The tick step for an axis top of 1, 2 or 5 x 10^k.
int64_t TickStep(int64_t top) {
  if (top <= 2) return 1;
  int64_t power = 1;
  while (top / power >= 10) power *= 10;
  int64_t mantissa = top / power;
  if (mantissa * power != top) return top;  // not a round top: 0 and the top only
  if (mantissa == 1) return 2 * power / 10;
  if (mantissa == 2) return 5 * power / 10;
  return power;  // 5
}

}  // namespace

int64_t AxisTop(int64_t largest) {
  if (largest <= 1) return 1;
  for (int64_t power = 1;; power *= 10) {
    for (int64_t mantissa : {1, 2, 5}) {
      if (largest <= mantissa * power) return mantissa * power;
    }
    if (power > std::numeric_limits<int64_t>::max() / 100) return largest;  // no round top fits
  }
}

std::string RenderBarChart(const BarChart& chart) {
  LOYALTY_CHECK(chart.series.size() == 1 || chart.series.size() == 2);
  int64_t largest = 0;
  for (const BarSeries& series : chart.series) {
    LOYALTY_CHECK(series.values.size() == chart.categories.size());
    for (int64_t value : series.values) {
      LOYALTY_CHECK(value >= 0);
      largest = std::max(largest, value);
    }
  }
  const int64_t top = AxisTop(largest);
  const int series_count = static_cast<int>(chart.series.size());
  const int bar_width = series_count == 1 ? 24 : 16;
  const int group_width = series_count * bar_width + kGap;
  const int categories = static_cast<int>(chart.categories.size());
  const int plot_width = std::max(kMinPlotWidth, categories * group_width + kGap);
  const int width = kLeft + plot_width + kRight;
  const int height = kTop + kPlotHeight + kBottom;
  const int64_t base = int64_t{kTop + kPlotHeight} * 100;  // the x axis, centi-px
  const std::string title_id = absl::StrCat(chart.id, "-title");

  std::string svg = absl::StrCat("<svg class=\"chart\" id=\"", chart.id, "\" role=\"img\" aria-labelledby=\"",
                                 title_id, "\" width=\"", width, "\" height=\"", height, "\" viewBox=\"0 0 ",
                                 width, " ", height, "\" data-axis-top=\"", top, "\" data-plot-height=\"",
                                 kPlotHeight, "\">\n");
  absl::StrAppend(&svg, "<title id=\"", title_id, "\">", EscapeHtml(chart.title), "</title>\n");
  absl::StrAppend(&svg, "<text class=\"chart-title\" x=\"", kLeft, "\" y=\"20\">", EscapeHtml(chart.title),
                  "</text>\n");
  // Legend, top right.
  if (series_count > 1) {
    int x = kLeft + plot_width - 300;
    for (int s = 0; s < series_count; ++s) {
      absl::StrAppend(&svg, "<rect class=\"legend s", s, "\" x=\"", x, "\" y=\"28\" width=\"12\" height=\"12\"/>",
                      "<text class=\"legend-label\" x=\"", x + 16, "\" y=\"38\">",
                      EscapeHtml(chart.series[s].name), "</text>\n");
      x += 150;
    }
  }
  // Grid lines and y ticks.
  const int64_t step = TickStep(top);
  for (int64_t tick = 0; tick <= top; tick += step) {
    int64_t y = base - HeightCenti(tick, top);
    absl::StrAppend(&svg, "<line class=\"grid\" x1=\"", kLeft, "\" x2=\"", kLeft + plot_width, "\" y1=\"", Px(y),
                    "\" y2=\"", Px(y), "\"/><text class=\"tick\" x=\"", kLeft - 6, "\" y=\"", Px(y + 400),
                    "\" text-anchor=\"end\">", Grouped(tick), "</text>\n");
    if (tick > top - step) break;  // no overflow past the top
  }
  // Bars.
  for (int c = 0; c < categories; ++c) {
    const int group_x = kLeft + kGap + c * group_width;
    for (int s = 0; s < series_count; ++s) {
      int64_t value = chart.series[s].values[c];
      int64_t bar = HeightCenti(value, top);
      absl::StrAppend(&svg, "<rect class=\"bar s", s, "\" x=\"", group_x + s * bar_width, "\" y=\"", Px(base - bar),
                      "\" width=\"", bar_width - 2, "\" height=\"", Px(bar), "\" data-value=\"", value, "\"><title>",
                      EscapeHtml(chart.categories[c]), series_count > 1 ? ", " : "",
                      series_count > 1 ? EscapeHtml(chart.series[s].name) : "", ": ", Grouped(value),
                      "</title></rect>\n");
    }
    const int label_x = group_x + (series_count * bar_width) / 2;
    const int label_y = kTop + kPlotHeight + 14;
    absl::StrAppend(&svg, "<text class=\"category\" x=\"", label_x, "\" y=\"", label_y,
                    "\" text-anchor=\"end\" transform=\"rotate(-35 ", label_x, " ", label_y, ")\">",
                    EscapeHtml(chart.categories[c]), "</text>\n");
  }
  // Axes and their titles.
  absl::StrAppend(&svg, "<line class=\"axis\" x1=\"", kLeft, "\" x2=\"", kLeft, "\" y1=\"", kTop, "\" y2=\"",
                  kTop + kPlotHeight, "\"/>\n<line class=\"axis\" x1=\"", kLeft, "\" x2=\"", kLeft + plot_width,
                  "\" y1=\"", kTop + kPlotHeight, "\" y2=\"", kTop + kPlotHeight, "\"/>\n");
  absl::StrAppend(&svg, "<text class=\"axis-label\" x=\"", kLeft + plot_width / 2, "\" y=\"", height - 8,
                  "\" text-anchor=\"middle\">", EscapeHtml(chart.x_label), "</text>\n");
  const int y_label_y = kTop + kPlotHeight / 2;
  absl::StrAppend(&svg, "<text class=\"axis-label\" x=\"16\" y=\"", y_label_y,
                  "\" text-anchor=\"middle\" transform=\"rotate(-90 16 ", y_label_y, ")\">",
                  EscapeHtml(chart.y_label), "</text>\n</svg>\n");

  // The same numbers as a table.
  std::string table = absl::StrCat("<table class=\"figures\" id=\"", chart.id, "-figures\"><caption>",
                                   EscapeHtml(chart.title), ": the figures</caption>\n<thead><tr><th scope=\"col\">",
                                   EscapeHtml(chart.x_label), "</th>");
  for (const BarSeries& series : chart.series) {
    absl::StrAppend(&table, "<th scope=\"col\">", EscapeHtml(series.name), "</th>");
  }
  absl::StrAppend(&table, "</tr></thead>\n<tbody>\n");
  for (int c = 0; c < categories; ++c) {
    absl::StrAppend(&table, "<tr><th scope=\"row\">", EscapeHtml(chart.categories[c]), "</th>");
    for (const BarSeries& series : chart.series) {
      absl::StrAppend(&table, "<td class=\"num\">", Grouped(series.values[c]), "</td>");
    }
    absl::StrAppend(&table, "</tr>\n");
  }
  absl::StrAppend(&table, "</tbody></table>\n");
  return absl::StrCat("<figure class=\"chart-figure\">\n<figcaption>", EscapeHtml(chart.title), "</figcaption>\n",
                      svg, table, "</figure>\n");
}

}  // namespace loyalty::internal
