// Replay: every member's state rebuilt from a verified journal with
// ApplyToMember, and its digest, computed by the same code as the engine's.
#include <algorithm>

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
  internal::ChainCheck check = internal::CheckChainPipelined(store, *chain, [&](const Entry& entry) {
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
