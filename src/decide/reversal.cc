// Decisions that take back what was recorded before: part of a credit
// (ReverseEarn), the purchase lines of an accrual (ReturnLines), and a
// debit (ReverseDebit). Points already spent become debt; points given
// back settle debt first.
#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {
namespace {

// The local day credit `credit` counted its qualifying counters on.
int32_t CreditDay(const Program& program, const MemberState& member, uint64_t credit) {
  if (auto it = member.detail().accruals.find(credit); it != member.detail().accruals.end()) return it->second.local_day;
  const Lot* lot = member.FindLot(LotId{credit, 0});
  LOYALTY_CHECK(lot != nullptr);
  return program.zone().LocalDate(lot->earned_at).days_since_epoch();
}

// The lines of `record` returned once `command`'s are (in `*returning`),
// and the points those lines earned; InvalidArgument naming "lines[i]" for
// a line the accrual does not have, FailedPrecondition for one already
// returned.
absl::StatusOr<int64_t> ReturnedPoints(const DecideContext& context, const ReturnLines& command,
                                       const AccrualRecord& record, std::vector<bool>* returning) {
  *returning = record.returned;
  int64_t amount = 0;
  for (size_t i = 0; i < command.lines.size(); ++i) {
    uint32_t line = command.lines[i];
    std::string field = absl::StrCat("lines[", i, "]");
    if (line >= record.line_points.size()) {
      return Invalid(field, absl::StrCat("accrual ", command.credit, " has ", record.line_points.size(), " lines"));
    }
    if ((*returning)[line]) {
      return absl::FailedPreconditionError(absl::StrCat("member ", context.id.value(), ": line ", line, " of accrual ",
                                                        command.credit, " is already returned"));
    }
    (*returning)[line] = true;
    amount += record.line_points[line].value();
  }
  return amount;
}

}  // namespace

Decided DecideReverseEarn(const DecideContext& context, const ReverseEarn& c, Entry entry) {
  const MemberState& member = context.member();
  const std::string& id = context.id.value();
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
  const Lot* lot = member.FindLot(LotId{c.credit, 0});
  if (lot == nullptr || lot->origin != Lot::Origin::kCredit) {
    return absl::NotFoundError(absl::StrCat("member ", id, ": no credit ", c.credit));
  }
  Points reversible(lot->earned.value() - lot->reversed.value());
  if (c.amount > reversible) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id, ": reversing ", c.amount.value(), " of credit ",
                                                      c.credit, " exceeds the ", reversible.value(),
                                                      " points not yet reversed"));
  }
  const int32_t day = CreditDay(context.program, member, c.credit);
  const Period credit_day{Date::FromDaysSinceEpoch(day), Date::FromDaysSinceEpoch(day)};
  for (const CounterDelta& delta : c.counters) {
    if (CounterTotal(member, delta.counter, credit_day, {}) < delta.amount.value()) {
      return absl::FailedPreconditionError(absl::StrCat("member ", id, ": counter ", delta.counter, " of credit ",
                                                        c.credit, "'s day is below ", delta.amount.value()));
    }
  }
  Points from_lot = std::min(c.amount, lot->remaining);
  Points debt(c.amount.value() - from_lot.value());
  if (!Add(member.debt(), debt).ok()) return absl::OutOfRangeError("debt would overflow");

  entry.explanation = absl::StrCat("reversed ", c.amount.value(), " points of credit ", c.credit, ": ",
                                   from_lot.value(), " from its lot");
  if (!debt.IsZero()) absl::StrAppend(&entry.explanation, ", ", debt.value(), " already spent become debt");
  entry.body = entries::EarnReversed{c.credit, c.amount, from_lot, debt, c.counters, {}, day};
  auto review = ReviewAfterReversal(context.program, member, context.at, Pending(c.counters, day, true));
  return WithTierChange(context.program, member, review, context.at, std::move(entry));
}

Decided DecideReturnLines(const DecideContext& context, const ReturnLines& c, Entry entry) {
  const MemberState& member = context.member();
  auto accrual = member.detail().accruals.find(c.credit);
  if (accrual == member.detail().accruals.end()) {
    return absl::NotFoundError(absl::StrCat("member ", context.id.value(), ": no accrual ", c.credit));
  }
  const AccrualRecord& record = accrual->second;
  if (c.lines.empty()) return Invalid("lines", "name at least one line to return");
  std::vector<bool> returning;
  absl::StatusOr<int64_t> lines_amount = ReturnedPoints(context, c, record, &returning);
  if (!lines_amount.ok()) return lines_amount.status();
  int64_t amount = *lines_amount;
  entries::EarnReversed body{c.credit, Points(0), Points(0), Points(0), {}, c.lines, record.local_day};
  // The activity's unattributed points and counters go with its last line.
  bool last = std::all_of(returning.begin(), returning.end(), [](bool b) { return b; });
  if (last) {
    amount += record.unattributed.value();
    body.counters = record.counters;
  }
  body.amount = Points(amount);
  const Lot* lot = member.FindLot(LotId{c.credit, 0});
  if (lot != nullptr && amount > lot->earned.value() - lot->reversed.value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "member ", context.id.value(), ": returning these lines reverses ", amount, " points, but only ",
        lot->earned.value() - lot->reversed.value(), " of accrual ", c.credit, " are not yet reversed"));
  }

  body.from_lot = lot == nullptr ? Points(0) : std::min(body.amount, lot->remaining);
  body.debt_added = Points(amount - body.from_lot.value());
  entry.explanation = absl::StrCat("returned ", c.lines.size(), " line(s) of accrual ", c.credit, ": ", amount,
                                   " points earned on them reversed", last ? " with the activity's bonuses" : "");
  if (!body.debt_added.IsZero()) {
    absl::StrAppend(&entry.explanation, "; ", body.debt_added.value(), " already spent become debt");
  }
  auto review =
      ReviewAfterReversal(context.program, member, context.at, Pending(body.counters, record.local_day, true));
  entry.body = std::move(body);
  return WithTierChange(context.program, member, review, context.at, std::move(entry));
}

Decided DecideReverseDebit(const DecideContext& context, const ReverseDebit& c, Entry entry) {
  const MemberState& member = context.member();
  auto it = member.detail().debits.find(c.debit);
  if (it == member.detail().debits.end()) {
    return absl::NotFoundError(absl::StrCat("member ", context.id.value(), ": no debit ", c.debit));
  }
  if (it->second.reversed) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", context.id.value(), ": debit ", c.debit, " is already reversed"));
  }
  entries::DebitReversed body{c.debit, it->second.amount, {}, Points(0)};
  body.draws = SettleDebt(it->second.draws, member.debt(), &body.debt_paid);
  entry.explanation = absl::StrCat("reversed debit ", c.debit, ": ", DrawText(body.draws),
                                   " restored with their original expiry", DebtText(body.debt_paid));
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
