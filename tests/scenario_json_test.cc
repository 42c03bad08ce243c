// Tests of the scenario loader (loyalty/scenario.h): a good scenario becomes
// the commands it describes; every problem of a bad one is reported with its
// JSON path, all at once.
#include "loyalty/scenario.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace loyalty {
namespace {

constexpr char kProgram[] = R"({"versions": [
  {"id": "v1", "time_zone": "UTC", "currency": "EUR", "announced_at": "2009-12-01T00:00:00Z", "effective_from": "2010-01-01T00:00:00Z",
   "expiry": {"months": 36, "round": "none"}, "redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": 500}]}},
  {"id": "v2", "time_zone": "UTC", "currency": "EUR", "announced_at": "2010-05-01T00:00:00Z",
   "effective_from": "2010-06-01T00:00:00Z", "expiry": {"months": 36, "round": "none"},
   "redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": 600}]}}]})";

std::string WithTimeline(const std::string& timeline) {
  return absl::StrCat(R"({"id": "t", "program": )", kProgram, R"(, "members": [{"id": "M-1", "enrolled_at": "2010-01-01T00:00:00Z"}], "timeline": )",
                      timeline, "}");
}

TEST(ScenarioJson, AGoodScenarioBecomesItsCommandsInOrder) {
  auto scenario = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 900}},
      {"at": "2010-03-01T00:00:00Z", "name": "h", "hold": {"member": "M-1", "reward": "mug", "ttl_days": 3}},
      {"at": "2010-05-01T00:00:00Z", "publish": "v2"},
      {"at": "2010-03-02T00:00:00Z", "capture": {"member": "M-1", "hold": "h"}, "expect": {"available": 400}}])"),
                                "");
  // The capture is out of time order: the only problem.
  ASSERT_FALSE(scenario.ok());
  EXPECT_EQ(scenario.status().message(),
            "timeline[3].at: 2010-03-02T00:00:00Z is before timeline[2] at 2010-05-01T00:00:00Z; steps must be in "
            "time order");

  scenario = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 900}},
      {"at": "2010-03-01T00:00:00Z", "name": "h", "hold": {"member": "M-1", "reward": "mug", "ttl_days": 3}},
      {"at": "2010-03-02T00:00:00Z", "capture": {"member": "M-1", "hold": "h"}, "expect": {"available": 400}},
      {"at": "2010-05-01T00:00:00Z", "publish": "v2"}])"),
                           "");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  ASSERT_EQ(scenario->timeline.size(), 5u);  // the enrolment, then the four steps
  EXPECT_EQ(scenario->timeline[0].where, "members[0]");
  EXPECT_EQ(std::get<Credit>(std::get<Command>(scenario->timeline[1].action)).amount, Points(900));
  EXPECT_EQ(std::get<HoldReward>(std::get<Command>(scenario->timeline[2].action)).ttl, absl::Hours(72));
  EXPECT_EQ(scenario->timeline[3].refers_to, 2u);
  ASSERT_EQ(scenario->timeline[3].expect.size(), 1u);
  EXPECT_EQ(scenario->timeline[3].expect[0].json, "400");
  EXPECT_EQ(scenario->timeline[3].key, "t/timeline[2]");
  EXPECT_EQ(scenario->initially_published, std::vector<std::string>{"v1"});
}

TEST(ScenarioJson, EveryProblemIsReportedWithItsPath) {
  auto scenario = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": "900"}},
      {"at": "yesterday", "redeem": {"member": "M-2", "reward": "mug", "quote": "q"}},
      {"at": "2010-03-01T00:00:00Z", "capture": {"member": "M-1", "hold": "nope"}, "colour": "red"},
      {"at": "2010-03-02T00:00:00Z", "credit": {"member": "M-1", "points": 1}, "redeem": {"member": "M-1", "points": 1}},
      {"at": "2010-03-03T00:00:00Z", "accrue": {"member": "M-1", "activity": {"id": "b", "purchase": {"lines": [{"sku": "x", "unit_price": 2.5}]}}}},
      {"at": "2010-03-04T00:00:00Z", "publish": "v9", "expect": {"available": 1.5}},
      {"at": "2010-03-05T00:00:00Z", "run_expiry": {}, "expect": {"available": 1}},
      {"at": "2010-03-06T00:00:00Z", "publish": "v2", "expect": {"available": 1}}])"),
                                "");
  ASSERT_FALSE(scenario.ok());
  EXPECT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(scenario.status().message());
  for (const char* expected : {
           "timeline[0].credit.points: expected an integer, got a string",
           "timeline[1].at: \"yesterday\": ",
           "timeline[1].redeem.member: \"M-2\" is not enrolled by an earlier step",
           "timeline[1].redeem.quote: \"q\" names no earlier step",
           "timeline[2].colour: unknown field",
           "timeline[2].capture.hold: \"nope\" names no earlier step",
           "timeline[3]: has more than one action: credit, redeem",
           "timeline[4].accrue.activity.purchase.lines[0].unit_price: expected a non-empty string, got a number",
           "timeline[5].publish: \"v9\" is not a version of the program",
           "timeline[5].expect.available: a figure is an integer or a decimal string",
           "timeline[6].expect: only a member's command can state expected figures",
           "timeline[7].expect: only a member's command can state expected figures",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << message;
  }
}

TEST(ScenarioJson, ProgramProblemsKeepTheirPathsUnderTheScenario) {
  std::string bad_program = absl::StrReplaceAll(kProgram, {{"\"price\": 600", "\"price\": \"600\""}});
  auto scenario = ParseScenario(absl::StrCat(R"({"id": "t", "program": )", bad_program, R"(, "timeline": []})"), "");
  ASSERT_FALSE(scenario.ok());
  EXPECT_NE(scenario.status().message().find("program.versions[1].redemption.catalog[0].price: expected"),
            std::string::npos)
      << scenario.status().message();

  auto missing = ParseScenario(R"({"id": "t", "program": {"versions": ["no-such-file.json"]}, "timeline": []})", "/tmp");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("program.versions[0]: cannot open program file /tmp/no-such-file.json"),
            std::string::npos)
      << missing.status().message();
}

TEST(ScenarioJson, AProblemInAVersionFileNamesTheReferenceAndTheFile) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/scenario_json_test_v1.json")
      << R"({"id": "v1", "time_zone": "UTC", "announced_at": "2009-12-01T00:00:00Z",
             "effective_from": "2010-01-01T00:00:00Z", "expiry": {"months": -1}})";
  auto scenario = ParseScenario(
      R"({"id": "t", "program": {"versions": [{"file": "scenario_json_test_v1.json"}]}, "timeline": []})", dir);
  ASSERT_FALSE(scenario.ok());
  EXPECT_NE(scenario.status().message().find(
                absl::StrCat("program.versions[0] (", dir, "/scenario_json_test_v1.json).expiry.months: ")),
            std::string::npos)
      << scenario.status().message();
}

TEST(ScenarioJson, MalformedJsonAndAnUnreadableFileAreRefused) {
  auto malformed = ParseScenario("{\"id\": ", "");
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("(root): malformed JSON"), std::string::npos);
  auto unreadable = LoadScenarioFile("/nonexistent/scenario.json");
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace loyalty
