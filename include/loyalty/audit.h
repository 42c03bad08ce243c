// The audit, one header per report (loyalty/audit/), all included here:
// what a rule change did to every member, whether it was announced
// fairly, and whether the journal and the state built from it can be
// trusted. Everything here reads the journal (a Store), program versions and
// member states, and reaches its numbers through the same Apply code the
// engine runs; nothing here depends on the engine itself.
//
//   * Replay          rebuild every member's state from a journal, verifying
//                     its hash chain; the digest equals Engine::StateDigest.
//   * Rerate          decide the recorded commands again under another
//                     program history; per-member and per-command differences.
//   * VerifyJournal   "ok, N entries, head <hash>" or the first bad entry and
//                     what is wrong with it (modified, missing, reordered,
//                     truncated, unreadable, mislinked, rolled back,
//                     impossible; or a key that does not fit).
//   * StatementOf     a member's entries between two dates with the running
//                     balance.
//   * RollForward     liability for a period: opening, issued, redeemed,
//                     expired, reversed, adjusted, closing, valued; breakage
//                     by earning cohort.
//   * RecogniseRevenue
//                     revenue accounting (IFRS 15 / ASC 606): the contract
//                     liability by cohort, allocated at issuance, recognised
//                     on redemption with breakage and revised estimates;
//                     general-ledger lines.
//   * CheckNotice     notice days per version change against a minimum,
//                     retroactive dates, devaluations without grandfathering,
//                     shortened validity.
//   * ImpactOfBalances / ImpactOnMembers
//                     the devaluation impact of a price change on every
//                     member: the pool metric and the whole-award metric side
//                     by side, the loss distribution, what each
//                     grandfathering option would have protected.
//   * ReconcileTransfers
//                     the transfers between the shards of a sharded program,
//                     paired over every shard's journal: sent = received +
//                     returned + in flight, nothing received twice.
//   * SyntheticBalances
//                     a deterministic log-normal population for audits at
//                     airline scale (20 million members).
//
// Example: the Miles & More change of January 2011.
//
//   auto program = LoadProgramFile("examples/programs/miles-and-more-2011.json");
//   auto change = TransitionOf(*program, "mm-2010", "mm-2011", "award:EU-NA:business:round_trip");
//   auto balances = SyntheticBalances({.members = 20'000'000, .median = Points(2000),
//                                      .sigma = *Rate::Parse("1.8"), .total = Points(198'000'000'000)});
//   ImpactOptions options{.value_per_award = *Money::Parse("3000", *Currency::FromCode("EUR")),
//                         .as_of = change->effective_from};
//   auto impact = ImpactOfBalances(*change, *balances, options);
//   // impact->pool_awards_before == 2,200,000; pool_awards_after ~ 1,885,714.29;
//   // impact->pool_value_lost == 942,857,142.86 EUR; whole_awards_* count
//   // floor(balance / price) member by member.
//
//   auto notice = CheckNotice(*program, {});   // mm-2011: 33 days < 90: a finding
//
// Arithmetic: points and money are int64 with __int128 intermediates, every
// division rounds as stated, overflow is OutOfRange. The one use of floating
// point is inside SyntheticBalances (see there). Thread safety: functions are
// pure given their inputs; a Store may be shared as store.h allows.
#ifndef LOYALTY_AUDIT_H_
#define LOYALTY_AUDIT_H_

#include "loyalty/audit/replay.h"
#include "loyalty/audit/rerate.h"
#include "loyalty/audit/verify.h"
#include "loyalty/audit/statement.h"
#include "loyalty/audit/liability.h"
#include "loyalty/audit/settlement.h"
#include "loyalty/audit/revenue.h"
#include "loyalty/audit/notice.h"
#include "loyalty/audit/impact.h"
#include "loyalty/audit/synthetic.h"
#include "loyalty/audit/transfers.h"

#endif  // LOYALTY_AUDIT_H_
