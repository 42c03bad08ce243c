// The engine: the facade that applications call. It decides each command
// under the program, appends the entries to the store and applies them to
// the in-memory projection of every member.
//
//   FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
//   auto program = Program::Create("demo-1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
//   auto engine = Engine::Open(*OpenSqliteStore("journal.db"), clock, *program);
//   auto id = MemberId::FromValid("M-1");
//   (*engine)->Execute(Enroll{.idempotency_key = "enroll-M-1", .member = id});
//   (*engine)->Execute(Credit{.idempotency_key = "flight-LH400", .member = id,
//                             .amount = Points(6000), .source = "LH400 FRA-JFK"});
//   auto balance = (*engine)->BalanceOf(id);   // available 6000
//
// Idempotency: every mutating command carries a key. Executing a command
// whose key was already applied returns the original receipt (with
// `replayed` set) and changes nothing, also after a restart; the same key
// with a different command is AlreadyExists.
//
// Thread safety: all methods are thread-safe. Commands for different
// members run in parallel (their Decide and Apply); the same member's are
// serialized; appends to the journal are serialized by the store.
#ifndef LOYALTY_ENGINE_H_
#define LOYALTY_ENGINE_H_

#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/command.h"
#include "loyalty/ledger.h"
#include "loyalty/notices.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/tiers.h"
#include "loyalty/time.h"

namespace loyalty {

// What a command wrote to the journal. A member's command first releases
// the member's holds whose time-to-live had passed (hold_released entries,
// lapsed), then writes its own entries; the first of those names what it
// created, which later commands refer to: the credit (for ReverseEarn and
// ReturnLines), the hold (for CaptureHold / ReleaseHold), the debit (for
// ReverseDebit).
struct Receipt {
  std::vector<Entry> entries;
  bool replayed = false;  // true if the key had been applied before

  // The command's own entries: `entries` without the lapsed holds'
  // releases before them. Never empty for a member's command.
  std::span<const Entry> own() const;
  // The seq of the command's first own entry (0 if it wrote none).
  uint64_t seq() const { return own().empty() ? 0 : own().front().seq; }
};

class PartnerHandle;  // loyalty/partner.h
namespace internal {
class EngineImpl;  // src/engine/engine_impl.h
}  // namespace internal

struct Balance {
  Points available;  // in open lots, spendable
  Points held;       // reserved by open holds
  Points debt;       // reversed earnings already spent, paid by later credits
  friend bool operator==(const Balance&, const Balance&) = default;
};

// A transfer that a member of this journal sent to a member of another
// shard (SendTransfer) and that no SettleTransfer has closed yet.
struct PendingTransfer {
  MemberId from;
  uint64_t seq = 0;  // of the sending entry
  SentTransfer sent;
};

// How an engine keeps its checkpoints (Engine::SaveCheckpoint).
struct EngineOptions {
  // A checkpoint is written when a command or batch has taken the journal
  // this many entries past the last one (0: only at the first open, on
  // request and at a clean shutdown). Writing one blocks every command
  // while it encodes the state.
  uint64_t checkpoint_every = uint64_t{1} << 20;
  // After writing one, the engine deletes all but this many of the newest
  // (at least 1: the open starts from the latest). Each holds the whole
  // state; `loyalty verify --full` compares every one kept.
  size_t checkpoints_kept = 2;
};

class Engine {
 public:
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Opens an engine over `store` (rebuilding every member's state from the
  // journal's latest checkpoint and the entries after it, or from every
  // entry), reading time from `clock`, which must outlive the engine.
  // Versions of `program` that carry a content hash (loaded from a
  // definition) and are not yet in the journal are published there;
  // FailedPrecondition if a version id was published with other content;
  // DataLoss naming the entry or checkpoint that does not fit.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(std::unique_ptr<Store> store, const Clock& clock,
                                                      Program program, EngineOptions options = {});

  // Decides, records and applies one command. Errors as in Decide, plus
  // AlreadyExists for a reused key with a different command and the store's
  // errors; on any error nothing changes. An engine that could not read
  // back the members of an append that failed no longer knows whether it
  // was written: it refuses every later write with Unavailable until it is
  // opened again.
  absl::StatusOr<Receipt> Execute(const Command& command);

  // With a journal shared by several engines (PostgreSQL), an append that
  // another engine overtook is retried after reading its entries; from the
  // fourth attempt on the engine waits for its turn, which other engines'
  // appends respect, so that a busy journal cannot starve it. The caller
  // sees Aborted only if that happened kAttempts times in a row; a
  // command that failed (e.g. too few points, unknown member) is decided
  // again if other engines had appended meanwhile. In a batch, commands
  // that fail are decided on the entries this engine had read.

  // Executes `commands` in order as one atomic append (group commit): each
  // command sees the effect of those before it. Commands that fail get
  // their error and write nothing; the others are appended together. If the
  // append fails, every command that would have written gets that error and
  // nothing changes.
  std::vector<absl::StatusOr<Receipt>> ExecuteBatch(std::span<const Command> commands);

  // Lapses lots whose expiry is at or before `as_of` and releases holds
  // whose time-to-live ran out, for every member, in one append under `key`.
  // Repeating it with the same key returns the same receipt.
  absl::StatusOr<Receipt> RunExpiry(const std::string& key, Instant as_of);

  // Journals `revision` as an estimate_revised entry under the program's
  // id. It changes no member: the revenue report reads it. Idempotent by
  // key as Execute is. InvalidArgument naming the field: a key not of 1 to
  // 128 bytes, a rate that is not a share in (0, 1], a cohort outside
  // 0..9999, an actor not of 1 to 256 bytes, a reason over 4096 bytes, a
  // time out of range.
  absl::StatusOr<Receipt> ReviseEstimate(const EstimateRevision& revision);

  // Reviews every member's status as of `as_of` (the close of a
  // qualification period, or any later day): re-qualification, downgrades
  // of lapsed status, lifetime floors, paid tiers not renewed; one append
  // under `key`. Deterministic; running it again as of the same instant
  // (under another key) writes nothing.
  absl::StatusOr<Receipt> ClosePeriod(const std::string& key, Instant as_of);

  // The member's tier, its validity and what it still needs to keep it or
  // reach the next, at `at`. NotFound for an unknown member.
  absl::StatusOr<TierStanding> TierOf(const MemberId& member, Instant at) const;

  // The balance now (by the engine's clock). Holds whose time-to-live has
  // passed count as released, as the member's next command or the next
  // expiry run journals them: their points settle debt first, the rest
  // are available. NotFound for an unknown member.
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;
  // The balance counting only entries whose business time is at or before
  // `at`, holds lapsed by `at` counted as released. Reads the member's
  // entries from the store.
  absl::StatusOr<Balance> BalanceAsOf(const MemberId& member, Instant at) const;
  // Lots with points left, in spending order.
  absl::StatusOr<std::vector<Lot>> OpenLots(const MemberId& member) const;
  // Every entry of the member, in journal order. Reads the store.
  absl::StatusOr<std::vector<Entry>> History(const MemberId& member) const;
  // A copy of the member's whole state.
  absl::StatusOr<MemberState> Snapshot(const MemberId& member) const;
  // Every transfer sent to another shard and not settled, by sender and
  // seq. Visits every member under the engine's locks, so that commands
  // wait meanwhile: for a recovery pass, not for each command.
  std::vector<PendingTransfer> PendingTransfers() const;
  // What accrual rule `rule` granted to every member so far, against its
  // campaign budget (AccrualCap::budget); returns give none of it back.
  // NotFound if no version of the program gives the rule a budget.
  absl::StatusOr<Points> BudgetUsed(absl::string_view rule) const;
  // The member's points that lapse within `within_days` days of the
  // engine's clock if the member does nothing meanwhile, soonest first
  // (ExpiringPointsOf, loyalty/notices.h): what an expiry warning tells.
  // NotFound for an unknown member; InvalidArgument naming "within_days"
  // outside 0..36600.
  absl::StatusOr<std::vector<LapsingLot>> ExpiringPoints(const MemberId& member, int within_days) const;

  // A SHA-256 over every member's state and the published versions, in a
  // canonical order: two engines with equal digests hold equal projections
  // (used to check that replay reproduces the live state).
  Sha256 StateDigest() const;

  // Writes a checkpoint of the state (every member and the published
  // versions) at the journal's last entry into the store, so that the next
  // open applies only the entries after it. The engine also writes one
  // when it opens a journal without any and, at a clean shutdown (its
  // destruction), when entries were appended since the last, and then
  // deletes all but the newest EngineOptions::checkpoints_kept. On a
  // journal that engines share (PostgreSQL) a checkpoint saved by any of
  // them counts for all. Unimplemented for a store that keeps none
  // (memory, a keyed SQLite journal); FailedPrecondition for one opened
  // read-only. Blocks every command while it encodes the state.
  absl::Status SaveCheckpoint();

  // A handle that acts only for coalition partner `partner` (see
  // loyalty/partner.h); the engine must outlive it. NotFound if no version
  // of the program defines the partner. Defined in src/partner/partner_handle.cc.
  absl::StatusOr<PartnerHandle> ForPartner(absl::string_view partner);

  const Store& store() const;
  const Program& program() const;

 private:
  explicit Engine(std::unique_ptr<internal::EngineImpl> impl);

  std::unique_ptr<internal::EngineImpl> impl_;
};

}  // namespace loyalty

#endif  // LOYALTY_ENGINE_H_
