// Internal: what every command's decision reads (the program, the members,
// the command's member and time), and the checks and entry builders that
// several commands share. Decide (decide.cc) fills one DecideContext per
// command; the functions in commands.h read it.
//
//   DecideContext context{program, members, id, members(id), at, recorded_at, key, digest, budgets};
//   Entry entry = context.Header(context.id);
//   if (absl::Status s = CheckPositive("amount", amount); !s.ok()) return s;
#ifndef LOYALTY_SRC_DECIDE_DECIDE_CONTEXT_H_
#define LOYALTY_SRC_DECIDE_DECIDE_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ledger/lapse.h"
#include "loyalty/check.h"
#include "loyalty/command.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/tiers.h"

namespace loyalty::internal {

inline constexpr size_t kMaxKey = 128;
inline constexpr size_t kMaxText = 256;
inline constexpr absl::Duration kMaxHoldTtl = absl::Hours(24 * 366);

// One command's decision: plain references, valid for the call to Decide.
struct DecideContext {
  const Program& program;
  MemberLookup members;
  const MemberId& id;          // the command's member
  const MemberState* state;    // its state; nullptr if unknown
  Instant at;                  // the command's business time
  Instant recorded_at;         // the engine's clock
  const std::string& key;      // the idempotency key
  const CommandDigest& digest;
  BudgetLookup budgets;        // every member's use of the budgeted rules

  // The command's member; only for commands past the enrolment check.
  const MemberState& member() const {
    LOYALTY_CHECK(state != nullptr);
    return *state;
  }
  // The version in force at the command's time.
  const ProgramVersion& version() const { return program.InForceAt(at); }
  // An entry for `member_id` with the command's time, key, digest and
  // version, and no body.
  Entry Header(const MemberId& member_id) const;
};

// An entry for `member` at `at`, decided under the version in force then.
Entry Header(const Program& program, const MemberId& member, Instant at, Instant recorded_at,
             const std::string& key, const CommandDigest& digest);

// ------------------------------------------------------------------ checks

// InvalidArgument "field: reason".
absl::Status Invalid(absl::string_view field, absl::string_view reason);
// At most kMaxText bytes, and not empty if `required`.
absl::Status CheckText(absl::string_view field, const std::string& text, bool required);
absl::Status CheckPositive(absl::string_view field, Points amount);
// Each counter named and its amount positive.
absl::Status CheckCounters(const std::vector<CounterDelta>& counters);
// A time-to-live of a hold or quote: positive and at most kMaxHoldTtl.
absl::Status CheckTtl(absl::Duration ttl);
// OutOfRange unless balance + held + `incoming` stays representable.
absl::Status CheckRoom(const MemberState& member, const MemberId& id, Points incoming);
// OutOfRange if adding `counters` would overflow a qualifying counter.
absl::Status CheckCounterRoom(const MemberState& member, const std::vector<CounterDelta>& counters);
// InvalidArgument naming "at" if `at` is before the member's enrolment.
absl::Status CheckEnrolledBy(const MemberState& member, const MemberId& id, Instant at);

// ------------------------------------------------------------------- lots

// Points available to spend at `at`: lots not yet lapsed.
Points Spendable(const MemberState& member, Instant at);

inline bool AnyLot(const Lot&) { return true; }

// The draws that take `amount` from the member's `eligible` lots in
// spending order, or FailedPrecondition if the valid lots do not hold enough.
absl::StatusOr<std::vector<LotDraw>> Draw(const MemberState& member, const MemberId& id, Points amount, Instant at,
                                          absl::FunctionRef<bool(const Lot&)> eligible = AnyLot);

// Points coming back from `returning` draws settle up to `debt` first, in
// the draws' order (soonest-expiring lots first); returns what goes back to
// the lots and sets `*paid`.
std::vector<LotDraw> SettleDebt(const std::vector<LotDraw>& returning, Points debt, Points* paid);

// Released entries (lapsed) for the member's holds that lapsed by `at`, in
// hold order, but hold `except`; their points settle debt first. An expiry
// run journals them, and so does the member's next command, before its own
// entries, so that it decides on the points those holds return.
std::vector<Entry> LapsedHoldReleases(const Program& program, const MemberId& member_id, const MemberState& member,
                                      Instant at, Instant recorded_at, const std::string& key,
                                      const CommandDigest& digest, uint64_t except = 0);

// "; N settle debt", or "" if nothing was paid.
std::string DebtText(Points paid);
// "100 from lot 7, 20 from lot 9/1".
std::string DrawText(const std::vector<LotDraw>& draws);
// The last local day on which points lapsing at `lapses` are still valid.
std::string LastValidDay(const Program& program, Instant lapses);

// ------------------------------------------------------- expiry protection

// Whether a flag of the member, or the tier `status` gives it, protects
// its points from lapsing.

// The lots whose validity changes when protection from expiry begins (they
// stop lapsing) or ends (a fresh term from `at`).
std::vector<LotRenewal> ProtectionRenewals(const ProgramVersion& version, const MemberState& member, bool was_protected,
                                           bool now_protected, Instant at);

// The expiry of a lot earned at `at`: never while the member is protected.
Instant NewLotExpiry(const ProgramVersion& version, const MemberState& member, Instant at);

// ------------------------------------------------------------------- tiers

// The status `member` has after `decision`.
TierStatus StatusAfter(const TierStatus& status, const TierDecision& decision);

// A tier_changed entry for `decision` (or for a subscription change when
// `paid`), with the lots whose protection from expiry it begins or ends.
Entry TierEntry(const Program& program, const MemberState& member, const TierStatus& before,
                const TierDecision& decision, bool paid, Instant at, Entry entry);

// `entry`, followed by the status change `decision` if there is one.
std::vector<Entry> WithTierChange(const Program& program, const MemberState& member,
                                  const std::optional<TierDecision>& decision, Instant at, Entry&& entry);

// Counter changes as Decide is about to record them.
std::vector<PendingCounter> Pending(const std::vector<CounterDelta>& counters, int32_t day, bool subtract);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_DECIDE_DECIDE_CONTEXT_H_
