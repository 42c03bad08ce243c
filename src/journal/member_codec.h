// Internal: a member's whole state as bytes and back, every field in a fixed
// order, maps in key order. The projection's digest (state_digest.h) hashes
// these bytes and a checkpoint of the projection stores them, so that the
// digest names exactly what a checkpoint restores.
//
//   std::string bytes;
//   Writer w(&bytes);
//   EncodeMember(w, id, member);
//   Reader r(bytes);
//   if (!DecodeMember(r, known_version, &id, &member)) return r.error();
//
// Thread safety: pure functions over the caller's values.
#ifndef LOYALTY_SRC_JOURNAL_MEMBER_CODEC_H_
#define LOYALTY_SRC_JOURNAL_MEMBER_CODEC_H_

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "core/encoding.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// Appends `member` with its id.
void EncodeMember(Writer& w, const MemberId& id, const MemberState& member);

// Reads one member that EncodeMember wrote. The bytes come from a store and
// are untrusted: false, with the reason in `r`, for bytes EncodeMember does
// not write (maps out of key order included), for a lot earned under a
// version `known_version` refuses, and for a state that breaks the
// ledger's invariants (CheckMemberState).
bool DecodeMember(Reader& r, absl::FunctionRef<bool(absl::string_view)> known_version, MemberId* id,
                  MemberState* member);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_MEMBER_CODEC_H_
