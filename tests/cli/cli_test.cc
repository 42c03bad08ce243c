// Tests of the `loyalty` command as a user runs it: exit codes, error paths on
// stderr, verification of a good and a tampered journal, and output that is
// byte-identical from one run to the next.
#include <sqlite3.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `command_line` in the shell, its stderr captured.
Result Shell(const std::string& command_line) {
  std::string err_file = ::testing::TempDir() + "/cli_test_stderr";
  std::string command = absl::StrCat(command_line, " 2>", err_file);
  Result result;
  std::FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, read);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.err = Slurp(err_file);
  return result;
}

Result Loyalty(const std::string& arguments) { return Shell(absl::StrCat(LOYALTY_CLI, " ", arguments)); }

std::string Write(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const std::string kAirline = std::string(LOYALTY_SOURCE_DIR) + "/examples/airline-2011/scenario.json";
const std::string kCoalition = std::string(LOYALTY_SOURCE_DIR) + "/examples/coalition/scenario.json";

// A small scenario: one member, two credits, a redemption.
constexpr char kSmall[] = R"({
  "id": "small",
  "program": {"versions": [{"id": "v1", "time_zone": "Europe/Berlin", "currency": "EUR", "announced_at": "2009-12-01T00:00:00Z",
                            "effective_from": "2010-01-01T00:00:00Z", "expiry": {"months": 36, "round": "none"}}]},
  "members": [{"id": "M-1", "enrolled_at": "2010-01-02T00:00:00Z"}],
  "timeline": [
    {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 700}},
    {"at": "2010-03-01T00:00:00Z", "credit": {"member": "M-1", "points": 300}, "expect": {"available": 1000}},
    {"at": "2010-04-01T00:00:00Z", "redeem": {"member": "M-1", "points": 250}, "expect": {"available": 750}}
  ],
  "reports": [{"balances": {}, "expect": {"members.0.available": 750}}]
})";

TEST(Cli, ValidateReportsEveryProblemWithItsPathAndExits1) {
  std::string program = Write("broken_program.json", R"({"versions": [{"id": "v1", "time_zone": "Europe/Berlin",
      "effective_from": "2010-01-01T00:00:00Z", "expiry": {"months": "36"},
      "redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": -5}]}}]})");
  Result result = Loyalty("validate " + program);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("versions[0].expiry.months"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("versions[0].redemption.catalog[0].price"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(program), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "");

  Result good = Loyalty("validate --json " + std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(nlohmann::json::parse(good.out)["versions"][1]["id"], "mm-2011");
}

TEST(Cli, UsageErrorsExit2AndUnreadableInputExits3) {
  EXPECT_EQ(Loyalty("frobnicate").exit_code, 2);
  EXPECT_EQ(Loyalty("verify").exit_code, 2);  // --db is required
  Result missing = Loyalty("run /nonexistent/scenario.json");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("/nonexistent/scenario.json"), std::string::npos) << missing.err;
}

TEST(Cli, VerifyAcceptsAGoodJournalAndNamesTheTamperedEntry) {
  std::string db = ::testing::TempDir() + "/cli_verify.db";
  std::remove(db.c_str());
  std::string scenario = Write("small_scenario.json", kSmall);
  Result run = Loyalty(absl::StrCat("run ", scenario, " --db ", db));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Running it again on the same file changes nothing and meets the same
  // expectations (each step is checked as of its own time).
  Result again = Loyalty(absl::StrCat("run ", scenario, " --db ", db));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("(already in the journal)"), std::string::npos);

  Result good = Loyalty("verify --json --db " + db);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  auto verified = nlohmann::json::parse(good.out);
  EXPECT_EQ(verified["result"], "ok");
  EXPECT_EQ(verified["entries"], 5);  // version published, enrolment, two credits, redemption

  Result replay = Loyalty("replay --json --db " + db);
  EXPECT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(nlohmann::json::parse(replay.out)["outstanding"]["available"], 750);

  // Raise the first credit from 700 to a different amount by flipping one
  // byte of its stored encoding.
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "UPDATE journal SET entry = substr(entry, 1, length(entry) - 1) || "
                                 "x'00' WHERE seq = 3", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(handle);
  Result bad = Loyalty("verify --json --db " + db);
  EXPECT_EQ(bad.exit_code, 1);
  auto report = nlohmann::json::parse(bad.out);
  EXPECT_EQ(report["bad_entry"], 3);
  EXPECT_EQ(report["entries"], 2);
  EXPECT_NE(bad.err.find("entry 3"), std::string::npos) << bad.err;
}

// `loyalty run` leaves a checkpoint of the state at the journal's last
// entry; `verify --full` rebuilds the state from the first entry and
// compares it with every checkpoint, naming one that does not match.
TEST(Cli, VerifyFullComparesEveryCheckpointWithTheStateItsEntriesBuild) {
  std::string db = ::testing::TempDir() + "/cli_verify_full.db";
  std::remove(db.c_str());
  ASSERT_EQ(Loyalty(absl::StrCat("run ", Write("small_scenario.json", kSmall), " --db ", db)).exit_code, 0);
  Result full = Loyalty("verify --full --json --db " + db);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_EQ(nlohmann::json::parse(full.out)["checkpoints"], 1);
  EXPECT_TRUE(nlohmann::json::parse(Loyalty("verify --json --db " + db).out)["checkpoints"].is_null());
  EXPECT_EQ(nlohmann::json::parse(Loyalty("replay --json --db " + db).out)["checkpoints"], 1);

  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "UPDATE loyalty_checkpoints SET digest = zeroblob(32)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(handle);
  Result forged = Loyalty("verify --full --db " + db);
  EXPECT_EQ(forged.exit_code, 1);
  EXPECT_NE(forged.err.find("checkpoint at entry 5: its content does not match its digest"), std::string::npos)
      << forged.err;
  EXPECT_NE(forged.out.find("derived state mismatch"), std::string::npos) << forged.out;
  auto report = nlohmann::json::parse(Loyalty("verify --full --json --db " + db).out);
  EXPECT_EQ(report["result"], "derived state mismatch");
  EXPECT_NE(report["detail"].get<std::string>().find("checkpoint at entry 5"), std::string::npos) << report;
}

// With the program that wrote the journal, verify checks what the engine
// checks when it opens it: a tier no version of another program defines is
// an impossible entry there, and the journal is ok with its own program.
TEST(Cli, VerifyWithTheProgramChecksTiersAsTheEngineDoes) {
  std::string db = ::testing::TempDir() + "/cli_verify_program.db";
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) std::remove((db + suffix).c_str());
  Result run = Loyalty(absl::StrCat("run ", kAirline, " --db ", db));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string examples = std::string(LOYALTY_SOURCE_DIR) + "/examples/";
  Result own = Loyalty(absl::StrCat("verify --json --db ", db, " --program ", examples, "airline-2011/program.json"));
  EXPECT_EQ(own.exit_code, 0) << own.err;
  // The same program with its Frequent Traveller tier renamed, in its ladder
  // and in the rule that names it (so that it loads): the journal's
  // frequent_traveller is a tier no version defines.
  const std::string renamed = absl::StrReplaceAll(Slurp(examples + "airline-2011/program.json"),
                                                  {{"\"frequent_traveller\"", "\"frequent_flyer\""}});
  ASSERT_NE(renamed.find("\"frequent_flyer\""), std::string::npos);
  const std::string program = Write("airline_renamed_tier.json", renamed);
  ASSERT_EQ(Loyalty("validate " + program).exit_code, 0);
  Result other = Loyalty(absl::StrCat("verify --json --db ", db, " --program ", program));
  EXPECT_EQ(other.exit_code, 1) << other.err;
  auto report = nlohmann::json::parse(other.out);
  EXPECT_EQ(report["result"], "impossible");
  EXPECT_NE(report["detail"].get<std::string>().find("is defined by no version of the program"), std::string::npos)
      << other.out;
}

// A keyed journal from the command line: the run prints its head, every
// reading command takes --key-file, and verify --expect-head reports an
// older copy of the file as rolled back.
TEST(Cli, KeyedJournalWithHeadReceiptsAndKeyFile) {
  const std::string db = ::testing::TempDir() + "/cli_keyed.db";
  for (const char* suffix : {"", "-wal", "-shm", ".old"}) std::remove((db + suffix).c_str());
  const std::string key = Write("cli_journal.key", "0123456789abcdef-host-secret-key");
  const std::string scenario = Write("small_keyed_scenario.json", kSmall);
  Result run = Loyalty(absl::StrCat("run --json ", scenario, " --db ", db, " --key-file ", key));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string head = nlohmann::json::parse(run.out)["journal"]["head"];
  EXPECT_EQ(head.substr(0, 2), "5:") << head;

  EXPECT_EQ(Loyalty(absl::StrCat("verify --db ", db, " --key-file ", key, " --expect-head ", head)).exit_code, 0);
  Result keyless = Loyalty("verify --db " + db);
  EXPECT_EQ(keyless.exit_code, 3);
  EXPECT_NE(keyless.err.find("keyed journal"), std::string::npos) << keyless.err;
  for (const char* command : {"replay", "statement M-1", "liability --from 2010-01-01 --to 2011-01-01"}) {
    Result read = Loyalty(absl::StrCat(command, " --db ", db, " --key-file ", key));
    EXPECT_EQ(read.exit_code, 0) << command << ": " << read.err;
  }
  EXPECT_EQ(Loyalty(absl::StrCat("verify --db ", db, " --expect-head 5:xyz")).exit_code, 1);

  // An older copy restored: consistent in itself, older than the receipt.
  std::rename(db.c_str(), (db + ".old").c_str());
  std::string longer_text = kSmall;
  const std::string last_step = R"("expect": {"available": 750}})";
  longer_text.insert(longer_text.find(last_step) + last_step.size(),
                     R"(, {"at": "2010-05-01T00:00:00Z", "credit": {"member": "M-1", "points": 5}})");
  const std::string report = R"("members.0.available": 750)";
  longer_text.replace(longer_text.find(report), report.size(), R"("members.0.available": 755)");
  const std::string longer = Write("longer_keyed_scenario.json", longer_text);
  std::filesystem::copy_file(db + ".old", db);
  Result more = Loyalty(absl::StrCat("run --json ", longer, " --db ", db, " --key-file ", key));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  const std::string later = nlohmann::json::parse(more.out)["journal"]["head"];
  std::remove(db.c_str());
  std::filesystem::copy_file(db + ".old", db);
  EXPECT_EQ(Loyalty(absl::StrCat("verify --db ", db, " --key-file ", key)).exit_code, 0);
  Result rolled = Loyalty(absl::StrCat("verify --json --db ", db, " --key-file ", key, " --expect-head ", later));
  EXPECT_EQ(rolled.exit_code, 1) << rolled.err;
  EXPECT_NE(rolled.err.find("rolled back"), std::string::npos) << rolled.err;
}

// `liability` values points as the program says with --program (its zone,
// currency and pay-with-points value per point) and names the defaults it
// used without it. 750 points outstanding at the end of 2010.
TEST(Cli, LiabilityTakesItsBasisFromTheProgram) {
  const std::string db = ::testing::TempDir() + "/cli_liability.db";
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) std::remove((db + suffix).c_str());
  ASSERT_EQ(Loyalty(absl::StrCat("run ", Write("liability_scenario.json", kSmall), " --db ", db)).exit_code, 0);
  const std::string program = Write("liability_program.json", R"({"versions": [{"id": "v1",
      "time_zone": "Europe/Berlin", "currency": "EUR", "announced_at": "2009-12-01T00:00:00Z",
      "effective_from": "2010-01-01T00:00:00Z", "expiry": {"months": 36, "round": "none"},
      "redemption": {"pay_with_points": {"value_per_point": "0.005"}}}]})");
  const std::string period = absl::StrCat("liability --json --db ", db, " --from 2010-01-01 --to 2011-01-01");
  auto closing = [](const nlohmann::json& report) {
    for (const auto& line : report["roll_forward"]) {
      if (line["line"] == "closing") return line;
    }
    return nlohmann::json();
  };

  Result with = Loyalty(period + " --program " + program);
  ASSERT_EQ(with.exit_code, 0) << with.err;
  auto report = nlohmann::json::parse(with.out);
  EXPECT_EQ(report["basis"]["zone"], "Europe/Berlin");
  EXPECT_EQ(report["basis"]["zone_from"], "program");
  EXPECT_EQ(report["basis"]["currency"], "EUR");
  EXPECT_EQ(report["basis"]["value_per_point"], "0.005");
  EXPECT_EQ(report["basis"]["value_per_point_from"], "program");
  EXPECT_EQ(report["basis"]["program_version"], "v1");
  EXPECT_EQ(closing(report)["points"], 750);
  EXPECT_EQ(closing(report)["value"], nlohmann::json::parse(R"({"amount": "3.75", "currency": "EUR"})")) << with.out;

  Result without = Loyalty(period);
  ASSERT_EQ(without.exit_code, 0) << without.err;
  report = nlohmann::json::parse(without.out);
  EXPECT_EQ(report["basis"]["zone"], "UTC");
  EXPECT_EQ(report["basis"]["zone_from"], "default");
  EXPECT_EQ(report["basis"]["value_per_point_from"], "default");
  EXPECT_TRUE(report["basis"]["program_version"].is_null());
  EXPECT_EQ(closing(report)["value"]["amount"], "7.50") << without.out;

  // An option may set what the program does not contradict.
  Result valued = Loyalty(period + " --program " + program + " --value-per-point 0.02");
  ASSERT_EQ(valued.exit_code, 0) << valued.err;
  EXPECT_EQ(nlohmann::json::parse(valued.out)["basis"]["value_per_point_from"], "option");
  Result other_currency = Loyalty(period + " --program " + program + " --currency USD");
  EXPECT_EQ(other_currency.exit_code, 1);
  EXPECT_NE(other_currency.err.find("--currency: USD is not the program's (EUR)"), std::string::npos)
      << other_currency.err;

  // Revenue needs the program's estimates: without them it is bad input,
  // and so is a period that ends before it starts.
  Result no_estimates = Loyalty(absl::StrCat("revenue --db ", db, " --program ", program,
                                             " --from 2010-01-01 --to 2011-01-01"));
  EXPECT_EQ(no_estimates.exit_code, 1);
  EXPECT_NE(no_estimates.err.find("no version has an accounting section"), std::string::npos) << no_estimates.err;
  const std::string accounted = Write("revenue_program.json", absl::StrReplaceAll(Slurp(program), {{
      R"("expiry")", R"("accounting": {"standalone_value_per_point": "0.01", "expected_redemption_rate": "0.8"},
      "expiry")"}}));
  Result backwards = Loyalty(absl::StrCat("revenue --db ", db, " --program ", accounted,
                                          " --from 2011-01-01 --to 2010-01-01"));
  EXPECT_EQ(backwards.exit_code, 1);
  EXPECT_NE(backwards.err.find("is after to"), std::string::npos) << backwards.err;
}

TEST(Cli, AnUnmetExpectationFailsTheRunNamingIt) {
  std::string text = kSmall;
  const std::string figure = "\"available\": 750}}";  // the redemption's expectation
  text.replace(text.find(figure), figure.size(), "\"available\": 751}}");
  Result result = Loyalty("run " + Write("wrong_scenario.json", text));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("timeline[2].expect.available: expected 751, got 750"), std::string::npos) << result.err;
}

// run_expiry and close_period check the figures of the members their
// expect names, as of the step, and a failure names the member.
TEST(Cli, PeriodStepsCheckTheFiguresOfTheMembersTheyName) {
  std::string text = Slurp(std::string(LOYALTY_SOURCE_DIR) + "/tests/cli/every_step_scenario.json");
  const std::string figures = R"("M-1": {"tier": null, "counters.status": 1200)";
  ASSERT_NE(text.find(figures), std::string::npos);
  text.replace(text.find(figures), figures.size(), R"("M-1": {"tier": "silver", "counters.status": 1200)");
  const std::string expiry = R"("M-2": {"available": 10})";
  ASSERT_NE(text.find(expiry), std::string::npos);
  text.replace(text.find(expiry), expiry.size(), R"("M-2": {"available": 11})");
  Result result = Loyalty("run " + Write("wrong_period_scenario.json", text));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("timeline[21].expect.M-1.tier: expected \"silver\", got null"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("timeline[20].expect.M-2.available: expected 11, got 10"), std::string::npos)
      << result.err;
}

TEST(Cli, RunningTheAirlineScenarioTwiceGivesByteIdenticalJson) {
  Result first = Loyalty("run --json " + kAirline);
  Result second = Loyalty("run --json " + kAirline);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.err, "");  // no progress bar or other noise when stderr is not a terminal
  auto report = nlohmann::json::parse(first.out);
  const auto& population = report["reports"][2]["result"];
  EXPECT_EQ(population["pool"]["awards_before"], "2200000.00");
  EXPECT_EQ(population["pool"]["awards_after"], "1885714.29");   // 198e9 / 105,000
  EXPECT_EQ(population["pool"]["value_lost"]["amount"], "942857142.86");  // 314,285.71... awards x EUR 3,000
  EXPECT_EQ(population["pool"]["value_lost"]["currency"], "EUR");
  const auto& member = report["reports"][3]["result"]["whole_awards"];
  EXPECT_EQ(member["before"], 9);  // floor(887,000 / 90,000)
  EXPECT_EQ(member["after"], 8);   // floor(887,000 / 105,000)
  EXPECT_EQ(report["reports"][4]["result"]["transitions"][0]["days"], 33);
  // Text output is stable too, and groups the thousands of exact figures
  // that --json prints plain; a year or an id stays as it is.
  std::string text = Loyalty("run " + kAirline).out;
  EXPECT_EQ(text, Loyalty("run " + kAirline).out);
  EXPECT_NE(text.find("awards_after   1,885,714.29\n"), std::string::npos) << text;
  EXPECT_NE(text.find("value_lost     942,857,142.86 EUR\n"), std::string::npos) << text;
  EXPECT_NE(text.find("value_lost  3,000.00 EUR\n"), std::string::npos) << text;  // the member's one award
  EXPECT_EQ(text.find("1885714.29"), std::string::npos);
  EXPECT_EQ(first.out.find("1,885,714.29"), std::string::npos);
}

TEST(Cli, RunningTheCoalitionScenarioTwiceGivesByteIdenticalJsonWithTheSettlement) {
  Result first = Loyalty("run --json " + kCoalition);
  Result second = Loyalty("run --json " + kCoalition);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.err, "");
  auto report = nlohmann::json::parse(first.out);
  ASSERT_EQ(report["reports"][1]["report"], "settlement");
  const auto& partners = report["reports"][1]["result"]["partners"];
  ASSERT_EQ(partners.size(), 3u);
  // fuelco: 62 x 0.0075 = 0.465, a tie rounded half-even to 0.46; 40 x 0.0085 = 0.34.
  EXPECT_EQ(partners[1], nlohmann::json::parse(R"({"partner": "fuelco", "issued": 62, "redeemed": 40,
      "owed_to_operator": {"amount": "0.46", "currency": "EUR"}, "owed_to_partner": {"amount": "0.34", "currency": "EUR"},
      "net": {"amount": "0.12", "currency": "EUR"}})"));
  // freshmart: issued 33 + 50 - 13, redeemed 30 - 30 + 100; the operator owes it 0.10.
  EXPECT_EQ(partners[0]["issued"], 70);
  EXPECT_EQ(partners[0]["redeemed"], 100);
  EXPECT_EQ(partners[0]["net"]["amount"], "-0.10");
  EXPECT_EQ(partners[2]["owed_to_operator"]["amount"], "14.40");  // skyways: 1,200 x 0.012
  EXPECT_EQ(report["reports"][1]["result"]["from"], "2026-02-28T23:00:00Z");  // 1 March, Berlin
  const auto& refusal = report["steps"][12];
  EXPECT_EQ(refusal["partner"], "freshmart");
  EXPECT_EQ(refusal["action"], "settlement");
  EXPECT_EQ(refusal["outcome"]["status"], "refused");
  EXPECT_EQ(refusal["outcome"]["refusal"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(refusal["outcome"]["refusal"]["message"].get<std::string>().rfind("partner: ", 0), 0u)
      << refusal["outcome"];
  EXPECT_EQ(report["expectations_failed"].size(), 0u);
}

TEST(Cli, AStepThatIsNotRefusedAsExpectedFailsTheRun) {
  std::string text = Slurp(kCoalition);
  // The freshmart handle asking for its own settlement is not refused.
  const std::string peek = R"("settlement": {"partner": "skyways")";
  ASSERT_NE(text.find(peek), std::string::npos);
  text.replace(text.find(peek), peek.size(), R"("settlement": {"partner": "freshmart")");
  std::string scenario = Write("coalition_copy_scenario.json",
                               absl::StrCat(text.substr(0, text.find("../programs/coalition.json")),
                                            LOYALTY_SOURCE_DIR, "/examples/programs/coalition.json",
                                            text.substr(text.find("../programs/coalition.json") + 26)));
  Result result = Loyalty("run " + scenario);
  EXPECT_EQ(result.exit_code, 3) << result.err;  // the run stops at the step
  EXPECT_NE(result.err.find("timeline[10]: expected PERMISSION_DENIED with \"partner: \", but the command succeeded"),
            std::string::npos)
      << result.err;
}


const std::string kMilesAndMore = std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json";

// A fresh, empty directory under the test's temporary directory.
std::string EmptyDirectory(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The names of the files in `dir`, sorted.
std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& file : std::filesystem::directory_iterator(dir)) names.push_back(file.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// Every command that only reads a journal refuses a path that holds none
// (exit 3, "no journal at PATH") and creates nothing there: a mistyped path
// cannot pass an audit as an empty journal.
TEST(Cli, ReadingCommandsNeverCreateAJournal) {
  std::string dir = EmptyDirectory("cli_no_journal");
  std::string db = dir + "/typo.db";
  const std::vector<std::string> commands = {
      "verify --db " + db,
      "verify --json --db " + db,
      "replay --db " + db,
      "replay --db " + db + " --program " + kMilesAndMore,
      "statement --db " + db + " M-1",
      "liability --db " + db + " --from 2010-01-01 --to 2011-01-01",
      "impact --db " + db + " --program " + kMilesAndMore +
          " --from mm-2010 --to mm-2011 --reward award:EU-NA:business:round_trip"};
  for (const std::string& command : commands) {
    Result result = Loyalty(command);
    EXPECT_EQ(result.exit_code, 3) << command << "\n" << result.err;
    EXPECT_NE(result.err.find("no journal at " + db), std::string::npos) << command << "\n" << result.err;
    EXPECT_EQ(result.out, "") << command;
    EXPECT_EQ(Files(dir), std::vector<std::string>{}) << command;
  }
  // An empty file holds no journal either, and stays empty.
  std::ofstream(db).close();
  for (const std::string& command : commands) {
    Result result = Loyalty(command);
    EXPECT_EQ(result.exit_code, 3) << command << "\n" << result.err;
    EXPECT_NE(result.err.find("no journal at " + db), std::string::npos) << command << "\n" << result.err;
    EXPECT_EQ(Files(dir), std::vector<std::string>{"typo.db"}) << command;
    EXPECT_EQ(std::filesystem::file_size(db), 0u) << command;
  }
}

// A document nested 100,000 levels deep would overflow the stack of `run`
// (a recursive copy and dump of the value), so every loader refuses it
// before parsing, naming the file, where, and the limit.
TEST(Cli, DeeplyNestedInputIsRefusedWithoutACrash) {
  std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  std::string scenario =
      Write("deep_scenario.json", R"({"id": "deep", "program": {"versions": [)" + deep + R"(]}, "timeline": []})");
  Result run = Loyalty("run " + scenario);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find(scenario + ": (root): arrays and objects nested more than 64 deep (the limit) at line 1"),
            std::string::npos)
      << run.err;

  std::string program = Write("deep_program.json", R"({"versions": [{"id": "v1", "name": )" + deep + "}]}");
  for (const std::string& command :
       {"validate " + program, "run " + Write("deep_program_scenario.json",
                                              R"({"id": "deep", "program": ")" + program + R"(", "timeline": []})"),
        "population --members 10 --median 5 --sigma 1 --total 100 --program " + program +
            " --from a --to b --reward c"}) {
    Result result = Loyalty(command);
    EXPECT_EQ(result.exit_code, 1) << command << "\n" << result.err;
    EXPECT_NE(result.err.find(program), std::string::npos) << command << "\n" << result.err;
    EXPECT_NE(result.err.find("nested more than 64 deep"), std::string::npos) << command << "\n" << result.err;
  }
}

// A population of a billion members is refused where it is defined, before
// anything is allocated for it, rather than left to fail on std::bad_alloc.
TEST(Cli, AHugePopulationIsRefusedAtLoad) {
  std::string text = kSmall;
  text.replace(text.rfind('}'), 1, R"(, "populations": [{"name": "everyone", "members": 1000000000, "median": 2000,
      "sigma": "1.8", "total": 198000000000}]})");
  Result run = Loyalty("run " + Write("huge_population.json", text));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("populations[0].members: 1000000000 is not in 1..100000000"), std::string::npos) << run.err;

  Result population = Loyalty("population --members 1000000000 --median 2000 --sigma 1.8 --total 198000000000 "
                              "--program " + kMilesAndMore +
                              " --from mm-2010 --to mm-2011 --reward award:EU-NA:business:round_trip");
  EXPECT_EQ(population.exit_code, 1) << population.err;
  EXPECT_NE(population.err.find("members: 1000000000 is not in 1..100000000"), std::string::npos) << population.err;
}

// Two members at the largest balance: their sum does not fit in 64 bits,
// and replay says so instead of printing a wrapped total (-2).
TEST(Cli, ReplayRefusesATotalThatOverflows) {
  std::string text = kSmall;
  text.replace(text.find(R"("timeline")"), text.find(R"("reports")") - text.find(R"("timeline")"), R"("timeline": [
    {"at": "2010-02-01T00:00:00Z", "enroll": "M-2"},
    {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-1", "points": 9223372036854775807}},
    {"at": "2010-02-01T00:00:00Z", "credit": {"member": "M-2", "points": 9223372036854775807}}],
  )");
  text.replace(text.find(R"(, "expect": {"members.0.available": 750})"), 40, "");
  std::string dir = EmptyDirectory("cli_overflow");
  Result run = Loyalty("run " + Write("overflow_scenario.json", text) + " --db " + dir + "/j.db");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Result replay = Loyalty("replay --json --db " + dir + "/j.db");
  EXPECT_EQ(replay.exit_code, 3) << replay.out;
  EXPECT_EQ(replay.out, "");
  EXPECT_NE(replay.err.find("outstanding available: the members' available points add up to more than "
                            "9223372036854775807"),
            std::string::npos)
      << replay.err;
}

// `population --db` writes all its members or none: a write that fails
// midway (here the file size limit, as a full disk would) leaves no journal
// and no temporary file; and it never writes into an existing file.
TEST(Cli, PopulationIntoAJournalIsAllOrNothing) {
  std::string dir = EmptyDirectory("cli_population");
  std::string db = dir + "/population.db";
  const std::string population = "population --members 20000 --median 2000 --sigma 1.8 --total 40000000 --program " +
                                 kMilesAndMore + " --db " + db;
  // SIGXFSZ ignored: a write beyond the limit fails with EFBIG instead of
  // killing the process. 8,000 blocks (4 MB of 512 bytes in dash, 8 MB in
  // bash) take the first appends (5,000 members at a time), not all of the
  // 20,000 members (9 MB).
  Result failed = Shell("trap '' XFSZ; ulimit -f 8000; " LOYALTY_CLI " " + population);
  EXPECT_EQ(failed.exit_code, 3) << failed.err;
  EXPECT_NE(failed.err.find(db), std::string::npos) << failed.err;
  EXPECT_EQ(Files(dir), std::vector<std::string>{});

  Result written = Loyalty(population + " --json");
  ASSERT_EQ(written.exit_code, 0) << written.err;
  EXPECT_EQ(Files(dir), std::vector<std::string>{"population.db"});
  auto summary = nlohmann::json::parse(written.out);
  Result verified = Loyalty("verify --json --db " + db);
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(nlohmann::json::parse(verified.out)["entries"], summary["entries"]);
  EXPECT_EQ(nlohmann::json::parse(Loyalty("replay --json --db " + db).out)["members"], 20000);

  auto size = std::filesystem::file_size(db);
  Result again = Loyalty(population);
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(again.err.find(db + " exists"), std::string::npos) << again.err;
  EXPECT_EQ(std::filesystem::file_size(db), size);
  EXPECT_EQ(Files(dir), std::vector<std::string>{"population.db"});
}

}  // namespace
