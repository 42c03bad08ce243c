// The audit: what a rule change did to every member, whether it was announced
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
//   * CheckNotice     notice days per version change against a minimum,
//                     retroactive dates, devaluations without grandfathering,
//                     shortened validity.
//   * ImpactOfBalances / ImpactOnMembers
//                     the devaluation impact of a price change on every
//                     member: the pool metric and the whole-award metric side
//                     by side, the loss distribution, what each
//                     grandfathering option would have protected.
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

// ---------------------------------------------------------------- exact ratios

// numerator / denominator, exactly. Invariant: denominator > 0.
struct Fraction {
  Int128 numerator = 0;
  Int128 denominator = 1;

  // The value rounded to an integer as asked.
  Int128 Rounded(Rounding rounding) const { return DivideRounded(numerator, denominator, rounding); }
  // Decimal text with `digits` (0..18) fraction digits, rounded as asked:
  // "1885714.29".
  std::string ToDecimal(int digits, Rounding rounding = Rounding::kHalfEven) const;
};

// ---------------------------------------------------------------- replay

// A journal replayed: every member's state, the published versions, and the
// chain's length and head.
struct ReplayedJournal {
  uint64_t entries = 0;  // entries verified (the whole journal)
  uint64_t applied = 0;  // entries applied (the prefix up to `until`)
  Sha256 head{};         // hash of the last entry
  absl::flat_hash_map<MemberId, MemberState> members;  // without the program's own entries
  absl::flat_hash_map<std::string, Sha256> published;  // version id -> content hash
  // SHA-256 of the state in the canonical order of Engine::StateDigest:
  // equal to the live engine's digest for a full replay of its journal.
  Sha256 state_digest{};

  // Pointers to the member states, in member id order.
  std::vector<const MemberState*> States() const;
};

// Reads the journal once from its first entry, verifies the hash chain as
// VerifyJournal does, and applies every entry up to, not including, the
// first whose business time is after `until` (Instant::Max(): all).
// DataLoss naming the first bad entry and what is wrong if the chain does
// not verify, or if an entry does not fit the entries before it (checked as
// the engine's open checks them). A keyed journal
// (store.h) is verified with `journal_key`; FailedPrecondition if the key
// does not fit the journal, InvalidArgument if it is shorter than 16 bytes.
absl::StatusOr<ReplayedJournal> Replay(const Store& store, Instant until = Instant::Max(),
                                       const std::optional<std::string>& journal_key = std::nullopt);

// ---------------------------------------------------------------- re-rating

// Where a member ends up: its totals, its lots with points left, its tier
// earned (or granted) and its paid tier ("" for none).
struct MemberOutcome {
  Points available;
  Points held;
  Points debt;
  int64_t open_lots = 0;
  std::string tier;
  std::string paid_tier;
  friend bool operator==(const MemberOutcome&, const MemberOutcome&) = default;
};

// A member whose outcome differs between the journal and its re-rating.
struct MemberRerated {
  MemberId member;
  MemberOutcome recorded;
  MemberOutcome rerated;
};

// A recorded command whose first entry differs when decided again: another
// kind of entry, another amount (a redemption that costs more, an accrual
// that earns less), or a failure.
struct CommandRerated {
  uint64_t seq = 0;  // the command's first entry in the journal
  MemberId member;
  std::string idempotency_key;
  std::string reward;          // the reward it priced, if any
  std::string recorded_kind;   // EntryKindName of its first entry
  Points recorded_points;      // that entry's amount (spent, held, quoted, credited, ...)
  std::string rerated_kind;    // "" if it failed
  Points rerated_points;
  absl::Status rerated_error;  // why it failed; OK if it did not
};

// A journal decided again under another program history.
struct Rerating {
  uint64_t entries = 0;          // journal entries read and verified
  uint64_t commands = 0;         // recorded commands and runs decided again
  uint64_t entries_decided = 0;  // entries the re-rating wrote
  uint64_t failed = 0;           // commands that failed when decided again
  int64_t members = 0;
  Points recorded_available;     // summed over members
  Points rerated_available;
  std::vector<MemberRerated> members_changed;    // in member id order
  std::vector<CommandRerated> commands_changed;  // in journal order
  // The re-rated states, and their digest as Engine::StateDigest computes
  // it, with `program`'s versions (those with a content hash) as the
  // published ones: re-rating under the program that wrote the journal
  // reproduces the engine's digest.
  absl::flat_hash_map<MemberId, MemberState> states;
  Sha256 state_digest{};
};

// Decides every command recorded in `journal` again, in journal order,
// under `program` (a what-if history, or ProgramWithout(...) for "as if the
// change never happened") with the same pure Decide code as the engine and
// each command's recorded business and recording times; period runs
// (RunExpiry, ClosePeriod) are run again over every member. Then compares
// every member's outcome, and each command's first entry, with the journal.
//
// References between commands (a hold captured, a credit reversed, a quote
// used) follow the entries the re-rating wrote in their place; a command
// whose referenced entry was not written fails with FailedPrecondition.
// Entries are numbered as in the journal while the re-rating writes the
// same number of entries per command, so that lot ids match.
//
// Limits: a run that wrote nothing was not journaled and is not repeated.
// Errors: OutOfRange if the members' points add up past int64; DataLoss if the chain does not verify or a recorded command is
// malformed; FailedPrecondition naming the entry if a command was not
// recorded (a journal of an entry format before 3 cannot be re-rated).
// The recorded entries are checked and applied as in Replay (DataLoss for
// one that does not fit); a keyed journal is verified with `journal_key`.
absl::StatusOr<Rerating> Rerate(const Store& journal, const Program& program,
                                const std::optional<std::string>& journal_key = std::nullopt);

// `program` without version `version_id`: the history as if that change had
// never been published. NotFound for an unknown id; InvalidArgument if it
// is the only version.
absl::StatusOr<Program> ProgramWithout(const Program& program, absl::string_view version_id);

// ---------------------------------------------------------------- journal verification

// kKeyMismatch: the key given does not fit the journal (a keyed journal
// verified without its key or with another, an unkeyed one with a key);
// nothing was read, bad_seq is 0. kMislinked: the entry's link to its
// member's previous entry (Entry::member_prev, kept outside the chain) is
// not that entry. kTruncated: the entries end before the head the journal
// records, or (keyed journal) the recorded head's MAC does not verify.
// kRolledBack: the journal ends before an expected head (a receipt
// recorded earlier), or holds another entry at its seq. kImpossible: the
// entry verifies but no engine could have written it after the entries
// before it (the rules every reader checks: a debit of points the member
// does not have, a capture of a hold that does not exist, an expiry of lots
// not yet due, half a transfer, ...).
enum class JournalFault {
  kNone, kModified, kMissing, kReordered, kTruncated, kUnreadable, kKeyMismatch, kMislinked, kRolledBack, kImpossible
};
// "ok", "modified", "missing", "reordered", "truncated", "unreadable",
// "key mismatch", "mislinked", "rolled back", "impossible".
absl::string_view JournalFaultName(JournalFault fault);

struct JournalVerification {
  JournalFault fault = JournalFault::kNone;
  uint64_t entries = 0;  // entries that verified, from the first
  Sha256 head{};         // hash of the last entry that verified
  uint64_t bad_seq = 0;  // the first bad entry (kTruncated: the first missing at the end)
  std::string detail;    // what is wrong, in words

  bool ok() const { return fault == JournalFault::kNone; }
  // "ok, 5 entries, head 3f2a..." or "entry 3: modified (...)".
  std::string Summary() const;
};

// Verifies the chain of `store`: each entry's seq in its place and its
// stored hash equal to SHA-256(previous hash || canonical bytes), the last
// one equal to the store's head; each entry's link to its member's
// previous entry (unless the store keeps none: Store::KeepsMemberLinks);
// and each entry against the entries before it, by the rules the engine's
// open applies (kImpossible), so that verify and Engine::Open agree. With
// `program` (the program that wrote the journal), also the rules that need
// its definitions, exactly as the engine checks them: tiers that some
// version defines, lapses for inactivity due under the version in force;
// without it, any tier name passes and a lapse of lots not yet due needs
// 27 days without activity.
// The first fault in journal order is reported. Builds on VerifyChain's check (store.h);
// never fails as a call: problems are the result. A keyed journal is
// verified with `journal_key` (HMAC-SHA-256 in place of SHA-256): an entry
// whose hash was recomputed without the key is kModified; a key that does
// not fit is kKeyMismatch, and so is a key shorter than 16 bytes. With
// `expected_head`, a journal that verifies but ends before it, or holds
// another hash at its seq, is kRolledBack (bad_seq: the expected seq).
// Entries and head are read in one snapshot, so a journal being appended
// to verifies as it was at that moment.
JournalVerification VerifyJournal(const Store& store, const std::optional<std::string>& journal_key = std::nullopt,
                                  const std::optional<JournalHead>& expected_head = std::nullopt,
                                  const Program* program = nullptr);

// Opens the SQLite journal at `path` for inspection (without the
// verification that OpenSqliteStore does, which refuses a damaged file) and
// verifies it as VerifyJournal does, with `journal_key` for a keyed
// journal and `program`, if given, for the program's rules. Never creates a
// journal: NotFound ("no journal at PATH") if there is none at `path`.
// Other errors: those of OpenSqliteStore for a file that is not a loyalty
// journal or cannot be read, and for a key that does not fit
// (FailedPrecondition). Takes no writer lock: it may run while a writer
// appends.
absl::StatusOr<JournalVerification> VerifyJournalFile(const std::string& path,
                                                      const std::optional<std::string>& journal_key = std::nullopt,
                                                      const std::optional<JournalHead>& expected_head = std::nullopt,
                                                      const Program* program = nullptr);

// ---------------------------------------------------------------- statement

// Available (redeemable, in open lots), held and debt.
struct MemberBalance {
  Points available;
  Points held;
  Points debt;
  friend bool operator==(const MemberBalance&, const MemberBalance&) = default;
};

struct StatementLine {
  uint64_t seq = 0;
  Instant business_time;
  std::string kind;         // EntryKindName
  std::string version;      // the program version that decided it
  std::string explanation;  // the entry's own explanation
  BalanceDelta delta;       // DeltaOf(entry)
  MemberBalance balance;    // running, after this entry
};

struct Statement {
  MemberId member;
  Instant from;
  Instant to;
  MemberBalance opening;  // every entry of the member dated before `from`
  std::vector<StatementLine> lines;
  MemberBalance closing;  // opening plus every line
};

// The member's entries whose business time is in [from, to), in journal
// order, each with the running balance. InvalidArgument if from > to;
// NotFound if the journal has no entry for `member`; OutOfRange on
// overflow; a store's read error as is; DataLoss naming the entry if any
// entry, the member's or another's, does not fit the journal before it
// (checked as the engine's open checks it).
absl::StatusOr<Statement> StatementOf(const Store& store, const MemberId& member, Instant from, Instant to);

// ---------------------------------------------------------------- liability

struct LiabilityOptions {
  Instant from;  // the period is [from, to), by business time
  Instant to;
  Rate value_per_point = *Rate::Parse("0.01");  // major units of `currency` per point
  Currency currency = *Currency::FromCode("EUR");
  Rounding rounding = Rounding::kHalfEven;  // each line's value to the minor unit
  // The key of a keyed journal, to verify its chain with (store.h).
  std::optional<std::string> journal_key;
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

// ---------------------------------------------------------------- partner settlement

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

// ---------------------------------------------------------------- notice check

enum class Severity { kInfo, kWarning, kViolation };
absl::string_view SeverityName(Severity severity);  // "info", "warning", "violation"

struct Finding {
  Severity severity = Severity::kInfo;
  // "short_notice", "retroactive", "devaluation_without_grandfathering",
  // "reward_withdrawn", "pay_with_points_devalued", "validity_shortened",
  // "inactivity_rule_tightened", "closure_grace_shortened",
  // "expiry_protection_removed".
  std::string code;
  std::string version_before;
  std::string version;
  std::string subject;  // the reward, rule or field concerned
  std::string facts;    // the numbers behind it, in words
};

struct TransitionNotice {
  std::string version_before;
  std::string version;
  Date announced;  // civil dates in the program's zone
  Date effective;
  int64_t days = 0;  // effective - announced, in days (negative: retroactive)
};

struct NoticeOptions {
  int64_t minimum_days = 90;
};

struct NoticeReport {
  std::vector<TransitionNotice> transitions;  // one per version after the first
  std::vector<Finding> findings;              // in version order
};

// Checks every change from one version to the next:
//   short_notice (violation)     days < minimum_days
//   retroactive (violation)      effective before announced
//   devaluation_without_grandfathering (violation)
//                                a reward offered by both costs more in the
//                                new one, which declares neither book_by nor
//                                earned_before (price_lock alone protects
//                                only open quotes and holds, and is listed
//                                in the facts)
//   reward_withdrawn (warning)   a reward of the old version is gone
//   pay_with_points_devalued (violation)
//                                a point pays less at the till
//   validity_shortened (warning) a shorter expiry term for lots earned from
//                                now on (earned lots keep their expiry)
//   inactivity_rule_tightened, closure_grace_shortened,
//   expiry_protection_removed (violation)
//                                rules that shorten the validity of points
//                                already earned
// InvalidArgument if minimum_days is negative.
absl::StatusOr<NoticeReport> CheckNotice(const Program& program, const NoticeOptions& options);

// ---------------------------------------------------------------- devaluation impact

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
  std::optional<Instant> book_by;
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

// ---------------------------------------------------------------- synthetic population

// The most members a synthetic population may have: 100 million, five
// times the 20 million of an airline program like Miles & More and about
// the size of the largest programs. Their balances take 8 bytes each
// (800 MB) and about five seconds to compute; a billion would take 8 GB,
// more than the machines that run these audits can be assumed to have.
inline constexpr int64_t kMaxSyntheticMembers = 100'000'000;

struct SyntheticPopulation {
  int64_t members = 0;  // 1 .. kMaxSyntheticMembers
  Points median;        // of the log-normal, > 0
  Rate sigma = *Rate::Parse("1");  // of the log-normal's logarithm, <= 10
  Points total;         // the balances add up to exactly this, >= 0
};

// OK if SyntheticBalances accepts `population`; else InvalidArgument whose
// message begins with the field ("members: 1000000000 is more than ..."),
// so that a loader can put its own path in front. Allocates nothing.
absl::Status CheckSyntheticPopulation(const SyntheticPopulation& population);

// Member i (0-based) of N gets the (i + 0.5) / N quantile of a log-normal
// with the given median and sigma, scaled so that the balances add up to
// `total` exactly: each balance is floor(quantile x total / sum of
// quantiles), and the remainder is spread one point at a time from the
// largest balance down (from the largest up, taking a point, should rounding
// overshoot). Balances ascend with i. No random numbers.
//
// Floating point: the quantiles and their scaling are computed in IEEE-754
// double (inverse normal CDF by rational approximation refined with one
// Halley step, exp, a sum in index order); this is the library's only use of
// floating point. What counts are the resulting integer balances, which are
// deterministic on IEEE-754 hardware with the same libm; every computation on
// them is exact integer arithmetic. InvalidArgument naming the field for
// values out of range (CheckSyntheticPopulation, before anything is
// allocated); ResourceExhausted if the balances do not fit in memory.
// 20 million members take about a second and 160 MB (the returned vector).
absl::StatusOr<std::vector<int64_t>> SyntheticBalances(const SyntheticPopulation& population);

// The inverse of the standard normal CDF at p in (0, 1), to about 1e-15
// relative; exposed for tests. Precondition (checked): 0 < p < 1.
double InverseNormalCdf(double p);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_H_
