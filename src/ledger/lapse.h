// When a member's points are protected from expiry, and when they lapse as
// a whole rather than lot by lot: the rules that Decide applies and that a
// journal's reader checks an expiry against.
#ifndef LOYALTY_SRC_LEDGER_LAPSE_H_
#define LOYALTY_SRC_LEDGER_LAPSE_H_

#include <string>
#include <vector>

#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"

namespace loyalty::internal {

// True if a flag among `sorted_flags` or the tier of `status` protects the
// member's points from expiry under `version`.
bool Protected(const ProgramVersion& version, const std::vector<std::string>& sorted_flags, const TierStatus& status);
// The same for `member`'s flags with `status`, or with its own status.
bool Protected(const ProgramVersion& version, const MemberState& member, const TierStatus& status);
bool Protected(const ProgramVersion& version, const MemberState& member);

// True if under `version` every lot of `member` lapses at `as_of` because
// the member had no activity for the version's inactivity_months (and no
// flag or tier protects it).
bool LapsesForInactivity(const ProgramVersion& version, const MemberState& member, Instant as_of);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_LAPSE_H_
