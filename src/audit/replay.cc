// Replay: every member's state rebuilt from a verified journal, each entry
// admitted by the journal's rules as the engine's open does, and its
// digest, computed by the same code as the engine's.
#include <algorithm>
#include <span>

#include "absl/container/btree_map.h"
#include "store/chain_pipeline.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/replay.h"
#include "journal/state_digest.h"

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

absl::StatusOr<ReplayedJournal> Replay(const Store& store, Instant until,
                                       const std::optional<std::string>& journal_key) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  ReplayedJournal replayed;
  internal::JournalRules rules({.links = store.KeepsMemberLinks()});
  absl::Status admitted;  // the first entry that does not fit
  bool applying = true;
  auto apply = [&](const Entry& entry) {
    if (!applying || entry.business_time > until) {
      applying = false;
      return;
    }
    admitted = internal::IsProgramEntry(entry) ? rules.AdmitVersion(entry, replayed.published)
                                               : rules.AdmitMember(entry, replayed.members[entry.member]);
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
  absl::btree_map<MemberId, const MemberState*> ordered;
  for (const auto& [id, state] : replayed.members) ordered.emplace(id, &state);
  replayed.state_digest = internal::StateDigest(ordered, replayed.published);
  return replayed;
}

}  // namespace loyalty
