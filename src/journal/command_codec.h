// Internal: the canonical bytes of a command. They are what a command's
// digest is taken over and what the journal records in the first entry a
// command writes (Entry::command), so that re-rating can run the command
// again. Every field as given, in a fixed order, an unset `at` as unset;
// the idempotency key is not part of them (the entry holds it).
//
// A record starts with a varint tag: the index of the command in the
// Command variant (0 .. 63), or kRunTag + the kind of a PeriodRun.
#ifndef LOYALTY_SRC_JOURNAL_COMMAND_CODEC_H_
#define LOYALTY_SRC_JOURNAL_COMMAND_CODEC_H_

#include <string>

#include "core/encoding.h"
#include "loyalty/command.h"

namespace loyalty::internal {

inline constexpr uint64_t kRunTag = 64;
static_assert(std::variant_size_v<Command> < kRunTag);

// Appends the canonical bytes of `command` / `run` (without its key).
void EncodeCommand(Writer& w, const Command& command);
void EncodePeriodRun(Writer& w, const PeriodRun& run);

// The first 16 bytes of the SHA-256 of a record.
CommandDigest DigestOfRecord(absl::string_view record);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_COMMAND_CODEC_H_
