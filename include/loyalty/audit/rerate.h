// Re-rating: the recorded commands decided again under another program
// history, and the differences. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_RERATE_H_
#define LOYALTY_AUDIT_RERATE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// Where a member ends up: its totals, its lots with points left, its tier
// earned (or granted) and its paid tier ("" for none).
struct MemberOutcome {
  Points available;
  Points held;
  Points debt;
  int64_t open_lots = 0;
  std::string tier;
  std::string paid_tier;
  friend bool operator==(const MemberOutcome&, const MemberOutcome&) = default;
};

// A member whose outcome differs between the journal and its re-rating.
struct MemberRerated {
  MemberId member;
  MemberOutcome recorded;
  MemberOutcome rerated;
};

// A recorded command whose first entry differs when decided again: another
// kind of entry, another amount (a redemption that costs more, an accrual
// that earns less), or a failure.
struct CommandRerated {
  uint64_t seq = 0;  // the command's first entry in the journal
  MemberId member;
  std::string idempotency_key;
  std::string reward;          // the reward it priced, if any
  std::string recorded_kind;   // EntryKindName of its first entry
  Points recorded_points;      // that entry's amount (spent, held, quoted, credited, ...)
  std::string rerated_kind;    // "" if it failed
  Points rerated_points;
  absl::Status rerated_error;  // why it failed; OK if it did not
};

// A journal decided again under another program history.
struct Rerating {
  uint64_t entries = 0;          // journal entries read and verified
  uint64_t commands = 0;         // recorded commands and runs decided again
  uint64_t entries_decided = 0;  // entries the re-rating wrote
  uint64_t failed = 0;           // commands that failed when decided again
  int64_t members = 0;
  Points recorded_available;     // summed over members
  Points rerated_available;
  std::vector<MemberRerated> members_changed;    // in member id order
  std::vector<CommandRerated> commands_changed;  // in journal order
  // The re-rated states, and their digest as Engine::StateDigest computes
  // it, with `program`'s versions (those with a content hash) as the
  // published ones: re-rating under the program that wrote the journal
  // reproduces the engine's digest.
  absl::flat_hash_map<MemberId, MemberState> states;
  Sha256 state_digest{};
};

// Decides every command recorded in `journal` again, in journal order,
// under `program` (a what-if history, or ProgramWithout(...) for "as if the
// change never happened") with the same pure Decide code as the engine and
// each command's recorded business and recording times; period runs
// (RunExpiry, ClosePeriod) are run again over every member. Then compares
// every member's outcome, and each command's first entry, with the journal.
//
// References between commands (a hold captured, a credit reversed, a quote
// used) follow the entries the re-rating wrote in their place; a command
// whose referenced entry was not written fails with FailedPrecondition.
// Entries are numbered as in the journal while the re-rating writes the
// same number of entries per command, so that lot ids match.
//
// Limits: a run that wrote nothing was not journaled and is not repeated.
// Errors: OutOfRange if the members' points add up past int64; DataLoss if the chain does not verify or a recorded command is
// malformed; FailedPrecondition naming the entry if a command was not
// recorded (a journal of an entry format before 3 cannot be re-rated).
// The recorded entries are checked and applied as in Replay (DataLoss for
// one that does not fit); a keyed journal is verified with `journal_key`.
absl::StatusOr<Rerating> Rerate(const Store& journal, const Program& program,
                                const std::optional<std::string>& journal_key = std::nullopt);

// `program` without version `version_id`: the history as if that change had
// never been published. NotFound for an unknown id; InvalidArgument if it
// is the only version.
absl::StatusOr<Program> ProgramWithout(const Program& program, absl::string_view version_id);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_RERATE_H_
