// Accrual: what one activity earns under one program version, and why.
//
// EvaluateAccrual is a pure function of the version, the activity and what
// the caller knows about the member (tier, first activity, how much each rule
// already granted). It reads no clock and no store, so live processing, replay
// and re-rating under another version all call the same code.
//
//   RuleUsage NoUsage(absl::string_view) { return {}; }
//   AccrualContext context{at, "senator", /*first_activity=*/false, NoUsage};
//   absl::StatusOr<AccrualResult> result = EvaluateAccrual(version, activity, context);
//   // result->redeemable: into version.redeemable_balance
//   // result->counters:   qualifying counters (status miles)
//   // result->lines:      one explanation per rule that counted
//
// How rules are evaluated:
//   * In priority order: lower `priority` first, then the order of the rules
//     in the version. A multiplier sees only rules evaluated before it.
//   * A rule applies when every set condition holds (AccrualCondition). For a
//     purchase, a rule also needs at least one eligible line: a line is
//     eligible if it matches every non-empty include list (include_tags: any
//     of its tags) and no exclude list; the eligible amount is the sum of
//     quantity x unit_price over eligible lines. For a flight the eligible
//     amount is the ticket price, for a custom activity its `amount` (a rule
//     with min_eligible_amount does not apply without one). Include lists
//     never match a flight or custom activity; exclude lists are ignored
//     there. Purchase-only conditions (partners, channels, stores) and
//     flight-only ones (cabins, booking classes, airports) fail for other
//     activities; custom_types fails for non-custom ones. Dates and days of
//     the week are the local date of context.at in version.zone.
//   * Effects: kPerMoney = eligible amount (major units) x rate;
//     kPerDistance = distance x booking_class_rates[class], at least
//     `minimum` (no class entry: the rule does not apply); kPerTicketPrice =
//     ticket price x tier_rates[tier] (else `rate`); kFixed = `fixed`;
//     kMultiplier = rate x the granted points of the base rules that counted
//     before it (none counted: it does not apply). For a purchase, a
//     multiplier with line filters multiplies only the part of its base
//     attributed to its own eligible lines ("10x on coffee" = rate 9 over the
//     base rule, include_categories {"coffee"}); kPerUnit = `per_unit` x the
//     quantities of the eligible purchase lines (not a purchase, or no
//     eligible unit: it does not apply), attributed to the lines by their
//     units. Every product is exact and rounded once, as the rule says.
//   * Caps, in this order: per_activity, per_member_day, per_member_month,
//     per_campaign, budget (each: granted = min(granted, cap - used), never
//     negative; the budget's use is every member's); max_uses: a rule
//     already used max_uses times does not apply. A rule whose budget is
//     used up still counts, with 0 granted, and its line says so.
//   * Stacking: of the rules that apply with the same non-empty
//     exclusive_group, only the one with the highest granted amount counts
//     (ties: the earlier in priority order); the others leave no line and add
//     nothing. A multiplier evaluated between two members of a group sees the
//     best member evaluated so far.
//
// Thread safety: a pure function; call it concurrently on shared versions.
#ifndef LOYALTY_ACCRUAL_H_
#define LOYALTY_ACCRUAL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// A member's use of one rule so far, for caps: points it granted on the
// activity's local day, in its local calendar month, in the rule's campaign
// window (all time if the rule has no window), and how many times it applied;
// and what it granted to every member together, for its budget.
struct RuleUsage {
  Points day;
  Points month;
  Points campaign;
  int64_t uses = 0;
  Points budget{};
};

// A usage callback for members who never used any rule (and for rules
// without caps): every amount zero.
inline RuleUsage NoRuleUsage(absl::string_view /*rule_id*/) { return {}; }

// What the caller knows about the member at the activity.
//
// `usage` is called at most once per rule, only for rules whose conditions
// hold and that have a day, month or campaign cap, a budget or max_uses. It is a
// non-owning reference: the callable must outlive the context (bind a named
// lambda or a function such as NoRuleUsage, never a temporary lambda).
struct AccrualContext {
  Instant at;                 // when the activity happened
  std::string tier;           // the member's tier at `at`, "" if none
  bool first_activity = false;
  absl::FunctionRef<RuleUsage(absl::string_view rule_id)> usage;
  std::optional<Rate> tier_bonus{};  // the earn bonus of the member's tier, if any
};

// A cap that lowered a line's points (AccrualCap, checked in this order).
enum class AccrualCapKind : uint8_t {
  kNone,
  kPerActivity,
  kPerMemberDay,
  kPerMemberMonth,
  kPerCampaign,
  kBudget,
};

// "per_activity", "per_member_day", "per_member_month", "per_campaign",
// "budget"; "none".
absl::string_view AccrualCapName(AccrualCapKind kind);

// One cap that bit: it lowered the points from `before` to `after`, the room
// left in it (limit - used, never negative).
struct AccrualCapBite {
  AccrualCapKind kind = AccrualCapKind::kNone;
  Points limit;   // the cap
  Points used;    // what the member (budget: every member) already used of it; 0 for per_activity
  Points before;  // the points before this cap: desired, or the previous cap's after
  Points after;
};

// The numbers that explain one line; FormulaText renders them. No heap
// allocation unless a booking class or tier name is longer than the
// string's inline buffer.
struct AccrualExplanation {
  AccrualEffect::Kind kind = AccrualEffect::Kind::kFixed;
  // The base as given, by kind: kPerMoney the eligible amount, kPerTicketPrice
  // the ticket price (both in the version's currency); kPerDistance the
  // distance; kMultiplier the granted points of its base rules (on a
  // purchase with line filters, of its eligible lines only). Unused: empty or 0.
  std::optional<Money> money;
  int64_t distance_miles = 0;
  int64_t units = 0;  // kPerUnit: the units of the eligible lines (points per unit: `product` / `units`)
  Points base_points;
  std::optional<Rate> rate;  // the rate used; nullopt for kFixed
  // The booking class (kPerDistance) or member tier (kPerTicketPrice) whose
  // rate applied; nullopt when the rule's own `rate` applied.
  std::optional<std::string> rate_key;
  Rounding rounding = Rounding::kDown;  // the rule's rounding
  bool exact = true;                    // the product was whole: no rounding was needed
  Points product;                       // the (rounded) product; kFixed: the fixed points
  std::optional<Points> minimum;        // kPerDistance: the minimum, when it raised the product
  // The caps that bit, in the order they were applied: caps[0, cap_count)
  // (at most one of each kind); the rest are kNone.
  std::array<AccrualCapBite, 5> caps;
  int cap_count = 0;
};

// One explanation line per rule that applied and counted.
struct AccrualLine {
  std::string rule_id;
  std::string balance;   // the version's redeemable balance or a counter
  Points desired;        // before caps: explanation.minimum if set, else explanation.product
  Points granted;        // after caps
  AccrualExplanation explanation;
};

// The line's formula as text, e.g. "floor(25.99 EUR x 0.5) = 12",
// "5,000 mi x 150 % (J) = 7,500", "floor(150 mi x 25 % (K)) = 37 < minimum
// 125", "fixed 500", "5 x 9 = 45", "floor(1234.56 EUR x 6 (senator)) = 7,407",
// and for each cap that bit "; cap per_member_day 100 bites: 120 -> 100"
// (with "(70 used)" after the cap when the member already used some of it),
// "; cap budget 10,000 (9,960 used) bites: 120 -> 40", and ", budget used
// up" after a budget that left nothing.
// The rounding function (floor, ceil, round_half_up, round_half_even) is
// shown only when the product was not a whole number. Thread-safe.
std::string FormulaText(const AccrualLine& line);

// What an activity earns.
struct AccrualResult {
  std::string version_id;
  std::vector<AccrualLine> lines;        // in evaluation (priority) order
  Points redeemable;                     // total into version.redeemable_balance
  std::vector<CounterDelta> counters;    // totals per qualifying counter, sorted by name, zero totals omitted
  // Purchases only: redeemable points attributed to each purchase line (same
  // size as the lines), so that a return of some lines reverses exactly what
  // they earned; `unattributed` is what belongs to no single line (fixed
  // bonuses, distance and ticket-price effects). For other activities
  // per_line is empty and unattributed == redeemable. Always:
  // sum(per_line) + unattributed == redeemable.
  //
  // A per-money rule's points are split over its eligible lines in
  // proportion to their eligible amounts by the largest-remainder method
  // (shares sum exactly to the rule's granted points; equal remainders go
  // to the lower line index); a multiplier's points are split the same way
  // in proportion to its base's attribution (the base's unattributed part
  // being one more share, after the lines).
  std::vector<Points> per_line;
  Points unattributed;
};

// Checks what EvaluateAccrual needs of a version's rules, so that it need
// not check them on every call. For each rule, in version order: its
// effect balance is the redeemable balance ("" means it) or one of
// version.counters; when.min_eligible_amount, if set, is in
// version.currency; a kFixed effect's `fixed` and a kPerDistance effect's
// `minimum` are not negative. Program::FromVersions checks every version
// with it, so every version of a Program has passed.
//
// Errors: InvalidArgument for the first rule that fails, naming the rule
// and the field as accrual[i] (rule "id").field, e.g.
//   accrual[2] (rule "status").effect.balance: "status" is neither the
//     redeemable balance "points" nor a counter of version v1
//   accrual[0] (rule "big").when.min_eligible_amount: USD is not the program
//     currency EUR
//   accrual[1] (rule "bonus").effect.fixed: -5 is negative
//   accrual[3] (rule "miles").effect.minimum: -125 is negative
absl::Status CheckAccrualRules(const ProgramVersion& version);

// Evaluates every accrual rule of `version` against `activity`.
//
// Precondition: `version` passed CheckAccrualRules, as every version of a
// Program has. On a version that did not, the result may be wrong but the
// call is still safe: every rule's balance is resolved in priority order,
// and an unknown one is the CheckAccrualRules error; a negative fixed
// amount or minimum is the CheckAccrualRules error once the rule's effect
// is computed (its conditions hold), never clamped; a min_eligible_amount
// in another currency is compared by its minor units.
//
// Errors:
//   InvalidArgument naming the field, for bad input: a purchase with no lines
//     ("lines: a purchase needs at least one line"), a quantity below 1
//     ("lines[0].quantity"), a negative unit price, ticket price or custom
//     amount, money in another currency than version.currency
//     ("lines[2].unit_price: USD is not the program currency EUR"), a
//     negative distance ("distance_miles");
//   InvalidArgument naming the rule, for a version that did not pass
//     CheckAccrualRules (see the precondition);
//   OutOfRange when a line amount, a sum or a product does not fit in 64 bits.
absl::StatusOr<AccrualResult> EvaluateAccrual(const ProgramVersion& version, const Activity& activity,
                                              const AccrualContext& context);

// The purchase lines of `activity` that condition `when` makes eligible, in
// order, as an accrual rule's condition would: empty when `activity` is not
// a purchase, when a condition that does not depend on the lines fails, or
// when the eligible lines' amount is below `when.min_eligible_amount`. (What
// stamp cards count.) Precondition: `activity` passed EvaluateAccrual under
// `version`, so its lines' amounts fit.
std::vector<uint32_t> EligibleLines(const ProgramVersion& version, const AccrualCondition& when,
                                    const Activity& activity, const AccrualContext& context);

}  // namespace loyalty

#endif  // LOYALTY_ACCRUAL_H_
