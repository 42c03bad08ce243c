// Replay: every member's state rebuilt from a verified journal, each entry
// admitted by the journal's rules as the engine's open does, and its
// digest, computed by the same code as the engine's.
#include <algorithm>
#include <span>

#include "absl/container/btree_map.h"
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
      apply(run[i]);
    }
  });
  // An entry that does not fit comes before any fault the chain check
  // found later; the chain's faults stop the entries before they are given.
  if (!admitted.ok()) return admitted;
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  if (absl::Status finished = rules.Finish(); !finished.ok()) return finished;
  replayed.entries = check.entries;
  replayed.head = check.head;
  replayed.state_digest = DigestOf(replayed.members, replayed.published);
  return replayed;
}

}  // namespace loyalty
