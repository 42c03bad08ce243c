// Internal: the digest of a projection (every member's state and the
// published program versions), shared by Engine::StateDigest and the
// audit's replay so that both hash the same bytes in the same order.
#ifndef LOYALTY_SRC_JOURNAL_STATE_DIGEST_H_
#define LOYALTY_SRC_JOURNAL_STATE_DIGEST_H_

#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// The SHA-256 of the projection's parts (EncodeProjection): the published
// versions, then `members` in id order. Two projections with equal digests
// hold equal states, and a checkpoint's digest is the digest of the state
// it restores. Pure; the caller keeps the states from changing meanwhile.
Sha256 StateDigest(const absl::btree_map<MemberId, const MemberState*>& members,
                   const absl::flat_hash_map<std::string, Sha256>& published);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_STATE_DIGEST_H_
