// Internal: the engine's state and work behind the facade Engine
// (loyalty/engine.h): the member shards and their locks, the journal's
// serialization, idempotency, catching up with other writers and the
// queries. Hosts never see it, so that a change here recompiles nothing of
// theirs.
#ifndef LOYALTY_SRC_ENGINE_ENGINE_IMPL_H_
#define LOYALTY_SRC_ENGINE_ENGINE_IMPL_H_

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/member_table.h"
#include "core/spinning_mutex.h"
#include "ledger/budget_use.h"
#include "loyalty/engine.h"

namespace loyalty::internal {

class JournalRules;  // ledger/journal_rules.h

class EngineImpl {
 public:
  // The Engine methods of the same names (loyalty/engine.h).
  static absl::StatusOr<std::unique_ptr<EngineImpl>> Open(std::unique_ptr<Store> store, const Clock& clock,
                                                          Program program, EngineOptions options = {});
  absl::StatusOr<Receipt> Execute(const Command& command);
  std::vector<absl::StatusOr<Receipt>> ExecuteBatch(std::span<const Command> commands);
  absl::StatusOr<Receipt> RunExpiry(const std::string& key, Instant as_of);
  absl::StatusOr<Receipt> ClosePeriod(const std::string& key, Instant as_of);
  absl::StatusOr<Receipt> ReviseEstimate(const EstimateRevision& revision);
  absl::StatusOr<TierStanding> TierOf(const MemberId& member, Instant at) const;
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;
  absl::StatusOr<Balance> BalanceAsOf(const MemberId& member, Instant at) const;
  absl::StatusOr<std::vector<Lot>> OpenLots(const MemberId& member) const;
  absl::StatusOr<std::vector<Entry>> History(const MemberId& member) const;
  absl::StatusOr<MemberState> Snapshot(const MemberId& member) const;
  Sha256 StateDigest() const;
  std::vector<PendingTransfer> PendingTransfers() const;
  absl::StatusOr<Points> BudgetUsed(absl::string_view rule) const;
  absl::StatusOr<std::vector<LapsingLot>> ExpiringPoints(const MemberId& member, int within_days) const;
  absl::Status SaveCheckpoint();
  // At a clean shutdown: a checkpoint of what was appended since the last
  // one, if the store keeps checkpoints.
  ~EngineImpl();
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

  EngineImpl(std::unique_ptr<Store> store, const Clock& clock, Program program, EngineOptions options)
      : store_(std::move(store)), clock_(clock), program_(std::move(program)), options_(options), budgets_(&program_) {}

  Shard& ShardOf(const MemberId& member) const;
  // Locks the shards of `members` in a fixed order; unlocks on destruction.
  class ShardLocks;
  MemberState* FindLocked(const MemberId& member) const;
  // Every member, in id order; caller holds every shard lock.
  absl::btree_map<MemberId, const MemberState*> MembersInIdOrderLocked() const;
  // The same, as pointers into the shards' tables, sorted without copying
  // the ids (a period run over millions of members).
  std::vector<std::pair<const MemberId*, MemberState*>> MembersSortedLocked();
  // read(state) under the member's lock, or NotFound.
  template <typename F>
  auto ReadMember(const MemberId& member, F read) const
      -> absl::StatusOr<std::invoke_result_t<F, const MemberState&>>;
  void ApplyLocked(const Entry& entry);
  // The rules entries read from the journal must meet; they keep budgets_
  // up to date with each accrual they admit.
  JournalRules JournalRulesFor();
  // Adds every member's use of the budgeted rules to budgets_ (after a
  // checkpoint is loaded). Caller holds every shard lock.
  void CountBudgetsLocked();
  // Applies `entry` and adds its grants to budgets_. Caller holds the
  // entry's shard lock, and budget_mutex_ if the program has budgets.
  void ApplyCountingLocked(const Entry& entry);
  // Checks an entry read from the journal (JournalRules) and
  // applies it; DataLoss naming it, with the state unchanged, if it does
  // not fit. Caller holds the entry's shard lock.
  absl::Status AdmitLocked(JournalRules& rules, const Entry& entry);
  // Sets the entry's member_prev to its member's last seq, then applies it.
  void LinkAndApplyLocked(Entry& entry);
  // Each member's state before a batch first changed it; nullopt for a
  // member the batch enrolled.
  using SavedStates = absl::flat_hash_map<MemberId, std::optional<MemberState>>;
  // After a batch's append failed: puts back each member in `pieces` (the
  // batch's entries) as it was, from `saved` on a shared journal or else
  // from the journal (RebuildLocked), and the budgets' use with it.
  void UndoBatchLocked(bool shared, SavedStates& saved, const std::deque<std::vector<Entry>>& pieces);
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
  // Runs `once` (an append of its own) again while another engine's append
  // overtook it (Aborted), up to kAttempts times, catching up in between.
  template <typename F>
  absl::StatusOr<Receipt> Retrying(F once);
  // One attempt of ReviseEstimate; Aborted if another engine appended first.
  absl::StatusOr<Receipt> ReviseEstimateOnce(const EstimateRevision& revision);
  absl::StatusOr<Receipt> Replayed(const std::string& key, const CommandDigest& digest) const;
  // Journals every version of the program (with a content hash) not yet
  // published; FailedPrecondition if a published id now has other content.
  absl::Status PublishVersions();
  // Loads the store's latest checkpoint into the empty projection, under
  // every shard lock; returns its seq, from which the journal is read on
  // (0: none). DataLoss naming the checkpoint if it is not of this journal,
  // its content does not match its digest, or it lies past the journal's
  // last entry (a journal cut back).
  absl::StatusOr<uint64_t> LoadCheckpointLocked();
  // A checkpoint, if the journal went options_.checkpoint_every entries past
  // the last; called with no lock held, after a command or batch. A failure
  // leaves the previous checkpoint: nothing is lost.
  void CheckpointIfDue();
  // Whether the journal is at least `every` entries past the latest
  // checkpoint (looked up in the store when other engines share it).
  bool CheckpointDue(uint64_t every);
  // Deletes all but the newest options_.checkpoints_kept checkpoints.
  void PruneCheckpoints();
  // Assigns seqs and links (Entry::member_prev) and appends; caller holds
  // journal_mutex_ and the shard locks of the entries' members.
  absl::Status AppendLocked(std::span<Entry> entries);
  // The same for a period run's entries, whose member states are known
  // (`states[i]` is entries[i]'s) and whose members' entries are adjacent.
  absl::Status AppendRunLocked(std::span<Entry> entries, std::span<MemberState* const> states);
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
  const EngineOptions options_;
  // What the budgeted accrual rules granted to every member. Read and
  // changed under budget_mutex_, which an accrual of a program with budgets
  // holds from its decision to its apply, so that two members never spend
  // the same budget. Lock order: shard locks, budget_mutex_, journal_mutex_.
  mutable std::mutex budget_mutex_;
  BudgetUse budgets_;
  mutable std::array<Shard, kShards> shards_;
  SpinningMutex journal_mutex_;  // serializes seq assignment with appends
  // Under journal_mutex_: OK, or why the projection no longer matches the
  // journal (a member could not be rebuilt after a failed append); every
  // append is then refused with it, so that nothing is decided on a wrong
  // state. Reopening the engine rebuilds it.
  absl::Status lost_;
  mutable std::mutex published_mutex_;
  absl::flat_hash_map<std::string, Sha256> published_;  // version id -> content hash
  // Under journal_mutex_: the seq of the latest checkpoint loaded or saved
  // (0: none), and whether the store keeps checkpoints at all.
  // Atomic, so that CheckpointIfDue can look without the lock.
  std::atomic<uint64_t> checkpoint_seq_ = 0;
  std::atomic<bool> keeps_checkpoints_ = true;
  bool opened_ = false;  // Open succeeded: the projection is the journal's
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_ENGINE_ENGINE_IMPL_H_
