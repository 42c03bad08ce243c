// Internal: the canonical bytes of a journal entry. These bytes are what
// the stores keep and what the hash chain covers, so the encoding is
// deterministic and versioned (a leading format byte).
#ifndef LOYALTY_SRC_ENTRY_CODEC_H_
#define LOYALTY_SRC_ENTRY_CODEC_H_

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

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_ENTRY_CODEC_H_
