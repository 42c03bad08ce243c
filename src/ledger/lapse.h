// When a member's points lapse as a whole rather than lot by lot: the rule
// that DecideExpiry applies and that a journal's reader checks an expiry
// against.
#ifndef LOYALTY_SRC_LEDGER_LAPSE_H_
#define LOYALTY_SRC_LEDGER_LAPSE_H_

#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"

namespace loyalty::internal {

// True if under `version` every lot of `member` lapses at `as_of` because
// the member had no activity for the version's inactivity_months (and no
// flag or tier protects it).
bool LapsesForInactivity(const ProgramVersion& version, const MemberState& member, Instant as_of);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_LAPSE_H_
