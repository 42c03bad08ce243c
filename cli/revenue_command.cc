// `loyalty revenue --db FILE --program FILE --from D --to D [--json]
// [--ledger-csv FILE]`: revenue accounting for the points of a journal over
// [from, to): the contract liability roll-forward by cohort, the revenue
// recognised, and the general-ledger lines (loyalty/audit/revenue.h).
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "loyalty/audit.h"
#include "loyalty/io.h"
#include "loyalty/store.h"

namespace loyalty::cli {
namespace {

struct RevenueArguments {
  std::string db;
  std::string program;
  std::string from, to;
  std::string ledger_csv;
  std::string key_file;
  bool json = false;
};

int Revenue(const RevenueArguments& a) {
  auto program = LoadProgramFile(a.program);
  if (!program.ok()) return Fail(a.program, program.status());
  if (std::none_of(program->versions().begin(), program->versions().end(),
                   [](const auto& version) { return version->accounting.has_value(); })) {
    return Fail(a.program, absl::InvalidArgumentError("no version has an accounting section (docs/revenue.md)"));
  }
  RevenueOptions options;
  auto from = ParseWhen(a.from, program->zone());
  if (!from.ok()) return Fail("--from", from.status());
  auto to = ParseWhen(a.to, program->zone());
  if (!to.ok()) return Fail("--to", to.status());
  options.from = *from;
  options.to = *to;
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  options.journal_key = *key;
  auto store = OpenSqliteStore(a.db, {.journal_key = *key, .read_only = true});
  if (!store.ok()) return Fail(a.db, store.status());
  auto report = RecogniseRevenue(**store, *program, options);
  if (!report.ok()) return Fail(a.db, report.status());
  if (!a.ledger_csv.empty()) {
    std::ofstream file(a.ledger_csv, std::ios::binary | std::ios::trunc);
    file << LedgerCsv(*report);
    file.close();
    if (!file) return Fail(a.ledger_csv, absl::UnavailableError("cannot write the general-ledger lines"));
  }
  ReportSection section{.where = "revenue", .title = "", .result = *std::move(report)};
  Print("revenue", ToJson(section)["result"], a.json);
  return kExitOk;
}

}  // namespace

void AddRevenueCommand(CLI::App& app, Outcome& outcome) {
  auto args = std::make_shared<RevenueArguments>();
  CLI::App* revenue = app.add_subcommand(
      "revenue", "Revenue accounting for points (IFRS 15): contract liability by cohort over [from, to)");
  revenue->add_option("--db", args->db, "Existing SQLite journal (never created)")->required();
  revenue->add_option("--program", args->program,
                      "The program (JSON) whose accounting sections hold the estimates")
      ->required();
  revenue->add_option("--from", args->from, "Start (YYYY-MM-DD in the program's zone, or RFC 3339)")->required();
  revenue->add_option("--to", args->to, "End, exclusive")->required();
  revenue->add_option("--ledger-csv", args->ledger_csv, "Also write the general-ledger lines as CSV to this file");
  revenue->add_flag("--json", args->json, "Machine-readable JSON output (the ledger lines included)");
  AddKeyFileOption(revenue, &args->key_file);
  revenue->callback([args, &outcome] { outcome.exit_code = Revenue(*args); });
}

}  // namespace loyalty::cli
