// Notices to members before they lose something: the points that will
// lapse within a window, by lot, with the date and the reason, as the next
// expiry runs will decide them if the member does nothing meanwhile.
//
//   std::vector<LapsingLot> soon = ExpiringPointsOf(program, state, now, now + absl::Hours(24 * 90));
//   for (const LapsingLot& lot : soon) ... lot.points, lot.lapses_at, LapseReasonName(lot.reason)
//
// Thread safety: pure functions.
#ifndef LOYALTY_NOTICES_H_
#define LOYALTY_NOTICES_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// Why a lot lapses: its own term (Lot::expires_at), the member's
// inactivity (ExpiryPolicy::inactivity_months), or the end of a closed
// membership's grace (MemberDetail::redeemable_until).
enum class LapseReason : uint8_t { kTerm, kInactivity, kClosure };

// "term", "inactivity", "closure".
absl::string_view LapseReasonName(LapseReason reason);

// The points of one lot that lapse, when and why.
struct LapsingLot {
  LotId lot;
  Points points;      // what is left of it now (points held are not counted)
  Instant lapses_at;  // at or before `until`; before `as_of` if an expiry run is already due
  LapseReason reason;
  friend bool operator==(const LapsingLot&, const LapsingLot&) = default;
};

// The lots of `member` with points left that lapse by `until` if the
// member has no activity after `as_of`, soonest first (then by lot):
// each at its expiry, or earlier when the whole balance lapses (the end of
// a closed membership's grace; else the first local day after the
// inactivity months of the version in force at `as_of`, unless a flag or
// the tier protects the member). An expiry run at or after `lapses_at`
// takes them. Empty for a member not enrolled or `until` before `as_of`.
std::vector<LapsingLot> ExpiringPointsOf(const Program& program, const MemberState& member, Instant as_of,
                                         Instant until);

}  // namespace loyalty

#endif  // LOYALTY_NOTICES_H_
