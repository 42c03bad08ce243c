// Internal: the projection (every member's state and the published program
// versions) as a sequence of parts of bytes, and back. A checkpoint stores
// the parts; the state digest is the SHA-256 of the same parts, so that the
// digest of a checkpoint names exactly the projection it restores.
//
// The first part holds the format and the published versions; each next
// part a count and that many whole members (member_codec.h), in increasing
// id order, cut after about `part_size` bytes. Equal projections give equal
// parts.
//
//   EncodeProjection(members, published, [&](absl::string_view part) { save(part); });
//   ProjectionDecoder decoder([&](MemberId id, MemberState state) { ...; return absl::OkStatus(); });
//   for (part : parts) if (absl::Status s = decoder.Part(part); !s.ok()) return s;
//   if (absl::Status s = decoder.Finish(); !s.ok()) return s;
//
// Thread safety: one decoder per thread; EncodeProjection reads the states
// it is given, which the caller keeps from changing meanwhile.
#ifndef LOYALTY_SRC_JOURNAL_PROJECTION_CODEC_H_
#define LOYALTY_SRC_JOURNAL_PROJECTION_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/sha256.h"
#include "ledger/journal_rules.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

inline constexpr size_t kProjectionPartSize = size_t{1} << 20;

// Calls `emit` with each part of the projection, in order.
void EncodeProjection(const absl::btree_map<MemberId, const MemberState*>& members,
                      const PublishedVersions& published, absl::FunctionRef<void(absl::string_view part)> emit,
                      size_t part_size = kProjectionPartSize);

// Reads the parts EncodeProjection emitted, given in order. The bytes come
// from a store and are untrusted: InvalidArgument naming the part and the
// reason for bytes EncodeProjection does not write, for a member that
// breaks the ledger's invariants or is out of id order, and for lots that
// name more than 65,536 versions in all. FailedPrecondition for the parts
// of an older format, which this version does not read (the state is
// rebuilt from the entries instead).
class ProjectionDecoder {
 public:
  using MemberVisit = std::function<absl::Status(const MemberId& id, MemberState&& state)>;
  explicit ProjectionDecoder(MemberVisit member) : member_(std::move(member)) {}

  // The next part: its members go to the visit, in id order.
  absl::Status Part(absl::string_view bytes);
  // OK if the parts given were a whole projection.
  absl::Status Finish() const;

  const PublishedVersions& published() const { return published_; }
  // The SHA-256 of the parts given: the projection's digest. Ends the
  // parts: a Part after it crashes (a programming error).
  Sha256 Digest();

 private:
  MemberVisit member_;
  Sha256Stream hash_;
  std::optional<Sha256> digest_;  // once Digest was called
  uint64_t parts_ = 0;
  std::optional<MemberId> last_;
  PublishedVersions published_;
  absl::flat_hash_set<std::string> versions_;  // named by lots, beyond the published
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_PROJECTION_CODEC_H_
