// Internal: the in-memory index of idempotency keys that the stores keep.
#ifndef LOYALTY_SRC_STORE_KEY_INDEX_H_
#define LOYALTY_SRC_STORE_KEY_INDEX_H_

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "journal/huge_page_allocator.h"
#include "loyalty/store.h"

namespace loyalty::internal {

// Idempotency key -> the entries its command wrote.
class KeyIndex {
 public:
  // Records the keys of `batch`, which is about to be appended, if it may
  // be: each key unused so far, and the entries sharing a key adjacent.
  // AlreadyExists, recording nothing, otherwise. One look-up per command.
  absl::Status Add(std::span<const Entry> batch);
  // Forgets the keys that Add recorded for `batch` (its append failed).
  void Remove(std::span<const Entry> batch);
  // Records one entry (`seq`, `key`) of a journal being read back in
  // order: an entry with its predecessor's key belongs to the same command.
  // AlreadyExists if the key belongs to an earlier command.
  absl::Status AddNext(uint64_t seq, absl::string_view key);
  // Records a command read back from an index on disk: `key` wrote
  // `record`. AlreadyExists if the key is recorded already. The next
  // AddNext starts a command of its own.
  absl::Status AddRecord(absl::string_view key, const KeyRecord& record);
  std::optional<KeyRecord> Find(absl::string_view key) const;
  // Every key recorded, by ascending key (the order an index on disk is
  // built fastest in). The views stay valid until the index changes.
  std::vector<std::pair<absl::string_view, KeyRecord>> Sorted() const;
  // Forgets every key (they were written to an index on disk).
  void Clear();
  size_t size() const { return keys_.size(); }
  // Starts loading the memory that adding or finding `key` will touch, so
  // that the cache misses of a large index overlap the caller's other work.
  void Prefetch(absl::string_view key) const { keys_.prefetch(key); }

 private:
  // Look-ups by string_view without building a string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(absl::string_view key) const { return absl::Hash<absl::string_view>{}(key); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(absl::string_view a, absl::string_view b) const { return a == b; }
  };
  // Millions of keys: the table grows in huge pages (huge_page_allocator.h).
  absl::flat_hash_map<std::string, KeyRecord, KeyHash, KeyEq,
                      HugePageAllocator<std::pair<const std::string, KeyRecord>>>
      keys_;
  std::string last_key_;  // of the last entry added by AddNext
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_STORE_KEY_INDEX_H_
