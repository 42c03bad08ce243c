// Internal: the hash chain over canonical entry bytes, and the in-memory
// index of idempotency keys that both stores keep.
#ifndef LOYALTY_SRC_CHAIN_H_
#define LOYALTY_SRC_CHAIN_H_

#include <optional>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "loyalty/ledger.h"
#include "loyalty/store.h"

namespace loyalty::internal {

// SHA-256(bytes).
Sha256 Sha256Of(absl::string_view bytes);

// SHA-256(previous || entry_bytes).
Sha256 ChainHash(const Sha256& previous, absl::string_view entry_bytes);

// Encodes `entry` into `bytes` (replacing its content) and returns its chain
// hash after `previous`.
Sha256 EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes);

// What is wrong with a journal, as CheckChain finds it.
enum class ChainFault {
  kNone,
  kModified,    // an entry's stored hash does not match its bytes and predecessor
  kMissing,     // an entry is absent and does not appear later
  kReordered,   // an entry appears out of its place
  kTruncated,   // the journal ends before its recorded head
  kUnreadable,  // the store could not read or decode an entry
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
// the store's head (LastSeq, HeadHash). After a seq out of place it reads on
// to tell a missing entry from a reordered one. Backs VerifyChain and the
// audit's VerifyJournal. `verified` is called with each entry that verified,
// in order, as it is read (so that a replay reads the journal once).
ChainCheck CheckChain(const Store& store, absl::FunctionRef<void(const Entry&)> verified = [](const Entry&) {});

// Idempotency key -> the entries its command wrote.
class KeyIndex {
 public:
  // OK if `batch` may be appended: each key unused so far, and the entries
  // sharing a key adjacent. AlreadyExists otherwise.
  absl::Status CheckNew(std::span<const Entry> batch) const;
  // Records the keys of an appended batch. Precondition: CheckNew passed.
  void Add(std::span<const Entry> batch);
  // Records one entry of a journal being read back in order: an entry
  // with its predecessor's key belongs to the same command. AlreadyExists
  // if the key belongs to an earlier command.
  absl::Status AddNext(const Entry& entry);
  std::optional<KeyRecord> Find(absl::string_view key) const;

 private:
  absl::flat_hash_map<std::string, KeyRecord> keys_;
  std::string last_key_;  // of the last entry added by AddNext
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_CHAIN_H_
