// Internal: the hash chain over canonical entry bytes (plain SHA-256 or
// keyed HMAC-SHA-256) and the per-member links between entries.
#ifndef LOYALTY_SRC_JOURNAL_CHAIN_H_
#define LOYALTY_SRC_JOURNAL_CHAIN_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// SHA-256(previous || entry_bytes).
Sha256 ChainHash(const Sha256& previous, absl::string_view entry_bytes);

// Encodes `entry` into `bytes` (replacing its content) and returns its chain
// hash after `previous`.
Sha256 EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes);

// How a journal chains its entries: plain SHA-256 (the default), or
// HMAC-SHA-256 under a secret key (a keyed journal), so that whoever can
// write the journal but does not hold the key cannot compute valid hashes.
// Copyable; thread-safe (the OpenSSL contexts are per thread).
class Chain {
 public:
  // Plain SHA-256.
  Chain() = default;
  // Plain SHA-256 for nullopt, else HMAC-SHA-256 under `key`.
  // InvalidArgument if the key has fewer than kMinKeyBytes bytes.
  static absl::StatusOr<Chain> For(const std::optional<std::string>& key);
  static constexpr size_t kMinKeyBytes = 16;

  bool keyed() const { return key_.has_value(); }
  // The chain hash of `entry_bytes` after `previous`:
  // SHA-256(previous || bytes) or HMAC-SHA-256(key, previous || bytes).
  Sha256 Hash(const Sha256& previous, absl::string_view entry_bytes) const;
  // Encodes `entry` into `bytes` and returns Hash(previous, bytes).
  Sha256 EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes) const;
  // For a keyed chain, the key check value a journal records to tell its
  // key from another: HMAC-SHA-256(key, "loyalty journal key check").
  // nullopt for the plain chain.
  std::optional<Sha256> KeyCheck() const;
  // For a keyed chain, the MAC a journal records with its head, so that a
  // head rewritten by someone without the key is told from the real one:
  // HMAC-SHA-256(key, "loyalty journal head" || seq as 8 bytes big-endian
  // || hash). nullopt for the plain chain.
  std::optional<Sha256> HeadMac(uint64_t seq, const Sha256& hash) const;

 private:
  std::optional<std::string> key_;
};

// Each member's last entry as a journal is read in order, which gives the
// link (Entry::member_prev) each entry should carry: for filling the links
// of an old journal and for checking them.
class MemberLinks {
 public:
  // The link `entry` should carry: its member's last entry before it (0 for
  // the member's first entry and for the program's). Records `entry` as
  // its member's last.
  uint64_t Next(const Entry& entry);

 private:
  absl::flat_hash_map<std::string, uint64_t> last_;  // member -> seq
};

// OK if a journal recording `recorded` (its Store::KeyCheck) may be read
// with `chain`; FailedPrecondition saying which of the three mismatches it
// is (keyed journal without key, wrong key, unkeyed journal with a key)
// otherwise. `journal` names the journal in the message.
absl::Status CheckKey(const Chain& chain, const std::optional<Sha256>& recorded, absl::string_view journal);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_CHAIN_H_
