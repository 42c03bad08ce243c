// The projection digest: every member's state as EncodeMember writes it,
// then the published versions.
#include "journal/state_digest.h"

#include "absl/container/btree_map.h"
#include "core/encoding.h"
#include "core/sha256.h"
#include "journal/member_codec.h"

namespace loyalty::internal {

Sha256 StateDigest(const absl::btree_map<MemberId, const MemberState*>& ordered,
                   const absl::flat_hash_map<std::string, Sha256>& published_by_id) {
  // The bytes go to the hash a member at a time, so that a digest of
  // millions of members never gathers them all in memory.
  constexpr size_t kChunk = 1 << 16;
  Sha256Stream stream;
  const Sha256 zero{};  // the digest is ChainHash(zero, bytes), streamed
  stream.Update(absl::string_view(reinterpret_cast<const char*>(zero.data()), zero.size()));
  std::string bytes;
  Writer w(&bytes);
  for (const auto& [id, member] : ordered) {
    EncodeMember(w, id, *member);
    if (bytes.size() >= kChunk) {
      stream.Update(bytes);
      bytes.clear();
    }
  }
  absl::btree_map<std::string, Sha256> published(published_by_id.begin(), published_by_id.end());
  for (const auto& [version, hash] : published) {
    w.Bytes(version);
    w.Raw(hash.data(), hash.size());
  }
  stream.Update(bytes);
  return stream.Finish();
}

}  // namespace loyalty::internal
