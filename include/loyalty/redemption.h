// Redemption pricing: what a reward costs a member at an instant under the
// program's history, with the grandfathering a new version declares toward
// the version before it.
//
//   auto price = PriceReward(program, "award:EU-NA:business:round_trip", at, protected_points);
//   // price->amount == 105000 under the 2011 chart, or less where the 2011
//   // version grandfathers miles earned before the change.
//
// Grandfathering (see Grandfathering in program.h):
//   book_by        bookings before book_by pay the previous version's price;
//   earned_before  points from lots earned before earned_before (the caller
//                  passes how many the member can spend) pay the previous
//                  price for the share of the award they cover; the rest of
//                  the award is priced on the new chart, rounded up:
//                    old share: p points of the old price P_old,
//                    new share: ceil((P_old - p) x P_new / P_old) points;
//   price_lock     applies to quotes and holds made before the change; the
//                  engine checks it when a quote or hold is used.
// A grandfathered price is used only where it is lower than the new one.
// A cash + points catalog reward also states the money due (price.cash).
//
// Pure: no clock, no state. Thread-compatible.
#ifndef LOYALTY_REDEMPTION_H_
#define LOYALTY_REDEMPTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "loyalty/program.h"

namespace loyalty {

struct PriceQuote {
  Points amount;      // what the member pays in all
  // How: the version whose price applied (for earned_before, the version
  // declaring it; old_points + new_points == amount), the grandfathering.
  RewardPrice price;
  std::string explanation;
};

// NotFound if the version in force at `at` does not offer `reward`.
// `protected_points`: spendable points in lots earned before the in-force
// version's earned_before date (0 if it declares none).
inline absl::StatusOr<PriceQuote> PriceReward(const Program& program, absl::string_view reward, Instant at,
                                              Points protected_points) {
  const ProgramVersion& version = program.InForceAt(at);
  auto current = version.PriceOf(reward);
  if (!current.ok()) return current.status();
  PriceQuote quote{*current, RewardPrice{std::string(reward), version.id, "", Points(0), Points(0), version.CashOf(reward), "", Points(0)},
                   absl::StrCat(reward, ": ", current->value(), " points under ", version.id)};
  if (quote.price.cash) absl::StrAppend(&quote.explanation, " plus ", quote.price.cash->ToString());
  const ProgramVersion* previous = program.Previous(version);
  if (previous == nullptr) return quote;
  auto old = previous->PriceOf(reward);
  if (!old.ok() || *old >= *current) return quote;
  const Grandfathering& promise = version.grandfathering;
  if (promise.book_by && at < *promise.book_by) {
    quote.amount = *old;
    quote.price.version = previous->id;
    quote.price.grandfathering = "book_by";
    quote.price.cash = previous->CashOf(reward);
    quote.explanation = absl::StrCat(reward, ": ", old->value(), " points under ", previous->id, " (booked before ",
                                     promise.book_by->ToString(), "; ", current->value(), " under ", version.id, ")");
    return quote;
  }
  if (promise.earned_before && (!promise.spend_until || at < *promise.spend_until) && protected_points > Points(0)) {
    quote.price.grandfathering = "earned_before";
    if (protected_points >= *old) {
      quote.amount = *old;
      quote.price.old_points = *old;
      quote.explanation = absl::StrCat(reward, ": ", old->value(), " points under ", previous->id,
                                       ", all from points earned before ", promise.earned_before->ToString());
      return quote;
    }
    // Both products fit in 128 bits: points are below 2^63.
    Int128 uncovered = static_cast<Int128>(old->value()) - protected_points.value();
    Int128 new_points = DivideRounded(uncovered * current->value(), old->value(), Rounding::kUp);
    quote.amount = Points(protected_points.value() + static_cast<int64_t>(new_points));
    quote.price.old_points = protected_points;
    quote.price.new_points = Points(static_cast<int64_t>(new_points));
    quote.explanation = absl::StrCat(
        reward, ": ", protected_points.value(), " points earned before ", promise.earned_before->ToString(),
        " cover ", protected_points.value(), "/", old->value(), " of the award at the ", previous->id, " price; the rest, ",
        static_cast<int64_t>(uncovered), "/", old->value(), " of ", current->value(), " under ", version.id,
        " rounded up, is ", static_cast<int64_t>(new_points), ": ", quote.amount.value(), " points in all");
  }
  return quote;
}

}  // namespace loyalty

#endif  // LOYALTY_REDEMPTION_H_
