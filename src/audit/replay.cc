// Replay: every member's state rebuilt from a verified journal, each entry
// admitted by the journal's rules as the engine's open does, and its
// digest, computed by the same code as the engine's.
#include <algorithm>
#include <span>
#include <string>
#include <tuple>

#include "absl/container/btree_map.h"
#include "absl/hash/hash.h"
#include "store/chain_pipeline.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/replay.h"
#include "journal/projection_codec.h"
#include "journal/state_digest.h"
#include "absl/strings/str_cat.h"

namespace loyalty {

std::vector<const MemberState*> ReplayedJournal::States() const {
  std::vector<std::pair<const MemberId*, const MemberState*>> ordered;
  ordered.reserve(members.size());
  for (const auto& [id, state] : members) ordered.emplace_back(&id, &state);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::vector<const MemberState*> states;
  states.reserve(ordered.size());
  for (const auto& [id, state] : ordered) states.push_back(state);
  return states;
}

namespace {

// The digest of `members` and `published`, as Engine::StateDigest makes it.
Sha256 DigestOf(const absl::flat_hash_map<MemberId, MemberState>& members,
                const absl::flat_hash_map<std::string, Sha256>& published) {
  absl::btree_map<MemberId, const MemberState*> ordered;
  for (const auto& [id, state] : members) ordered.emplace(id, &state);
  return internal::StateDigest(ordered, published);
}

// OK if the content of `checkpoint` decodes and matches its digest.
absl::Status CheckContent(const Store& store, const CheckpointInfo& checkpoint) {
  internal::ProjectionDecoder decoder([](const MemberId&, MemberState&&) { return absl::OkStatus(); });
  absl::Status read = store.ReadCheckpoint(checkpoint.seq, [&](absl::string_view part) { return decoder.Part(part); });
  if (read.ok()) read = decoder.Finish();
  if (read.ok() && decoder.Digest() != checkpoint.digest) {
    read = absl::DataLossError("its content does not match its digest");
  }
  return read;
}

// The index of idempotency keys a store keeps on disk against the entries:
// both sides as an order-independent sum of the commands (key, first seq,
// count) that end at or before the index's seq, so that neither is held in
// memory. The hash is seeded per process, so that no file can be made to
// match by design.
class IndexedKeys {
 public:
  // Reads the store's index (up to the store's last entry, for a reader
  // whose snapshot ends before it).
  absl::Status Read(const Store& store) {
    const uint64_t last = store.LastSeq();
    absl::Status read = store.ReadKeyIndex(&through_, [&](absl::string_view key, const KeyRecord& record) {
      if (record.count > 0 && record.first + record.count - 1 <= std::min(through_, last)) {
        indexed_.Add(key, record.first, record.count);
      }
      return absl::OkStatus();
    });
    through_ = std::min(through_, last);
    return read;
  }

  // The next entry read, in seq order.
  void Next(const Entry& entry) {
    if (through_ == 0 || entry.seq > through_) return;
    if (count_ > 0 && entry.idempotency_key == key_) {
      ++count_;
      return;
    }
    Close();
    key_ = entry.idempotency_key;
    first_ = entry.seq;
    count_ = 1;
  }

  // DataLoss if the index does not hold exactly the commands read.
  absl::Status Compare() {
    Close();
    if (indexed_ == read_) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(
        "the index of idempotency keys on disk does not match the entries up to ", through_, ": it holds ",
        indexed_.commands, " commands and the entries ", read_.commands,
        read_.commands == indexed_.commands ? " (as many, with other keys or seqs)" : ""));
  }

 private:
  struct Sum {
    uint64_t commands = 0;
    size_t hash = 0;
    void Add(absl::string_view key, uint64_t first, uint64_t count) {
      ++commands;
      hash += absl::Hash<std::tuple<absl::string_view, uint64_t, uint64_t>>{}({key, first, count});
    }
    friend bool operator==(const Sum&, const Sum&) = default;
  };

  void Close() {
    if (count_ > 0) read_.Add(key_, first_, count_);
    count_ = 0;
  }

  uint64_t through_ = 0;  // 0: the store keeps no index
  Sum indexed_;
  Sum read_;
  std::string key_;  // the command being read
  uint64_t first_ = 0;
  uint64_t count_ = 0;
};

}  // namespace

absl::StatusOr<ReplayedJournal> Replay(const Store& store, Instant until,
                                       const std::optional<std::string>& journal_key) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  ReplayedJournal replayed;
  absl::StatusOr<std::vector<CheckpointInfo>> checkpoints = store.Checkpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  // Each checkpoint's content against its digest first: the store is not
  // read from while the chain is. Checkpoints past the entries read are
  // not compared: a reader's snapshot may end before a writer's latest
  // (a writer's open refuses a checkpoint past the journal's end).
  // Checkpoints of an older format are not compared: no engine of this
  // version opens from them.
  std::vector<CheckpointInfo> current;
  for (const CheckpointInfo& checkpoint : *checkpoints) {
    absl::Status fits = CheckContent(store, checkpoint);
    if (absl::IsFailedPrecondition(fits)) continue;
    if (!fits.ok()) return absl::DataLossError(absl::StrCat("checkpoint at entry ", checkpoint.seq, ": ", fits.message()));
    current.push_back(checkpoint);
  }
  *checkpoints = std::move(current);
  IndexedKeys keys;
  if (absl::Status read = keys.Read(store); !read.ok()) return read;
  size_t next_checkpoint = 0;
  internal::JournalRules rules({.links = store.KeepsMemberLinks()});
  absl::Status admitted;  // the first entry (or checkpoint) that does not fit
  bool applying = true;
  // The checkpoint at `entry`, if there is one, against the state rebuilt.
  auto compare = [&](const Entry& entry) -> absl::Status {
    const CheckpointInfo& checkpoint = (*checkpoints)[next_checkpoint++];
    absl::Status fits = absl::OkStatus();
    if (checkpoint.head_hash != entry.hash) fits = absl::DataLossError("it is of another journal");
    if (fits.ok() && checkpoint.digest != DigestOf(replayed.members, replayed.published)) {
      fits = absl::DataLossError("it is not the state the journal's entries build");
    }
    if (!fits.ok()) return absl::DataLossError(absl::StrCat("checkpoint at entry ", checkpoint.seq, ": ", fits.message()));
    ++replayed.checkpoints;
    return absl::OkStatus();
  };
  auto apply = [&](const Entry& entry) {
    if (!applying || entry.business_time > until) {
      applying = false;
      return;
    }
    admitted = internal::IsProgramEntry(entry) ? rules.AdmitVersion(entry, replayed.published)
                                               : rules.AdmitMember(entry, replayed.members[entry.member]);
    if (admitted.ok() && next_checkpoint < checkpoints->size() && (*checkpoints)[next_checkpoint].seq == entry.seq) {
      admitted = compare(entry);
    }
    if (!admitted.ok()) {
      applying = false;
      return;
    }
    ++replayed.applied;
  };
  internal::ChainCheck check = internal::CheckChainPipelined(store, *chain, [&](std::span<const Entry> run) {
    // With millions of lots, most of an entry's time is cache misses on
    // its member's slot and on the end of its lots. So the slot of the
    // entry 2 * kAhead on is prefetched, and the last lot of the member
    // kAhead on (found in a slot prefetched before): a hint only, with the
    // same result.
    constexpr size_t kAhead = 8;
    for (size_t i = 0; i < run.size(); ++i) {
      if (applying && i + 2 * kAhead < run.size()) replayed.members.prefetch(run[i + 2 * kAhead].member);
      if (applying && i + kAhead < run.size()) {
        auto it = replayed.members.find(run[i + kAhead].member);
        if (it != replayed.members.end() && !it->second.lots.empty()) {
          const Lot* last = &it->second.lots.back();
          __builtin_prefetch(last);
          __builtin_prefetch(last + 1, 1);  // where the next lot goes, if there is room
        }
      }
      keys.Next(run[i]);
      apply(run[i]);
    }
  });
  // An entry that does not fit comes before any fault the chain check
  // found later; the chain's faults stop the entries before they are given.
  if (!admitted.ok()) return admitted;
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  if (absl::Status finished = rules.Finish(); !finished.ok()) return finished;
  if (absl::Status indexed = keys.Compare(); !indexed.ok()) return indexed;
  replayed.entries = check.entries;
  replayed.head = check.head;
  replayed.state_digest = DigestOf(replayed.members, replayed.published);
  return replayed;
}

}  // namespace loyalty
