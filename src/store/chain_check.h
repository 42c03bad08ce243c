// Internal: verification of a stored journal's chain, entry by entry, on
// the calling thread (the two-thread forms are in chain_pipeline.h).
#ifndef LOYALTY_SRC_STORE_CHAIN_CHECK_H_
#define LOYALTY_SRC_STORE_CHAIN_CHECK_H_

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "journal/chain.h"
#include "loyalty/store.h"

namespace loyalty::internal {

// What is wrong with a journal, as CheckChain finds it.
enum class ChainFault {
  kNone,
  kModified,    // an entry's stored hash does not match its bytes and predecessor
  kMissing,     // an entry is absent and does not appear later
  kReordered,   // an entry appears out of its place
  kTruncated,   // the journal ends before its recorded head
  kUnreadable,  // the store could not read or decode an entry
  kKeyMismatch, // keyed journal without its key, wrong key, or a key for an unkeyed journal
  kRolledBack,  // the journal ends before an expected head, or has another entry there
};

// The outcome of CheckChain. When `fault` is kNone, `entries` entries
// verified and `head` is the last one's hash; otherwise `bad_seq` is the
// first bad entry (for kTruncated: the first entry missing at the end),
// `detail` says what is wrong in words, and `entries` / `head` describe the
// verified prefix before it.
struct ChainCheck {
  ChainFault fault = ChainFault::kNone;
  uint64_t entries = 0;
  Sha256 head{};
  uint64_t bad_seq = 0;
  std::string detail;
};

// Reads every entry of `store` from seq 1 and checks the chain: contiguous
// seqs, each stored hash equal to the recomputed one, the last one equal to
// the head the store records, and the head's MAC (if it records one) that
// of `chain`; entries and head are read in one snapshot
// (Store::ReadSnapshot). After a seq out of place it reads on
// to tell a missing entry from a reordered one. Backs VerifyChain and the
// audit's VerifyJournal. `verified` is called with each entry that verified,
// in order, as it is read (so that a replay reads the journal once).
// `chain` says how to recompute the hashes; its key must match the store's
// (kKeyMismatch otherwise, with bad_seq 0 and nothing read).
ChainCheck CheckChain(const Store& store, absl::FunctionRef<void(const Entry&)> verified = [](const Entry&) {});
ChainCheck CheckChain(const Store& store, const Chain& chain,
                      absl::FunctionRef<void(const Entry&)> verified = [](const Entry&) {});

// CheckChain's walk with the check of each entry's hash left to `take`:
// it reads the journal from seq 1, finds entries missing, reordered,
// unreadable or truncated as CheckChain does, and calls `take` with each
// entry in its place, in order, before the next is read. `take` returns
// whether the entry's hash verifies; on false the walk stops and reports it
// as kModified. The head it reports is the last taken entry's stored hash,
// which is its verified hash if every `take` checked the link. CheckChain
// is this walk with `take` = check the hash, then call `verified`.
ChainCheck WalkChain(const Store& store, const Chain& chain,
                     absl::FunctionRef<bool(const Entry&, absl::string_view stored)> take);

// Whether the journal that `check` walked still holds `expected` (a head
// receipt recorded earlier): `check` unchanged if it has a fault already
// or if the entry at expected.seq had expected.hash (`hash_at_expected`,
// the hash the walk verified at that seq; nullopt if the journal ends
// before it); otherwise kRolledBack at expected.seq.
ChainCheck CheckExpectedHead(ChainCheck check, const JournalHead& expected,
                             const std::optional<Sha256>& hash_at_expected);

// The detail of a kModified fault at `seq`.
std::string ModifiedDetail(uint64_t seq);

// The status for a failed ChainCheck: FailedPrecondition for kKeyMismatch,
// DataLoss naming the entry for the others. Precondition: check.fault is
// not kNone.
absl::Status ChainCheckStatus(const ChainCheck& check);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_STORE_CHAIN_CHECK_H_
