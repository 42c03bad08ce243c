// Commands and Decide: what a caller asks for, and the pure function that
// turns a command into journal entries (or an error) under a program, given
// the current state of the members involved.
//
//   Credit credit{.idempotency_key = "pos-17/4711", .member = id,
//                 .amount = Points(500), .source = "basket 4711"};
//   auto decided = Decide(program, lookup, Command(credit), now);
//   // decided->front() is a "credited" entry; nothing is stored yet.
//
// Decide reads no clock and does no I/O, so the engine and the audit's
// re-rating run the same code. Errors (absl::Status, canonical codes):
//   InvalidArgument     a malformed field, named ("amount: must be positive")
//   NotFound            an unknown member, hold, credit or debit
//   AlreadyExists       enrolling a member twice
//   FailedPrecondition  insufficient points, a lapsed hold or quote, a debit
//                       already reversed, a line already returned, a price
//                       that changed without price_lock
//   OutOfRange          an amount that would overflow a balance
#ifndef LOYALTY_COMMAND_H_
#define LOYALTY_COMMAND_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty {

// Every mutating command carries an idempotency key (1 to 128 bytes) chosen
// by the caller; `at` is when it happened (the engine's clock if unset).
struct Enroll {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
};

// Credit raw points with their source; the lot expires as the program says
// unless `expires_at` is given. `counters` go to qualifying counters only.
struct Credit {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points amount;
  std::string source{};
  std::optional<Instant> expires_at{};
  std::vector<CounterDelta> counters{};
  std::string partner{};  // the coalition partner that issues it; "" for none
};

// Spend raw points now, soonest-expiring lots first.
struct Redeem {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points amount;
  std::string reason{};
  std::string partner{};  // the coalition partner where they are spent; "" for none
};

// Reserve points for `ttl`; the receipt's seq is the hold id.
struct PlaceHold {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points amount;
  absl::Duration ttl;
  std::string reason{};
};

struct CaptureHold {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t hold = 0;
};

struct ReleaseHold {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t hold = 0;
};

// Take back `amount` of credit `credit` (the seq of a credited entry), and
// subtract `counters` from the qualifying counters.
struct ReverseEarn {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t credit = 0;
  Points amount;
  std::vector<CounterDelta> counters{};
};

// Undo debit `debit` (the seq of a debited or hold_captured entry).
struct ReverseDebit {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t debit = 0;
};

// A manual correction, positive or negative, with a reason and an actor.
struct Adjust {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points delta;
  std::string reason{};
  std::string actor{};
};

// Move points from `member` to `to`; the lots keep their dates.
struct Transfer {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  MemberId to;
  Points amount;
};

// Earn on an activity under the accrual rules of the version in force at
// `at`. The receipt's credited entry explains every rule that applied.
struct Accrue {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Activity activity;
};

// Return purchase lines of accrual `credit`, whole or some of their units:
// reverses exactly the points those units earned when accrued (never
// recomputed), the activity's unattributed points and qualifying counters
// with its last unit. A line's points are taken back in proportion to its
// units returned so far, rounded down (UnitsShare in ledger.h), so the
// last unit takes what is left and every unit returned, in any steps,
// takes back exactly what the line earned. A line's units are returned
// once: the refusal names the line and the units left.
struct ReturnLines {
  static constexpr int64_t kWholeLine = 0;  // a quantity: every unit of the line not yet returned

  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t credit = 0;
  std::vector<uint32_t> lines;
  // Empty (every line whole), or one per line: the units of it to return,
  // at least 1, or kWholeLine.
  std::vector<int64_t> quantities{};
};

// Price a reward for `ttl`; reserves nothing. The receipt's seq is the
// quote id.
struct QuoteReward {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string reward;
  absl::Duration ttl;
};

// Redeem a reward now, at a quote's price if `quote` is set.
struct RedeemReward {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string reward;
  uint64_t quote = 0;
};

// Hold the points for a reward for `ttl` (an award booking awaiting
// ticketing), at a quote's price if `quote` is set; capture or release it
// with CaptureHold / ReleaseHold.
struct HoldReward {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string reward;
  uint64_t quote = 0;
  absl::Duration ttl;
};

// Pay at the till with `points`, worth the version's value per point
// (rounded down to the currency's minor unit); the receipt's debited entry
// carries the money value. Reversible with ReverseDebit. `partner` names
// the coalition partner whose till it is ("" for none).
struct PayWithPointsAtTill {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points points;
  std::string partner{};
};

// Set or clear a member flag (a co-brand card). Setting a flag that the
// version lists in protected_by_flags makes the member's lots never lapse;
// clearing the last such flag gives them a fresh term from `at`.
struct SetMemberFlag {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string flag;
  bool on = true;
};

// End a membership: nothing more is earned, and the points stay
// redeemable for the version's closure grace period.
struct CloseMembership {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
};

// Grant a status tier by hand (an invitation-only tier, a goodwill
// upgrade) with a reason and the person who granted it, until
// `valid_until`, or for the validity a qualification today would give.
struct GrantTier {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string tier;
  std::optional<Instant> valid_until{};
  std::string reason;
  std::string actor;
};

// Subscribe to a paid tier until `paid_until`; renewing is subscribing
// again with a later date. The member holds the higher of this and the
// status earned. The tier must be one the ladder marks as paid.
struct SubscribeTier {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  std::string tier;
  Instant paid_until;
};

// End a paid tier now (cancellation); its benefits end with it.
struct CancelTierSubscription {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
};

// A transfer to a member of another shard's journal (docs/scaling.md) is
// three commands, which ShardedEngine runs for a Transfer between shards:
//   1. SendTransfer on the sender's shard: the points leave `member` (in
//      spending order; the entry lists the lots' dates) and the transfer
//      is pending on the sender;
//   2. ReceiveTransfer on the receiver's shard, under the same key, with
//      the lots the first entry sent: they arrive with their dates, after
//      settling the receiver's debt;
//   3. SettleTransfer on the sender's shard: delivered if the second
//      succeeded; returned, the lots coming back to the sender, if the
//      receiver's shard refused it.
// No point is created or lost while a transfer is pending: the audit over
// the shards counts it in flight (ReconcileTransfers, loyalty/audit).
// The longest key of a SendTransfer: it leaves room for the settlement's
// key, which ShardedEngine makes by appending "/settled".
inline constexpr size_t kMaxSendTransferKey = 120;

struct SendTransfer {
  std::string idempotency_key;  // at most kMaxSendTransferKey bytes
  MemberId member;
  std::optional<Instant> at{};
  MemberId to;
  Points amount;
};
struct ReceiveTransfer {
  std::string idempotency_key;  // the SendTransfer's
  MemberId member;              // the receiver
  std::optional<Instant> at{};
  MemberId from;
  Points amount;
  std::vector<TransferredLot> lots;  // as the sending entry lists them
};
struct SettleTransfer {
  std::string idempotency_key;
  MemberId member;  // the sender
  std::optional<Instant> at{};
  uint64_t transfer = 0;  // the seq of the sending entry
  bool returned = false;
  std::string reason{};  // why the receiver's shard refused it, if returned
};

// Redeem a stamp card's voucher at the till: its reward, once, before it
// lapses. The voucher is named by the accrual that issued it (the receipt's
// seq) and its number among that accrual's vouchers.
struct RedeemVoucher {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  VoucherId voucher;
};

// Buy `points` for money at the price of the version in force
// (ProgramVersion::point_sales): at least its minimum, a multiple of its
// step, within the member's yearly limit. The price is recorded on the
// credit (entries::Credited::price); `price`, if set, is what the member
// was shown, and the purchase is refused if the version's price differs.
struct PurchasePoints {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  Points points;
  std::optional<Money> price{};
};

// Refund the unused points of bought points `purchase` (the seq of the
// PurchasePoints receipt): every point of its lot not yet spent, expired
// or reversed is taken back, and their share of the price paid back
// (RefundOf), recorded on the reversal (entries::EarnReversed::refund).
struct RefundPoints {
  std::string idempotency_key;
  MemberId member;
  std::optional<Instant> at{};
  uint64_t purchase = 0;
};

using Command = std::variant<Enroll, Credit, Redeem, PlaceHold, CaptureHold, ReleaseHold, ReverseEarn,
                             ReverseDebit, Adjust, Transfer, Accrue, ReturnLines, QuoteReward, RedeemReward,
                             HoldReward, PayWithPointsAtTill, SetMemberFlag, CloseMembership, GrantTier,
                             SubscribeTier, CancelTierSubscription, SendTransfer, ReceiveTransfer,
                             SettleTransfer, RedeemVoucher, PurchasePoints, RefundPoints>;

// A revision of the expected redemption rate that revenue accounting
// applies (loyalty/audit/revenue.h), journaled so that the audit shows who
// changed the estimate, when, and what it did to revenue.
struct EstimateRevision {
  std::string idempotency_key;
  Instant effective_from;  // business time from which the new estimate applies
  Rate expected_redemption_rate = *Rate::Parse("1");  // a share in (0, 1]
  int cohort = 0;      // the calendar year the points were earned in (program zone); 0: every cohort
  std::string actor;   // who revised it: 1 to 256 bytes
  std::string reason{};  // at most 4096 bytes
};

// The member a command is for, and the other member a transfer touches.
const MemberId& MemberOf(const Command& command);
const std::string& IdempotencyKeyOf(const Command& command);
std::optional<Instant> AtOf(const Command& command);

// A run over every member that the engine journals: Engine::RunExpiry
// (kExpiry) and Engine::ClosePeriod (kClosePeriod) as of `as_of`.
struct PeriodRun {
  enum class Kind : uint8_t { kExpiry = 0, kClosePeriod = 1 };
  Kind kind = Kind::kExpiry;
  std::string idempotency_key;
  Instant as_of;
};

// What the journal records of the command that wrote an entry.
using RecordedCommand = std::variant<Command, PeriodRun>;

// The canonical bytes of the command as given (an unset `at` stays unset),
// without its idempotency key: what the first entry a command writes
// records in Entry::command, so that re-rating can run it again.
std::string RecordOf(const Command& command);
std::string RecordOf(const PeriodRun& run);

// A digest of RecordOf(command), so that a retry with the same key and the
// same payload is recognised as such.
CommandDigest DigestOf(const Command& command);

// The command recorded in `entry` (the first entry its command wrote), with
// the entry's idempotency key. NotFound if the entry records none (not the
// first of its command, or written before commands were recorded);
// DataLoss naming the entry if the record is malformed or its digest is not
// the entry's command_digest.
absl::StatusOr<RecordedCommand> RecordedCommandOf(const Entry& entry);

// The state of a member, or nullptr if the member is unknown.
using MemberLookup = absl::FunctionRef<const MemberState*(const MemberId&)>;

// What accrual rule `rule_id` granted so far to every member together (the
// sum of their RuleUse::total), for the rule's budget (AccrualCap::budget).
using BudgetLookup = absl::FunctionRef<Points(absl::string_view rule_id)>;

// A budget lookup for a caller that holds no program-wide use: nothing
// granted. Right for tests and for a program without budgets.
inline Points NoBudgetUsed(absl::string_view /*rule_id*/) { return Points(0); }

// Decides `command` under `program` against the members' current state.
// `recorded_at` is the engine's clock and stands in for an unset `at`.
// Returns the entries to append, in order (two for a transfer, three with
// its fee), with
// seq and hash unset. Pure and thread-compatible.
// Partners: the first entry records the partner a Credit, Redeem or
// PayWithPointsAtTill names, the partner of an accrued purchase, or the
// partner of the catalog item redeemed, held or captured. If the version in
// force lists partners, naming another is InvalidArgument ("partner",
// "activity.detail.partner").
// `budgets` answers for rules with a budget: the caller must serialize the
// accruals of a program with budgets (decide, append and apply one before
// the next is decided), or two members could spend the same budget.
absl::StatusOr<std::vector<Entry>> Decide(const Program& program, MemberLookup members,
                                          const Command& command, Instant recorded_at,
                                          BudgetLookup budgets = NoBudgetUsed);

// Decides the expiry of `member` as of `as_of`: lots whose expiry is at or
// before `as_of` lapse (every lot, if the member was inactive longer than
// the version allows or a closed membership's grace ended, unless a flag
// protects them), and holds whose time-to-live ran out are released.
// Returns no entries if nothing is due. `key` is stored in each entry.
std::vector<Entry> DecideExpiry(const Program& program, const MemberId& member_id,
                                const MemberState& member, Instant as_of, const std::string& key,
                                const CommandDigest& digest, Instant recorded_at);

// Decides the status review of `member` as of `as_of` (ClosePeriod):
// re-qualification on the periods closed by then, the downgrade policy for
// a status whose validity ended, the lifetime floor, and the end of a paid
// tier not renewed. Returns no entries if nothing changes, so a second
// review as of the same instant is a no-op. `key` is stored in each entry.
std::vector<Entry> DecideTierReview(const Program& program, const MemberId& member_id, const MemberState& member,
                                    Instant as_of, const std::string& key, const CommandDigest& digest,
                                    Instant recorded_at);

}  // namespace loyalty

#endif  // LOYALTY_COMMAND_H_
