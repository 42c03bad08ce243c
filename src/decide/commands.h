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
#include "loyalty/accrual.h"
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

// stamps.cc: the stamps `activity` collects on the version's cards (into
// `body.stamps`, after its line_units are set), from the member's cards;
// OutOfRange if a card's count overflows, InvalidArgument if the activity
// would issue more than kMaxVouchersPerActivity vouchers.
absl::Status CollectStamps(const ProgramVersion& version, const MemberState& member, const Activity& activity,
                           const AccrualContext& context, entries::Credited& body);
// "; card coffee: 3 stamp(s), 11 of 10: 1 voucher(s) for free-coffee, valid
// through 2025-04-30, 1 on the new card", for each card; "" for none.
std::string StampsText(const Program& program, const MemberState& member, const entries::Credited& body);
// The stamps a return of accrual `accrual` takes back once its lines' units
// returned are `returned`, withdrawing its unused vouchers (newest first)
// while a card stays below zero.
std::vector<StampReturn> StampsBack(const MemberState& member, uint64_t accrual, const AccrualRecord& record,
                                    const std::vector<int64_t>& returned);
// "; card coffee: 3 stamp(s) taken back, voucher 7/0 withdrawn, 8 on the
// card" (or "2 owed on the card"), from the member before the return; ""
// for none.
std::string StampsBackText(const MemberState& member, uint64_t accrual, const AccrualRecord& record,
                           const std::vector<StampReturn>& stamps);
Decided DecideRedeemVoucher(const DecideContext& context, const RedeemVoucher& command, Entry entry);

// point_sales.cc
Decided DecidePurchasePoints(const DecideContext& context, const PurchasePoints& command, Entry entry);
Decided DecideRefundPoints(const DecideContext& context, const RefundPoints& command, Entry entry);

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
