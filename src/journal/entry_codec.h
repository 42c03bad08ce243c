// Internal: the canonical bytes of a journal entry. These bytes are what
// the stores keep and what the hash chain covers, so the encoding is
// deterministic and versioned (a leading format byte).
#ifndef LOYALTY_SRC_JOURNAL_ENTRY_CODEC_H_
#define LOYALTY_SRC_JOURNAL_ENTRY_CODEC_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// Every field of `entry` except `hash`, appended to `out`.
void EncodeEntry(const Entry& entry, std::string* out);

// The entry encoded in `bytes` (hash left zero). InvalidArgument naming the
// byte offset and the problem if the bytes are not a well-formed entry.
absl::StatusOr<Entry> DecodeEntry(absl::string_view bytes);

// The seq and idempotency key of an encoded entry, read without decoding
// the rest (for indexing the keys of a journal as it is opened; whoever
// reads the entries decodes them whole). `idempotency_key` points into the
// bytes given. InvalidArgument as DecodeEntry for bytes that do not begin
// like an entry.
struct EntryKey {
  uint64_t seq = 0;
  absl::string_view idempotency_key;
};
absl::StatusOr<EntryKey> DecodeEntryKey(absl::string_view bytes);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_ENTRY_CODEC_H_
