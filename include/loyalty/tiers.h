// Status tiers: the pure evaluators behind qualification, validity, the
// period-close review and the "what do I still need" query.
//
// Qualifying counters (status miles, segments, qualifying spend) are kept
// per local day in MemberState::counter_days; a qualification period
// (calendar year, membership year, rolling 12 months) sums them. A tier is
// earned when any one of its requirements holds over its periods; the
// ladder's validity and downgrade rules say how long it lasts and what
// follows it. Decide calls these functions (upgrades on accrual, the
// review of ClosePeriod, revocation on reversal); nothing here changes
// state.
//
//   const TierLadder& ladder = program.InForceAt(at).tiers;
//   Period year = QualificationPeriodOf(ladder, enrolled, day);        // 2010-01-01..2010-12-31
//   TierQualifying q = QualifyingTier(program, member, enrolled, year, at, {});
//   // q.tier == "senator", q.explanation == "senator: status_miles 104,000 >= 100,000 over ..."
//   TierStanding standing = StandingOf(program, member, at);          // tier, validity, gaps
//
// Thread safety: pure functions over values.
#ifndef LOYALTY_TIERS_H_
#define LOYALTY_TIERS_H_

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"

namespace loyalty {

// A change of a qualifying counter that Decide is about to record: `amount`
// (negative for a reversal) on local day `day`.
struct PendingCounter {
  std::string counter;
  int32_t day = 0;  // Date::days_since_epoch
  int64_t amount = 0;
};

// The qualification period of `ladder` that contains local date `date`,
// for a member who enrolled on local date `enrolled`.
Period QualificationPeriodOf(const TierLadder& ladder, Date enrolled, Date date);
// The period just before `period`.
Period PreviousPeriod(const TierLadder& ladder, Date enrolled, const Period& period);

// The member's `counter` summed over the local days of `span`, plus the
// pending changes that fall in it. Saturates at INT64_MAX.
int64_t CounterTotal(const MemberState& member, absl::string_view counter, const Period& span,
                     std::span<const PendingCounter> pending);

// The ladder whose thresholds decide a period that starts on local date
// `period_first`, evaluated at `at`: the one of the version in force when
// the period started, unless the version in force at `at` applies its
// thresholds immediately (or the older version had no ladder).
const TierLadder& ThresholdsFor(const Program& program, Date period_first, Instant at);

// The best tier earned on counters over periods ending with `last_period`,
// or an empty tier. `span` covers the periods its qualification summed.
struct TierQualifying {
  std::string tier;  // "" for none
  Period span;
  std::string explanation;  // "senator: status_miles 104,000 >= 100,000 over 2010-01-01..2010-12-31"
};
// Tiers that are invitation-only or paid are never earned on counters.
TierQualifying QualifyingTier(const Program& program, const MemberState& member, Date enrolled,
                              const Period& last_period, Instant at, std::span<const PendingCounter> pending);
// The best tier the member holds for life on all-time counters, under the
// version in force at `at`; empty if none.
TierQualifying LifetimeTier(const Program& program, const MemberState& member, Instant at,
                            std::span<const PendingCounter> pending);

// The instant a status earned over `period` (on local day `earned_on`)
// stops being valid: the start of the day after its last valid day.
Instant StatusValidUntil(const TierLadder& ladder, const TimeZone& zone, const Period& period, Date earned_on);


// What a member has and still needs toward one tier over one period: per
// requirement (any one suffices), per counter.
struct TierGap {
  std::string counter;
  Points have;
  Points need;
  Points missing;  // max(0, need - have)
};
struct TierTarget {
  std::string tier;
  Period span;  // the days whose counters count toward it
  std::vector<std::vector<TierGap>> any_of;
  bool met = false;  // some requirement is met already
};
struct TierStanding {
  std::string tier;  // the member's tier ("" for none)
  std::string name;
  Instant valid_until = Instant::Max();  // of the status tier
  std::string reason;                     // of the last status change
  std::string lifetime_tier;
  std::string paid_tier;
  Instant paid_until = Instant::Max();
  TierBenefits benefits;                  // of `tier`
  std::optional<TierTarget> keep;         // to earn `tier` again in the current period
  std::optional<TierTarget> next;         // to reach the next tier up in the current period
};
// The member's standing at `at` under the version in force then.
TierStanding StandingOf(const Program& program, const MemberState& member, Instant at);

// The status change that a review as of `as_of` decides for a member, if
// any: re-qualification on the periods closed by `as_of`, the downgrade
// policy for a status whose validity ended, the lifetime floor.
struct TierDecision {
  std::string tier;
  Instant valid_until = Instant::Max();
  std::string reason;
  std::string lifetime_tier;
  Period span{};  // days it was earned over; both 0 if not on counters
  bool on_counters = false;
  std::string explanation;
};
std::optional<TierDecision> ReviewStatus(const Program& program, const MemberState& member, Instant as_of);

// The status change when counters rise inside the current period (an
// accrual or a credit with counters at `at`): an upgrade to the best tier
// they now reach, or a higher lifetime floor. nullopt if nothing changes.
std::optional<TierDecision> UpgradeOnCounters(const Program& program, const MemberState& member, Instant at,
                                              std::span<const PendingCounter> pending);

// The status change when a reversal lowers counters: if the member's status
// was earned over days the reversal touches and the counters no longer
// reach it, "revoked" (to the best tier they still support, never below the
// lifetime floor) or "kept", as the ladder says. nullopt otherwise.
std::optional<TierDecision> ReviewAfterReversal(const Program& program, const MemberState& member, Instant at,
                                                std::span<const PendingCounter> pending);

}  // namespace loyalty

#endif  // LOYALTY_TIERS_H_
