// A partner-scoped handle of the engine: what a coalition partner's till or
// booking system may do, and nothing more.
//
//   auto fresh = engine->ForPartner("freshmart");          // NotFound if undefined
//   fresh->Execute(Accrue{.idempotency_key = "fm-basket-17", .member = id,
//                         .activity = {"basket-17", Purchase{.lines = {...}}}});  // partner set to freshmart
//   fresh->Execute(PayWithPointsAtTill{.idempotency_key = "fm-pay-3", .member = id, .points = Points(100)});
//   fresh->Execute(Adjust{...});                          // PermissionDenied: command
//   auto mine = fresh->Settlement(from, to, "freshmart");  // its own settlement only
//
// The handle accrues purchases at its partner, redeems rewards of its
// partner's catalog, pays with points and redeems raw points at its tills,
// and returns or reverses its own credits and debits. It reads the balance
// of any member (to serve them at the till), a member's history restricted
// to entries attributed to its partner, and its own settlement. Everything
// else is PermissionDenied naming the field, and changes nothing.
//
// Thread safety: as the engine; the engine must outlive the handle.
#ifndef LOYALTY_PARTNER_H_
#define LOYALTY_PARTNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/audit/settlement.h"
#include "loyalty/command.h"
#include "loyalty/engine.h"

namespace loyalty {

class PartnerHandle {
 public:
  const std::string& partner() const { return partner_; }

  // Executes `command` for this partner. Allowed, all else PermissionDenied
  // ("command: ..."):
  //   Accrue of a Purchase whose partner is this one (an empty partner is
  //     set to it; another: PermissionDenied "activity.detail.partner";
  //     flights and custom activities: "activity.detail");
  //   Redeem and PayWithPointsAtTill at this partner (empty: set to it;
  //     another: "partner");
  //   RedeemReward of a catalog item that every version listing it assigns
  //     to this partner (otherwise "reward");
  //   ReturnLines / ReverseEarn of a credit, ReverseDebit of a debit, of the
  //     same member and attributed to this partner (otherwise "credit" /
  //     "debit"; NotFound if the seq does not exist).
  // Then errors as in Engine::Execute.
  absl::StatusOr<Receipt> Execute(const Command& command);

  // The member's balance; NotFound for an unknown member.
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;

  // The member's entries attributed to this partner (its credits, debits,
  // holds and captures, and the reversals of those), in journal order.
  absl::StatusOr<std::vector<Entry>> History(const MemberId& member) const;

  // SettlePartners for this partner over [from, to). PermissionDenied
  // ("partner") if `partner` is not this handle's.
  absl::StatusOr<PartnerSettlement> Settlement(Instant from, Instant to, absl::string_view partner) const;

 private:
  friend class Engine;
  PartnerHandle(Engine& engine, std::string partner) : engine_(&engine), partner_(std::move(partner)) {}

  // OK if entry `seq` belongs to `member` and is attributed to this partner.
  absl::Status CheckOwnEntry(absl::string_view field, const MemberId& member, uint64_t seq) const;

  Engine* engine_;
  std::string partner_;
};

}  // namespace loyalty

#endif  // LOYALTY_PARTNER_H_
