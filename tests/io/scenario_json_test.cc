// Tests of the scenario loader (loyalty/scenario.h): a good scenario becomes
// the commands it describes; every problem of a bad one is reported with its
// JSON path, all at once.
#include "loyalty/scenario.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "loyalty/audit.h"

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
           "timeline[1].at: \"yesterday\" is not an RFC 3339 instant",
           "timeline[1].redeem.member: \"M-2\" is not enrolled by an earlier step",
           "timeline[1].redeem.quote: \"q\" names no earlier step",
           "timeline[2].colour: unknown field",
           "timeline[2].capture.hold: \"nope\" names no earlier step",
           "timeline[3]: has more than one action: credit, redeem",
           "timeline[4].accrue.activity.purchase.lines[0].unit_price: expected an amount as a decimal string such as "
           "\"25.99\", got a number with a fraction or exponent (or beyond 64 bits)",
           "timeline[5].publish: \"v9\" is not a version of the program",
           "timeline[5].expect.available: a figure is an integer or a decimal string",
           "timeline[6].expect.available: \"available\" is not enrolled by an earlier step",
           "timeline[7].expect: only a member's command, run_expiry or close_period can state expected figures",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << message;
  }
}

// A return names lines by number (every unit left) or with a quantity.
TEST(ScenarioJson, AReturnTakesLinesWholeOrByQuantity) {
  const std::string basket =
      R"({"at": "2010-03-01T00:00:00Z", "name": "b", "accrue": {"member": "M-1", "activity": {"id": "b", "purchase": {"lines": [{"sku": "x", "quantity": 3, "unit_price": "2.50"}, {"sku": "y", "unit_price": "1.00"}]}}}})";
  auto scenario = ParseScenario(WithTimeline(absl::StrCat("[", basket, R"(,
      {"at": "2010-03-02T00:00:00Z", "return": {"member": "M-1", "accrual": "b", "lines": [1, {"line": 0, "quantity": 2}]}},
      {"at": "2010-03-03T00:00:00Z", "return": {"member": "M-1", "accrual": "b", "lines": [0]}}])")),
                                "");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const auto& some = std::get<ReturnLines>(std::get<Command>(scenario->timeline[2].action));
  EXPECT_EQ(some.lines, (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(some.quantities, (std::vector<int64_t>{ReturnLines::kWholeLine, 2}));
  // Whole lines only: no quantities, the command as it always was.
  EXPECT_TRUE(std::get<ReturnLines>(std::get<Command>(scenario->timeline[3].action)).quantities.empty());

  scenario = ParseScenario(WithTimeline(absl::StrCat("[", basket, R"(,
      {"at": "2010-03-02T00:00:00Z", "return": {"member": "M-1", "accrual": "b", "lines": [{"line": 0, "quantity": 0}, {"line": 1}, {"quantity": 1}, "x", -1, {"line": 0, "quantity": 1, "sku": "x"}]}}])")),
                           "");
  ASSERT_FALSE(scenario.ok());
  const std::string message(scenario.status().message());
  for (const char* expected : {
           "timeline[1].return.lines[0].quantity: ",
           "timeline[1].return.lines[1].quantity: required",
           "timeline[1].return.lines[2].line: required",
           "timeline[1].return.lines[3]: expected a line number or {\"line\", \"quantity\"}, got a string",
           "timeline[1].return.lines[4]: expected a line number",
           "timeline[1].return.lines[5].sku: unknown field",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << message;
  }
}

// run_expiry and close_period concern every member: their expected figures
// are grouped by the member they are of.
TEST(ScenarioJson, PeriodStepsExpectTheFiguresOfTheMembersTheyName) {
  auto scenario = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "enroll": "M-2"},
      {"at": "2010-03-01T00:00:00Z", "run_expiry": {}, "expect": {"M-1": {"available": 0, "tier": null}}},
      {"at": "2010-04-01T00:00:00Z", "close_period": {}, "expect": {"M-2": {"counters.status_miles": 0}}}])"),
                                "");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const std::vector<Expectation>& expiry = scenario->timeline[2].expect;
  ASSERT_EQ(expiry.size(), 2u);
  EXPECT_EQ(expiry[0].member, "M-1");
  EXPECT_EQ(expiry[0].path, "available");
  EXPECT_EQ(expiry[0].where, "timeline[1].expect.M-1.available");
  EXPECT_EQ(expiry[1].json, "null");
  ASSERT_EQ(scenario->timeline[3].expect.size(), 1u);
  EXPECT_EQ(scenario->timeline[3].expect[0].member, "M-2");
  EXPECT_EQ(scenario->timeline[3].expect[0].path, "counters.status_miles");

  scenario = ParseScenario(WithTimeline(R"([
      {"at": "2010-03-01T00:00:00Z", "run_expiry": {}, "expect": {"M-9": {"available": 0}}},
      {"at": "2010-04-01T00:00:00Z", "close_period": {}, "expect": {"M-1": 5}},
      {"at": "2010-04-02T00:00:00Z", "close_period": {}, "expect": {"M-1": {"available": 0.5}}},
      {"at": "2010-04-03T00:00:00Z", "close_period": {}, "expect": []}])"),
                           "");
  ASSERT_FALSE(scenario.ok());
  const std::string message(scenario.status().message());
  for (const char* expected : {
           "timeline[0].expect.M-9: \"M-9\" is not enrolled by an earlier step",
           "timeline[1].expect.M-1: expected a non-empty object of figures, got an integer",
           "timeline[2].expect.M-1.available: a figure is an integer or a decimal string",
           "timeline[3].expect: expected an object of members' figures",
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

// A program with two coalition partners, for the partner fields.
constexpr char kCoalition[] = R"({"versions": [
  {"id": "c1", "time_zone": "UTC", "currency": "EUR", "announced_at": "2009-12-01T00:00:00Z", "effective_from": "2010-01-01T00:00:00Z",
   "expiry": {"months": 36, "round": "none"},
   "partners": [{"id": "shop", "name": "Shop", "funding_per_point": "0.01", "reimbursement_per_point": "0.008"},
                {"id": "fuel", "name": "Fuel", "funding_per_point": "0.0075", "reimbursement_per_point": "0.0085"}]}]})";

std::string Coalition(const std::string& timeline, const std::string& reports) {
  return absl::StrCat(R"({"id": "c", "program": )", kCoalition,
                      R"(, "members": [{"id": "M-1", "enrolled_at": "2010-01-01T00:00:00Z"}], "timeline": )", timeline,
                      R"(, "reports": )", reports, "}");
}

TEST(ScenarioJson, StepsAndReportsNameTheirPartner) {
  auto scenario = ParseScenario(Coalition(R"([
      {"at": "2010-02-01T00:00:00Z", "partner": "shop", "pay_at_till": {"member": "M-1", "points": 10}},
      {"at": "2010-02-02T00:00:00Z", "credit": {"member": "M-1", "points": 5, "partner": "fuel"}},
      {"at": "2010-02-03T00:00:00Z", "partner": "shop", "settlement": {"partner": "fuel", "from": "2010-02-01T00:00:00Z", "to": "2010-03-01T00:00:00Z"},
       "expect_error": {"code": "PERMISSION_DENIED", "message": "partner: "}}])",
                                          R"([{"settlement": {"from": "2010-02-01T00:00:00Z", "to": "2010-03-01T00:00:00Z", "partner": "shop"}}])"),
                                "");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  ASSERT_EQ(scenario->timeline.size(), 4u);
  EXPECT_EQ(scenario->timeline[1].partner, "shop");
  EXPECT_EQ(std::get<PayWithPointsAtTill>(std::get<Command>(scenario->timeline[1].action)).partner, "");  // the handle fills it
  EXPECT_EQ(scenario->timeline[2].partner, "");
  EXPECT_EQ(std::get<Credit>(std::get<Command>(scenario->timeline[2].action)).partner, "fuel");
  const auto& settlement = std::get<SettlementStep>(scenario->timeline[3].action);
  EXPECT_EQ(settlement.partner, "fuel");
  EXPECT_EQ(settlement.to, *Instant::Parse("2010-03-01T00:00:00Z"));
  EXPECT_EQ(scenario->timeline[3].expect_error, "PERMISSION_DENIED");
  EXPECT_EQ(scenario->timeline[3].expect_error_message, "partner: ");
  ASSERT_EQ(scenario->reports.size(), 1u);
  const auto& wanted = std::get<SettlementWanted>(scenario->reports[0].what);
  EXPECT_EQ(wanted.partner, "shop");
  EXPECT_EQ(wanted.from, *Instant::Parse("2010-02-01T00:00:00Z"));
}

// A liability report without its own value per point values points at the
// pay-with-points value of the version in force at the period's end.
TEST(ScenarioJson, LiabilityValuesPointsAsTheVersionAtThePeriodsEndPays) {
  std::string program = kProgram;
  const std::string v2_catalog = R"("redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": 600}]})";
  program.replace(program.find(v2_catalog), v2_catalog.size(),
                  R"("redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": 600}],
                                   "pay_with_points": {"value_per_point": "0.005"}})");
  auto parse = [&](const std::string& reports) {
    return ParseScenario(absl::StrCat(R"({"id": "t", "program": )", program, R"(, "timeline": [], "reports": )",
                                      reports, "}"),
                         "");
  };
  auto value_of = [](const Scenario& scenario, size_t i) {
    return std::get<LiabilityWanted>(scenario.reports[i].what).options.value_per_point.ToString();
  };
  auto scenario = parse(R"([
      {"liability": {"from": "2010-01-01T00:00:00Z", "to": "2010-06-01T00:00:00Z"}},
      {"liability": {"from": "2010-01-01T00:00:00Z", "to": "2010-06-01T00:00:01Z"}},
      {"liability": {"from": "2010-01-01T00:00:00Z", "to": "2011-01-01T00:00:00Z", "value_per_point": "0.02"}}])");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  EXPECT_EQ(value_of(*scenario, 0), "0.01");   // v1 in force to the end: no pay-with-points, the default
  EXPECT_EQ(value_of(*scenario, 1), "0.005");  // v2 in force at the end
  EXPECT_EQ(value_of(*scenario, 2), "0.02");   // its own
}

TEST(ScenarioJson, UnknownPartnersAndBadPeriodsAreReportedWithTheirPaths) {
  auto scenario = ParseScenario(Coalition(R"([
      {"at": "2010-02-01T00:00:00Z", "partner": "shopp", "pay_at_till": {"member": "M-1", "points": 10}},
      {"at": "2010-02-02T00:00:00Z", "accrue": {"member": "M-1", "activity": {"id": "b", "purchase": {"partner": "bakery", "lines": [{"sku": "x", "unit_price": "2.50"}]}}}},
      {"at": "2010-02-03T00:00:00Z", "redeem": {"member": "M-1", "reward": "mug", "partner": "shop"}},
      {"at": "2010-02-04T00:00:00Z", "partner": "shop", "run_expiry": {}},
      {"at": "2010-02-05T00:00:00Z", "settlement": {"from": "2010-03-01T00:00:00Z", "to": "2010-02-01T00:00:00Z"}, "expect_error": {"code": "NO_SUCH_CODE"}}])",
                                          R"([{"settlement": {"from": "2010-03-01T00:00:00Z", "to": "2010-02-01T00:00:00Z"}},
                                              {"settlement": {"from": "2010-02-01T00:00:00Z", "partner": 7}}])"),
                                "");
  ASSERT_FALSE(scenario.ok());
  EXPECT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(scenario.status().message());
  for (const char* expected : {
           "timeline[0].partner: \"shopp\" is not a partner of the program (fuel, shop)",
           "timeline[1].accrue.activity.purchase.partner: \"bakery\" is not a partner of the program (fuel, shop)",
           "timeline[2].redeem.partner: only a redemption of points names its partner",
           "timeline[3].partner: run_expiry is the operator's, never a partner's",
           "timeline[4].settlement.to: 2010-02-01T00:00:00Z is before from, 2010-03-01T00:00:00Z",
           "timeline[4].expect_error.code: \"NO_SUCH_CODE\" is not one of ",
           "reports[0].settlement.to: 2010-02-01T00:00:00Z is before from, 2010-03-01T00:00:00Z",
           "reports[1].settlement.to: ",
           "reports[1].settlement.partner: expected a ",
       }) {
    EXPECT_NE(message.find(expected), std::string::npos) << "missing: " << expected << "\nin:\n" << message;
  }
  // A program without partners names none.
  auto none = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "partner": "shop", "pay_at_till": {"member": "M-1", "points": 10}}])"), "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "timeline[0].partner: \"shop\" is not a partner of the program (it has none)");
}

TEST(ScenarioJson, MalformedJsonAndAnUnreadableFileAreRefused) {
  auto malformed = ParseScenario("{\"id\": ", "");
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("(root): malformed JSON"), std::string::npos);
  // A key given twice would silently lose its first value: refused, with the
  // path of the second.
  auto twice = ParseScenario(WithTimeline(R"([
      {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 5, "points": 6}}])"), "");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "timeline[0].credit.points: duplicate key");
  auto unreadable = LoadScenarioFile("/nonexistent/scenario.json");
  EXPECT_EQ(unreadable.status().code(), absl::StatusCode::kNotFound);
}


// `depth` arrays nested in one another: "[[...]]".
std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A document nested deeper than the limit (64) is refused before it is
// parsed, wherever the depth is: in the program, an expectation, a note, a
// program file. Copying and printing such a value recursed once per level
// and overflowed the stack at about 75,000.
TEST(ScenarioJson, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = Nested(100'000);
  const std::string kTooDeep = "arrays and objects nested more than 64 deep (the limit) at line 1, column ";
  for (const std::string& text :
       {absl::StrCat(R"({"id": "t", "program": {"versions": [)", deep, R"(]}, "timeline": []})"),
        WithTimeline(absl::StrCat(R"([{"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 5},
                                      "expect": {"available": )", deep, "}}]")),
        absl::StrCat(R"({"id": "t", "program": )", kProgram,
                     R"(, "members": [{"id": "M-1", "enrolled_at": "2010-01-01T00:00:00Z", "note": )", deep,
                     R"(}], "timeline": []})")}) {
    auto scenario = ParseScenario(text, "");
    ASSERT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument) << text.substr(0, 80);
    EXPECT_EQ(scenario.status().message().rfind("(root): " + kTooDeep.substr(0, kTooDeep.find(" at ")), 0), 0u)
        << scenario.status().message();
  }
  // The column is where level 65 opens: after `{"id": "t", "program": {"versions": ` and 64 brackets.
  auto located = ParseScenario(absl::StrCat(R"({"id": "t", "program": {"versions": )", deep, "}}"), "");
  EXPECT_EQ(located.status().message(), "(root): " + kTooDeep + "99") << located.status().message();

  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/scenario_json_test_deep.json") << deep;
  auto from_file = ParseScenario(R"({"id": "t", "program": "scenario_json_test_deep.json", "timeline": []})", dir);
  EXPECT_EQ(from_file.status().message(),
            absl::StrCat("program: ", dir, "/scenario_json_test_deep.json: ", kTooDeep, "65"))
      << from_file.status().message();

  // 64 levels are accepted as far as depth goes, and brackets inside strings
  // do not count.
  auto at_limit = ParseScenario(absl::StrCat(R"({"id": "t", "program": )", kProgram,
                                             R"(, "members": [{"id": "M-1", "enrolled_at": "2010-01-01T00:00:00Z",
                                                 "note": ")", deep, R"("}], "timeline": [], "reports": )",
                                             Nested(63), "}"),
                                "");
  ASSERT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.status().message().find("nested more than"), std::string::npos) << at_limit.status().message();
  EXPECT_NE(at_limit.status().message().find("reports[0]"), std::string::npos) << at_limit.status().message();
}

// Population sizes are checked where the population is defined, whether a
// report uses it or not: a billion members would need 8 GB of balances.
TEST(ScenarioJson, APopulationTooLargeToComputeIsRefusedAtLoad) {
  auto scenario = ParseScenario(absl::StrCat(R"({"id": "t", "program": )", kProgram, R"(, "timeline": [],
      "populations": [{"name": "ok", "members": 1000, "median": 2000, "sigma": "1.8", "total": 5000000},
                      {"name": "huge", "members": 1000000000, "median": 2000, "sigma": "1.8", "total": 5000000},
                      {"name": "wide", "members": 1000, "median": 2000, "sigma": "10.5", "total": 5000000}]})"),
                                "");
  ASSERT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scenario.status().message(),
            "populations[1].members: 1000000000 is not in 1..100000000 (the most a synthetic population has)\n"
            "populations[2].sigma: 10.5 is above 10");
  EXPECT_EQ(SyntheticBalances({.members = kMaxSyntheticMembers + 1, .median = Points(1), .total = Points(1)})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loyalty
