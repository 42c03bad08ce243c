// The ledger: journal entries, lots, member state, and Apply.
//
// Every earn creates a lot (amount left, earned at, expires at, the program
// version it was earned under). Every debit records exactly which lots it
// consumed, so that a reversal restores those lots with their original
// expiry. A member's redeemable balance is the sum of the lots' remaining
// amounts; qualifying counters are kept apart and are never spendable. A
// reversed earn whose points were already spent is taken from the member's
// other lots, and what they do not cover becomes an explicit debt, which
// points coming in later (credits, adjustments, transfers, released holds,
// reversed debits) pay off first: a member who owes points has none
// available.
//
// ApplyToMember(state, entry) is the only way state changes. It is
// deterministic and total for entries that Decide produced against the same
// state; CheckApplicable says whether an entry read from a journal fits.
//
//   MemberState member;
//   ApplyToMember(member, enrolled_entry);
//   ApplyToMember(member, credited_entry);   // member.balance == 500
//
// Thread safety: plain values; the caller serializes access.
#ifndef LOYALTY_LEDGER_H_
#define LOYALTY_LEDGER_H_

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

// A lot is named by the entry that created it and, for entries that create
// several lots (a transfer in), its position in that entry.
struct LotId {
  uint64_t entry = 0;
  uint32_t part = 0;
  friend auto operator<=>(const LotId&, const LotId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const LotId& id) {
    return H::combine(std::move(h), id.entry, id.part);
  }
};

// A voucher: the accrual that issued it (its Credited entry's seq) and its
// number among that accrual's vouchers, from 0.
struct VoucherId {
  uint64_t accrual = 0;
  uint32_t number = 0;
  friend auto operator<=>(const VoucherId&, const VoucherId&) = default;
};

// Stamps an accrual collected on one stamp card: one per unit of its
// eligible purchase lines. A card of `card_size` holding `before` stamps
// completes max(0, floor((before + stamps) / card_size)) cards, each a
// voucher for `reward` that lapses at `voucher_expires_at`, and keeps the
// rest. (Credited::stamps; AccrualRecord::stamps keeps it for returns.)
struct StampGrant {
  std::string card;
  std::vector<uint32_t> lines;  // the eligible lines, ascending
  int64_t stamps = 0;           // their units
  int64_t card_size = 0;        // the card's size at the accrual
  int64_t vouchers = 0;         // cards completed
  std::string reward{};
  Instant voucher_expires_at{};
  friend bool operator==(const StampGrant&, const StampGrant&) = default;
};

// Stamps a return took back from one card, and the unused vouchers of the
// returned accrual it withdrew to do so (their numbers): a card left below
// zero withdraws the accrual's vouchers of that card, newest first, while
// it stays below zero; what no unused voucher covers stays owed on the
// card (a negative count) and the next stamps fill it first.
struct StampReturn {
  std::string card;
  int64_t stamps = 0;
  std::vector<uint32_t> withdrawn{};
  friend bool operator==(const StampReturn&, const StampReturn&) = default;
};

// An amount taken from (or given back to) one lot.
struct LotDraw {
  LotId lot;
  Points amount;
  friend bool operator==(const LotDraw&, const LotDraw&) = default;
};

// A lot that moves to another member with its earning and expiry dates.
struct TransferredLot {
  Points amount;
  Instant earned_at;
  Instant expires_at;
  friend bool operator==(const TransferredLot&, const TransferredLot&) = default;
};

// A new validity for a lot: protection began (never) or ended (a fresh term).
struct LotRenewal {
  LotId lot;
  Instant expires_at;
  friend bool operator==(const LotRenewal&, const LotRenewal&) = default;
};

// What one accrual rule granted, for caps and usage limits.
struct RuleGrant {
  std::string rule;
  Points granted;
  friend bool operator==(const RuleGrant&, const RuleGrant&) = default;
};

// The kinds of entry. Amounts are positive; draws list the lots touched.
namespace entries {
struct Enrolled {
  friend bool operator==(const Enrolled&, const Enrolled&) = default;
};
// Points earned: `debt_paid` of them settle debt, the rest form lot
// (seq, 0), which expires at `expires_at`; `counters` go to the qualifying
// counters of `local_day`. An accrual of an activity also records what
// each purchase line earned (`line_points`, plus `unattributed` for the
// activity as a whole), so that a return reverses exactly that, and the
// rules' grants on its local day (for caps).
struct Credited {
  Points amount;
  Points debt_paid;
  Instant expires_at;
  std::string source;
  std::vector<CounterDelta> counters;
  std::string activity{};  // the host's activity id; empty for a raw credit
  std::vector<Points> line_points{};
  Points unattributed{};
  std::vector<RuleGrant> grants{};
  int32_t local_day = 0;  // Date::days_since_epoch of the activity, program zone
  // The quantity of each purchase line (one per line_points), so that a
  // line can be returned unit by unit; empty when every line is one unit
  // (and in accruals journaled before returns by quantity: their lines are
  // returned whole).
  std::vector<int64_t> line_units{};
  std::vector<StampGrant> stamps{};  // by card, in the version's card order
  // Points bought (PurchasePoints): the money paid; a raw credit.
  std::optional<Money> price{};
  friend bool operator==(const Credited&, const Credited&) = default;
};
// Points spent; reversible by DebitReversed.
struct Debited {
  Points amount;
  std::vector<LotDraw> draws;
  RewardPrice price{};
  uint64_t quote = 0;          // the quote it redeemed, if any
  std::optional<Money> value{};  // paying at the till: the money the points paid
  friend bool operator==(const Debited&, const Debited&) = default;
};
// Points reserved by hold `seq` until `expires_at`.
struct HoldPlaced {
  Points amount;
  Instant expires_at;
  std::vector<LotDraw> draws;
  RewardPrice price{};
  uint64_t quote = 0;  // the quote it holds, if any
  friend bool operator==(const HoldPlaced&, const HoldPlaced&) = default;
};
// A hold turned into a debit (reversible by DebitReversed of this entry).
struct HoldCaptured {
  uint64_t hold = 0;
  Points amount;
  std::vector<LotDraw> draws;
  RewardPrice price{};
  friend bool operator==(const HoldCaptured&, const HoldCaptured&) = default;
};
// A hold's points returned, on request or because it lapsed: `debt_paid`
// of them settle debt, `draws` go back to the lots they came from.
struct HoldReleased {
  uint64_t hold = 0;
  bool lapsed = false;
  Points amount;
  std::vector<LotDraw> draws;
  Points debt_paid;
  friend bool operator==(const HoldReleased&, const HoldReleased&) = default;
};
// Part or all of credit `credit` taken back: `from_lot` from what is left
// of its lot, then `draws` from the member's other lots, soonest-expiring
// first, and what no lot covers, `debt_added`, as debt. So a member who
// owes points has none available.
//
// `balance_first` is false for reversals journaled before they drew on
// other lots (entry kind 6): those have no draws and may leave debt beside
// available points, which the ledger accepts from them alone.
struct EarnReversed {
  uint64_t credit = 0;
  Points amount;
  Points from_lot;
  Points debt_added;
  std::vector<CounterDelta> counters;  // amounts to subtract, from the credit's local day
  std::vector<uint32_t> lines{};       // purchase lines returned, if by lines
  int32_t counter_day = 0;             // the credit's local day (Date::days_since_epoch)
  std::vector<LotDraw> draws{};        // from other lots
  bool balance_first = true;
  // The units each of `lines` returns, for an accrual that recorded its
  // lines' units; empty where lines are returned whole.
  std::vector<int64_t> units{};
  std::vector<StampReturn> stamps{};  // the stamps those units collected
  // A refund of bought points (RefundPoints): the money paid back.
  std::optional<Money> refund{};
  friend bool operator==(const EarnReversed&, const EarnReversed&) = default;
};
// Debit `debit` (a Debited or HoldCaptured entry) undone: `debt_paid` of
// its points settle debt, `draws` go back to the same lots they came from,
// with their original expiry.
struct DebitReversed {
  uint64_t debit = 0;
  Points amount;
  std::vector<LotDraw> draws;
  Points debt_paid;
  friend bool operator==(const DebitReversed&, const DebitReversed&) = default;
};
// Lots that reached their expiry.
struct Expired {
  Points amount;
  std::vector<LotDraw> draws;
  friend bool operator==(const Expired&, const Expired&) = default;
};
// A manual correction with its reason and the person or system that made
// it. delta > 0 credits lot (seq, 0) after paying `debt_paid` of debt;
// delta < 0 takes `draws`.
struct Adjusted {
  Points delta;
  std::string reason;
  std::string actor;
  Instant expires_at;
  Points debt_paid;
  std::vector<LotDraw> draws;
  friend bool operator==(const Adjusted&, const Adjusted&) = default;
};
// Points sent to member `to`, taken by `draws`. Within one journal the
// receiving entry follows at once. `across`: the receiver is in another
// shard's journal (SendTransfer); `lots` then carries the drawn lots'
// dates, and the transfer stays pending on the sender until a
// TransferSettled entry closes it.
struct TransferredOut {
  MemberId to;
  Points amount;
  std::vector<LotDraw> draws;
  bool across = false;
  std::vector<TransferredLot> lots{};  // only when `across`, one per draw
  friend bool operator==(const TransferredOut&, const TransferredOut&) = default;
};
// The receiving side: `debt_paid` settles debt, `lots` become lots
// (seq, 0), (seq, 1), ... with the dates they had. `across`: the sender is
// in another shard's journal (ReceiveTransfer), linked by the idempotency
// key that both halves carry.
struct TransferredIn {
  MemberId from;
  Points amount;
  Points debt_paid;
  std::vector<TransferredLot> lots;
  bool across = false;
  friend bool operator==(const TransferredIn&, const TransferredIn&) = default;
};
// Closes transfer `transfer` (the seq of the sender's TransferredOut
// across): delivered when `returned` is zero; otherwise the receiver's
// shard refused it (`reason`) and all its points come back, `debt_paid`
// of them settling debt and `lots` becoming lots (seq, 0), (seq, 1), ...
// with the dates they had.
struct TransferSettled {
  uint64_t transfer = 0;
  Points returned;
  Points debt_paid;
  std::vector<TransferredLot> lots;
  std::string reason;
  friend bool operator==(const TransferSettled&, const TransferSettled&) = default;
};
// A price offered for a reward until `expires_at`; reserves nothing.
struct Quoted {
  Points amount;
  Instant expires_at;
  RewardPrice price;
  friend bool operator==(const Quoted&, const Quoted&) = default;
};
// A member flag (co-brand card holder, ...) set or cleared; the lots whose
// validity that changes are listed with their new expiry.
struct FlagChanged {
  std::string flag;
  bool on = false;
  std::vector<LotRenewal> renewals;
  friend bool operator==(const FlagChanged&, const FlagChanged&) = default;
};

// The member's status changed, or its validity did. `paid` entries change
// the subscribed tier, the others the status earned on counters or granted.
// `reason` is one of: qualified, retained, soft_landing, grace, downgraded,
// expired, lifetime, manual, revoked, kept (a reversal lowered the counters
// but the program keeps status), paid, cancelled. A status earned on
// counters names the local days [period_first, period_last] they were
// summed over (both 0 otherwise). Lots whose validity changes because
// expiry protection began or ended are listed with their new expiry.
struct TierChanged {
  std::string tier;  // the new tier; "" for none
  Instant valid_until;
  std::string reason;
  bool paid = false;
  std::string lifetime_tier;  // the floor the member can never fall below after this entry
  int32_t period_first = 0;
  int32_t period_last = 0;
  std::vector<LotRenewal> renewals;
  friend bool operator==(const TierChanged&, const TierChanged&) = default;
};

// The membership ends: nothing more is earned; the points stay redeemable
// until `redeemable_until`, then lapse at the next expiry run.
struct MembershipClosed {
  Instant redeemable_until;
  friend bool operator==(const MembershipClosed&, const MembershipClosed&) = default;
};

// A program version put in force: its id, dates and content hash. Written
// under the reserved member id kProgramMember; a published version never
// changes, so publishing other content under the same id is refused.
struct VersionPublished {
  std::string version;
  Sha256 content_hash{};
  Instant announced_at;
  Instant effective_from;
  friend bool operator==(const VersionPublished&, const VersionPublished&) = default;
};
// The expected redemption rate of revenue accounting revised from
// `business_time` on: for points earned in calendar year `cohort` (program
// zone), or for every cohort if 0. Written under kProgramMember by
// Engine::ReviseEstimate, with who revised it and why.
struct EstimateRevised {
  Rate expected_redemption_rate = *Rate::Parse("1");
  int64_t cohort = 0;
  std::string actor;
  std::string reason;
  friend bool operator==(const EstimateRevised&, const EstimateRevised&) = default;
};
// Voucher `voucher` redeemed for its reward, once, before it lapsed.
struct VoucherRedeemed {
  VoucherId voucher;
  std::string reward;
  friend bool operator==(const VoucherRedeemed&, const VoucherRedeemed&) = default;
};
}  // namespace entries

// The member id under which program-level entries are journaled. Member ids
// starting with '#' are reserved.
inline constexpr char kProgramMember[] = "#program";

using EntryBody =
    std::variant<entries::Enrolled, entries::Credited, entries::Debited, entries::HoldPlaced,
                 entries::HoldCaptured, entries::HoldReleased, entries::EarnReversed,
                 entries::DebitReversed, entries::Expired, entries::Adjusted,
                 entries::TransferredOut, entries::TransferredIn, entries::Quoted,
                 entries::VersionPublished, entries::FlagChanged, entries::MembershipClosed,
                 entries::TierChanged, entries::TransferSettled, entries::EstimateRevised,
                 entries::VoucherRedeemed>;

// "enrolled", "credited", ... (stable; used in statements and encodings).
absl::string_view EntryKindName(const EntryBody& body);

// The first 16 bytes of the SHA-256 of a command's canonical form, so that
// a repeated idempotency key can be told apart from a conflicting one.
using CommandDigest = std::array<uint8_t, 16>;

// One immutable journal entry. `seq`, `member_prev` and `hash` are set
// when it is appended; everything else by Decide.
struct Entry {
  uint64_t seq = 0;
  MemberId member;
  // The seq of the member's entry before this one (0 for its first, and
  // for the program's entries): a back link from which the member's
  // history is read without an index. Set by the engine; stored beside the
  // entry, outside the chain (the engine checks it against the state when
  // it reads the journal).
  uint64_t member_prev = 0;
  Instant business_time;  // when it happened
  Instant recorded_at;    // when the engine recorded it
  std::string idempotency_key;
  CommandDigest command_digest{};
  std::string version;      // the program version that decided it
  std::string explanation;  // why, in words
  // The first entry a command writes records the command (RecordOf in
  // command.h; command_digest is a digest of it), so that re-rating can
  // decide it again; the command's other entries record nothing.
  std::string command;
  EntryBody body;
  // The coalition partner where it happened ("" for none): set on credits
  // and accruals at a partner, and on debits, holds and captures of
  // rewards or payments at one. Reversals name the entry they reverse,
  // whose partner they share. Settlement reads it.
  std::string partner;
  Sha256 hash{};  // SHA-256 chain over this entry and its predecessor

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What an entry changes in a member's totals.
struct BalanceDelta {
  Points available;  // redeemable, in open lots
  Points held;       // reserved by holds
  Points debt;
};
BalanceDelta DeltaOf(const EntryBody& body);

// A program version's id, interned: four bytes standing for one shared
// copy of the text, so that the many lots earned under a version stay
// small. Equal ids intern to equal refs. Thread-safe.
class VersionRef {
 public:
  VersionRef() = default;  // the empty id
  const std::string& operator*() const;
  const std::string* operator->() const { return &**this; }
  friend bool operator==(VersionRef, VersionRef) = default;

 private:
  friend VersionRef InternVersion(absl::string_view version);
  explicit VersionRef(uint32_t index) : index_(index) {}
  uint32_t index_ = 0;
};

// At most 64 bytes, so that millions of lots stay affordable in memory.
struct Lot {
  enum class Origin : uint8_t { kCredit, kAdjustment, kTransfer };
  LotId id;
  Points earned;     // the amount credited (a credit's lot may start lower if it paid debt)
  Points reversed;   // how much of `earned` has been reversed (credits only)
  Points remaining;  // redeemable now
  Instant earned_at;
  Instant expires_at;
  VersionRef version;  // the version it was earned under
  Origin origin = Origin::kCredit;
};
static_assert(sizeof(Lot) <= 64);

struct Hold {
  Points amount;
  Instant expires_at;
  std::vector<LotDraw> draws;
  RewardPrice price;
  Instant placed_at;
};

struct Quote {
  Points amount;
  Instant expires_at;
  RewardPrice price;
  Instant quoted_at;
};

// Points bought: how many, the price paid, the local day of the purchase
// (Date::days_since_epoch), and what refunds paid back of them.
struct PointPurchase {
  Points points;
  Money price{0, *Currency::FromCode("EUR")};
  int32_t local_day = 0;
  Points refunded;
  Money refund{0, *Currency::FromCode("EUR")};
};

// A voucher not yet redeemed: its card, reward, and when it was issued and
// lapses.
struct Voucher {
  std::string card;
  std::string reward;
  Instant issued_at;
  Instant expires_at;
};

// What an accrual earned, kept for returns by line and by unit.
struct AccrualRecord {
  std::vector<Points> line_points;
  Points unattributed;
  // Per line: its quantity (empty: one unit each, as Credited::line_units)
  // and the units returned so far.
  std::vector<int64_t> units;
  std::vector<int64_t> returned_units;
  std::vector<CounterDelta> counters;
  int32_t local_day = 0;  // of the activity, for the qualifying counters
  std::vector<StampGrant> stamps{};  // what its lines collected on stamp cards

  // The units of line `line` (< line_points.size()).
  int64_t UnitsOf(size_t line) const { return units.empty() ? 1 : units[line]; }
  // Whether `returned` (units per line) is every unit of every line.
  bool AllUnits(const std::vector<int64_t>& returned) const;
};

// The points of a lot of bought points that a refund takes back: what is
// left of it, but never more than it earned and was not reversed (a
// reversed debit can give a lot back points a reversal already counted).
Points RefundablePoints(const Lot& lot);

// The money a refund of `amount` more points of bought points pays back:
// the purchase's price in proportion to the points of its lot reversed,
// rounded half-even on the total reversed before and after (`lot` before
// the refund), so that refunding every point pays back exactly the price.
// Precondition: lot.reversed + amount <= lot.earned, lot.earned > 0.
Money RefundOf(const PointPurchase& purchase, const Lot& lot, Points amount);

// The points that returning units `from`..`to` (of `units`, 0 <= from <=
// to <= units) of a line that earned `points` takes back: the line's points
// are taken back in proportion to the units returned so far, rounded down,
// so that the last unit takes what is left. Returning every unit, in any
// steps, takes back exactly `points`.
Points UnitsShare(Points points, int64_t units, int64_t from, int64_t to);

// A member's status: the tier earned on counters or granted (with its
// validity, the reason of its last change and the local days it was earned
// over), the lifetime floor, and a subscribed tier. The member's tier is
// the higher of `tier` and `paid_tier`; both change only by entries.
struct TierStatus {
  std::string tier;  // "" for none
  Instant valid_until = Instant::Max();
  std::string reason;
  int32_t period_first = 0;
  int32_t period_last = 0;
  bool in_grace = false;
  std::string lifetime_tier;
  std::string paid_tier;
  Instant paid_until = Instant::Max();
};

// The member's tier: the higher-ranked of the status and the subscribed
// tier in `ladder` ("" if neither is in it).
std::string CurrentTier(const TierLadder& ladder, const TierStatus& status);

// A member's use of one accrual rule: points granted on its last local day
// and month with grants, in total, and how many times it applied.
struct RuleUse {
  int32_t day = INT32_MIN;  // Date::days_since_epoch
  Points day_points;
  int32_t month = INT32_MIN;  // year * 12 + month - 1
  Points month_points;
  Points total;
  int64_t uses = 0;
};

// A transfer on its way to a member of another shard: what the sender's
// entry sent, under its idempotency key, which the receiving half carries.
struct SentTransfer {
  MemberId to;
  Points amount;
  std::vector<TransferredLot> lots;
  std::string idempotency_key;
  Instant sent_at;  // the sending entry's business time
};

struct DebitRecord {
  Points amount;
  std::vector<LotDraw> draws;
  bool reversed = false;
};

// A qualifying counter by local day (Date::days_since_epoch) -> amount: a
// B-tree, about 16 bytes a day.
using CounterDays = absl::btree_map<int32_t, Points>;

// The fingerprint of activity `activity` at `partner` ("" for the
// operator): the first 8 bytes, little-endian, of the SHA-256 of both,
// each preceded by its length (a LEB128 varint). Members keep fingerprints
// rather than the ids (16 bytes an activity instead of about 80); two
// activities of one member would be taken for one only if their
// fingerprints met, a chance of about n^2 / 2^65 for n activities.
uint64_t ActivityFingerprint(absl::string_view partner, absl::string_view activity);

// The parts of a member's state that most members seldom or never use:
// open holds and quotes, debits kept for reversal, accrual records kept
// for returns, rule use, flags, closure, qualifying counters and status.
struct MemberDetail {
  absl::flat_hash_map<uint64_t, Hold> holds;              // open holds by hold seq
  Points held;                                            // == sum of holds[i].amount
  Points debt;                                            // owed, paid from the next credits
  absl::flat_hash_map<uint64_t, DebitRecord> debits;      // by debit seq
  absl::flat_hash_map<uint64_t, Quote> quotes;            // open quotes by quote seq
  // The accruals with purchase lines (the ones ReturnLines can return),
  // by credit seq. An accrual without lines keeps no record: its lot
  // holds what a reversal needs.
  absl::flat_hash_map<uint64_t, AccrualRecord> accruals;
  // The activities credited: ActivityFingerprint(partner, activity id) ->
  // the seq of the credit. A return does not remove one: an activity is
  // credited once.
  absl::flat_hash_map<uint64_t, uint64_t> activities;
  absl::flat_hash_map<std::string, RuleUse> rule_use;     // by rule id
  std::vector<std::string> flags;                         // sorted
  Instant redeemable_until = Instant::Max();              // when closed
  std::map<std::string, Points, std::less<>> counters;    // qualifying, all time; never spendable
  // The same counters by the local day they were earned on: counter -> day
  // (Date::days_since_epoch) -> amount. Qualification periods sum these.
  std::map<std::string, CounterDays, std::less<>> counter_days;
  TierStatus status;
  // Transfers this member sent to another shard (TransferredOut across)
  // and not yet settled, by the seq of the sending entry.
  absl::flat_hash_map<uint64_t, SentTransfer> transfers_sent;
  // Stamps on each stamp card's current card, by card id (negative: owed
  // by returns), and the vouchers issued and neither redeemed nor
  // withdrawn (lapsed ones included).
  absl::btree_map<std::string, int64_t, std::less<>> stamps;
  absl::btree_map<VoucherId, Voucher> vouchers;
  // Points bought, by the seq of their credit.
  absl::btree_map<uint64_t, PointPurchase> purchases;
  // Points sent to other members (TransferredOut), by the business time of
  // the sending entry in Unix microseconds, for the yearly limit of
  // transfers.
  absl::btree_map<int64_t, Points> sent;
};

// A member's state: what every member has inline, the rest (MemberDetail)
// allocated by the first entry that needs it, so that a member who only
// earns and spends stays small. Copies are deep.
struct MemberState {
  // The largest seq an entry may have: MemberState keeps its member's last
  // seq in 61 bits, beside three flags.
  static constexpr uint64_t kMaxSeq = (uint64_t{1} << 61) - 1;

  // The seq of the member's last entry; the entries before it are found
  // by following Entry::member_prev.
  uint64_t last_seq : 61 = 0;
  bool enrolled : 1 = false;
  bool has_accrued : 1 = false;  // an activity was accrued
  bool closed : 1 = false;
  Instant enrolled_at;
  Instant last_activity;   // enrolment or the last accrual
  std::vector<Lot> lots;   // every lot ever created, ordered by LotId
  Points balance;          // == sum of lots[i].remaining, always

  MemberState() = default;
  MemberState(const MemberState& other);
  MemberState& operator=(const MemberState& other);
  MemberState(MemberState&&) noexcept = default;
  MemberState& operator=(MemberState&&) noexcept = default;

  // Points reserved by open holds, and points owed: kept in the detail,
  // since few members ever have them.
  Points held() const { return detail().held; }
  Points debt() const { return detail().debt; }
  // The detail; an empty one (shared, never changed) if none was needed yet.
  const MemberDetail& detail() const;
  // The detail, allocated on first use.
  MemberDetail& mutable_detail();

  bool HasFlag(absl::string_view flag) const;
  // The lot with this id, or nullptr.
  const Lot* FindLot(LotId id) const;
  Lot* FindLot(LotId id);

 private:
  std::unique_ptr<MemberDetail> detail_;
};
static_assert(sizeof(MemberState) <= 64);  // with its id, index and lots header, 128 bytes per member

// Indexes into member.lots of the lots with points left that are still
// valid at `at`, in spending order: soonest expiry first, then earliest
// earned, then lowest id.
std::vector<size_t> SpendableLots(const MemberState& member, Instant at);

// The rules an entry must meet to change its member's state, and the
// change, are one piece of code (src/ledger/apply.cc), run in two modes by
// the three calls below. Every entry but Enrolled needs an enrolled member
// and a business time not before the enrolment; seqs of a member's entries
// increase; draws name existing lots and sum to the entry's amount; points
// coming in settle the member's debt first; points given back go to the
// lots they came from; a reversal leaves no debt beside available points;
// no total overflows or goes negative.

// Applies `entry` (already appended, seq set) to its member's state.
// For entries the engine decided, or that CheckApplicable accepted: crashes
// if the entry does not fit the state (a broken invariant).
void ApplyToMember(MemberState& member, const Entry& entry);

// OK if ApplyToMember(member, entry) would succeed; FailedPrecondition
// saying which rule the entry breaks otherwise (the caller names the
// entry). Changes nothing. For entries read back from a journal, which a
// forger with write access could have made validly chained but impossible.
// VersionPublished is not a member's entry and never fits.
absl::Status CheckApplicable(const MemberState& member, const Entry& entry);

// CheckApplicable, then ApplyToMember if it fits; the member is unchanged
// on error.
absl::Status ApplyChecked(MemberState& member, const Entry& entry);

// The interned `version`. Thread-safe. Crashes past 2^24 distinct ids in
// one process (a version is published once and never changes; a process
// meets a handful).
VersionRef InternVersion(absl::string_view version);

}  // namespace loyalty

#endif  // LOYALTY_LEDGER_H_
