// The hash chain (OpenSSL SHA-256, or HMAC-SHA-256 for a keyed journal),
// the key index, and chain verification.
// SHA256_Init/Update/Final are deprecated in OpenSSL 3 (see Digest below;
// Sha256Stream uses them too); this must precede every OpenSSL header.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "journal/chain.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <utility>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "journal/entry_codec.h"
#include "loyalty/check.h"

namespace loyalty::internal {

namespace {

// SHA-256 over `parts`. The hot inputs (a command's record, an entry of
// a few hundred bytes) are one to four blocks, for which the EVP interface
// costs about as much again as the hashing (about 70 ns a call: provider
// dispatch, re-initialising and cleansing its context). OpenSSL's
// low-level SHA-256 runs the same assembly (SHA-NI where the CPU has it)
// without that; OpenSSL 3 marks it deprecated but keeps it.
template <size_t N>
Sha256 Digest(const absl::string_view (&parts)[N]) {
  SHA256_CTX context;
  bool ok = SHA256_Init(&context) == 1;
  for (absl::string_view part : parts) ok = ok && SHA256_Update(&context, part.data(), part.size()) == 1;
  Sha256 hash;
  ok = ok && SHA256_Final(hash.data(), &context) == 1;
  LOYALTY_CHECK(ok);
  return hash;
}

// HMAC-SHA-256 under `key` over `parts`, with one MAC context per thread.
template <size_t N>
Sha256 Mac(absl::string_view key, const absl::string_view (&parts)[N]) {
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  LOYALTY_CHECK(kHmac != nullptr);
  struct Context {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(kHmac);
    ~Context() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Context context;
  LOYALTY_CHECK(context.ctx != nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Sha256 hash;
  size_t size = 0;
  bool ok = EVP_MAC_init(context.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1;
  for (absl::string_view part : parts) {
    ok = ok && EVP_MAC_update(context.ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) == 1;
  }
  ok = ok && EVP_MAC_final(context.ctx, hash.data(), &size, hash.size()) == 1 && size == hash.size();
  LOYALTY_CHECK(ok);
  return hash;
}

constexpr absl::string_view kKeyCheckText = "loyalty journal key check";
constexpr absl::string_view kHeadMacText = "loyalty journal head";

}  // namespace

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
  const absl::string_view parts[] = {
      absl::string_view(reinterpret_cast<const char*>(previous.data()), previous.size()), entry_bytes};
  return Mac(*key_, parts);
}

Sha256 Chain::EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes) const {
  bytes->clear();
  EncodeEntry(entry, bytes);
  return Hash(previous, *bytes);
}

std::optional<Sha256> Chain::KeyCheck() const {
  if (!key_) return std::nullopt;
  const absl::string_view parts[] = {kKeyCheckText};
  return Mac(*key_, parts);
}

std::optional<Sha256> Chain::HeadMac(uint64_t seq, const Sha256& hash) const {
  if (!key_) return std::nullopt;
  char seq_bytes[8];
  for (int i = 0; i < 8; ++i) seq_bytes[i] = static_cast<char>(seq >> (56 - 8 * i));
  const absl::string_view parts[] = {kHeadMacText, absl::string_view(seq_bytes, sizeof seq_bytes),
                                     absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size())};
  return Mac(*key_, parts);
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

struct Sha256Stream::Context {
  SHA256_CTX sha;
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  LOYALTY_CHECK(SHA256_Init(&context_->sha) == 1);
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(absl::string_view bytes) {
  LOYALTY_CHECK(SHA256_Update(&context_->sha, bytes.data(), bytes.size()) == 1);
}

Sha256 Sha256Stream::Finish() {
  Sha256 hash;
  LOYALTY_CHECK(SHA256_Final(hash.data(), &context_->sha) == 1);
  return hash;
}

Sha256 Sha256Of(absl::string_view bytes) {
  const absl::string_view parts[] = {bytes};
  return Digest(parts);
}

Sha256 ChainHash(const Sha256& previous, absl::string_view entry_bytes) {
  const absl::string_view parts[] = {
      absl::string_view(reinterpret_cast<const char*>(previous.data()), previous.size()), entry_bytes};
  return Digest(parts);
}

Sha256 EncodeAndHash(const Sha256& previous, const Entry& entry, std::string* bytes) {
  bytes->clear();
  EncodeEntry(entry, bytes);
  return ChainHash(previous, *bytes);
}

absl::Status KeyIndex::Add(std::span<const Entry> batch) {
  KeyRecord* command = nullptr;  // the record of the command being added
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0 && batch[i].idempotency_key == batch[i - 1].idempotency_key) {
      ++command->count;
      continue;
    }
    auto [it, inserted] = keys_.try_emplace(batch[i].idempotency_key, KeyRecord{batch[i].seq, 1});
    if (!inserted) {
      Remove(batch.first(i));
      return absl::AlreadyExistsError(
          absl::StrCat("idempotency key \"", batch[i].idempotency_key, "\" is already used"));
    }
    command = &it->second;
  }
  return absl::OkStatus();
}

void KeyIndex::Remove(std::span<const Entry> batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0 && batch[i].idempotency_key == batch[i - 1].idempotency_key) continue;
    keys_.erase(batch[i].idempotency_key);
  }
}

absl::Status KeyIndex::AddNext(uint64_t seq, absl::string_view key) {
  if (!keys_.empty() && key == last_key_) {
    ++keys_.find(last_key_)->second.count;
    return absl::OkStatus();
  }
  if (!keys_.try_emplace(key, KeyRecord{seq, 1}).second) {
    return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", key, "\" is already used"));
  }
  last_key_.assign(key.data(), key.size());
  return absl::OkStatus();
}

std::optional<KeyRecord> KeyIndex::Find(absl::string_view key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

ChainCheck CheckChain(const Store& store, absl::FunctionRef<void(const Entry&)> verified) {
  return CheckChain(store, Chain(), verified);
}

absl::Status ChainCheckStatus(const ChainCheck& check) {
  LOYALTY_CHECK(check.fault != ChainFault::kNone);
  if (check.fault == ChainFault::kKeyMismatch) return absl::FailedPreconditionError(check.detail);
  return absl::DataLossError(check.detail);
}

std::string ModifiedDetail(uint64_t seq) {
  return absl::StrCat("journal entry ", seq, ": modified (its hash does not match its content and predecessor)");
}

ChainCheck WalkChain(const Store& store, const Chain& chain,
                     absl::FunctionRef<bool(const Entry&, absl::string_view stored)> take) {
  ChainCheck check;
  if (absl::Status key = CheckKey(chain, store.KeyCheck(), "the journal"); !key.ok()) {
    check.fault = ChainFault::kKeyMismatch;
    check.detail = std::string(key.message());
    return check;
  }
  uint64_t expected = 1;
  bool stopped = false;     // our visitor ended the read
  bool out_of_place = false;  // classifying a seq found out of its place
  uint64_t found = 0;
  JournalHead recorded;
  absl::Status status = store.ReadSnapshot(1, &recorded, [&](const Entry& entry, absl::string_view stored) -> absl::Status {
    if (out_of_place) {
      // Reading on only to see whether the expected entry turns up later.
      if (entry.seq == check.bad_seq) {
        check.fault = ChainFault::kReordered;
        stopped = true;
        return absl::CancelledError();
      }
      return absl::OkStatus();
    }
    if (entry.seq != expected) {
      out_of_place = true;
      found = entry.seq;
      check.bad_seq = expected;
      check.fault = entry.seq < expected ? ChainFault::kReordered : ChainFault::kMissing;
      if (check.fault == ChainFault::kReordered) {
        stopped = true;
        return absl::CancelledError();
      }
      return absl::OkStatus();
    }
    if (!take(entry, stored)) {
      check.fault = ChainFault::kModified;
      check.bad_seq = entry.seq;
      check.detail = ModifiedDetail(entry.seq);
      stopped = true;
      return absl::CancelledError();
    }
    check.head = entry.hash;
    check.entries = expected;
    ++expected;
    return absl::OkStatus();
  });
  if (!status.ok() && !stopped) {
    check.fault = ChainFault::kUnreadable;
    check.bad_seq = expected;
    check.detail = absl::StrCat("journal entry ", expected, ": unreadable: ", status.message());
    return check;
  }
  if (out_of_place) {
    check.detail = absl::StrCat("journal entry ", check.bad_seq, ": ",
                                check.fault == ChainFault::kMissing ? "missing" : "reordered", " (found entry ",
                                found, " in its place)");
    return check;
  }
  if (check.fault != ChainFault::kNone) return check;
  if (recorded.seq != check.entries || recorded.hash != check.head) {
    check.fault = ChainFault::kTruncated;
    check.bad_seq = check.entries + 1;
    check.detail = absl::StrCat("journal truncated after entry ", check.entries, ": its recorded head is entry ",
                                recorded.seq, " with hash ", ToHex(recorded.hash));
  } else if (recorded.mac && recorded.mac != chain.HeadMac(recorded.seq, recorded.hash)) {
    check.fault = ChainFault::kTruncated;
    check.bad_seq = check.entries + 1;
    check.detail = absl::StrCat("journal truncated or rewritten after entry ", check.entries,
                                ": its recorded head is not authentic (its MAC does not verify under the key)");
  }
  return check;
}

ChainCheck CheckExpectedHead(ChainCheck check, const JournalHead& expected,
                             const std::optional<Sha256>& hash_at_expected) {
  if (check.fault != ChainFault::kNone || (hash_at_expected && *hash_at_expected == expected.hash)) return check;
  if (expected.seq == 0 && expected.hash == Sha256{}) return check;  // the empty journal's head: nothing to hold
  check.fault = ChainFault::kRolledBack;
  check.bad_seq = expected.seq;
  check.detail = hash_at_expected
                     ? absl::StrCat("journal entry ", expected.seq, " has hash ", ToHex(*hash_at_expected),
                                    ", not the expected head's ", ToHex(expected.hash),
                                    ": the journal was replaced from there on")
                     : absl::StrCat("the journal ends at entry ", check.entries, ", before the expected head ",
                                    expected.ToString(), ": entries were cut off or an older copy restored");
  return check;
}

ChainCheck CheckChain(const Store& store, const Chain& chain, absl::FunctionRef<void(const Entry&)> verified) {
  Sha256 previous{};  // the last verified entry's hash
  return WalkChain(store, chain, [&](const Entry& entry, absl::string_view stored) {
    if (chain.Hash(previous, stored) != entry.hash) return false;
    previous = entry.hash;
    verified(entry);
    return true;
  });
}

}  // namespace loyalty::internal

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

absl::Status Store::ReadStored(uint64_t from,
                               absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const {
  std::string bytes;
  return Read(from, [&](const Entry& entry) {
    bytes.clear();
    internal::EncodeEntry(entry, &bytes);
    return visit(entry, bytes);
  });
}

absl::StatusOr<uint64_t> VerifyChain(const Store& store, const std::optional<std::string>& journal_key,
                                     const std::optional<JournalHead>& expected_head) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  std::optional<Sha256> hash_at_expected;
  internal::ChainCheck check = internal::CheckChain(store, *chain, [&](const Entry& entry) {
    if (expected_head && entry.seq == expected_head->seq) hash_at_expected = entry.hash;
  });
  if (expected_head) check = internal::CheckExpectedHead(std::move(check), *expected_head, hash_at_expected);
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  return check.entries;
}

}  // namespace loyalty

