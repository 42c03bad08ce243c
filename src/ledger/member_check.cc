// The invariants of one member's state, checked as a whole.
#include "ledger/member_check.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace loyalty::internal {
namespace {

absl::Status Broken(absl::string_view rule) { return absl::FailedPreconditionError(rule); }

// Adds `value` to `*sum`; false on overflow.
bool AddTo(int64_t* sum, int64_t value) { return !__builtin_add_overflow(*sum, value, sum); }

absl::Status CheckLots(const MemberState& member) {
  int64_t sum = 0;
  for (size_t i = 0; i < member.lots.size(); ++i) {
    const Lot& lot = member.lots[i];
    if (i > 0 && !(member.lots[i - 1].id < lot.id)) return Broken("lots are not in increasing id order");
    if (lot.id.entry == 0 || lot.id.entry > member.last_seq) {
      return Broken(absl::StrCat("lot ", lot.id.entry, " is not an entry of the member"));
    }
    if (lot.earned <= Points(0) || lot.remaining < Points(0) || lot.remaining > lot.earned ||
        lot.reversed < Points(0) || lot.reversed > lot.earned) {
      return Broken(absl::StrCat("lot ", lot.id.entry, "/", lot.id.part, " has amounts out of range"));
    }
    if (lot.origin > Lot::Origin::kTransfer) return Broken("a lot of unknown origin");
    if (!AddTo(&sum, lot.remaining.value())) return Broken("the lots overflow");
  }
  if (sum != member.balance.value()) return Broken("the balance is not the sum of the lots");
  return absl::OkStatus();
}

// Draws name lots of the member and take a positive amount each.
absl::Status CheckDraws(const MemberState& member, const std::vector<LotDraw>& draws, Points total) {
  int64_t sum = 0;
  for (const LotDraw& draw : draws) {
    if (member.FindLot(draw.lot) == nullptr) return Broken(absl::StrCat("a draw names no lot ", draw.lot.entry));
    if (draw.amount <= Points(0) || !AddTo(&sum, draw.amount.value())) return Broken("a draw is out of range");
  }
  if (sum != total.value()) return Broken("draws do not sum to their amount");
  return absl::OkStatus();
}

// What open holds and debits not yet reversed would give back to a lot
// never takes it beyond what it earned.
absl::Status CheckGivenBack(const MemberState& member) {
  absl::flat_hash_map<LotId, int64_t> owed;  // lot -> points it would get back
  auto add = [&](const std::vector<LotDraw>& draws) {
    for (const LotDraw& draw : draws) {
      if (!AddTo(&owed[draw.lot], draw.amount.value())) return false;
    }
    return true;
  };
  for (const auto& [seq, hold] : member.detail().holds) {
    if (!add(hold.draws)) return Broken("the holds' draws overflow");
  }
  for (const auto& [seq, debit] : member.detail().debits) {
    if (!debit.reversed && !add(debit.draws)) return Broken("the debits' draws overflow");
  }
  for (const auto& [id, points] : owed) {
    const Lot* lot = member.FindLot(id);
    int64_t back = lot->remaining.value();
    if (!AddTo(&back, points) || back > lot->earned.value()) {
      return Broken(absl::StrCat("lot ", id.entry, "/", id.part, " would get back more than it earned"));
    }
  }
  return absl::OkStatus();
}

// An accrual's units: none or one (at least 1) per line, and per line the
// units returned, between 0 and its units.
bool UnitsFit(const AccrualRecord& accrual) {
  const size_t lines = accrual.line_points.size();
  if (accrual.returned_units.size() != lines || (!accrual.units.empty() && accrual.units.size() != lines)) return false;
  for (size_t line = 0; line < lines; ++line) {
    const int64_t units = accrual.UnitsOf(line), returned = accrual.returned_units[line];
    if (units < 1 || returned < 0 || returned > units || accrual.line_points[line] < Points(0)) return false;
  }
  // Each card once, its lines ascending, its stamps their units, and the
  // vouchers within what one activity issues.
  int64_t vouchers = 0;
  for (size_t i = 0; i < accrual.stamps.size(); ++i) {
    const StampGrant& grant = accrual.stamps[i];
    int64_t units = 0;
    for (size_t j = 0; j < grant.lines.size(); ++j) {
      const uint32_t line = grant.lines[j];
      if (line >= lines || (j > 0 && grant.lines[j - 1] >= line) || !AddTo(&units, accrual.UnitsOf(line))) return false;
    }
    for (size_t k = 0; k < i; ++k) {
      if (accrual.stamps[k].card == grant.card) return false;
    }
    if (grant.card_size < 1 || units != grant.stamps || grant.vouchers < 0 ||
        grant.vouchers > kMaxVouchersPerActivity - vouchers) {
      return false;
    }
    vouchers += grant.vouchers;
  }
  return true;
}

// Bought points: a positive price, a calendar day, and refunds of at most
// the points and the price, in the price's currency.
bool PurchaseFits(const PointPurchase& p) {
  static const int32_t kFirst = Date::FromYmd(1400, 1, 1)->days_since_epoch();
  static const int32_t kLast = Date::FromYmd(9999, 12, 31)->days_since_epoch();
  return p.points > Points(0) && p.price.minor_units() > 0 && p.local_day >= kFirst && p.local_day <= kLast &&
         p.refunded >= Points(0) && p.refunded <= p.points && p.refund.currency() == p.price.currency() &&
         p.refund.minor_units() >= 0 && p.refund.minor_units() <= p.price.minor_units();
}

absl::Status CheckHoldsAndDebits(const MemberState& member) {
  const MemberDetail& detail = member.detail();
  int64_t held = 0;
  for (const auto& [seq, hold] : detail.holds) {
    if (seq == 0 || seq > member.last_seq) return Broken(absl::StrCat("hold ", seq, " is not an entry of the member"));
    if (absl::Status s = CheckDraws(member, hold.draws, hold.amount); !s.ok()) return s;
    if (!AddTo(&held, hold.amount.value())) return Broken("the holds overflow");
  }
  if (held != detail.held.value()) return Broken("the held total is not the sum of the holds");
  for (const auto& [seq, debit] : detail.debits) {
    if (seq == 0 || seq > member.last_seq) return Broken(absl::StrCat("debit ", seq, " is not an entry of the member"));
    if (absl::Status s = CheckDraws(member, debit.draws, debit.amount); !s.ok()) return s;
  }
  if (absl::Status s = CheckGivenBack(member); !s.ok()) return s;
  for (const auto& [seq, quote] : detail.quotes) {
    if (seq == 0 || seq > member.last_seq || quote.amount < Points(0)) return Broken("a quote is out of range");
  }
  for (const auto& [seq, accrual] : detail.accruals) {
    if (seq == 0 || seq > member.last_seq || !UnitsFit(accrual)) {
      return Broken(absl::StrCat("accrual ", seq, " is out of range"));
    }
  }
  for (const auto& [activity, seq] : detail.activities) {
    if (seq == 0 || seq > member.last_seq) return Broken("an activity names no entry of the member");
  }
  for (const auto& [seq, purchase] : detail.purchases) {
    if (seq == 0 || seq > member.last_seq || !PurchaseFits(purchase)) return Broken("a purchase of points is out of range");
  }
  for (const auto& [micros, points] : detail.sent) {
    if (points <= Points(0)) return Broken("a transfer sent without a positive amount");
  }
  for (const auto& [id, voucher] : detail.vouchers) {
    if (id.accrual == 0 || id.accrual > member.last_seq || voucher.card.empty()) {
      return Broken("a voucher names no accrual of the member");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTotals(const MemberState& member) {
  const MemberDetail& detail = member.detail();
  if (detail.debt < Points(0) || detail.held < Points(0)) return Broken("a negative debt or held total");
  for (const auto& [name, value] : detail.counters) {
    if (value < Points(0)) return Broken(absl::StrCat("counter ", name, " is negative"));
  }
  for (const auto& [name, days] : detail.counter_days) {
    for (const auto& [day, value] : days) {
      if (value <= Points(0)) return Broken(absl::StrCat("counter ", name, " has a day without a positive amount"));
    }
  }
  for (const auto& [rule, use] : detail.rule_use) {
    if (use.day_points < Points(0) || use.month_points < Points(0) || use.total < Points(0) || use.uses < 0) {
      return Broken(absl::StrCat("rule ", rule, " has a negative use"));
    }
  }
  if (std::adjacent_find(detail.flags.begin(), detail.flags.end(), std::greater_equal<>()) != detail.flags.end()) {
    return Broken("the flags are not sorted and distinct");
  }
  return absl::OkStatus();
}

// Each transfer sent and not settled: sent by an entry of the member, of
// a positive amount that its lots (positive) sum to.
absl::Status CheckTransfersSent(const MemberState& member) {
  for (const auto& [seq, sent] : member.detail().transfers_sent) {
    int64_t sum = 0;
    bool positive = sent.amount > Points(0);
    for (const TransferredLot& lot : sent.lots) positive = positive && lot.amount > Points(0) && AddTo(&sum, lot.amount.value());
    if (seq == 0 || seq > member.last_seq || !positive || sum != sent.amount.value()) {
      return Broken(absl::StrCat("transfer ", seq, " is out of range"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMemberState(const MemberState& member) {
  if (member.last_seq == 0 && (member.enrolled || !member.lots.empty())) return Broken("a member without entries");
  if (absl::Status s = CheckLots(member); !s.ok()) return s;
  if (absl::Status s = CheckHoldsAndDebits(member); !s.ok()) return s;
  if (absl::Status s = CheckTransfersSent(member); !s.ok()) return s;
  return CheckTotals(member);
}

}  // namespace loyalty::internal
