// Decisions that take back what was recorded before: part of a credit
// (ReverseEarn), purchase lines or units of an accrual (ReturnLines), and a
// debit (ReverseDebit). Points of a credit already spent are taken from
// the member's other points, and only what they do not cover becomes debt;
// points given back settle debt first.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {
namespace {

// The local day credit `credit` counted its qualifying counters on: its
// accrual's, or its lot's earning day (the same day: every version has the
// program's zone).
int32_t CreditDay(const Program& program, const MemberState& member, uint64_t credit) {
  if (auto it = member.detail().accruals.find(credit); it != member.detail().accruals.end()) return it->second.local_day;
  const Lot* lot = member.FindLot(LotId{credit, 0});
  LOYALTY_CHECK(lot != nullptr);
  return program.zone().LocalDate(lot->earned_at).days_since_epoch();
}

// What returning `command`'s lines takes: the units of each (into
// `body.units`, kept only if the accrual recorded its lines' units), the
// units of each line returned once they are (`*returned`), the points they
// earned, and the explanation's words for them ("2 line(s)" when whole,
// else "line 0, 1 of 3 units of line 1"). InvalidArgument naming "lines[i]" or "quantities[i]" for a line
// the accrual does not have or a quantity below 0, FailedPrecondition
// naming the line and its units left for more units than are left.
struct Returning {
  std::vector<int64_t> returned;
  int64_t amount = 0;
  std::string text;
};
absl::StatusOr<Returning> ReturnedUnits(const DecideContext& context, const ReturnLines& command,
                                        const AccrualRecord& record, entries::EarnReversed& body) {
  if (!command.quantities.empty() && command.quantities.size() != command.lines.size()) {
    return Invalid("quantities", "give one per line, or none to return the lines whole");
  }
  Returning result{record.returned_units, 0, ""};
  bool partial = false;
  for (size_t i = 0; i < command.lines.size(); ++i) {
    const uint32_t line = command.lines[i];
    const int64_t quantity = command.quantities.empty() ? ReturnLines::kWholeLine : command.quantities[i];
    if (line >= record.line_points.size()) {
      return Invalid(absl::StrCat("lines[", i, "]"),
                     absl::StrCat("accrual ", command.credit, " has ", record.line_points.size(), " lines"));
    }
    if (quantity < 0) return Invalid(absl::StrCat("quantities[", i, "]"), "return at least one unit");
    const int64_t units = record.UnitsOf(line), done = result.returned[line], left = units - done;
    if (left == 0 || quantity > left) {
      return absl::FailedPreconditionError(absl::StrCat(
          "member ", context.id.value(), ": line ", line, " of accrual ", command.credit,
          left == 0 ? " is already returned" : absl::StrCat(" has ", left, " unit(s) left to return, not ", quantity)));
    }
    const int64_t taking = quantity == ReturnLines::kWholeLine ? left : quantity;
    result.amount += UnitsShare(record.line_points[line], units, done, done + taking).value();
    result.returned[line] = done + taking;
    body.units.push_back(taking);
    partial = partial || taking != units;
    absl::StrAppend(&result.text, i == 0 ? "" : ", ",
                    taking == units ? "" : absl::StrCat(taking, " of ", units, " units of "), "line ", line);
  }
  if (!partial) result.text = absl::StrCat(command.lines.size(), " line(s)");
  if (record.units.empty()) body.units.clear();
  return result;
}

// Takes `body.amount` of credit `body.credit` back: what is left of its lot
// (`lot`, nullptr for an accrual that earned nothing), then the member's
// other lots in spending order (soonest-expiring first, lots already past
// their expiry included), and only what no lot covers as debt.
void TakeBack(const MemberState& member, const Lot* lot, entries::EarnReversed& body) {
  body.from_lot = lot == nullptr ? Points(0) : std::min(body.amount, lot->remaining);
  int64_t needed = body.amount.value() - body.from_lot.value();
  for (size_t index : SpendableLots(member, Instant::Min())) {
    const Lot& other = member.lots[index];
    if (needed == 0) break;
    if (other.id == LotId{body.credit, 0}) continue;
    const int64_t take = std::min(needed, other.remaining.value());
    body.draws.push_back({other.id, Points(take)});
    needed -= take;
  }
  body.debt_added = Points(needed);
}

// ": N from its lot, M from other lots (100 from lot 7, ...), D already
// spent become debt".
std::string TakeBackText(const entries::EarnReversed& body) {
  std::string text = absl::StrCat(": ", body.from_lot.value(), " from its lot");
  const int64_t drawn = body.amount.value() - body.from_lot.value() - body.debt_added.value();
  if (drawn > 0) absl::StrAppend(&text, ", ", drawn, " from other lots (", DrawText(body.draws), ")");
  if (!body.debt_added.IsZero()) absl::StrAppend(&text, ", ", body.debt_added.value(), " already spent become debt");
  return text;
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
  entries::EarnReversed body{c.credit, c.amount, Points(0), Points(0), c.counters, {}, day};
  TakeBack(member, lot, body);
  if (!Add(member.debt(), body.debt_added).ok()) return absl::OutOfRangeError("debt would overflow");
  entry.explanation = absl::StrCat("reversed ", c.amount.value(), " points of credit ", c.credit, TakeBackText(body));
  entry.body = std::move(body);
  auto review = ReviewAfterReversal(context.program, member, context.at, Pending(c.counters, day, true));
  return WithTierChange(context.program, member, review, context.at, std::move(entry));
}

Decided DecideReturnLines(const DecideContext& context, const ReturnLines& c, Entry entry) {
  const MemberState& member = context.member();
  auto accrual = member.detail().accruals.find(c.credit);
  if (accrual == member.detail().accruals.end()) {
    return absl::NotFoundError(
        absl::StrCat("member ", context.id.value(), ": no accrual ", c.credit, " with purchase lines to return"));
  }
  const AccrualRecord& record = accrual->second;
  if (c.lines.empty()) return Invalid("lines", "name at least one line to return");
  entries::EarnReversed body{c.credit, Points(0), Points(0), Points(0), {}, c.lines, record.local_day};
  absl::StatusOr<Returning> returning = ReturnedUnits(context, c, record, body);
  if (!returning.ok()) return returning.status();
  int64_t amount = returning->amount;
  // The activity's unattributed points and counters go with its last unit.
  const bool last = record.AllUnits(returning->returned);
  if (last) {
    amount += record.unattributed.value();
    body.counters = record.counters;
  }
  body.amount = Points(amount);
  body.stamps = StampsBack(member, c.credit, record, returning->returned);
  // A manual reversal of the same credit may have taken its counters back.
  const Period credit_day{Date::FromDaysSinceEpoch(record.local_day), Date::FromDaysSinceEpoch(record.local_day)};
  for (const CounterDelta& delta : body.counters) {
    if (CounterTotal(member, delta.counter, credit_day, {}) < delta.amount.value()) {
      return absl::FailedPreconditionError(absl::StrCat("member ", context.id.value(), ": counter ", delta.counter,
                                                        " of accrual ", c.credit, "'s day is below ",
                                                        delta.amount.value(), ": it was reversed already"));
    }
  }
  const Lot* lot = member.FindLot(LotId{c.credit, 0});
  if (lot != nullptr && amount > lot->earned.value() - lot->reversed.value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "member ", context.id.value(), ": returning these lines reverses ", amount, " points, but only ",
        lot->earned.value() - lot->reversed.value(), " of accrual ", c.credit, " are not yet reversed"));
  }

  TakeBack(member, lot, body);
  if (!Add(member.debt(), body.debt_added).ok()) return absl::OutOfRangeError("debt would overflow");
  entry.explanation = absl::StrCat("returned ", returning->text, " of accrual ", c.credit, ": ", amount,
                                   " points earned on them reversed", last ? " with the activity's bonuses" : "",
                                   amount == 0 ? "" : TakeBackText(body), StampsBackText(member, c.credit, record, body.stamps));
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
