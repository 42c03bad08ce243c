// The subcommands of the `loyalty` command, each registered on the CLI11 app
// by one function, and what they share: exit codes, printing of results and
// errors, and parsing of times given on the command line.
#ifndef LOYALTY_CLI_COMMANDS_H_
#define LOYALTY_CLI_COMMANDS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/shard_map.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "report.h"

namespace loyalty::cli {

// Exit codes, documented in `loyalty --help`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // validation errors, failed checks, violations, unmet expectations
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitData = 3;      // unreadable or damaged input, I/O errors

// Where a subcommand leaves its exit code.
struct Outcome {
  int exit_code = kExitOk;
};

void AddRunCommand(CLI::App& app, Outcome& outcome);
void AddValidateCommand(CLI::App& app, Outcome& outcome);
void AddJournalCommands(CLI::App& app, Outcome& outcome);  // verify, replay, statement, liability
void AddImpactCommands(CLI::App& app, Outcome& outcome);   // impact, population
void AddShardCommands(CLI::App& app, Outcome& outcome);    // shards, move-shard
void AddRevenueCommand(CLI::App& app, Outcome& outcome);   // revenue

// Prints `document` to stdout: with `json`, as the JSON document of
// `command` ("format": "loyalty.<command>/2" first, then its fields;
// 2-space indent), else as text (ToText), where `text` replaces it if
// given.
void Print(absl::string_view command, const Json& document, bool json, const Json* text = nullptr);
// Prints "loyalty: <context>: <message>" to stderr and returns the exit code
// for the status: kExitFindings for InvalidArgument (bad input content),
// kExitData otherwise.
int Fail(const std::string& context, const absl::Status& status);
// The journal key in the file at `path` (its bytes exactly, a trailing
// newline included); nullopt for an empty path (no --key-file given).
// Unavailable naming the file if it cannot be read.
absl::StatusOr<std::optional<std::string>> ReadKeyFile(const std::string& path);
// Adds `--key-file PATH` to `command`, into `*path`.
void AddKeyFileOption(CLI::App* command, std::string* path);

// The journal of every shard of `map`, opened read-only (a shard without a
// journal is an error, never created); errors name the shard.
absl::StatusOr<std::vector<std::unique_ptr<Store>>> OpenShardsToRead(const ShardMap& map);

// "2011-01-03" (start of that day in `zone`) or an RFC 3339 instant.
absl::StatusOr<Instant> ParseWhen(const std::string& text, const TimeZone& zone);

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_COMMANDS_H_
