// Internal: the hash chain over canonical entry bytes, and the in-memory
// index of idempotency keys that both stores keep.
#ifndef LOYALTY_SRC_JOURNAL_CHAIN_H_
#define LOYALTY_SRC_JOURNAL_CHAIN_H_

#include <memory>
#include <optional>
#include <span>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "journal/huge_page_allocator.h"
#include "loyalty/ledger.h"
#include "loyalty/store.h"

namespace loyalty::internal {

// SHA-256(bytes).
Sha256 Sha256Of(absl::string_view bytes);

// SHA-256 over bytes given in pieces, for inputs too large to gather in
// one string. Not copyable; one per thread at a time.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(absl::string_view bytes);
  // The digest of everything given; the stream cannot be used after.
  Sha256 Finish();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

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

// What is wrong with a journal, as CheckChain finds it.
enum class ChainFault {
  kNone,
  kModified,    // an entry's stored hash does not match its bytes and predecessor
  kMissing,     // an entry is absent and does not appear later
  kReordered,   // an entry appears out of its place
  kTruncated,   // the journal ends before its recorded head
  kUnreadable,  // the store could not read or decode an entry
  kKeyMismatch, // keyed journal without its key, wrong key, or a key for an unkeyed journal
  kRolledBack,  // the journal ends before an expected head, or has another entry there
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
// the head the store records, and the head's MAC (if it records one) that
// of `chain`; entries and head are read in one snapshot
// (Store::ReadSnapshot). After a seq out of place it reads on
// to tell a missing entry from a reordered one. Backs VerifyChain and the
// audit's VerifyJournal. `verified` is called with each entry that verified,
// in order, as it is read (so that a replay reads the journal once).
// `chain` says how to recompute the hashes; its key must match the store's
// (kKeyMismatch otherwise, with bad_seq 0 and nothing read).
ChainCheck CheckChain(const Store& store, absl::FunctionRef<void(const Entry&)> verified = [](const Entry&) {});
ChainCheck CheckChain(const Store& store, const Chain& chain,
                      absl::FunctionRef<void(const Entry&)> verified = [](const Entry&) {});

// CheckChain's walk with the check of each entry's hash left to `take`:
// it reads the journal from seq 1, finds entries missing, reordered,
// unreadable or truncated as CheckChain does, and calls `take` with each
// entry in its place, in order, before the next is read. `take` returns
// whether the entry's hash verifies; on false the walk stops and reports it
// as kModified. The head it reports is the last taken entry's stored hash,
// which is its verified hash if every `take` checked the link. CheckChain
// is this walk with `take` = check the hash, then call `verified`.
ChainCheck WalkChain(const Store& store, const Chain& chain,
                     absl::FunctionRef<bool(const Entry&, absl::string_view stored)> take);

// Whether the journal that `check` walked still holds `expected` (a head
// receipt recorded earlier): `check` unchanged if it has a fault already
// or if the entry at expected.seq had expected.hash (`hash_at_expected`,
// the hash the walk verified at that seq; nullopt if the journal ends
// before it); otherwise kRolledBack at expected.seq.
ChainCheck CheckExpectedHead(ChainCheck check, const JournalHead& expected,
                             const std::optional<Sha256>& hash_at_expected);

// The detail of a kModified fault at `seq`.
std::string ModifiedDetail(uint64_t seq);

// How CheckChainPipelined, ReadPipelined and LinkCheck split their work.
struct PipelineOptions {
  size_t block_entries = 1024;  // entries handed over at a time (> 0)
  size_t blocks = 4;            // blocks in flight (>= 2): bounds the memory
  // Journals with fewer entries (by LastSeq) are checked on the calling
  // thread, as CheckChain does: a thread costs more than it saves there.
  uint64_t inline_below = 8192;
  // Which thread checks a block's links: the reading one when the calling
  // one has blocks waiting, else the calling one (the default); or always
  // the one named (for tests).
  enum class Linker { kWhicheverHasTime, kReadingThread, kCallingThread };
  Linker linker = Linker::kWhicheverHasTime;
};

// CheckChain with the reading, decoding and hash checking on a second
// thread, overlapped with `verified`, which runs on the calling thread and
// is given the verified entries in runs of consecutive ones (up to a block
// at a time, so that it may look ahead, e.g. to prefetch). The result, and
// the entries `verified` is given and their order, are exactly CheckChain's;
// every call is made before this returns. For callers that do real work
// with each entry of long journals (replay, re-rating). The store is read
// from the second thread (store.h allows it); `verified` must not expect
// to run inside the store's read.
ChainCheck CheckChainPipelined(const Store& store, const Chain& chain,
                               absl::FunctionRef<void(std::span<const Entry>)> verified,
                               const PipelineOptions& options = {});

// Store::Read(from, ...) with the reading and decoding on a second thread,
// overlapped with `visit`, which runs on the calling thread and is given
// the entries in runs of consecutive ones, in order (up to a block at a
// time). Returns the first error of `visit` (no more entries are then
// given) or else of the read, after every call of `visit`; the entries
// given before an error are exactly those Read would have visited. For
// callers that do real work with each entry of long journals (an engine's
// open). Reads of fewer than options.inline_below entries stay on the
// calling thread. The store is read from the second thread (store.h allows
// it).
absl::Status ReadPipelined(const Store& store, uint64_t from,
                           absl::FunctionRef<absl::Status(std::span<const Entry>)> visit,
                           const PipelineOptions& options = {});

// The links of stored journal rows, checked on a second thread while the
// calling one goes on reading: each row's stored hash must be the chain's
// hash of its predecessor's stored hash and its bytes. For a store's
// verified open, whose rows are not decoded into entries. The rows are
// copied in blocks of options.block_entries; the thread starts with the
// first full block, so a journal of fewer rows is checked on the calling
// thread by Finish. One thread calls Add and Finish.
class LinkCheck {
 public:
  // `previous`: the stored hash before the first row to be added.
  LinkCheck(const Chain& chain, const Sha256& previous, const PipelineOptions& options = {});
  ~LinkCheck();  // waits for the checking thread, as Finish
  LinkCheck(const LinkCheck&) = delete;
  LinkCheck& operator=(const LinkCheck&) = delete;

  // Queues the row after the last one added: its `seq` (> 0), stored
  // `bytes` (copied) and stored `hash`. False, queuing nothing, once a row
  // added before is known not to verify: reading on is then pointless.
  bool Add(uint64_t seq, absl::string_view bytes, const Sha256& hash);
  // Waits until every row added is checked. The seq of the first row that
  // does not verify (the rows after it are not checked), if any.
  std::optional<uint64_t> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The status for a failed ChainCheck: FailedPrecondition for kKeyMismatch,
// DataLoss naming the entry for the others. Precondition: check.fault is
// not kNone.
absl::Status ChainCheckStatus(const ChainCheck& check);

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
  std::optional<KeyRecord> Find(absl::string_view key) const;
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

#endif  // LOYALTY_SRC_JOURNAL_CHAIN_H_
