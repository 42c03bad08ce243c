// The hash chain: plain SHA-256 or, for a keyed journal, HMAC-SHA-256,
// over each entry's canonical bytes and its predecessor's hash.
#include "journal/chain.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "journal/entry_codec.h"

namespace loyalty::internal {

namespace {

absl::string_view AsBytes(const Sha256& hash) {
  return absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size());
}

constexpr absl::string_view kKeyCheckText = "loyalty journal key check";
constexpr absl::string_view kHeadMacText = "loyalty journal head";

}  // namespace

Sha256 ChainHash(const Sha256& previous, absl::string_view entry_bytes) {
  return Sha256Of({AsBytes(previous), entry_bytes});
}

Sha256 EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes) {
  bytes->clear();
  EncodeEntry(entry, bytes);
  return ChainHash(previous, *bytes);
}

absl::StatusOr<Chain> Chain::For(const std::optional<std::string>& key) {
  Chain chain;
  if (!key) return chain;
  if (key->size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("journal_key: has ", key->size(), " bytes; a key needs at least ",
                                                   kMinKeyBytes, " (32 random bytes recommended)"));
  }
  chain.key_ = *key;
  return chain;
}

Sha256 Chain::Hash(const Sha256& previous, absl::string_view entry_bytes) const {
  if (!key_) return ChainHash(previous, entry_bytes);
  return HmacSha256(*key_, {AsBytes(previous), entry_bytes});
}

Sha256 Chain::EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes) const {
  bytes->clear();
  EncodeEntry(entry, bytes);
  return Hash(previous, *bytes);
}

std::optional<Sha256> Chain::KeyCheck() const {
  if (!key_) return std::nullopt;
  return HmacSha256(*key_, {kKeyCheckText});
}

std::optional<Sha256> Chain::HeadMac(uint64_t seq, const Sha256& hash) const {
  if (!key_) return std::nullopt;
  char seq_bytes[8];
  for (int i = 0; i < 8; ++i) seq_bytes[i] = static_cast<char>(seq >> (56 - 8 * i));
  return HmacSha256(*key_, {kHeadMacText, absl::string_view(seq_bytes, sizeof seq_bytes), AsBytes(hash)});
}

uint64_t MemberLinks::Next(const Entry& entry) {
  if (entry.member.value() == kProgramMember) return 0;
  return std::exchange(last_[entry.member.value()], entry.seq);
}

absl::Status CheckKey(const Chain& chain, const std::optional<Sha256>& recorded, absl::string_view journal) {
  std::optional<Sha256> given = chain.KeyCheck();
  if (given == recorded) return absl::OkStatus();
  if (!given) {
    return absl::FailedPreconditionError(absl::StrCat(
        journal, " is a keyed journal (HMAC-SHA-256 chain): it can only be opened or verified with its journal_key"));
  }
  if (!recorded) {
    return absl::FailedPreconditionError(absl::StrCat(
        journal, " is not a keyed journal (plain SHA-256 chain) but a journal_key was given; if it was created "
        "keyed, its key record was removed"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      journal, ": the journal_key given is not the journal's key (its key check value differs)"));
}

}  // namespace loyalty::internal
