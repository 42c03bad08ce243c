// The HTML audit report in a real browser: renders the Miles & More 2011
// report (pool 2,200,000 -> 1,885,714.29 awards on 198,000,000,000 miles,
// EUR 942,857,142.86 at EUR 3,000 an award; a synthetic population of one
// million members) to a file, opens it in headless Chromium with the network
// shut off, and checks that the key figures are in the rendered DOM and that
// a screenshot shows the page: mostly-white, but with many painted pixels,
// among them the two bar colours of the charts.
//
// Chromium is found at $LOYALTY_CHROMIUM or /usr/bin/chromium (Debian's
// `chromium`, installed by scripts/install-deps); without it the test fails.
#include <png.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "loyalty/check.h"
#include "loyalty/io.h"
#include "loyalty/report_html.h"

namespace loyalty {
namespace {

namespace fs = std::filesystem;

constexpr char kAward[] = "award:EU-NA:business:round_trip";

std::string Chromium() {
  const char* configured = std::getenv("LOYALTY_CHROMIUM");
  return configured != nullptr ? configured : "/usr/bin/chromium";
}

// A fresh directory under the system's temporary directory.
fs::path TempDir() {
  std::string pattern = (fs::temp_directory_path() / "loyalty-report-XXXXXX").string();
  LOYALTY_CHECK(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string MilesAndMoreReport() {
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json");
  LOYALTY_CHECK(program.ok());
  auto change = TransitionOf(*program, "mm-2010", "mm-2011", kAward);
  LOYALTY_CHECK(change.ok());
  auto balances = SyntheticBalances({.members = 1'000'000, .median = Points(2000), .sigma = *Rate::Parse("1.8"),
                                     .total = Points(198'000'000'000)});
  LOYALTY_CHECK(balances.ok());
  ImpactOptions options{.value_per_award = Money(300'000, *Currency::FromCode("EUR")),
                        .as_of = change->effective_from};
  auto impact = ImpactOfBalances(*change, *balances, options);
  auto notice = CheckNotice(*program, {});
  auto distribution = BalanceDistributionOf(*balances);
  auto affordable = AwardsAffordableOf(*change, *balances);
  LOYALTY_CHECK(impact.ok() && notice.ok() && distribution.ok() && affordable.ok());
  HtmlReportInput input{.title = "Miles & More 2010 -> 2011: the award chart change"};
  input.impacts.push_back({"1,000,000 synthetic members holding 198,000,000,000 miles", *impact});
  input.notice = *notice;
  input.balances = *distribution;
  input.affordable.push_back(*affordable);
  return RenderHtmlReport(input);
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    page_ = dir_ / "report.html";
    std::ofstream(page_) << MilesAndMoreReport();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs Chromium headless on the page with `extra` arguments, stdout to
  // `out`; its exit code. A profile of its own each time, no network.
  int RunChromium(const std::string& extra, const fs::path& out) {
    fs::path profile = dir_ / ("profile-" + std::to_string(runs_++));
    fs::create_directory(profile);
    std::string command = "timeout 60 '" + Chromium() +
                          "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --host-resolver-rules='MAP * ~NOTFOUND' --hide-scrollbars"
                          " --user-data-dir='" + profile.string() + "' " + extra + " 'file://" + page_.string() +
                          "' > '" + out.string() + "' 2> '" + (dir_ / "chromium.log").string() + "'";
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir_;
  fs::path page_;
  int runs_ = 0;
};

TEST_F(Browser, ChromiumIsInstalled) {
  ASSERT_EQ(access(Chromium().c_str(), X_OK), 0)
      << Chromium() << " is missing: scripts/install-deps installs Debian's chromium";
}

TEST_F(Browser, RenderedDomHasTheKeyFigures) {
  ASSERT_EQ(access(Chromium().c_str(), X_OK), 0) << Chromium() << " is missing";
  fs::path dom = dir_ / "dom.html";
  ASSERT_EQ(RunChromium("--dump-dom", dom), 0) << ReadFile(dir_ / "chromium.log");
  std::string text = ReadFile(dom);
  ASSERT_FALSE(text.empty()) << ReadFile(dir_ / "chromium.log");
  for (const char* figure : {
           "Miles &amp; More 2010 -&gt; 2011",  // the title, escaped
           "198,000,000,000",                     // outstanding miles
           "2,200,000.00",                        // pool awards at 90,000
           "1,885,714.29",                        // pool awards at 105,000
           "314,285.71",                          // pool awards lost
           "EUR 942,857,142.86",                  // pool value lost
           "at 90,000 (mm-2010)", "at 105,000 (mm-2011)",
           "short_notice", "severity-violation",
           "id=\"balance-distribution\"", "id=\"awards-affordable-0\"", "id=\"loss-histogram-0\"",
           "1,000,000 members",
       }) {
    EXPECT_NE(text.find(figure), std::string::npos) << figure;
  }
  // The browser parsed the charts as SVG with their bars.
  EXPECT_NE(text.find("<rect class=\"bar s1\""), std::string::npos);
}

// An 8-bit RGB image decoded with libpng's simplified API.
struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  std::vector<uint8_t> rgb;
};

Image DecodePng(const fs::path& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  Image image;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    ADD_FAILURE() << "not a PNG: " << path << ": " << png.message;
    return image;
  }
  png.format = PNG_FORMAT_RGB;
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    ADD_FAILURE() << "cannot decode " << path << ": " << png.message;
    png_image_free(&png);
    return {};
  }
  image.width = png.width;
  image.height = png.height;
  return image;
}

TEST_F(Browser, ScreenshotIsNotBlank) {
  ASSERT_EQ(access(Chromium().c_str(), X_OK), 0) << Chromium() << " is missing";
  fs::path shot = dir_ / "report.png";
  ASSERT_EQ(RunChromium("--window-size=1280,5000 --screenshot='" + shot.string() + "'", dir_ / "stdout.txt"), 0)
      << ReadFile(dir_ / "chromium.log");
  Image image = DecodePng(shot);
  ASSERT_EQ(image.width, 1280u);
  ASSERT_EQ(image.height, 5000u);
  // Background white; text, rules and table heads are other pixels; the
  // bars are #2f5d8a and #d1495b.
  auto near = [](const uint8_t* p, int r, int g, int b) {
    return std::abs(p[0] - r) <= 8 && std::abs(p[1] - g) <= 8 && std::abs(p[2] - b) <= 8;
  };
  int64_t painted = 0, blue = 0, red = 0;
  const int64_t pixels = int64_t{image.width} * image.height;
  for (int64_t i = 0; i < pixels; ++i) {
    const uint8_t* p = &image.rgb[static_cast<size_t>(i) * 3];
    painted += !near(p, 255, 255, 255);
    blue += near(p, 0x2f, 0x5d, 0x8a);
    red += near(p, 0xd1, 0x49, 0x5b);
  }
  std::cout << "screenshot " << image.width << "x" << image.height << ": " << painted << " non-white pixels, "
            << blue << " old-price blue, " << red << " new-price red\n";
  EXPECT_GT(painted, pixels / 50);  // more than 2 % of the page is drawn
  EXPECT_LT(painted, pixels / 2);   // and it is not one flat colour
  EXPECT_GT(blue, 2000);            // bars of the old price (and the heading rule)
  EXPECT_GT(red, 500);              // bars of the new price
}

}  // namespace
}  // namespace loyalty
