// The projection digest: the SHA-256 of the projection's parts, as a
// checkpoint stores them.
#include "journal/state_digest.h"

#include "journal/projection_codec.h"

namespace loyalty::internal {

Sha256 StateDigest(const absl::btree_map<MemberId, const MemberState*>& ordered,
                   const absl::flat_hash_map<std::string, Sha256>& published) {
  // The parts go to the hash one at a time, so that a digest of millions
  // of members never gathers them all in memory.
  Sha256Stream stream;
  EncodeProjection(ordered, published, [&](absl::string_view part) { stream.Update(part); });
  return stream.Finish();
}

}  // namespace loyalty::internal
