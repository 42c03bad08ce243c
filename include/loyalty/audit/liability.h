// The liability roll-forward of a period and breakage by earning cohort. Part
// of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_LIABILITY_H_
#define LOYALTY_AUDIT_LIABILITY_H_

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
#include "loyalty/audit/statement.h"

namespace loyalty {

struct LiabilityOptions {
  Instant from;  // the period is [from, to), by business time
  Instant to;
  Rate value_per_point = *Rate::Parse("0.01");  // major units of `currency` per point
  Currency currency = *Currency::FromCode("EUR");
  Rounding rounding = Rounding::kHalfEven;  // each line's value to the minor unit
  // The key of a keyed journal, to verify its chain with (store.h).
  std::optional<std::string> journal_key{};
};

// Points and their value (points x value_per_point, rounded as the options say).
struct ValuedPoints {
  Points points;
  Money value{0, *Currency::FromCode("EUR")};
};

// One earning cohort (lots earned in a calendar year, program zone): what
// was spent from and what lapsed from its lots, through the period's end.
struct CohortBreakage {
  int year = 0;
  Points redeemed;  // debits and captured holds, less debits reversed
  Points expired;
  // expired / (expired + redeemed); 0/1 if neither.
  Fraction breakage;
};

// Outstanding = available + held - debt, over every member: what the program
// owes in points. closing = opening + issued - redeemed - expired
// - earn_reversed + redemption_reversed + adjusted + transferred, exactly.
struct LiabilityRollForward {
  Instant from;
  Instant to;
  ValuedPoints opening;
  ValuedPoints issued;               // credited (accruals and raw credits)
  ValuedPoints redeemed;             // debited and holds captured
  ValuedPoints expired;
  ValuedPoints earn_reversed;        // earnings taken back (returns)
  ValuedPoints redemption_reversed;  // redemptions undone, points given back
  ValuedPoints adjusted;             // manual corrections, net
  ValuedPoints transferred;          // net over members (0 unless a side is outside the journal)
  ValuedPoints closing;
  MemberBalance closing_parts;  // summed over members: available, held, debt
  std::vector<CohortBreakage> breakage;  // by earning year, ascending
};

// Reads the journal (verifying its chain) and rolls the liability forward
// over [from, to): opening from every entry dated before `from`, movements
// of the entries dated in the period, closing, each valued at the options'
// value per point (each line rounded on its own, so rounded values may not
// add up to the cent; the points do, exactly). Breakage uses every entry
// dated before `to`, by the year the drawn lots were earned in (program
// zone `zone`). InvalidArgument if from > to; DataLoss if the chain does not
// verify or an entry does not fit the journal before it; OutOfRange on
// overflow.
absl::StatusOr<LiabilityRollForward> RollForward(const Store& store, const TimeZone& zone,
                                                 const LiabilityOptions& options);

// The roll-forward of a sharded program: each journal of `shards` (its
// logical shards, in any order) verified and read as RollForward reads
// one, the movements summed, then each line valued once, so that it equals
// RollForward over one journal of the same commands. Points in transfers
// between shards that no shard has received or returned yet count as
// transferred out (ReconcileTransfers lists them). Errors as RollForward's,
// prefixed "shard N: " (N: the place in `shards`).
absl::StatusOr<LiabilityRollForward> RollForwardShards(std::span<const Store* const> shards, const TimeZone& zone,
                                                       const LiabilityOptions& options);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_LIABILITY_H_
