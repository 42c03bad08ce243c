// Journal verification: the chain, the links, the head and every entry against
// those before it; the first fault found. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_VERIFY_H_
#define LOYALTY_AUDIT_VERIFY_H_

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

// kKeyMismatch: the key given does not fit the journal (a keyed journal
// verified without its key or with another, an unkeyed one with a key);
// nothing was read, bad_seq is 0. kMislinked: the entry's link to its
// member's previous entry (Entry::member_prev, kept outside the chain) is
// not that entry. kTruncated: the entries end before the head the journal
// records, or (keyed journal) the recorded head's MAC does not verify.
// kRolledBack: the journal ends before an expected head (a receipt
// recorded earlier), or holds another entry at its seq. kImpossible: the
// entry verifies but no engine could have written it after the entries
// before it (the rules every reader checks: a debit of points the member
// does not have, a capture of a hold that does not exist, an expiry of lots
// not yet due, half a transfer, ...).
enum class JournalFault {
  kNone, kModified, kMissing, kReordered, kTruncated, kUnreadable, kKeyMismatch, kMislinked, kRolledBack, kImpossible
};
// "ok", "modified", "missing", "reordered", "truncated", "unreadable",
// "key mismatch", "mislinked", "rolled back", "impossible".
absl::string_view JournalFaultName(JournalFault fault);

struct JournalVerification {
  JournalFault fault = JournalFault::kNone;
  uint64_t entries = 0;  // entries that verified, from the first
  Sha256 head{};       // hash of the last entry that verified
  uint64_t bad_seq = 0;  // the first bad entry (kTruncated: the first missing at the end)
  std::string detail{};  // what is wrong, in words

  bool ok() const { return fault == JournalFault::kNone; }
  // "ok, 5 entries, head 3f2a..." or "entry 3: modified (...)".
  std::string Summary() const;
};

// Verifies the chain of `store`: each entry's seq in its place and its
// stored hash equal to SHA-256(previous hash || canonical bytes), the last
// one equal to the store's head; each entry's link to its member's
// previous entry (unless the store keeps none: Store::KeepsMemberLinks);
// and each entry against the entries before it, by the rules the engine's
// open applies (kImpossible), so that verify and Engine::Open agree. With
// `program` (the program that wrote the journal), also the rules that need
// its definitions, exactly as the engine checks them: tiers that some
// version defines, lapses for inactivity due under the version in force;
// without it, any tier name passes and a lapse of lots not yet due needs
// 27 days without activity.
// The first fault in journal order is reported. Builds on VerifyChain's check (store.h);
// never fails as a call: problems are the result. A keyed journal is
// verified with `journal_key` (HMAC-SHA-256 in place of SHA-256): an entry
// whose hash was recomputed without the key is kModified; a key that does
// not fit is kKeyMismatch, and so is a key shorter than 16 bytes. With
// `expected_head`, a journal that verifies but ends before it, or holds
// another hash at its seq, is kRolledBack (bad_seq: the expected seq).
// Entries and head are read in one snapshot, so a journal being appended
// to verifies as it was at that moment.
JournalVerification VerifyJournal(const Store& store, const std::optional<std::string>& journal_key = std::nullopt,
                                  const std::optional<JournalHead>& expected_head = std::nullopt,
                                  const Program* program = nullptr);

// Opens the SQLite journal at `path` for inspection (without the
// verification that OpenSqliteStore does, which refuses a damaged file) and
// verifies it as VerifyJournal does, with `journal_key` for a keyed
// journal and `program`, if given, for the program's rules. Never creates a
// journal: NotFound ("no journal at PATH") if there is none at `path`.
// Other errors: those of OpenSqliteStore for a file that is not a loyalty
// journal or cannot be read, and for a key that does not fit
// (FailedPrecondition). Takes no writer lock: it may run while a writer
// appends.
absl::StatusOr<JournalVerification> VerifyJournalFile(const std::string& path,
                                                      const std::optional<std::string>& journal_key = std::nullopt,
                                                      const std::optional<JournalHead>& expected_head = std::nullopt,
                                                      const Program* program = nullptr);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_VERIFY_H_
