// `loyalty run SCENARIO.json [--db FILE] [--json]`: loads and runs a
// scenario, prints its steps and reports, and fails (exit 1) if an expected
// figure differs.
#include <iostream>
#include <memory>

#include "commands.h"
#include "loyalty/scenario.h"
#include "loyalty/store.h"
#include "scenario_run.h"

namespace loyalty::cli {
namespace {

struct RunArguments {
  std::string scenario;
  std::string db;
  bool json = false;
};

int Run(const RunArguments& args) {
  auto scenario = LoadScenarioFile(args.scenario);
  if (!scenario.ok()) return Fail("scenario", scenario.status());
  std::unique_ptr<Store> store;
  if (args.db.empty()) {
    store = NewMemoryStore();
  } else {
    auto opened = OpenSqliteStore(args.db, {.synchronous = SqliteOptions::Synchronous::kNormal});
    if (!opened.ok()) return Fail(args.db, opened.status());
    store = *std::move(opened);
  }
  auto report = RunScenario(*scenario, std::move(store));
  if (!report.ok()) return Fail(args.scenario, report.status());
  // An HTML page (--html FILE) renders from *report, which holds every
  // typed result (DevaluationImpact, NoticeReport, balances, statements).
  Json document = ToJson(*report);
  if (args.json) {
    Print(document, true);
  } else {
    std::cout << report->title << "\n" << std::string(report->title.size(), '=') << "\n\n";
    if (!report->description.empty()) std::cout << report->description << "\n\n";
    std::cout << "Timeline\n--------\n" << ToText(document["steps"]) << "\n";
    for (const Json& section : document["reports"]) {
      std::string heading = section["title"].get<std::string>();
      if (heading.empty()) heading = section["report"].get<std::string>();
      std::cout << heading << "\n" << std::string(heading.size(), '-') << "\n" << ToText(section["result"]) << "\n";
    }
    std::cout << "Journal: " << report->journal_entries << " entries, head " << report->journal_head
              << (args.db.empty() ? "" : " (" + args.db + ")") << "\n";
  }
  for (const std::string& failure : report->failures) std::cerr << "loyalty: expectation failed: " << failure << "\n";
  return report->failures.empty() ? kExitOk : kExitFindings;
}

}  // namespace

void AddRunCommand(CLI::App& app, Outcome& outcome) {
  auto args = std::make_shared<RunArguments>();
  CLI::App* run = app.add_subcommand("run", "Run a scenario file and print its reports (docs/scenario-format.md)");
  run->add_option("scenario", args->scenario, "Scenario JSON file")->required();
  run->add_option("--db", args->db, "Journal in this SQLite file (default: in memory)");
  run->add_flag("--json", args->json, "Machine-readable JSON output");
  run->callback([args, &outcome] { outcome.exit_code = Run(*args); });
}

}  // namespace loyalty::cli
