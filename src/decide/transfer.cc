// The decision on a transfer between two members: the sender's points
// leave in spending order, and arrive with the dates they had, after
// settling the receiver's debt. Two entries, the sender's first.
#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {

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

}  // namespace loyalty::internal
