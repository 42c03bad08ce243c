// Internal: the hash chain over canonical entry bytes, and the in-memory
// index of idempotency keys that both stores keep.
#ifndef LOYALTY_SRC_CHAIN_H_
#define LOYALTY_SRC_CHAIN_H_

#include <optional>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
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
