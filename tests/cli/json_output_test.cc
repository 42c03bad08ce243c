// The --json output of the `loyalty` command against its schema
// (docs/json-output.schema.json, JSON Schema draft 7, checked with
// valijson): every example scenario and tests/cli/every_step_scenario.json
// (each kind of step, expectations on run_expiry and close_period), run
// fresh and again over the same journal, every other command's document
// on the journal a run leaves, and the audit of a sharded program on the
// three servers ctest starts.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "loyalty/loyalty.h"
#include "nlohmann/json.hpp"
#include "valijson/adapters/nlohmann_json_adapter.hpp"
#include "valijson/schema.hpp"
#include "valijson/schema_parser.hpp"
#include "valijson/validation_results.hpp"
#include "valijson/validator.hpp"
#include "store_fixture.h"

namespace {

using nlohmann::json;

const std::string kSource = LOYALTY_SOURCE_DIR;
const std::string kEveryStep = kSource + "/tests/cli/every_step_scenario.json";
const std::string kAirline = kSource + "/examples/airline-2011/scenario.json";
const std::string kAirlineProgram = kSource + "/examples/airline-2011/program.json";

struct Result {
  int exit_code = -1;
  std::string out;
};

// Runs the command line with `arguments`, its stderr left to the test's.
Result Loyalty(const std::string& arguments) {
  Result result;
  std::FILE* pipe = popen(absl::StrCat(LOYALTY_CLI, " ", arguments).c_str(), "r");
  char buffer[4096];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, read);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Removes the SQLite journal at `path` with its companion files.
void RemoveJournal(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) std::filesystem::remove(path + suffix);
}

// The schema, parsed once.
const valijson::Schema& Schema() {
  static const valijson::Schema* schema = [] {
    std::ifstream file(kSource + "/docs/json-output.schema.json");
    static const json document = json::parse(file);
    auto* parsed = new valijson::Schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    parser.populateSchema(adapter, *parsed);
    return parsed;
  }();
  return *schema;
}

// The schema's complaints about `document`, one a line with where they
// are ("" if it conforms).
std::string Violations(const json& document) {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  if (validator.validate(Schema(), adapter, &results)) return "";
  std::string out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string where;
    for (const std::string& part : error.context) where += part;
    absl::StrAppend(&out, where, ": ", error.description, "\n");
  }
  return out;
}

// Runs `arguments` (a command with --json), expects exit 0 and a document
// the schema accepts, and returns it.
json Conforming(const std::string& arguments) {
  Result result = Loyalty(arguments);
  EXPECT_EQ(result.exit_code, 0) << arguments;
  json document = json::parse(result.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(document.is_discarded()) << arguments << " printed no JSON:\n" << result.out;
  EXPECT_EQ(Violations(document), "") << arguments;
  return document;
}

// Every scenario the command line can run: the examples' and this test's.
std::vector<std::string> Scenarios() {
  std::vector<std::string> paths;
  for (const auto& example : std::filesystem::directory_iterator(kSource + "/examples")) {
    if (std::filesystem::exists(example.path() / "scenario.json")) paths.push_back(example.path() / "scenario.json");
  }
  std::sort(paths.begin(), paths.end());
  paths.push_back(kEveryStep);
  return paths;
}

TEST(JsonOutput, TheSchemaRefusesWhatFormat1Printed) {
  json run = Conforming("run --json " + kAirline);
  json old = run;
  old["steps"][2]["outcome"] = "entry 4, +870,448";
  EXPECT_NE(Violations(old), "");
  old = run;
  old["reports"][2]["result"]["pool"]["value_lost"] = "942857142.86 EUR";
  EXPECT_NE(Violations(old), "");
  old = run;
  old["steps"][13]["member"] = "";  // the period close, which concerns every member
  EXPECT_NE(Violations(old), "");
  old = run;
  old.erase("format");
  EXPECT_NE(Violations(old), "");
}

TEST(JsonOutput, EveryScenarioConformsRunFreshAndAgainOverItsJournal) {
  const std::vector<std::string> scenarios = Scenarios();
  ASSERT_GE(scenarios.size(), 4u);
  std::set<std::string> statuses, actions;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    SCOPED_TRACE(scenarios[i]);
    json fresh = Conforming("run --json " + scenarios[i]);
    EXPECT_EQ(fresh["format"], "loyalty.run/2");
    EXPECT_EQ(fresh["expectations_failed"], json::array());
    for (const json& step : fresh["steps"]) {
      statuses.insert(step["outcome"]["status"].get<std::string>());
      actions.insert(step["action"].get<std::string>());
    }
    const std::string db = absl::StrCat(::testing::TempDir(), "/json_output_", i, ".db");
    RemoveJournal(db);
    Conforming(absl::StrCat("run --json ", scenarios[i], " --db ", db));
    json again = Conforming(absl::StrCat("run --json ", scenarios[i], " --db ", db));
    EXPECT_EQ(again["journal"], fresh["journal"]);
    EXPECT_EQ(again["steps"][0]["outcome"]["replayed"], true);
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"done", "refused", "published", "settled", "revised"}));
  for (const char* action : {"enroll", "credit", "accrue", "quote", "hold", "capture", "release", "redeem",
                             "pay_at_till", "return", "reverse_debit", "adjust", "set_flag", "close_membership",
                             "run_expiry", "close_period", "publish", "settlement", "estimate", "redeem_voucher",
                             "buy_points", "refund_points", "transfer"}) {
    EXPECT_TRUE(actions.count(action)) << action << " is in no scenario";
  }
}

// The outcomes of tests/cli/every_step_scenario.json that its comments work
// out: what each kind of step created and changed.
TEST(JsonOutput, StepOutcomesSayWhatTheStepsWroteAndCreated) {
  json run = Conforming("run --json " + kEveryStep);
  auto outcome = [&](const std::string& where) {
    for (const json& step : run["steps"]) {
      if (step["step"] == where) return step["outcome"];
    }
    ADD_FAILURE() << "no step " << where;
    return json();
  };
  EXPECT_EQ(outcome("timeline[1]")["points"], 1200);
  EXPECT_EQ(outcome("timeline[1]")["created"]["kind"], "credit");
  EXPECT_EQ(outcome("timeline[1]")["tier_changes"][0]["tier"], "silver");
  EXPECT_EQ(outcome("timeline[2]")["created"]["kind"], "quote");
  EXPECT_EQ(outcome("timeline[3]")["held"], 300);
  EXPECT_EQ(outcome("timeline[3]")["points"], -300);
  EXPECT_EQ(outcome("timeline[4]")["created"]["kind"], "debit");
  EXPECT_EQ(outcome("timeline[10]")["created"]["value"], json::parse(R"({"amount": "1.00", "currency": "EUR"})"));
  EXPECT_EQ(outcome("timeline[16]")["refusal"]["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(outcome("timeline[17]")["partners"][0]["net"]["amount"], "9.20");
  EXPECT_EQ(outcome("timeline[18]")["entries"], json::array());  // nothing due
  EXPECT_EQ(outcome("timeline[20]")["members"][0], json::parse(R"({"member": "M-1", "entries": [22], "points": -1050,
                                                                   "held": 0, "debt": 0})"));
  EXPECT_TRUE(outcome("timeline[21]")["tier_changes"][0]["tier"].is_null());
  EXPECT_EQ(outcome("timeline[25]")["created"]["value"], json::parse(R"({"amount": "2.00", "currency": "EUR"})"));
  EXPECT_EQ(outcome("timeline[26]")["points"], -200);
  const json& m2 = run["reports"][0]["result"]["members"][1];
  EXPECT_EQ(m2["member"], "M-2");
  EXPECT_TRUE(m2["tier"].is_null());
  EXPECT_EQ(m2["period"], json::parse(R"({"first": "2012-01-01", "last": "2012-12-31"})"));
}

TEST(JsonOutput, EveryOtherCommandConforms) {
  const std::string db = ::testing::TempDir() + "/json_output_commands.db";
  RemoveJournal(db);
  ASSERT_EQ(Loyalty(absl::StrCat("run ", kAirline, " --db ", db, " > /dev/null")).exit_code, 0);
  const std::string on = " --json --db " + db;
  const std::string change = " --program " + kAirlineProgram + " --from mm-2010 --to mm-2011 --value 3000";
  EXPECT_TRUE(Conforming("verify" + on)["bad_entry"].is_null());
  Conforming("replay" + on);
  json rerated = Conforming("replay" + on + " --program " + kAirlineProgram + " --without mm-2011");
  EXPECT_EQ(rerated["commands_changed"][0]["rerated"]["points"], 90000);
  Conforming("statement M-0887" + on);
  Conforming("liability" + on + " --from 2010-01-01 --to 2011-01-01");
  Conforming("liability" + on + " --from 2010-01-01 --to 2011-01-01 --program " + kAirlineProgram);
  json impact = Conforming("impact" + on + change + " --reward award:EU-NA:business:round_trip --reward lounge-voucher");
  EXPECT_EQ(impact["reports"].size(), 2u);
  Conforming("population --json --members 1000 --median 2000 --sigma 1.8 --total 5000000" + change +
             " --reward award:EU-NA:business:round_trip");
  const std::string population = ::testing::TempDir() + "/json_output_population.db";
  RemoveJournal(population);
  Conforming(absl::StrCat("population --json --members 10 --median 2000 --sigma 1.8 --total 50000 --program ",
                          kAirlineProgram, " --db ", population));
  Conforming("validate --json " + kAirlineProgram);
  const std::string csv = ::testing::TempDir() + "/json_output_ledger.csv";
  json revenue = Conforming("revenue" + on + " --program " + kAirlineProgram +
                            " --from 2010-01-01 --to 2011-02-01 --ledger-csv " + csv);
  // 419.52 deferred in 2010; January 2011 recognises 47.71 on the award and 10.47 breakage.
  EXPECT_EQ(revenue["revenue"]["amount"], "58.18");
  EXPECT_EQ(revenue["roll_forward"].back()["closing"]["amount"], "361.34");
  // The CSV export balances: debits equal credits, in cents.
  std::ifstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "date,account,debit,credit,currency,cohort,partner,memo,seqs\r");
  int64_t debit = 0, credit = 0, rows = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    ASSERT_GE(fields.size(), 4u) << line;
    debit += std::stoll(absl::StrReplaceAll(fields[2], {{".", ""}}));
    credit += std::stoll(absl::StrReplaceAll(fields[3], {{".", ""}}));
    ++rows;
  }
  EXPECT_EQ(rows, static_cast<int64_t>(revenue["ledger"].size()));
  EXPECT_GT(debit, 0);
  EXPECT_EQ(debit, credit);
}

// `shards` over four shards on the three servers ctest starts: every
// journal verifies and the transfer between two shards pairs; a receipt
// that no shard sent is a finding, in a document the schema accepts; a
// shard without a journal is an error, and the reader creates none.
TEST(JsonOutput, TheShardsAuditConformsAndNamesWhatDoesNotPair) {
  using namespace loyalty;
  const std::vector<std::string> servers = ShardServers();
  for (const std::string& server : servers) {
    PostgresSqlOn(server, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS loyalty_shard_0, "
                          "loyalty_shard_1, loyalty_shard_2, loyalty_shard_3 CASCADE");
  }
  auto map = ShardMap::Create(4, {{servers[0], {0, 3}}, {servers[1], {1}}, {servers[2], {2}}});
  ASSERT_TRUE(map.ok()) << map.status();
  const MemberId ann = MemberId::FromValid("M-0");
  MemberId bea = ann;
  for (int i = 1; map->ShardOf(bea) == map->ShardOf(ann); ++i) bea = MemberId::FromValid(absl::StrCat("M-", i));
  FakeClock clock(*Instant::Parse("2011-01-10T12:00:00Z"));
  const Program program = *Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
  {
    auto host = ShardedEngine::Open(*map, [&](uint32_t shard) { return OpenShardStore(*map, shard); }, clock, program);
    ASSERT_TRUE(host.ok()) << host.status();
    for (const MemberId& id : {ann, bea}) ASSERT_TRUE((*host)->Execute(Enroll{"e-" + id.value(), id}).ok());
    ASSERT_TRUE((*host)->Execute(Credit{.idempotency_key = "c", .member = ann, .amount = Points(900), .source = "x"}).ok());
    ASSERT_TRUE((*host)->Execute(Transfer{.idempotency_key = "t", .member = ann, .to = bea, .amount = Points(400)}).ok());
  }
  std::string databases;
  for (size_t i = 0; i < servers.size(); ++i) {
    absl::StrAppend(&databases, i ? "," : "", R"({"conninfo": ")", servers[i], R"(", "shards": )",
                    i == 0 ? "[0, 3]" : absl::StrCat("[", i, "]"), "}");
  }
  const std::string file = ::testing::TempDir() + "/json_output_shards.json";
  std::ofstream(file) << R"({"shards": 4, "databases": [)" << databases << "]}";

  json audit = Conforming("shards --json --shards " + file);
  EXPECT_EQ(audit["shards"].size(), 4u);
  EXPECT_EQ(audit["transfers"]["received"], 400);
  EXPECT_EQ(audit["transfers"]["in_flight"], 0);

  {
    auto store = OpenShardStore(*map, map->ShardOf(bea));
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(*std::move(store), clock, program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    const std::vector<TransferredLot> lots = {{Points(5), Instant::FromUnixMicros(0), Instant::Max()}};
    ASSERT_TRUE((*engine)->Execute(ReceiveTransfer{"forged", bea, std::nullopt, ann, Points(5), lots}).ok());
  }
  Result found = Loyalty("shards --json --shards " + file);
  EXPECT_EQ(found.exit_code, 1);
  json document = json::parse(found.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(Violations(document), "");
  ASSERT_EQ(document["transfers"]["faults"].size(), 1u);
  EXPECT_NE(document["transfers"]["faults"][0].get<std::string>().find("transfer forged"), std::string::npos);
  // The liability of every shard read together: 900 credited, the 5 forged.
  json liability = Conforming("liability --json --shards " + file + " --from 2010-01-01 --to 2030-01-01");
  std::map<std::string, json> lines;
  for (const json& line : liability["roll_forward"]) lines[line["line"]] = line["points"];
  EXPECT_EQ(lines["closing"], 905);
  EXPECT_EQ(lines["transferred"], 5);
  EXPECT_EQ(Loyalty("liability --json --from 2010-01-01 --to 2030-01-01").exit_code, 2);  // neither --db nor --shards

  // Shard 3 said to be on the third server, where it has no journal.
  std::ofstream(file) << R"({"shards": 4, "databases": [{"conninfo": ")" << servers[0]
                      << R"(", "shards": [0]}, {"conninfo": ")" << servers[1] << R"(", "shards": [1]},)"
                      << R"({"conninfo": ")" << servers[2] << R"(", "shards": [2, 3]}]})";
  const std::string moved_map = ::testing::TempDir() + "/json_output_shards_moved.json";
  std::filesystem::copy_file(file, moved_map, std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(Loyalty("shards --json --shards " + moved_map).exit_code, 3);
  auto absent = OpenPostgresStore(servers[2], {.schema = "loyalty_shard_3", .read_only = true});
  EXPECT_TRUE(absl::IsNotFound(absent.status())) << absent.status();

  // Ann's shard copied to the next server: again, nothing is left to copy.
  std::ofstream(file) << R"({"shards": 4, "databases": [)" << databases << "]}";
  const uint32_t shard = map->ShardOf(ann);
  const std::string& target = servers[shard == 1 ? 2 : shard == 2 ? 0 : 1];
  const std::string move = absl::StrCat("move-shard --json --shards ", file, " --shard ", shard, " --to '", target, "'");
  json moved = Conforming(move);
  EXPECT_GT(moved["copied"], 0);
  EXPECT_EQ(moved["caught_up"], true);
  EXPECT_EQ(Conforming(move)["copied"], 0);
  auto copy = OpenPostgresStore(target, {.schema = ShardSchema(shard), .read_only = true});
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->Head().ToString(), moved["source_head"]);
  EXPECT_TRUE(VerifyJournal(**copy).ok());
}

}  // namespace
