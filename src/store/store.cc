// The Store interface's own methods and the journal head's text form.
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "journal/entry_codec.h"
#include "loyalty/store.h"

namespace loyalty {

std::string JournalHead::ToString() const { return absl::StrCat(seq, ":", ToHex(hash)); }

absl::StatusOr<JournalHead> JournalHead::Parse(absl::string_view text) {
  const size_t colon = text.find(':');
  JournalHead head;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, colon), &head.seq)) {
    return absl::InvalidArgumentError(absl::StrCat("head \"", text, "\": not SEQ:HASH (a seq, a colon, 64 hex digits)"));
  }
  const absl::string_view hex = text.substr(colon + 1);
  std::string bytes = absl::HexStringToBytes(hex);
  if (bytes.size() != head.hash.size() || absl::BytesToHexString(bytes) != absl::AsciiStrToLower(hex)) {
    return absl::InvalidArgumentError(absl::StrCat("head \"", text, "\": its hash is not 64 hex digits"));
  }
  std::memcpy(head.hash.data(), bytes.data(), head.hash.size());
  return head;
}

absl::Status Store::ReadSnapshot(uint64_t from, JournalHead* head,
                                 absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const {
  *head = Head();
  const uint64_t last = head->seq;
  bool past_head = false;
  absl::Status status = ReadStored(from, [&](const Entry& entry, absl::string_view stored) -> absl::Status {
    if (entry.seq > last) {
      past_head = true;  // appended after the head was taken
      return absl::CancelledError();
    }
    return visit(entry, stored);
  });
  return past_head ? absl::OkStatus() : status;
}

absl::Status Store::SaveCheckpoint(const CheckpointInfo&, absl::FunctionRef<bool(std::string*)>) {
  return absl::UnimplementedError("this store keeps no checkpoints");
}

absl::StatusOr<std::vector<CheckpointInfo>> Store::Checkpoints() const { return std::vector<CheckpointInfo>{}; }

absl::Status Store::ReadCheckpoint(uint64_t seq, absl::FunctionRef<absl::Status(absl::string_view)>) const {
  return absl::NotFoundError(absl::StrCat("no checkpoint at entry ", seq));
}

absl::Status Store::DeleteCheckpoint(uint64_t) {
  return absl::UnimplementedError("this store keeps no checkpoints");
}

absl::Status Store::ReadStored(uint64_t from,
                               absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const {
  std::string bytes;
  return Read(from, [&](const Entry& entry) {
    bytes.clear();
    internal::EncodeEntry(entry, &bytes);
    return visit(entry, bytes);
  });
}

}  // namespace loyalty
