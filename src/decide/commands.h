// Internal: one decision function per command kind, which Decide
// (decide.cc) dispatches to, and the admission checks every command passes
// first.
//
// Each function is a flat list of checks in a fixed order, each returning
// the error it names, followed by the entries the command produces. It
// receives `entry`, the header of the command's first entry (member, times,
// key, digest, version and partner already set), and returns the entries to
// append in order; Decide records the command in the first.
//
//   auto decided = DecideCredit(context, credit, context.Header(context.id));
#ifndef LOYALTY_SRC_DECIDE_COMMANDS_H_
#define LOYALTY_SRC_DECIDE_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "decide/decide_context.h"
#include "loyalty/command.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

using Decided = absl::StatusOr<std::vector<Entry>>;

// admission.cc: the idempotency key, the member id and the business time
// `at` of any command.
absl::Status CheckEnvelope(const Command& command, Instant at);
// admission.cc: for every command but Enroll, the member is enrolled (by
// the command's time), a closed membership neither earns nor spends past
// its grace, and the partner named is one of the version's. Returns the
// command's partner ("" for none).
absl::StatusOr<std::string> AdmitMember(const DecideContext& context, const Command& command);

// decide.cc: the hold a CaptureHold or ReleaseHold names; 0 for others.
uint64_t HoldNamedBy(const Command& command);
// decide.cc: `member` after `releases` (LapsedHoldReleases), which have no
// seq yet: the state the command is decided on. FailedPrecondition if a
// release does not fit the state (a hold forged into the journal).
absl::StatusOr<MemberState> AfterReleases(const MemberState& member, const std::vector<Entry>& releases);

// membership.cc
Decided DecideEnroll(const DecideContext& context, const Enroll& command, Entry entry);
Decided DecideSetMemberFlag(const DecideContext& context, const SetMemberFlag& command, Entry entry);
Decided DecideCloseMembership(const DecideContext& context, const CloseMembership& command, Entry entry);

// earning.cc
Decided DecideCredit(const DecideContext& context, const Credit& command, Entry entry);
Decided DecideAdjust(const DecideContext& context, const Adjust& command, Entry entry);

// accrue.cc
Decided DecideAccrue(const DecideContext& context, const Accrue& command, Entry entry);

// reversal.cc
Decided DecideReverseEarn(const DecideContext& context, const ReverseEarn& command, Entry entry);
Decided DecideReturnLines(const DecideContext& context, const ReturnLines& command, Entry entry);
Decided DecideReverseDebit(const DecideContext& context, const ReverseDebit& command, Entry entry);

// spending.cc
Decided DecideRedeem(const DecideContext& context, const Redeem& command, Entry entry);
Decided DecidePayWithPoints(const DecideContext& context, const PayWithPointsAtTill& command, Entry entry);
Decided DecidePlaceHold(const DecideContext& context, const PlaceHold& command, Entry entry);
Decided DecideCaptureHold(const DecideContext& context, const CaptureHold& command, Entry entry);
Decided DecideReleaseHold(const DecideContext& context, const ReleaseHold& command, Entry entry);

// rewards.cc
Decided DecideQuoteReward(const DecideContext& context, const QuoteReward& command, Entry entry);
Decided DecideRedeemReward(const DecideContext& context, const RedeemReward& command, Entry entry);
Decided DecideHoldReward(const DecideContext& context, const HoldReward& command, Entry entry);

// transfer.cc
Decided DecideTransfer(const DecideContext& context, const Transfer& command, Entry entry);
Decided DecideSendTransfer(const DecideContext& context, const SendTransfer& command, Entry entry);
Decided DecideReceiveTransfer(const DecideContext& context, const ReceiveTransfer& command, Entry entry);
Decided DecideSettleTransfer(const DecideContext& context, const SettleTransfer& command, Entry entry);

// status.cc
Decided DecideGrantTier(const DecideContext& context, const GrantTier& command, Entry entry);
Decided DecideSubscribeTier(const DecideContext& context, const SubscribeTier& command, Entry entry);
Decided DecideCancelTierSubscription(const DecideContext& context, const CancelTierSubscription& command, Entry entry);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_DECIDE_COMMANDS_H_
