// The devaluation impact of a price change on every member: the pool metric,
// whole awards, the loss distribution, what each grandfathering option would
// have protected. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_IMPACT_H_
#define LOYALTY_AUDIT_IMPACT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// The price of one reward before and after a change, with what the new
// version declares.
struct Transition {
  std::string reward;
  std::string version_before;
  std::string version_after;
  Points price_before;
  Points price_after;
  Instant announced_at;    // of the new version
  Instant effective_from;  // of the new version
  Grandfathering declared;  // the new version's promises
};

// The change of `reward` from version `before` to version `after` of
// `program`. NotFound for an unknown version or a reward either does not
// offer; InvalidArgument if `after` does not come after `before`.
absl::StatusOr<Transition> TransitionOf(const Program& program, absl::string_view before, absl::string_view after,
                                        absl::string_view reward);

struct ImpactOptions {
  Money value_per_award{0, *Currency::FromCode("EUR")};  // reference value of one award
  Instant as_of;  // when the grandfathering options are evaluated
  // The hypothetical options evaluated besides "none" and "as_declared":
  // earned_before at the new version's effective_from (no spend limit);
  // book_by at `book_by` (unset: effective_from + 3 months);
  // a notice of `notice_days` from announced_at.
  std::optional<Instant> book_by{};
  int64_t notice_days = 90;
};

// Nearest-rank percentiles: p-th = the smallest value with at least p % of
// the values at or below it. All zero for an empty set.
struct Percentiles {
  int64_t p50 = 0;
  int64_t p90 = 0;
  int64_t p99 = 0;
  int64_t max = 0;
};

// What one grandfathering option would keep for members, as of `as_of`:
// book_by and a longer notice keep the old price for every award booked
// before their date (all awards, if as_of is before it; none after);
// earned_before keeps it for points earned before its date (the share of an
// award they cover, as PriceReward prices it); price_lock keeps the price of
// quotes and holds made before the change only (see OpenAtChange).
struct GrandfatheringOutcome {
  std::string option;  // "none", "as_declared", "earned_before", "book_by", "notice_<n>_days"
  std::string facts;   // its dates and what it covers
  int64_t whole_awards = 0;     // sum over members of the awards their balance buys
  int64_t awards_protected = 0;  // whole_awards - those under "none"
  int64_t members_protected = 0;  // members who keep at least one award "none" loses
  Money value_protected{0, *Currency::FromCode("EUR")};  // awards_protected x value_per_award
};

// Quotes and holds of the reward placed before the change and still open at
// it (from member states).
struct OpenAtChange {
  int64_t holds = 0;
  int64_t quotes = 0;
  Points held;    // points the holds reserve
  Points quoted;  // points the quotes state
  int64_t priced_before = 0;  // of them, priced under the old version
  bool price_lock = false;    // the new version keeps those prices
  // What the old-priced ones would cost more at the new price, in all.
  Points repricing;
};

struct DevaluationImpact {
  Transition transition;
  int64_t members = 0;
  Points outstanding;  // sum of the balances
  // Pool metric (the press's): outstanding / price, exact.
  Fraction pool_awards_before;
  Fraction pool_awards_after;
  // (pool before - pool after) x value_per_award: exact in minor units, and
  // rounded half-even to the minor unit.
  Fraction pool_value_lost_minor;
  Money pool_value_lost{0, *Currency::FromCode("EUR")};
  // Whole-award metric: sum over members of floor(balance / price).
  int64_t whole_awards_before = 0;
  int64_t whole_awards_after = 0;
  int64_t whole_awards_lost = 0;
  Money whole_value_lost{0, *Currency::FromCode("EUR")};  // whole_awards_lost x value_per_award
  // Per member. A member is affected if its balance buys fewer whole awards
  // after the change. Distributions are over the affected members.
  int64_t members_affected = 0;
  int64_t members_with_award_before = 0;  // balance >= price before
  Percentiles awards_lost;                // floor(b / before) - floor(b / after)
  // Points short of keeping the awards it bought before:
  // floor(b / before) x after - b (positive exactly when affected).
  Percentiles shortfall;
  Percentiles money_lost_minor;  // awards lost x value_per_award, minor units
  // histogram[k - 1]: members who lost exactly k awards, k = 1 ..
  // kHistogramBuckets - 1; the last bucket counts kHistogramBuckets or more.
  static constexpr int kHistogramBuckets = 10;
  std::vector<int64_t> histogram;
  std::vector<GrandfatheringOutcome> options;  // none, as_declared, earned_before, book_by, notice
  std::optional<OpenAtChange> open_at_change;  // member states only
};

// The impact over plain balances (a synthetic population, or balances as of
// the change): every point counts as earned before the change.
// InvalidArgument naming the field for a price that is not positive
// (`transition.price_before`), a negative balance (`balances[i]`) or a
// negative value_per_award; a price that falls is allowed (nothing is lost).
// OutOfRange if the total or a money amount overflows. One pass over the
// balances with no allocation per member (divisions by the prices are
// multiplications by precomputed reciprocals).
absl::StatusOr<DevaluationImpact> ImpactOfBalances(const Transition& transition, std::span<const int64_t> balances,
                                                   const ImpactOptions& options);

// The impact over member states as of the change (Replay(store, until) up
// to it): balances are the members' available points; earned_before counts
// the lots earned before its date; open holds and quotes are reported.
// Errors as ImpactOfBalances.
absl::StatusOr<DevaluationImpact> ImpactOnMembers(const Transition& transition,
                                                  std::span<const MemberState* const> members,
                                                  const ImpactOptions& options);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_IMPACT_H_
