// Decide: the checks every command passes, then one decision function per
// command kind (declared in commands.h, grouped by theme in this folder).
// Pure: no clock, no I/O, no mutation.
#include <iterator>
#include <optional>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
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
          [&](const SendTransfer& c) { return DecideSendTransfer(context, c, std::move(entry)); },
          [&](const ReceiveTransfer& c) { return DecideReceiveTransfer(context, c, std::move(entry)); },
          [&](const SettleTransfer& c) { return DecideSettleTransfer(context, c, std::move(entry)); },
          [&](const RedeemVoucher& c) { return DecideRedeemVoucher(context, c, std::move(entry)); },
          [&](const PurchasePoints& c) { return DecidePurchasePoints(context, c, std::move(entry)); },
          [&](const RefundPoints& c) { return DecideRefundPoints(context, c, std::move(entry)); },
      },
      command);
}

}  // namespace

uint64_t HoldNamedBy(const Command& command) {
  if (const auto* capture = std::get_if<CaptureHold>(&command)) return capture->hold;
  if (const auto* release = std::get_if<ReleaseHold>(&command)) return release->hold;
  return 0;
}

absl::StatusOr<MemberState> AfterReleases(const MemberState& member, const std::vector<Entry>& releases) {
  MemberState after = member;
  uint64_t seq = member.last_seq;
  for (const Entry& release : releases) {
    Entry applied = release;
    applied.seq = ++seq;  // a stand-in: the journal gives the real one
    // Checked: the hold comes from a journal, which may have been forged.
    if (absl::Status fits = ApplyChecked(after, applied); !fits.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("member ", release.member.value(), ": hold ",
                                                        std::get<entries::HoldReleased>(release.body).hold,
                                                        " cannot be released: ", fits.message()));
    }
  }
  return after;
}

}  // namespace loyalty::internal

namespace loyalty {

absl::StatusOr<std::vector<Entry>> Decide(const Program& program, MemberLookup members,
                                          const Command& command, Instant recorded_at, BudgetLookup budgets) {
  const Instant at = AtOf(command).value_or(recorded_at);
  if (absl::Status s = internal::CheckEnvelope(command, at); !s.ok()) return s;
  std::string record = RecordOf(command);
  const CommandDigest digest = internal::DigestOfRecord(record);
  const MemberId& id = MemberOf(command);
  const std::string& key = IdempotencyKeyOf(command);
  // Holds that lapsed by `at` are released first, so that the command sees
  // their points; the hold a command names is its own to decide on.
  std::vector<Entry> released;
  std::optional<MemberState> after_release;
  const MemberState* member = members(id);
  if (member != nullptr && !std::holds_alternative<Enroll>(command) && at >= member->enrolled_at) {
    released = internal::LapsedHoldReleases(program, id, *member, at, recorded_at, key, digest,
                                            internal::HoldNamedBy(command));
    if (!released.empty()) {
      absl::StatusOr<MemberState> after = internal::AfterReleases(*member, released);
      if (!after.ok()) return after.status();
      member = &after_release.emplace(*std::move(after));
    }
  }
  const internal::DecideContext context{program, members, id, member, at, recorded_at, key, digest, budgets};
  Entry entry = context.Header(id);
  if (!std::holds_alternative<Enroll>(command)) {
    absl::StatusOr<std::string> partner = internal::AdmitMember(context, command);
    if (!partner.ok()) return partner.status();
    entry.partner = *std::move(partner);
  }

  internal::Decided decided = internal::Dispatch(context, command, std::move(entry));
  if (!decided.ok()) return decided;
  LOYALTY_CHECK(!decided->empty());
  if (!released.empty()) {
    released.insert(released.end(), std::make_move_iterator(decided->begin()), std::make_move_iterator(decided->end()));
    *decided = std::move(released);
  }
  decided->front().command = std::move(record);
  return decided;
}

}  // namespace loyalty
