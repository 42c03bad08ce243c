// The projection as parts of bytes, and back.
#include "journal/projection_codec.h"

#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "core/encoding.h"
#include "journal/member_codec.h"
#include "journal/value_codec.h"
#include "loyalty/check.h"

namespace loyalty::internal {
namespace {

// Format 5 keeps the points each member sent to others by time (for the
// yearly limit of transfers); checkpoints of the formats before it are not
// read (the engine rebuilds the state from the entries instead).
constexpr uint64_t kFormat = 5;
constexpr uint64_t kMaxVersions = 1 << 16;

// The first part: the format and the published versions in id order.
std::string HeaderPart(const PublishedVersions& published) {
  std::string bytes;
  Writer w(&bytes);
  w.Unsigned(kFormat);
  absl::btree_map<std::string, Sha256> ordered(published.begin(), published.end());
  w.Unsigned(ordered.size());
  for (const auto& [version, hash] : ordered) {
    w.Bytes(version);
    w.Raw(hash.data(), hash.size());
  }
  return bytes;
}

}  // namespace

void EncodeProjection(const absl::btree_map<MemberId, const MemberState*>& members,
                      const PublishedVersions& published, absl::FunctionRef<void(absl::string_view part)> emit,
                      size_t part_size) {
  emit(HeaderPart(published));
  std::string body;
  uint64_t count = 0;
  Writer w(&body);
  auto flush = [&] {
    std::string part;
    Writer(&part).Unsigned(count);
    part += body;
    emit(part);
    body.clear();
    count = 0;
  };
  for (const auto& [id, member] : members) {
    EncodeMember(w, id, *member);
    ++count;
    if (body.size() >= part_size) flush();
  }
  if (count > 0) flush();
}

absl::Status ProjectionDecoder::Part(absl::string_view bytes) {
  LOYALTY_CHECK(!digest_.has_value());  // no part after the digest
  hash_.Update(bytes);
  Reader r(bytes);
  const uint64_t part = parts_++;
  // The reader's error, or `why` at the reader's offset.
  auto bad = [&](const char* why = nullptr) {
    if (why != nullptr) r.Fail(why);
    return absl::InvalidArgumentError(absl::StrCat("checkpoint part ", part, ": ", r.error()));
  };
  uint64_t count = 0;
  if (part == 0) {
    uint64_t format = 0;
    if (!r.Unsigned(&format)) return bad();
    if (format >= 1 && format < kFormat) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint format ", format, " predates this library's (", kFormat, ")"));
    }
    if ((format != kFormat && !r.Fail("unknown checkpoint format")) || !r.Unsigned(&count) ||
        (count > kMaxVersions && !r.Fail("too many versions"))) {
      return bad();
    }
    for (uint64_t i = 0; i < count; ++i) {
      std::string version;
      Sha256 hash{};
      if (!Get(r, &version) || !r.Raw(hash.data(), hash.size())) return bad();
      if (!published_.emplace(std::move(version), hash).second) return bad("a version twice");
    }
    if (!r.AtEnd()) return bad("trailing bytes");
    return absl::OkStatus();
  }
  if (!r.Unsigned(&count)) return bad();
  // Lots name the versions they were earned under: published ones, or
  // versions of a program defined in code, which are not. Their number is
  // bounded, so that untrusted bytes cannot grow the intern table.
  auto known = [&](absl::string_view version) {
    if (published_.contains(version) || versions_.contains(version)) return true;
    if (versions_.size() >= kMaxVersions) return false;
    versions_.emplace(version);
    return true;
  };
  for (uint64_t i = 0; i < count; ++i) {
    MemberId id;
    MemberState state;
    if (!DecodeMember(r, known, &id, &state)) return bad();
    if (last_ && !(*last_ < id)) return bad("members out of id order");
    last_ = id;
    if (absl::Status visited = member_(id, std::move(state)); !visited.ok()) return visited;
  }
  if (count == 0 || !r.AtEnd()) return bad(count == 0 ? "an empty part" : "trailing bytes");
  return absl::OkStatus();
}

Sha256 ProjectionDecoder::Digest() {
  if (!digest_) digest_ = hash_.Finish();
  return *digest_;
}

absl::Status ProjectionDecoder::Finish() const {
  if (parts_ == 0) return absl::InvalidArgumentError("checkpoint: no parts");
  return absl::OkStatus();
}

}  // namespace loyalty::internal
