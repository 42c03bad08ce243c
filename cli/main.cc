// The `loyalty` command: run scenarios, validate programs, and audit
// journals from the shell. Each subcommand lives in its own file.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <new>

#include "commands.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace loyalty::cli {

void Print(absl::string_view command, const Json& document, bool json, const Json* text) {
  if (json) std::cout << Document(command, document).dump(2) << "\n";
  else std::cout << ToText(text != nullptr ? *text : document);
  std::cout.flush();
}

int Fail(const std::string& context, const absl::Status& status) {
  std::cerr << "loyalty: " << context << ": " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitFindings : kExitData;
}

absl::StatusOr<std::optional<std::string>> ReadKeyFile(const std::string& path) {
  if (path.empty()) return std::optional<std::string>();
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) return absl::UnavailableError(absl::StrCat("cannot open the key file ", path));
  std::string key((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return absl::UnavailableError(absl::StrCat("cannot read the key file ", path));
  return std::optional<std::string>(std::move(key));
}

void AddKeyFileOption(CLI::App* command, std::string* path) {
  command->add_option("--key-file", *path,
                      "The journal key of a keyed journal: the file's bytes exactly (at least 16; keep it outside "
                      "the database)");
}

absl::StatusOr<Instant> ParseWhen(const std::string& text, const TimeZone& zone) {
  if (absl::StrContains(text, "T")) return Instant::Parse(text);
  auto date = Date::Parse(text);
  if (!date.ok()) return date.status();
  return zone.StartOfDay(*date);
}

}  // namespace loyalty::cli

int main(int argc, char** argv) {
  using namespace loyalty::cli;
  CLI::App app{"loyalty: run loyalty-program scenarios and audit their journals."};
  app.footer(
      "Exit codes: 0 ok; 1 findings (validation errors with their JSON paths, a journal that does not verify,\n"
      "notice violations, expected figures that differ); 2 usage error; 3 unreadable or damaged input, I/O error.\n"
      "Errors go to stderr and name the file and JSON path of the bad input. Progress bars appear on stderr\n"
      "only when it is a terminal, never with --json.");
  app.require_subcommand(1);
  Outcome outcome;
  AddRunCommand(app, outcome);
  AddValidateCommand(app, outcome);
  AddJournalCommands(app, outcome);
  AddImpactCommands(app, outcome);
  AddShardCommands(app, outcome);
  AddRevenueCommand(app, outcome);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    // The library reports memory it cannot get as ResourceExhausted; this
    // is for an allocation of the command itself, which is never an abort.
    std::cerr << "loyalty: out of memory (resource exhausted)\n";
    return kExitData;
  }
  return outcome.exit_code;
}
