// `loyalty run SCENARIO.json [--db FILE] [--json] [--html FILE]`: loads and
// runs a scenario, prints its steps and reports (and writes them as an HTML
// page), and fails (exit 1) if an expected figure differs.
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "loyalty/report_html.h"
#include "loyalty/scenario.h"
#include "loyalty/store.h"
#include "scenario_run.h"

namespace loyalty::cli {
namespace {

struct RunArguments {
  std::string scenario;
  std::string db;
  std::string html;
  bool json = false;
  std::string key_file;  // --key-file: the journal is keyed, with this key
};

// The HTML page of a run: its impact reports with their charts, the notice
// check and the revenue reports.
HtmlReportInput HtmlOf(const RunReport& report) {
  HtmlReportInput input{.title = report.title.empty() ? report.scenario : report.title};
  for (const ReportSection& section : report.sections) {
    if (const auto* impact = std::get_if<ImpactResult>(&section.result)) {
      input.impacts.push_back({section.title.empty() ? impact->basis : section.title + " (" + impact->basis + ")",
                               impact->impact});
      if (!input.balances) input.balances = impact->balances;
      input.affordable.push_back(impact->affordable);
    } else if (const auto* notice = std::get_if<NoticeReport>(&section.result)) {
      input.notice = *notice;
    } else if (const auto* revenue = std::get_if<RevenueReport>(&section.result)) {
      input.revenue.push_back({section.title.empty() ? "Revenue" : section.title, *revenue});
    }
  }
  return input;
}

int Run(const RunArguments& args) {
  auto scenario = LoadScenarioFile(args.scenario);
  if (!scenario.ok()) return Fail("scenario", scenario.status());
  auto key = ReadKeyFile(args.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  std::unique_ptr<Store> store;
  if (args.db.empty() && key->has_value()) {
    auto keyed = NewKeyedMemoryStore(**key);
    if (!keyed.ok()) return Fail("--key-file", keyed.status());
    store = *std::move(keyed);
  } else if (args.db.empty()) {
    store = NewMemoryStore();
  } else {
    auto opened =
        OpenSqliteStore(args.db, {.synchronous = SqliteOptions::Synchronous::kNormal, .journal_key = *key});
    if (!opened.ok()) return Fail(args.db, opened.status());
    store = *std::move(opened);
  }
  auto report = RunScenario(*scenario, std::move(store), *key);
  if (!report.ok()) return Fail(args.scenario, report.status());
  if (!args.html.empty()) {
    std::ofstream page(args.html, std::ios::binary | std::ios::trunc);
    page << RenderHtmlReport(HtmlOf(*report));
    page.close();
    if (!page) return Fail(args.html, absl::UnavailableError("cannot write the HTML report"));
  }
  Json document = ToJson(*report);
  if (args.json) {
    Print("run", document, true);
  } else {
    std::cout << report->title << "\n" << std::string(report->title.size(), '=') << "\n\n";
    if (!report->description.empty()) std::cout << report->description << "\n\n";
    std::cout << "Timeline\n--------\n" << ToText(TimelineRows(*report)) << "\n";
    for (const Json& section : document["reports"]) {
      const std::string heading = (section["title"].is_null() ? section["report"] : section["title"]).get<std::string>();
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
  run->add_option("--html", args->html, "Also write the impact and notice reports as one self-contained HTML page");
  AddKeyFileOption(run, &args->key_file);
  run->callback([args, &outcome] { outcome.exit_code = Run(*args); });
}

}  // namespace loyalty::cli
