// The HTML audit report on a small population worked out by hand: the
// figures appear with separators and currency, every text is escaped, the
// page refers to nothing outside itself, and the SVG bars are as high as
// their counts imply.
#include "loyalty/report_html.h"

#include <regex>

#include "gtest/gtest.h"
#include "report/html_text.h"
#include "report/svg_bar_chart.h"

namespace loyalty {
namespace {

constexpr char kReward[] = "award:<&\">x";

Currency Eur() { return *Currency::FromCode("EUR"); }

Transition Change() {
  Transition t;
  t.reward = kReward;
  t.version_before = "mm-2010";
  t.version_after = "mm-2011";
  t.price_before = Points(90'000);
  t.price_after = Points(105'000);
  t.announced_at = *Instant::Parse("2010-12-01T00:00:00+01:00");
  t.effective_from = *Instant::Parse("2011-01-03T00:00:00+01:00");
  t.declared.price_lock = true;
  return t;
}

// Outstanding 10,612,000. Whole awards before 0+0+1+1+1+2+2+9+100 = 116,
// after 0+0+0+0+1+1+1+8+85 = 96: 20 lost, EUR 60,000. Pool 117.91 -> 101.07,
// 16.84 lost, EUR 50,533.33. Affected: 90,000, 100,000, 180,000, 200,000
// and 887,000 lose one award, 9,000,000 loses 15.
const std::vector<int64_t> kBalances = {0, 50'000, 90'000, 100'000, 105'000, 180'000, 200'000, 887'000, 9'000'000};

std::string Page() {
  ImpactOptions options{.value_per_award = Money(300'000, Eur()), .as_of = Change().effective_from};
  auto impact = ImpactOfBalances(Change(), kBalances, options);
  EXPECT_TRUE(impact.ok()) << impact.status();
  HtmlReportInput input;
  input.title = "Audit <Miles & More>";
  input.impacts.push_back({"nine members", *impact});
  NoticeReport notice;
  notice.transitions.push_back({"mm-2010", "mm-2011", *Date::FromYmd(2010, 12, 1), *Date::FromYmd(2011, 1, 3), 33});
  notice.findings.push_back(
      {Severity::kViolation, "short_notice", "mm-2010", "mm-2011", "program", "33 days < 90 \"minimum\""});
  notice.findings.push_back({Severity::kWarning, "reward_withdrawn", "mm-2010", "mm-2011", kReward, "gone"});
  input.notice = notice;
  input.balances = *BalanceDistributionOf(kBalances);
  input.affordable.push_back(*AwardsAffordableOf(Change(), kBalances));
  return RenderHtmlReport(input);
}

// The <svg id="id"> element's text.
std::string Svg(const std::string& page, const std::string& id) {
  size_t start = page.find("<svg class=\"chart\" id=\"" + id + "\"");
  EXPECT_NE(start, std::string::npos) << id;
  if (start == std::string::npos) return "";
  return page.substr(start, page.find("</svg>", start) - start);
}

struct Bar {
  int64_t value;
  std::string height;
};

std::vector<Bar> BarsOf(const std::string& svg) {
  static const std::regex kBar("<rect class=\"bar s\\d\"[^>]* height=\"([0-9.]+)\" data-value=\"(\\d+)\"");
  std::vector<Bar> bars;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), kBar); it != std::sregex_iterator(); ++it) {
    bars.push_back({std::stoll((*it)[2]), (*it)[1]});
  }
  return bars;
}

std::vector<std::string> Heights(const std::string& svg) {
  std::vector<std::string> heights;
  for (const Bar& bar : BarsOf(svg)) heights.push_back(bar.height);
  return heights;
}

TEST(HtmlText, NumbersMoneyAndEscaping) {
  EXPECT_EQ(internal::Grouped(0), "0");
  EXPECT_EQ(internal::Grouped(999), "999");
  EXPECT_EQ(internal::Grouped(1000), "1,000");
  EXPECT_EQ(internal::Grouped(-1'234'567), "-1,234,567");
  EXPECT_EQ(internal::Grouped(198'000'000'000), "198,000,000,000");
  EXPECT_EQ(internal::GroupedDecimal("1885714.29"), "1,885,714.29");
  EXPECT_EQ(internal::GroupedDecimal("-100.5"), "-100.5");
  EXPECT_EQ(internal::MoneyText(Money(94'285'714'286, Eur())), "EUR 942,857,142.86");
  EXPECT_EQ(internal::MoneyText(Money(-5, Eur())), "EUR -0.05");
  EXPECT_EQ(internal::MoneyText(Money(1000, *Currency::FromCode("JPY"))), "JPY 1,000");
  EXPECT_EQ(internal::PercentText(1, 8), "12.5 %");
  EXPECT_EQ(internal::PercentText(6, 9), "66.7 %");
  EXPECT_EQ(internal::PercentText(1, 0), "n/a");
  EXPECT_EQ(internal::EscapeHtml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(BarChart, AxisTopAndBarHeights) {
  EXPECT_EQ(internal::AxisTop(0), 1);
  EXPECT_EQ(internal::AxisTop(3), 5);
  EXPECT_EQ(internal::AxisTop(5), 5);
  EXPECT_EQ(internal::AxisTop(6), 10);
  EXPECT_EQ(internal::AxisTop(11), 20);
  EXPECT_EQ(internal::AxisTop(1'234'567), 2'000'000);
  internal::BarChart chart{"c", "T<", "x", "y", {"a", "b", "c"}, {{"s", {0, 7, 3}}}};
  std::string html = internal::RenderBarChart(chart);
  // Top 10: 7 -> 168 px, 3 -> 72 px of 240.
  EXPECT_NE(html.find("data-axis-top=\"10\""), std::string::npos);
  EXPECT_EQ(Heights(html), (std::vector<std::string>{"0.00", "168.00", "72.00"}));
  // Ticks every 2 from 0 to 10.
  EXPECT_NE(html.find(">10</text>"), std::string::npos);
  EXPECT_NE(html.find(">8</text>"), std::string::npos);
  EXPECT_EQ(html.find(">9</text>"), std::string::npos);
  EXPECT_NE(html.find("<title id=\"c-title\">T&lt;</title>"), std::string::npos);
  // Rounding: 1 of 3 -> 240 / 3 = 80; 1 of 7 (top 10) -> 24; 2 of 3 (top 5) -> 96.
  internal::BarChart thirds{"d", "t", "x", "y", {"a", "b"}, {{"s", {1, 3}}, {"u", {2, 0}}}};
  EXPECT_EQ(Heights(internal::RenderBarChart(thirds)), (std::vector<std::string>{"48.00", "96.00", "144.00", "0.00"}));
}

TEST(HtmlReport, FiguresAppear) {
  std::string page = Page();
  for (const char* figure : {
           "10,612,000",            // outstanding
           "117.91", "101.07", "16.84", "EUR 50,533.33",  // pool metric
           ">116<", ">96<", ">20<", "EUR 60,000.00",      // whole awards
           "66.7 %",                // 6 of 9 affected
           "77.8 %",                // 7 of 9 could afford one before
           ">15<",                  // most awards lost by one member
           "1,500,000",             // largest shortfall: 100 x 105,000 - 9,000,000
           "EUR 45,000.00",         // largest money loss: 15 awards
           "notice_90_days", "earned_before", "as_declared", "book_by",
           "severity-violation\">violation", "severity-warning\">warning", "short_notice", ">33<",
           "2010-12-01", "2011-01-03",
           "at 90,000 (mm-2010)", "at 105,000 (mm-2011)",
           "5,000,000\u20139,999,999",
       }) {
    EXPECT_NE(page.find(figure), std::string::npos) << figure;
  }
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(HtmlReport, EverythingIsEscaped) {
  std::string page = Page();
  EXPECT_EQ(page.find(kReward), std::string::npos);
  EXPECT_EQ(page.find("<Miles"), std::string::npos);
  EXPECT_EQ(page.find("< 90 \"minimum\""), std::string::npos);
  EXPECT_NE(page.find("<code class=\"reward\">award:&lt;&amp;&quot;&gt;x</code>"), std::string::npos);
  EXPECT_NE(page.find("<title>Audit &lt;Miles &amp; More&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("33 days &lt; 90 &quot;minimum&quot;"), std::string::npos);
  // Chart titles name the reward too, escaped in SVG as in HTML.
  EXPECT_NE(page.find("Whole awards lost per member, award:&lt;&amp;&quot;&gt;x</title>"), std::string::npos);
}

TEST(HtmlReport, NoExternalReferences) {
  std::string page = Page();
  for (const char* reference : {"http:", "https:", "//", "src=", "href=", "url(", "@import", "<script", "<link",
                                "<img", "<iframe", "<object", "<embed"}) {
    EXPECT_EQ(page.find(reference), std::string::npos) << reference;
  }
}

TEST(HtmlReport, BarHeightsFollowTheCounts) {
  std::string page = Page();
  // Loss histogram: 5 members lost one award, 1 lost 10 or more; top 5.
  std::string loss = Svg(page, "loss-histogram-0");
  EXPECT_NE(loss.find("data-axis-top=\"5\""), std::string::npos);
  EXPECT_EQ(Heights(loss), (std::vector<std::string>{"240.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00",
                                                    "0.00", "0.00", "48.00"}));
  // Balances, 1-2-5 buckets 0 .. 5,000,000-9,999,999: 1 at 0, 2 in
  // 50,000-99,999, 3 in 100,000-199,999, 1 each in 200,000-499,999,
  // 500,000-999,999 and 5,000,000-9,999,999; top 5 -> 48 px a member.
  std::vector<Bar> balances = BarsOf(Svg(page, "balance-distribution"));
  ASSERT_EQ(balances.size(), 22u);
  std::vector<std::pair<size_t, std::string>> nonzero;
  for (size_t i = 0; i < balances.size(); ++i) {
    if (balances[i].value > 0) nonzero.push_back({i, balances[i].height});
  }
  EXPECT_EQ(nonzero, (std::vector<std::pair<size_t, std::string>>{
                         {0, "48.00"}, {15, "96.00"}, {16, "144.00"}, {17, "48.00"}, {18, "48.00"}, {21, "48.00"}}));
  // Awards affordable, old and new side by side per category: 0 awards: 2
  // and 4 members; 1 award: 3 and 3; top 5.
  std::vector<Bar> afford = BarsOf(Svg(page, "awards-affordable-0"));
  ASSERT_EQ(afford.size(), 2u * AwardsAffordable::kBuckets);
  EXPECT_EQ(afford[0].value, 2);
  EXPECT_EQ(afford[0].height, "96.00");
  EXPECT_EQ(afford[1].value, 4);
  EXPECT_EQ(afford[1].height, "192.00");
  EXPECT_EQ(afford[2].height, "144.00");
  EXPECT_EQ(afford[3].height, "144.00");
  // Every bar on the page: height = value x 240 / 5 (all three charts have top 5).
  for (const std::string id : {"loss-histogram-0", "balance-distribution", "awards-affordable-0"}) {
    for (const Bar& bar : BarsOf(Svg(page, id))) {
      EXPECT_EQ(bar.height, std::to_string(bar.value * 48) + ".00") << id;
    }
  }
}

TEST(HtmlReport, OpenHoldsAndQuotes) {
  ImpactOptions options{.value_per_award = Money(300'000, Eur()), .as_of = Change().effective_from};
  auto impact = ImpactOfBalances(Change(), kBalances, options);
  ASSERT_TRUE(impact.ok());
  HtmlReportInput input{.title = "t"};
  input.impacts.push_back({"balances", *impact});
  // Plain balances have no holds: no table.
  EXPECT_EQ(RenderHtmlReport(input).find("Holds and quotes open at the change"), std::string::npos);
  // Two holds of 90,000 and one quote at the old price: 3 x 15,000 more at
  // the new one.
  input.impacts[0].impact.open_at_change = OpenAtChange{.holds = 2, .quotes = 1, .held = Points(180'000),
                                                        .quoted = Points(90'000), .priced_before = 3,
                                                        .price_lock = true, .repricing = Points(45'000)};
  std::string page = RenderHtmlReport(input);
  size_t table = page.find("Holds and quotes open at the change");
  ASSERT_NE(table, std::string::npos);
  std::string open = page.substr(table, page.find("</table>", table) - table);
  for (const char* figure : {"holds</th><td class=\"num\">2<", "points held</th><td class=\"num\">180,000<",
                             "quotes</th><td class=\"num\">1<", "points quoted</th><td class=\"num\">90,000<",
                             "old version</th><td class=\"num\">3<", "<td>yes</td>",
                             "new price</th><td class=\"num\">45,000<"}) {
    EXPECT_NE(open.find(figure), std::string::npos) << figure;
  }
}

TEST(HtmlReport, EmptyInputStillRenders) {
  std::string page = RenderHtmlReport({});
  EXPECT_NE(page.find("No impact results."), std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace loyalty
