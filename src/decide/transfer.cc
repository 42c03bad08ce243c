// The decisions on transfers between two members: the sender's points
// leave in spending order, and arrive with the dates they had, after
// settling the receiver's debt. Within one journal, one command writes both
// entries, the sender's first; across shards, three commands do
// (SendTransfer, ReceiveTransfer, SettleTransfer in command.h).
#include "absl/strings/str_cat.h"
#include "decide/commands.h"
#include "ledger/debt.h"

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
  auto draws = Draw(member, id, c.amount, context.at);
  if (!draws.ok()) return draws.status();

  entries::TransferredIn in{id, c.amount, Points(0), {}};
  for (const LotDraw& draw : SettleDebt(*draws, receiver->debt(), &in.debt_paid)) {
    const Lot* lot = member.FindLot(draw.lot);
    in.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
  }
  Entry in_entry = context.Header(c.to);
  in_entry.explanation = absl::StrCat("received ", c.amount.value(), " points from ", id.value());
  in_entry.body = std::move(in);
  entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(), ": ", DrawText(*draws));
  entry.body = entries::TransferredOut{c.to, c.amount, *std::move(draws)};
  return std::vector<Entry>{std::move(entry), std::move(in_entry)};
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
  auto draws = Draw(member, context.id, c.amount, context.at);
  if (!draws.ok()) return draws.status();
  entries::TransferredOut out{c.to, c.amount, *draws, true, {}};
  for (const LotDraw& draw : *draws) {
    const Lot* lot = member.FindLot(draw.lot);
    out.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
  }
  entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(),
                                   " in another shard: ", DrawText(*draws), "; pending until that shard receives them");
  entry.body = std::move(out);
  return std::vector<Entry>{std::move(entry)};
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
