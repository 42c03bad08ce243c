// The decisions on transfers between two members: the sender's points
// leave in spending order, and arrive with the dates they had, after
// settling the receiver's debt, under the version's transfer rules (the
// minimum, the yearly limit and a fee in points, ledger/transfer_rules.h).
// Within one journal, one command writes both entries, the sender's first,
// then the fee's debit; across shards, three commands do (SendTransfer,
// ReceiveTransfer, SettleTransfer in command.h).
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"
#include "ledger/debt.h"
#include "ledger/transfer_rules.h"

namespace loyalty::internal {
namespace {

// The receiving member's id: not the sender's, not empty, not reserved.
absl::Status CheckOtherMember(absl::string_view field, const MemberId& other, const MemberId& id) {
  if (other.value().empty()) return Invalid(field, "must not be empty");
  if (other.value().front() == '#') return Invalid(field, "ids starting with '#' are reserved");
  if (other == id) return Invalid(field, "must differ from the command's member");
  return absl::OkStatus();
}

// Lots arriving: each positive, valid no earlier than earned, summing to `amount`.
absl::Status CheckArrivingLots(const std::vector<TransferredLot>& lots, Points amount) {
  if (lots.empty()) return Invalid("lots", "must not be empty");
  int64_t sum = 0;
  for (size_t i = 0; i < lots.size(); ++i) {
    const std::string field = absl::StrCat("lots[", i, "]");
    if (lots[i].amount <= Points(0)) return Invalid(absl::StrCat(field, ".amount"), "must be positive");
    if (lots[i].expires_at < lots[i].earned_at) return Invalid(absl::StrCat(field, ".expires_at"), "is before earned_at");
    if (__builtin_add_overflow(sum, lots[i].amount.value(), &sum)) return Invalid("lots", "overflow");
  }
  if (sum != amount.value()) {
    return Invalid("lots", absl::StrCat("sum to ", sum, ", not the amount ", amount.value()));
  }
  return absl::OkStatus();
}

// The fee the sender of `amount` pays under the transfer rules of the
// version in force, once they allow the transfer (TransferRefusal):
// InvalidArgument naming "amount" below the minimum, else
// FailedPrecondition naming the rule.
absl::StatusOr<Points> TransferFee(const DecideContext& context, const MemberState& member, Points amount) {
  const ProgramVersion& version = context.version();
  bool below_minimum = false;
  std::string refusal = TransferRefusal(version, context.id, member, context.at, amount, &below_minimum);
  if (below_minimum) return Invalid("amount", refusal);
  if (!refusal.empty()) return absl::FailedPreconditionError(refusal);
  // Apply adds up the sends of one instant.
  const auto& sent = member.detail().sent;
  int64_t total = 0;
  if (auto same = sent.find(context.at.unix_micros());
      same != sent.end() && __builtin_add_overflow(same->second.value(), amount.value(), &total)) {
    return absl::OutOfRangeError("amount: with the points the member sent at the same instant, overflows");
  }
  return version.transfers ? version.transfers->fee : Points(0);
}

// The sender's draws for `amount` and its fee: the transfer takes the
// first `amount` points in spending order, the fee the rest.
struct TransferDraws {
  std::vector<LotDraw> sent;
  std::vector<LotDraw> fee;
};
absl::StatusOr<TransferDraws> DrawWithFee(const DecideContext& context, const MemberState& member, Points amount,
                                          Points fee) {
  int64_t total = 0;
  if (__builtin_add_overflow(amount.value(), fee.value(), &total)) return Invalid("amount", "with the fee, overflows");
  auto draws = Draw(member, context.id, Points(total), context.at);
  if (!draws.ok()) return draws.status();
  TransferDraws split;
  int64_t left = amount.value();
  for (const LotDraw& draw : *draws) {
    const int64_t sent = std::min(left, draw.amount.value());
    left -= sent;
    if (sent > 0) split.sent.push_back({draw.lot, Points(sent)});
    if (draw.amount.value() > sent) split.fee.push_back({draw.lot, Points(draw.amount.value() - sent)});
  }
  return split;
}

// The entry of the fee paid on a transfer to `to`, if any.
std::optional<Entry> FeeEntry(const DecideContext& context, const MemberId& to, Points fee,
                              std::vector<LotDraw> draws) {
  if (fee.IsZero()) return std::nullopt;
  Entry entry = context.Header(context.id);
  entry.explanation = absl::StrCat("paid the fee of ", fee.value(), " points for the transfer to ", to.value(),
                                   " (transfers.fee of ", context.version().id, "): ", DrawText(draws));
  entry.body = entries::Debited{fee, std::move(draws)};
  return entry;
}

}  // namespace

Decided DecideTransfer(const DecideContext& context, const Transfer& c, Entry entry) {
  const MemberState& member = context.member();
  const MemberId& id = context.id;
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (c.to == id) return Invalid("to", "must differ from the sending member");
  const MemberState* receiver = context.members(c.to);
  if (receiver == nullptr || !receiver->enrolled) {
    return absl::NotFoundError(absl::StrCat("member ", c.to.value(), " is not enrolled"));
  }
  if (absl::Status s = CheckEnrolledBy(*receiver, c.to, context.at); !s.ok()) return s;
  if (receiver->closed) return absl::FailedPreconditionError(absl::StrCat("member ", c.to.value(), " is closed"));
  if (absl::Status s = CheckRoom(*receiver, c.to, c.amount); !s.ok()) return s;
  auto fee = TransferFee(context, member, c.amount);
  if (!fee.ok()) return fee.status();
  auto split = DrawWithFee(context, member, c.amount, *fee);
  if (!split.ok()) return split.status();
  const std::vector<LotDraw>* draws = &split->sent;

  entries::TransferredIn in{id, c.amount, Points(0), {}};
  for (const LotDraw& draw : SettleDebt(*draws, receiver->debt(), &in.debt_paid)) {
    const Lot* lot = member.FindLot(draw.lot);
    in.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
  }
  Entry in_entry = context.Header(c.to);
  in_entry.explanation = absl::StrCat("received ", c.amount.value(), " points from ", id.value());
  in_entry.body = std::move(in);
  entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(), ": ", DrawText(*draws));
  entry.body = entries::TransferredOut{c.to, c.amount, *draws};
  std::vector<Entry> entries{std::move(entry), std::move(in_entry)};
  if (auto paid = FeeEntry(context, c.to, *fee, std::move(split->fee))) entries.push_back(*std::move(paid));
  return entries;
}

Decided DecideSendTransfer(const DecideContext& context, const SendTransfer& c, Entry entry) {
  const MemberState& member = context.member();
  if (c.idempotency_key.size() > kMaxSendTransferKey) {
    return Invalid("idempotency_key", absl::StrCat("at most ", kMaxSendTransferKey,
                                                   " bytes for a transfer between shards, so that its settlement's "
                                                   "key fits"));
  }
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckOtherMember("to", c.to, context.id); !s.ok()) return s;
  auto fee = TransferFee(context, member, c.amount);
  if (!fee.ok()) return fee.status();
  auto split = DrawWithFee(context, member, c.amount, *fee);
  if (!split.ok()) return split.status();
  const std::vector<LotDraw>* draws = &split->sent;
  entries::TransferredOut out{c.to, c.amount, *draws, true, {}};
  for (const LotDraw& draw : *draws) {
    const Lot* lot = member.FindLot(draw.lot);
    out.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
  }
  entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(),
                                   " in another shard: ", DrawText(*draws), "; pending until that shard receives them");
  entry.body = std::move(out);
  std::vector<Entry> entries{std::move(entry)};
  if (auto paid = FeeEntry(context, c.to, *fee, std::move(split->fee))) entries.push_back(*std::move(paid));
  return entries;
}

Decided DecideReceiveTransfer(const DecideContext& context, const ReceiveTransfer& c, Entry entry) {
  const MemberState& member = context.member();
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckOtherMember("from", c.from, context.id); !s.ok()) return s;
  if (absl::Status s = CheckArrivingLots(c.lots, c.amount); !s.ok()) return s;
  if (absl::Status s = CheckRoom(member, context.id, c.amount); !s.ok()) return s;
  entries::TransferredIn in{c.from, c.amount, Points(std::min(c.amount.value(), member.debt().value())), {}, true};
  in.lots = AfterDebt(c.lots, in.debt_paid);
  entry.explanation = absl::StrCat("received ", c.amount.value(), " points from ", c.from.value(),
                                   " in another shard", DebtText(in.debt_paid));
  entry.body = std::move(in);
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideSettleTransfer(const DecideContext& context, const SettleTransfer& c, Entry entry) {
  const MemberState& member = context.member();
  auto pending = member.detail().transfers_sent.find(c.transfer);
  if (pending == member.detail().transfers_sent.end()) {
    return absl::NotFoundError(
        absl::StrCat("member ", context.id.value(), " has no pending transfer ", c.transfer));
  }
  if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
  if (!c.returned && !c.reason.empty()) return Invalid("reason", "only a returned transfer has one");
  const SentTransfer& sent = pending->second;
  entries::TransferSettled settled{c.transfer, Points(0), Points(0), {}, c.reason};
  if (!c.returned) {
    entry.explanation = absl::StrCat("transfer ", c.transfer, " of ", sent.amount.value(), " points to ",
                                     sent.to.value(), " delivered");
  } else {
    if (absl::Status s = CheckRoom(member, context.id, sent.amount); !s.ok()) return s;
    settled.returned = sent.amount;
    settled.debt_paid = Points(std::min(sent.amount.value(), member.debt().value()));
    settled.lots = AfterDebt(sent.lots, settled.debt_paid);
    entry.explanation = absl::StrCat("transfer ", c.transfer, " of ", sent.amount.value(), " points to ",
                                     sent.to.value(), " returned (", c.reason.empty() ? "refused" : c.reason,
                                     "): the points are back with their dates", DebtText(settled.debt_paid));
  }
  entry.body = std::move(settled);
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
