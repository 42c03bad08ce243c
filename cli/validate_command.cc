// `loyalty validate PROGRAM.json`: every problem of a program definition
// with its JSON path (exit 1), or a summary of its versions (exit 0).
#include <iostream>
#include <memory>

#include "commands.h"
#include "loyalty/io.h"

namespace loyalty::cli {

void AddValidateCommand(CLI::App& app, Outcome& outcome) {
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* validate = app.add_subcommand("validate", "Check a program definition (docs/program-format.md)");
  validate->add_option("program", *file, "Program JSON file")->required();
  validate->add_flag("--json", *json, "Machine-readable JSON output");
  validate->callback([file, json, &outcome] {
    auto program = LoadProgramFile(*file);
    if (!program.ok()) {
      outcome.exit_code = Fail("invalid program", program.status());
      return;
    }
    Json versions = Json::array();
    for (const auto& v : program->versions()) {
      versions.push_back(Json{{"id", v->id}, {"announced", v->announced_at.ToString()},
                              {"effective", v->effective_from.ToString()}, {"rules", v->accrual.size()},
                              {"content_hash", ToHex(v->content_hash)}});
    }
    Print("validate", Json{{"file", *file}, {"valid", true}, {"versions", versions}}, *json);
  });
}

}  // namespace loyalty::cli
