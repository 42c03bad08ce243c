// Replay: every member's state rebuilt from a verified journal with
// ApplyToMember, and its digest, computed by the same code as the engine's.
#include <algorithm>
#include <span>

#include "absl/container/btree_map.h"
#include "chain.h"
#include "loyalty/audit.h"
#include "state_digest.h"

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
  bool applying = true;
  auto apply = [&](const Entry& entry) {
    if (!applying || entry.business_time > until) {
      applying = false;
      return;
    }
    ++replayed.applied;
    if (const auto* published = std::get_if<entries::VersionPublished>(&entry.body)) {
      replayed.published[published->version] = published->content_hash;
      return;
    }
    ApplyToMember(replayed.members[entry.member], entry);
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
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  replayed.entries = check.entries;
  replayed.head = check.head;
  absl::btree_map<MemberId, const MemberState*> ordered;
  for (const auto& [id, state] : replayed.members) ordered.emplace(id, &state);
  replayed.state_digest = internal::StateDigest(ordered, replayed.published);
  return replayed;
}

}  // namespace loyalty
