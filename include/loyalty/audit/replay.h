// Replay: every member's state rebuilt from a journal whose chain and entries
// are verified. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_REPLAY_H_
#define LOYALTY_AUDIT_REPLAY_H_

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

// A journal replayed: every member's state, the published versions, and the
// chain's length and head.
struct ReplayedJournal {
  uint64_t entries = 0;  // entries verified (the whole journal)
  uint64_t applied = 0;  // entries applied (the prefix up to `until`)
  Sha256 head{};         // hash of the last entry
  absl::flat_hash_map<MemberId, MemberState> members;  // without the program's own entries
  absl::flat_hash_map<std::string, Sha256> published;  // version id -> content hash
  // SHA-256 of the state in the canonical order of Engine::StateDigest:
  // equal to the live engine's digest for a full replay of its journal.
  Sha256 state_digest{};
  // Checkpoints of the journal (Store::Checkpoints) compared with the state
  // rebuilt at their seq: all of those within the entries applied.
  uint64_t checkpoints = 0;

  // Pointers to the member states, in member id order.
  std::vector<const MemberState*> States() const;
};

// Reads the journal once from its first entry, verifies the hash chain as
// VerifyJournal does, and applies every entry up to, not including, the
// first whose business time is after `until` (Instant::Max(): all).
// DataLoss naming the first bad entry and what is wrong if the chain does
// not verify, or if an entry does not fit the entries before it (checked as
// the engine's open checks them), or if a checkpoint the store keeps is
// not the state the entries build at its seq (a forged or damaged
// checkpoint: its content against its digest, its digest against the state
// rebuilt, its chain hash against the entry's), or if the index of
// idempotency keys the store keeps on disk (Store::ReadKeyIndex) does not
// hold exactly the commands of the entries up to its seq. A keyed journal
// (store.h) is verified with `journal_key`; FailedPrecondition if the key
// does not fit the journal, InvalidArgument if it is shorter than 16 bytes.
absl::StatusOr<ReplayedJournal> Replay(const Store& store, Instant until = Instant::Max(),
                                       const std::optional<std::string>& journal_key = std::nullopt);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_REPLAY_H_
