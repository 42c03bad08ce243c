// The transfer rules of a program version (ProgramVersion::transfers), as
// Decide applies them to a Transfer or SendTransfer and as the journal's
// readers check a transfer sent: allowed, at least the minimum, within the
// sender's yearly limit.
#ifndef LOYALTY_SRC_LEDGER_TRANSFER_RULES_H_
#define LOYALTY_SRC_LEDGER_TRANSFER_RULES_H_

#include <string>

#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty::internal {

// Why `version` does not let `member` (whose id is `id`) send `amount`
// points at `at`, naming the rule ("transfers.minimum"); "" if it does.
// `below_minimum` is set when the amount is below the minimum (the
// caller's InvalidArgument), the other reasons are a precondition.
std::string TransferRefusal(const ProgramVersion& version, const MemberId& id, const MemberState& member, Instant at,
                            Points amount, bool* below_minimum = nullptr);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_TRANSFER_RULES_H_
