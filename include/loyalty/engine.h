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

#include <array>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include <mutex>
#include "loyalty/command.h"
#include "loyalty/ledger.h"
#include "loyalty/member_table.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/spinning_mutex.h"
#include "loyalty/tiers.h"
#include "loyalty/time.h"

namespace loyalty {

// What a command wrote to the journal. The first entry's seq names what
// the command created: the credit (for ReverseEarn), the hold (for
// CaptureHold / ReleaseHold), the debit (for ReverseDebit).
struct Receipt {
  std::vector<Entry> entries;
  bool replayed = false;  // true if the key had been applied before
};

class PartnerHandle;  // loyalty/partner.h
namespace internal {
class JournalRules;  // src/ledger/journal_rules.h
}  // namespace internal

struct Balance {
  Points available;  // in open lots, spendable
  Points held;       // reserved by open holds
  Points debt;       // reversed earnings already spent, paid by later credits
  friend bool operator==(const Balance&, const Balance&) = default;
};

class Engine {
 public:
  // Opens an engine over `store` (rebuilding every member's state from the
  // journal), reading time from `clock`, which must outlive the engine.
  // Versions of `program` that carry a content hash (loaded from a
  // definition) and are not yet in the journal are published there;
  // FailedPrecondition if a version id was published with other content.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(std::unique_ptr<Store> store, const Clock& clock,
                                                      Program program);

  // Decides, records and applies one command. Errors as in Decide, plus
  // AlreadyExists for a reused key with a different command and the store's
  // errors; on any error nothing changes.
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

  // Reviews every member's status as of `as_of` (the close of a
  // qualification period, or any later day): re-qualification, downgrades
  // of lapsed status, lifetime floors, paid tiers not renewed; one append
  // under `key`. Deterministic; running it again as of the same instant
  // (under another key) writes nothing.
  absl::StatusOr<Receipt> ClosePeriod(const std::string& key, Instant as_of);

  // The member's tier, its validity and what it still needs to keep it or
  // reach the next, at `at`. NotFound for an unknown member.
  absl::StatusOr<TierStanding> TierOf(const MemberId& member, Instant at) const;

  // NotFound for an unknown member.
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;
  // The balance counting only entries whose business time is at or before
  // `at`. Reads the member's entries from the store.
  absl::StatusOr<Balance> BalanceAsOf(const MemberId& member, Instant at) const;
  // Lots with points left, in spending order.
  absl::StatusOr<std::vector<Lot>> OpenLots(const MemberId& member) const;
  // Every entry of the member, in journal order. Reads the store.
  absl::StatusOr<std::vector<Entry>> History(const MemberId& member) const;
  // A copy of the member's whole state.
  absl::StatusOr<MemberState> Snapshot(const MemberId& member) const;

  // A SHA-256 over every member's state and the published versions, in a
  // canonical order: two engines with equal digests hold equal projections
  // (used to check that replay reproduces the live state).
  Sha256 StateDigest() const;

  // A handle that acts only for coalition partner `partner` (see
  // loyalty/partner.h); the engine must outlive it. NotFound if no version
  // of the program defines the partner. Defined in
  // src/partner/partner_handle.cc.
  absl::StatusOr<PartnerHandle> ForPartner(absl::string_view partner);

  const Store& store() const { return *store_; }
  const Program& program() const { return program_; }

 private:
  static constexpr size_t kShards = 64;
  // ExecuteBatch hands decided entries to the store in pieces of about this
  // many (see Store::Appender).
  static constexpr size_t kAppendPiece = 128;
  struct Shard {
    mutable SpinningMutex mutex;
    MemberTable members;
  };

  Engine(std::unique_ptr<Store> store, const Clock& clock, Program program)
      : store_(std::move(store)), clock_(clock), program_(std::move(program)) {}

  Shard& ShardOf(const MemberId& member) const;
  // Locks the shards of `members` in a fixed order; unlocks on destruction.
  class ShardLocks;
  MemberState* FindLocked(const MemberId& member) const;
  // Every member, in id order; caller holds every shard lock.
  absl::btree_map<MemberId, const MemberState*> MembersInIdOrderLocked() const;
  // read(state) under the member's lock, or NotFound.
  template <typename F>
  auto ReadMember(const MemberId& member, F read) const
      -> absl::StatusOr<std::invoke_result_t<F, const MemberState&>>;
  void ApplyLocked(const Entry& entry);
  // The rules entries read from the journal must meet.
  internal::JournalRules JournalRulesFor() const;
  // Checks an entry read from the journal (internal::JournalRules) and
  // applies it; DataLoss naming it, with the state unchanged, if it does
  // not fit. Caller holds the entry's shard lock.
  absl::Status AdmitLocked(internal::JournalRules& rules, const Entry& entry);
  // Sets the entry's member_prev to its member's last seq, then applies it.
  void LinkAndApplyLocked(Entry& entry);
  // Rebuilds a member from its journal entries up to its entry `last` (0:
  // none), dropping what was applied after (a batch whose append failed).
  // The store's error if its entries cannot be read: the member is then
  // dropped and lost_ set.
  absl::Status RebuildLocked(const MemberId& member, uint64_t last);
  // The member's entries up to its entry `last`, oldest first, read by
  // following the links to each previous one (Entry::member_prev);
  // DataLoss naming the entry if a link leads to another member's entry or
  // not backwards.
  absl::StatusOr<std::vector<Entry>> EntriesOf(const MemberId& member, uint64_t last) const;
  using MemberDecision = std::vector<Entry> (*)(const Program&, const MemberId&, const MemberState&, Instant,
                                                const std::string&, const CommandDigest&, Instant);
  // Decides `run` for every member in one append (RunExpiry, ClosePeriod);
  // the first entry records the run.
  absl::StatusOr<Receipt> RunOverMembers(const PeriodRun& run);
  // RunOverMembers, decided again while overtaken (see kAttempts).
  absl::StatusOr<Receipt> RunOverMembersRetrying(const PeriodRun& run);
  absl::StatusOr<Receipt> Replayed(const std::string& key, const CommandDigest& digest) const;
  // Journals every version of the program (with a content hash) not yet
  // published; FailedPrecondition if a published id now has other content.
  absl::Status PublishVersions();
  // Assigns seqs and links (Entry::member_prev) and appends; caller holds
  // journal_mutex_ and the shard locks of the entries' members.
  absl::Status AppendLocked(std::span<Entry> entries);
  // A journal shared with other engines (PostgreSQL): applies the entries
  // they appended since this engine's last (Store::CatchUp), under every
  // shard lock; returns how many. Each mutating call whose append is
  // refused as Aborted waits a random moment, catches up and decides
  // again, at most kAttempts times; from the fourth attempt on it first
  // waits for its turn at the journal (Store::WaitForTurn), so that it
  // cannot be overtaken again by other instances. Execute also decides
  // again when it failed on a state that catching up changed.
  static constexpr int kAttempts = 64;
  absl::StatusOr<uint64_t> CatchUp();
  absl::StatusOr<Receipt> ExecuteOnce(const Command& command);
  std::vector<absl::StatusOr<Receipt>> ExecuteBatchOnce(std::span<const Command> commands);

  std::unique_ptr<Store> store_;
  const Clock& clock_;
  const Program program_;
  mutable std::array<Shard, kShards> shards_;
  SpinningMutex journal_mutex_;  // serializes seq assignment with appends
  // Under journal_mutex_: OK, or why the projection no longer matches the
  // journal (a member could not be rebuilt after a failed append); every
  // append is then refused with it, so that nothing is decided on a wrong
  // state. Reopening the engine rebuilds it.
  absl::Status lost_;
  mutable std::mutex published_mutex_;
  absl::flat_hash_map<std::string, Sha256> published_;  // version id -> content hash
};

}  // namespace loyalty

#endif  // LOYALTY_ENGINE_H_
