// Internal: the invariants of one member's state, checked as a whole. Apply
// keeps them entry by entry; a state read from elsewhere (a checkpoint in a
// store) is untrusted, and is checked against them before it is used.
#ifndef LOYALTY_SRC_LEDGER_MEMBER_CHECK_H_
#define LOYALTY_SRC_LEDGER_MEMBER_CHECK_H_

#include "absl/status/status.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// OK if `member` could have been built by applying entries: lots in
// increasing id order, each with 0 <= remaining <= earned and
// 0 <= reversed <= earned; the balance the sum of the lots' remaining
// points and the held total the sum of the open holds; debt, counters and
// rule totals never negative; every draw of a hold or debit naming a lot,
// and no lot owed back (by open holds and debits not yet reversed) more
// than it earned;
// holds, debits, quotes and accruals no newer than the member's last entry;
// the flags sorted and distinct. FailedPrecondition naming the broken rule
// otherwise.
absl::Status CheckMemberState(const MemberState& member);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_MEMBER_CHECK_H_
