// Partner settlement: what each coalition partner owes or is owed for the
// points its members earned and spent. Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_SETTLEMENT_H_
#define LOYALTY_AUDIT_SETTLEMENT_H_

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

// What one coalition partner and the operator owe each other for a period.
// Points are attributed by the partner recorded in the journal entry (see
// Entry::partner); a reversal counts against the partner of the entry it
// reverses, in the period the reversal is dated in.
struct PartnerSettlement {
  std::string partner;
  Points issued;              // credited at the partner, less earnings of its credits reversed (returns)
  Points redeemed;            // debited and holds captured at it, less those debits reversed
  Money owed_to_operator{0, *Currency::FromCode("EUR")};  // issued x funding_per_point
  Money owed_to_partner{0, *Currency::FromCode("EUR")};   // redeemed x reimbursement_per_point
  Money net{0, *Currency::FromCode("EUR")};  // owed_to_operator - owed_to_partner (negative: the operator pays)
};

// Settles [from, to) (business time) from the journal alone, for `partner`
// or, if empty, for every partner of every version (ascending id). Each
// point is valued at the rates of the version that decided the entry that
// issued or redeemed it (for a reversal: the reversed entry), so a rate
// change applies to points issued after it. Each money amount is the exact
// sum of points x rate over the period, rounded once, half-even to the minor
// unit of the program's currency (EUR 0.465 -> 0.46, 0.475 -> 0.48); net is
// the difference of the two rounded amounts. Errors: InvalidArgument if
// from > to; NotFound for a partner no version defines; FailedPrecondition
// naming the entry if it names a partner its version does not define;
// OutOfRange on overflow; a store's read error as is; DataLoss naming the
// entry if an entry does not fit the journal before it. Thread-safe as the
// store is.
absl::StatusOr<std::vector<PartnerSettlement>> SettlePartners(const Store& store, const Program& program,
                                                               Instant from, Instant to,
                                                               absl::string_view partner = "");

// The settlement of a sharded program: the entries of every journal of
// `shards` (its logical shards, in any order) tallied together, each
// amount rounded once, so that it equals SettlePartners over one journal
// of the same commands. Errors as SettlePartners', prefixed "shard N: "
// (N: the place in `shards`) where a journal's.
absl::StatusOr<std::vector<PartnerSettlement>> SettlePartnersShards(std::span<const Store* const> shards,
                                                                     const Program& program, Instant from, Instant to,
                                                                     absl::string_view partner = "");

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_SETTLEMENT_H_
