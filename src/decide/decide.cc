// Decide: the checks every command passes, then one decision function per
// command kind (declared in commands.h, grouped by theme in this folder).
// Pure: no clock, no I/O, no mutation.
#include <variant>

#include "core/overloaded.h"
#include "decide/commands.h"
#include "journal/command_codec.h"

namespace loyalty::internal {
namespace {

// The decision function of `command`'s kind.
Decided Dispatch(const DecideContext& context, const Command& command, Entry entry) {
  return std::visit(
      Overloaded{
          [&](const Enroll& c) { return DecideEnroll(context, c, std::move(entry)); },
          [&](const Credit& c) { return DecideCredit(context, c, std::move(entry)); },
          [&](const Redeem& c) { return DecideRedeem(context, c, std::move(entry)); },
          [&](const PlaceHold& c) { return DecidePlaceHold(context, c, std::move(entry)); },
          [&](const CaptureHold& c) { return DecideCaptureHold(context, c, std::move(entry)); },
          [&](const ReleaseHold& c) { return DecideReleaseHold(context, c, std::move(entry)); },
          [&](const ReverseEarn& c) { return DecideReverseEarn(context, c, std::move(entry)); },
          [&](const ReverseDebit& c) { return DecideReverseDebit(context, c, std::move(entry)); },
          [&](const Adjust& c) { return DecideAdjust(context, c, std::move(entry)); },
          [&](const Transfer& c) { return DecideTransfer(context, c, std::move(entry)); },
          [&](const Accrue& c) { return DecideAccrue(context, c, std::move(entry)); },
          [&](const ReturnLines& c) { return DecideReturnLines(context, c, std::move(entry)); },
          [&](const QuoteReward& c) { return DecideQuoteReward(context, c, std::move(entry)); },
          [&](const RedeemReward& c) { return DecideRedeemReward(context, c, std::move(entry)); },
          [&](const HoldReward& c) { return DecideHoldReward(context, c, std::move(entry)); },
          [&](const PayWithPointsAtTill& c) { return DecidePayWithPoints(context, c, std::move(entry)); },
          [&](const SetMemberFlag& c) { return DecideSetMemberFlag(context, c, std::move(entry)); },
          [&](const CloseMembership& c) { return DecideCloseMembership(context, c, std::move(entry)); },
          [&](const GrantTier& c) { return DecideGrantTier(context, c, std::move(entry)); },
          [&](const SubscribeTier& c) { return DecideSubscribeTier(context, c, std::move(entry)); },
          [&](const CancelTierSubscription& c) { return DecideCancelTierSubscription(context, c, std::move(entry)); },
      },
      command);
}

}  // namespace
}  // namespace loyalty::internal

namespace loyalty {

absl::StatusOr<std::vector<Entry>> Decide(const Program& program, MemberLookup members,
                                          const Command& command, Instant recorded_at) {
  const Instant at = AtOf(command).value_or(recorded_at);
  if (absl::Status s = internal::CheckEnvelope(command, at); !s.ok()) return s;
  std::string record = RecordOf(command);
  const CommandDigest digest = internal::DigestOfRecord(record);
  const MemberId& id = MemberOf(command);
  const internal::DecideContext context{program, members, id, members(id), at,
                                       recorded_at, IdempotencyKeyOf(command), digest};
  Entry entry = context.Header(id);
  if (!std::holds_alternative<Enroll>(command)) {
    absl::StatusOr<std::string> partner = internal::AdmitMember(context, command);
    if (!partner.ok()) return partner.status();
    entry.partner = *std::move(partner);
  }

  internal::Decided decided = internal::Dispatch(context, command, std::move(entry));
  if (decided.ok()) {
    LOYALTY_CHECK(!decided->empty());
    decided->front().command = std::move(record);
  }
  return decided;
}

}  // namespace loyalty
