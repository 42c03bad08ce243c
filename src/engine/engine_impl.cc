// The engine behind its facade: locking, idempotency, the append, catching
// up with other writers, and the queries.
#include "engine/engine_impl.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <variant>
#include <thread>
#include <optional>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "engine/shard_locks.h"
#include "store/chain_pipeline.h"
#include "ledger/journal_rules.h"
#include "journal/command_codec.h"
#include "journal/state_digest.h"
#include "loyalty/check.h"

namespace loyalty::internal {

namespace {

// `balance` with the holds of `holds` (hold seq -> amount and expiry) that
// lapsed by `at` counted as released, in hold order, as the member's next
// command journals them: each settles debt first, the rest is available
// again.
void ReleaseLapsed(const absl::btree_map<uint64_t, std::pair<Points, Instant>>& holds, Instant at, Balance& balance) {
  for (const auto& [seq, hold] : holds) {
    const auto& [amount, expires_at] = hold;
    if (expires_at > at) continue;
    const Points paid = std::min(amount, balance.debt);
    balance.held = Points(balance.held.value() - amount.value());
    balance.debt = Points(balance.debt.value() - paid.value());
    balance.available = Points(balance.available.value() + amount.value() - paid.value());
  }
}

// Waits up to 100 us times `attempt`, at random, so that engines overtaken
// together do not retry in lockstep.
void BackOff(int attempt) {
  thread_local std::minstd_rand random(static_cast<unsigned>(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
      static_cast<size_t>(std::chrono::steady_clock::now().time_since_epoch().count())));
  std::this_thread::sleep_for(std::chrono::microseconds(random() % (100 * static_cast<unsigned>(attempt))));
}

// A writer's turn at a shared journal (Store::WaitForTurn), ended when it
// goes out of scope.
class Turn {
 public:
  explicit Turn(Store& store) : store_(store) {}
  ~Turn() {
    if (held_) store_.EndTurn();
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  absl::Status Take() {
    absl::Status waited = store_.WaitForTurn();
    held_ = waited.ok();
    return waited;
  }

 private:
  Store& store_;
  bool held_ = false;
};

// A call overtaken on every attempt before this one waits for its turn.
constexpr int kTurnFromAttempt = 4;

// Readies attempt `attempt` of a call whose last attempt was overtaken:
// waits a random moment, takes `turn` from kTurnFromAttempt on, then
// catches up with `catch_up`.
absl::Status ReadyRetry(int attempt, Turn& turn, absl::FunctionRef<absl::Status()> catch_up) {
  BackOff(attempt - 1);
  if (attempt >= kTurnFromAttempt) {
    if (absl::Status taken = turn.Take(); !taken.ok()) return taken;
  }
  return catch_up();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EngineImpl>> EngineImpl::Open(std::unique_ptr<Store> store, const Clock& clock,
                                                     Program program, EngineOptions options) {
  LOYALTY_CHECK(store != nullptr);
  auto engine = std::unique_ptr<EngineImpl>(new EngineImpl(std::move(store), clock, std::move(program), options));
  bool read_without_checkpoint = false;
  {
    ShardLocks all(*engine);
    // A second thread reads and decodes the journal while this one applies.
    absl::StatusOr<uint64_t> checkpoint = engine->LoadCheckpointLocked();
    if (!checkpoint.ok()) return checkpoint.status();
    engine->CountBudgetsLocked();
    read_without_checkpoint = *checkpoint == 0 && engine->store_->LastSeq() > 0;
    JournalRules rules = engine->JournalRulesFor();
    absl::Status status =
        ReadPipelined(*engine->store_, *checkpoint + 1, [&](std::span<const Entry> entries) -> absl::Status {
      for (const Entry& entry : entries) {
        if (absl::Status admitted = engine->AdmitLocked(rules, entry); !admitted.ok()) return admitted;
      }
      return absl::OkStatus();
    });
    if (status.ok()) status = rules.Finish();
    if (!status.ok()) return status;
  }
  for (int attempt = 1;; ++attempt) {
    Turn turn(*engine->store_);
    if (attempt > 1) {
      absl::Status ready = ReadyRetry(attempt, turn, [&] { return engine->CatchUp().status(); });
      if (!ready.ok()) return ready;
    }
    absl::Status published = engine->PublishVersions();
    if (published.ok()) break;
    if (!absl::IsAborted(published) || attempt == kAttempts) return published;
  }
  // A journal read from its first entry gets its first checkpoint now, so
  // that the next open starts from it.
  engine->opened_ = true;
  if (read_without_checkpoint) {
    absl::Status saved = engine->SaveCheckpoint();
    if (!saved.ok() && !absl::IsUnimplemented(saved) && !absl::IsFailedPrecondition(saved)) return saved;
  }
  return engine;
}

absl::Status EngineImpl::PublishVersions() {
  std::vector<Entry> batch;
  for (const auto& version : program_.versions()) {
    if (version->content_hash == Sha256{}) continue;  // not loaded from a definition
    {
      std::lock_guard<std::mutex> lock(published_mutex_);
      auto it = published_.find(version->id);
      if (it != published_.end()) {
        if (it->second == version->content_hash) continue;
        return absl::FailedPreconditionError(absl::StrCat(
            "program version ", version->id, " was published with content hash ", ToHex(it->second),
            "; the program given now has ", ToHex(version->content_hash),
            ": a published version never changes, publish the change as a new version"));
      }
    }
    Entry entry;
    entry.member = MemberId::FromValid(kProgramMember);
    entry.business_time = version->announced_at;
    entry.recorded_at = clock_.Now();
    entry.idempotency_key = "publish:" + version->id;
    entry.version = version->id;
    entry.explanation = absl::StrCat("published version ", version->id, " (", version->name, "), announced ",
                                     version->announced_at.ToString(), ", effective ",
                                     version->effective_from.ToString());
    entry.body = entries::VersionPublished{version->id, version->content_hash, version->announced_at,
                                           version->effective_from};
    batch.push_back(std::move(entry));
  }
  if (batch.empty()) return absl::OkStatus();
  std::lock_guard<SpinningMutex> journal(journal_mutex_);
  if (absl::Status appended = AppendLocked(batch); !appended.ok()) return appended;
  for (const Entry& entry : batch) ApplyLocked(entry);
  return absl::OkStatus();
}

EngineImpl::Shard& EngineImpl::ShardOf(const MemberId& member) const {
  // The hash's top bits: its low bits are the hash sets' control bytes,
  // which would take few values within a shard chosen by them.
  static_assert(kShards == 64 && sizeof(size_t) == 8);
  return shards_[absl::Hash<MemberId>{}(member) >> 58];
}

MemberState* EngineImpl::FindLocked(const MemberId& member) const {
  Shard& shard = ShardOf(member);
  return shard.members.Find(member);
}

void EngineImpl::ApplyLocked(const Entry& entry) {
  if (IsProgramEntry(entry)) {  // a revised estimate changes no state
    if (const auto* published = std::get_if<entries::VersionPublished>(&entry.body)) {
      std::lock_guard<std::mutex> lock(published_mutex_);
      published_[published->version] = published->content_hash;
    }
    return;
  }
  Shard& shard = ShardOf(entry.member);
  ApplyToMember(shard.members.FindOrAdd(entry.member), entry);
}

JournalRules EngineImpl::JournalRulesFor() {
  return JournalRules({.program = &program_, .links = store_->KeepsMemberLinks(), .budgets = &budgets_});
}

void EngineImpl::CountBudgetsLocked() {
  if (budgets_.empty()) return;
  for (const Shard& shard : shards_) {
    shard.members.ForEach([&](const MemberId&, const MemberState& member) { budgets_.Add(member); });
  }
}

void EngineImpl::ApplyCountingLocked(const Entry& entry) {
  ApplyLocked(entry);
  budgets_.Add(entry);
}

absl::Status EngineImpl::AdmitLocked(JournalRules& rules, const Entry& entry) {
  if (IsProgramEntry(entry)) {
    std::lock_guard<std::mutex> lock(published_mutex_);
    return rules.AdmitVersion(entry, published_);
  }
  MemberTable& members = ShardOf(entry.member).members;
  const bool fresh = members.Find(entry.member) == nullptr;
  absl::Status admitted = rules.AdmitMember(entry, members.FindOrAdd(entry.member));
  if (!admitted.ok() && fresh) members.Erase(entry.member);
  return admitted;
}

void EngineImpl::LinkAndApplyLocked(Entry& entry) {
  MemberState& state = ShardOf(entry.member).members.FindOrAdd(entry.member);
  entry.member_prev = state.last_seq;
  ApplyToMember(state, entry);
  budgets_.Add(entry);
}

absl::Status EngineImpl::RebuildLocked(const MemberId& member, uint64_t last) {
  if (const MemberState* before = FindLocked(member)) budgets_.Remove(*before);
  ShardOf(member).members.Erase(member);
  auto entries = EntriesOf(member, last);
  absl::Status read = entries.status();
  // Read back from storage, so checked as any journal entry read is.
  MemberState* state = read.ok() && !entries->empty() ? &ShardOf(member).members.FindOrAdd(member) : nullptr;
  for (size_t i = 0; state != nullptr && read.ok() && i < entries->size(); ++i) {
    const Entry& entry = (*entries)[i];
    if (absl::Status fits = ApplyChecked(*state, entry); !fits.ok()) {
      read = absl::DataLossError(absl::StrCat("journal entry ", entry.seq, " (", EntryKindName(entry.body), " of ",
                                              member.value(), ") does not fit its member's entries before it: ",
                                              fits.message()));
    }
  }
  if (state != nullptr) budgets_.Add(*state);
  if (!read.ok()) {
    lost_ = absl::UnavailableError(absl::StrCat(
        "member ", member.value(), " could not be read back after a failed append (", read.message(),
        "): this engine refuses to write until it is opened again"));
  }
  return read;
}

absl::StatusOr<std::vector<Entry>> EngineImpl::EntriesOf(const MemberId& member, uint64_t last) const {
  std::vector<Entry> entries;
  for (uint64_t seq = last; seq != 0;) {
    auto entry = store_->Get(seq);
    if (!entry.ok()) return entry.status();
    if (entry->member != member || entry->member_prev >= seq) {
      return absl::DataLossError(absl::StrCat("journal entry ", seq, ", reached from member ", member.value(),
                                              "'s last entry by the links to each previous one, ",
                                              entry->member != member
                                                  ? absl::StrCat("is member ", entry->member.value(), "'s")
                                                  : absl::StrCat("links forward to entry ", entry->member_prev)));
    }
    seq = entry->member_prev;
    entries.push_back(*std::move(entry));
  }
  std::reverse(entries.begin(), entries.end());
  return entries;
}

absl::StatusOr<Receipt> EngineImpl::Replayed(const std::string& key, const CommandDigest& digest) const {
  std::optional<KeyRecord> record = store_->FindKey(key);
  LOYALTY_CHECK(record.has_value());
  Receipt receipt;
  receipt.replayed = true;
  // The record may come from an index on disk: its entries must be the
  // key's (a damaged index is DataLoss, never a wrong receipt).
  auto damaged = [&](uint64_t seq) {
    return absl::DataLossError(absl::StrCat("the index of idempotency keys names entry ", seq, " for key \"", key,
                                            "\", which is not that command's (run loyalty verify --full)"));
  };
  if (record->count == 0) return damaged(record->first);
  for (uint64_t seq = record->first; seq < record->first + record->count; ++seq) {
    auto entry = store_->Get(seq);
    if (!entry.ok()) return entry.status();
    if (entry->idempotency_key != key) return damaged(seq);
    receipt.entries.push_back(*std::move(entry));
  }
  if (receipt.entries.front().command_digest != digest) {
    return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", key,
                                                 "\" was already used for a different command (entry ",
                                                 record->first, ")"));
  }
  return receipt;
}

absl::Status EngineImpl::AppendLocked(std::span<Entry> entries) {
  if (!lost_.ok()) return lost_;
  // An entry's member_prev is the seq of its member's entry before it in
  // `entries`, or else its member's last seq. A command's few entries are
  // scanned back; a batch's many go through a map (period runs use
  // AppendRunLocked).
  const bool few = entries.size() <= 16;
  absl::flat_hash_map<absl::string_view, uint64_t> last;  // member -> seq so far, if not few
  uint64_t seq = store_->LastSeq();
  for (size_t i = 0; i < entries.size(); ++i) {
    Entry& entry = entries[i];
    entry.seq = ++seq;
    if (entry.member.value() == kProgramMember) continue;  // the program's entries are not linked
    std::optional<uint64_t> before;
    if (few) {
      for (size_t j = i; j-- > 0 && !before;) {
        if (entries[j].member == entry.member) before = entries[j].seq;
      }
    } else if (auto it = last.find(entry.member.value()); it != last.end()) {
      before = it->second;
    }
    if (!before) {
      const MemberState* state = FindLocked(entry.member);
      before = state != nullptr ? state->last_seq : 0;
    }
    entry.member_prev = *before;
    if (!few) last[entry.member.value()] = entry.seq;
  }
  return store_->Append(entries);
}

absl::Status EngineImpl::AppendRunLocked(std::span<Entry> entries, std::span<MemberState* const> states) {
  if (!lost_.ok()) return lost_;
  uint64_t seq = store_->LastSeq();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].seq = ++seq;
    const bool after_own = i > 0 && states[i - 1] == states[i];
    entries[i].member_prev = after_own ? entries[i - 1].seq : states[i]->last_seq;
  }
  return store_->Append(entries);
}

absl::StatusOr<uint64_t> EngineImpl::CatchUp() {
  ShardLocks all(*this);
  std::lock_guard<std::mutex> budget(budget_mutex_);
  std::lock_guard<SpinningMutex> journal(journal_mutex_);
  uint64_t read = 0;
  JournalRules rules = JournalRulesFor();
  absl::Status status = store_->CatchUp([&](const Entry& entry) -> absl::Status {
    if (absl::Status admitted = AdmitLocked(rules, entry); !admitted.ok()) return admitted;
    ++read;
    return absl::OkStatus();
  });
  if (status.ok()) status = rules.Finish();
  if (!status.ok()) return status;
  return read;
}

absl::StatusOr<Receipt> EngineImpl::Execute(const Command& command) {
  bool overtaken = false;
  for (int attempt = 1;; ++attempt) {
    Turn turn(*store_);
    if (overtaken) {
      if (absl::Status ready = ReadyRetry(attempt, turn, [&] { return CatchUp().status(); }); !ready.ok()) {
        return ready;
      }
    }
    absl::StatusOr<Receipt> result = ExecuteOnce(command);
    if (result.ok()) CheckpointIfDue();
    if (result.ok() || !store_->Shared() || attempt == kAttempts) return result;
    overtaken = absl::IsAborted(result.status());
    if (overtaken) continue;
    absl::StatusOr<uint64_t> read = CatchUp();
    if (!read.ok()) return read.status();
    if (*read == 0) return result;  // decided on the latest state
  }
}

std::vector<absl::StatusOr<Receipt>> EngineImpl::ExecuteBatch(std::span<const Command> commands) {
  for (int attempt = 1;; ++attempt) {
    Turn turn(*store_);
    if (attempt > 1) {
      if (absl::Status ready = ReadyRetry(attempt, turn, [&] { return CatchUp().status(); }); !ready.ok()) {
        return std::vector<absl::StatusOr<Receipt>>(commands.size(), ready);
      }
    }
    std::vector<absl::StatusOr<Receipt>> results = ExecuteBatchOnce(commands);
    bool overtaken = std::any_of(results.begin(), results.end(),
                                 [](const absl::StatusOr<Receipt>& r) { return absl::IsAborted(r.status()); });
    if (!overtaken) CheckpointIfDue();
    if (!overtaken || attempt == kAttempts) return results;
  }
}

absl::StatusOr<Receipt> EngineImpl::ExecuteOnce(const Command& command) {
  const std::string& key = IdempotencyKeyOf(command);
  const MemberId* involved[2] = {&MemberOf(command), &MemberOf(command)};
  if (const auto* transfer = std::get_if<Transfer>(&command)) involved[1] = &transfer->to;
  ShardLocks locks(*this, involved);
  // Under the member's lock, so that a retry arriving while the original
  // holds it sees the original's entries.
  if (store_->FindKey(key)) return Replayed(key, DigestOf(command));
  std::unique_lock<std::mutex> budget(budget_mutex_, std::defer_lock);
  if (!budgets_.empty() && std::holds_alternative<Accrue>(command)) budget.lock();
  auto lookup = [this](const MemberId& id) -> const MemberState* { return FindLocked(id); };
  auto used = [&](absl::string_view rule) {
    LOYALTY_CHECK(budget.owns_lock() || budgets_.empty());
    return budgets_.Used(rule);
  };
  auto decided = Decide(program_, lookup, command, clock_.Now(), used);
  if (!decided.ok()) return decided.status();
  absl::Status appended;
  {
    std::lock_guard<SpinningMutex> journal(journal_mutex_);
    appended = AppendLocked(*decided);
  }
  // Another caller may have recorded the same key since the check above.
  if (absl::IsAlreadyExists(appended) && store_->FindKey(key)) return Replayed(key, DigestOf(command));
  if (!appended.ok()) return appended;
  for (const Entry& entry : *decided) ApplyCountingLocked(entry);
  return Receipt{*std::move(decided), false};
}

std::vector<absl::StatusOr<Receipt>> EngineImpl::ExecuteBatchOnce(std::span<const Command> commands) {
  std::vector<absl::StatusOr<Receipt>> results(commands.size(), absl::UnknownError("not executed"));
  std::vector<const MemberId*> involved;
  for (const Command& command : commands) {
    involved.push_back(&MemberOf(command));
    if (const auto* transfer = std::get_if<Transfer>(&command)) involved.push_back(&transfer->to);
  }
  ShardLocks locks(*this, involved);
  std::unique_lock<std::mutex> budget(budget_mutex_, std::defer_lock);
  if (!budgets_.empty()) budget.lock();
  std::lock_guard<SpinningMutex> journal(journal_mutex_);

  // Each command is applied as soon as it is decided, so that the next one
  // sees it. If the append then fails, the members touched are rebuilt from
  // the journal (replay reproduces the state), which is cheaper than copying them up front
  // for a failure that should not happen. The entries go to the store in
  // pieces of about kAppendPiece, cut between commands, so that it can
  // write one piece while the next is decided; a piece stays where it is
  // until the commit.
  absl::flat_hash_map<absl::string_view, size_t> batch_keys;  // key -> command index
  std::unique_ptr<Store::Appender> appender;  // begun with the first piece
  auto hand_over = [&](std::vector<Entry>& piece) {
    if (appender == nullptr) appender = store_->BeginAppend();
    appender->Add(piece);
  };
  std::deque<std::vector<Entry>> pieces(1);
  struct Written {
    size_t piece = 0, begin = 0, end = 0;  // [begin, end) in pieces[piece]
  };
  std::vector<Written> written(commands.size());
  const uint64_t committed = store_->LastSeq();
  uint64_t next_seq = committed;
  // With other writers (a shared journal) a refused append is common: each
  // member's state is then saved before the batch first changes it and
  // restored from the copy, rather than read back from the database.
  const bool shared = store_->Shared();
  SavedStates saved;
  const Instant now = clock_.Now();
  auto lookup = [this](const MemberId& id) -> const MemberState* { return FindLocked(id); };
  auto used = [this](absl::string_view rule) { return budgets_.Used(rule); };
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string& key = IdempotencyKeyOf(commands[i]);
    if (store_->FindKey(key)) {
      results[i] = Replayed(key, DigestOf(commands[i]));
      continue;
    }
    if (auto it = batch_keys.find(key); it != batch_keys.end()) {
      if (DigestOf(commands[it->second]) != DigestOf(commands[i])) {
        results[i] = absl::AlreadyExistsError(
            absl::StrCat("idempotency key \"", key, "\" is used by two different commands of the batch"));
      }
      continue;  // a repeat gets its first command's receipt below
    }
    auto decided = Decide(program_, lookup, commands[i], now, used);
    if (!decided.ok()) {
      results[i] = decided.status();
      continue;
    }
    batch_keys.emplace(key, i);
    std::vector<Entry>& piece = pieces.back();
    written[i] = {pieces.size() - 1, piece.size(), piece.size() + decided->size()};
    for (Entry& entry : *decided) {
      entry.seq = ++next_seq;
      if (shared && !saved.contains(entry.member)) {
        const MemberState* state = FindLocked(entry.member);
        saved.emplace(entry.member, state != nullptr ? std::optional<MemberState>(*state) : std::nullopt);
      }
      LinkAndApplyLocked(entry);
      piece.push_back(std::move(entry));
    }
    if (piece.size() >= kAppendPiece) {
      hand_over(piece);
      pieces.emplace_back();
    }
  }
  absl::Status appended = absl::OkStatus();
  if (next_seq > committed) {
    if (!pieces.back().empty()) hand_over(pieces.back());
    appended = appender->Commit();
  }
  appender.reset();
  if (!appended.ok()) UndoBatchLocked(shared, saved, pieces);
  for (size_t i = 0; i < commands.size(); ++i) {
    auto [piece, begin, end] = written[i];
    if (begin == end) continue;
    if (!appended.ok()) {
      results[i] = appended;
    } else {
      auto first = pieces[piece].begin();
      results[i] = Receipt{{std::make_move_iterator(first + static_cast<ptrdiff_t>(begin)),
                            std::make_move_iterator(first + static_cast<ptrdiff_t>(end))},
                           false};
    }
  }
  // Later repeats of a command of this batch get that command's receipt. An
  // earlier command under the same key failed (writing nothing, so its key
  // stayed free and the one recorded was decided afresh): it keeps its error.
  for (size_t i = 0; i < commands.size(); ++i) {
    auto it = batch_keys.find(IdempotencyKeyOf(commands[i]));
    if (it == batch_keys.end() || it->second >= i || absl::IsAlreadyExists(results[i].status())) continue;
    results[i] = results[it->second];
    if (results[i].ok()) results[i]->replayed = true;
  }
  return results;
}

void EngineImpl::UndoBatchLocked(bool shared, SavedStates& saved, const std::deque<std::vector<Entry>>& pieces) {
  if (shared) {
    for (auto& [member, state] : saved) {
      if (const MemberState* changed = FindLocked(member)) budgets_.Remove(*changed);
      if (state) budgets_.Add(*state);
      if (state) ShardOf(member).members.FindOrAdd(member) = *std::move(state);
      else ShardOf(member).members.Erase(member);
    }
    return;
  }
  // Each member touched, with its last seq before the batch: the link of
  // its first entry in the batch.
  absl::flat_hash_map<MemberId, uint64_t> touched;
  for (const std::vector<Entry>& piece : pieces) {
    for (const Entry& entry : piece) touched.try_emplace(entry.member, entry.member_prev);
  }
  // A member that cannot be read back sets lost_, which refuses later
  // appends; the batch's commands keep the append's error.
  for (const auto& [member, last] : touched) RebuildLocked(member, last).IgnoreError();
}

absl::btree_map<MemberId, const MemberState*> EngineImpl::MembersInIdOrderLocked() const {
  absl::btree_map<MemberId, const MemberState*> ordered;
  for (const Shard& shard : shards_) {
    shard.members.ForEach([&](const MemberId& id, const MemberState& member) { ordered.emplace(id, &member); });
  }
  return ordered;
}

std::vector<std::pair<const MemberId*, MemberState*>> EngineImpl::MembersSortedLocked() {
  std::vector<std::pair<const MemberId*, MemberState*>> sorted;
  for (Shard& shard : shards_) {
    shard.members.ForEach([&](const MemberId& id, MemberState& member) { sorted.emplace_back(&id, &member); });
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return sorted;
}

absl::StatusOr<Receipt> EngineImpl::RunExpiry(const std::string& key, Instant as_of) {
  return RunOverMembersRetrying(PeriodRun{PeriodRun::Kind::kExpiry, key, as_of});
}

absl::StatusOr<Receipt> EngineImpl::ClosePeriod(const std::string& key, Instant as_of) {
  return RunOverMembersRetrying(PeriodRun{PeriodRun::Kind::kClosePeriod, key, as_of});
}

template <typename F>
absl::StatusOr<Receipt> EngineImpl::Retrying(F once) {
  for (int attempt = 1;; ++attempt) {
    Turn turn(*store_);
    if (attempt > 1) {
      if (absl::Status ready = ReadyRetry(attempt, turn, [&] { return CatchUp().status(); }); !ready.ok()) {
        return ready;
      }
    }
    absl::StatusOr<Receipt> result = once();
    if (!absl::IsAborted(result.status()) || attempt == kAttempts) return result;
  }
}

absl::StatusOr<Receipt> EngineImpl::RunOverMembersRetrying(const PeriodRun& run) {
  return Retrying([&] { return RunOverMembers(run); });
}

absl::StatusOr<Receipt> EngineImpl::RunOverMembers(const PeriodRun& run) {
  const std::string& key = run.idempotency_key;
  const Instant as_of = run.as_of;
  if (key.empty() || key.size() > 128) {
    return absl::InvalidArgumentError("idempotency_key: must have 1 to 128 bytes");
  }
  if (absl::Status in_range = CheckBusinessTime("as_of", as_of); !in_range.ok()) return in_range;
  std::string record = RecordOf(run);
  const CommandDigest digest = DigestOfRecord(record);
  if (store_->FindKey(key)) return Replayed(key, digest);
  const MemberDecision decide = run.kind == PeriodRun::Kind::kExpiry ? DecideExpiry : DecideTierReview;

  ShardLocks all(*this);
  // Members in id order, so that the same journal always yields the same run.
  const std::vector<std::pair<const MemberId*, MemberState*>> sorted = MembersSortedLocked();
  const Instant now = clock_.Now();
  std::vector<Entry> batch;
  std::vector<MemberState*> states;  // of each entry of the batch
  constexpr size_t kAhead = 8;  // members in id order are scattered over the shards' pages
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + kAhead < sorted.size()) __builtin_prefetch(sorted[i + kAhead].second);
    if (i + kAhead / 2 < sorted.size()) {
      const MemberState& next = *sorted[i + kAhead / 2].second;
      __builtin_prefetch(&next.detail());
      if (!next.lots.empty()) __builtin_prefetch(next.lots.data());
    }
    const auto& [id, member] = sorted[i];
    std::vector<Entry> due = decide(program_, *id, *member, as_of, key, digest, now);
    if (due.empty()) continue;
    if (batch.empty()) {  // most runs change most members, with an entry or two each
      batch.reserve(sorted.size());
      states.reserve(sorted.size());
    }
    std::move(due.begin(), due.end(), std::back_inserter(batch));
    states.resize(batch.size(), member);
  }
  if (!batch.empty()) {
    batch.front().command = std::move(record);
    std::lock_guard<SpinningMutex> journal(journal_mutex_);
    if (absl::Status appended = AppendRunLocked(batch, states); !appended.ok()) return appended;
  }
  for (size_t i = 0; i < batch.size(); ++i) ApplyToMember(*states[i], batch[i]);
  return Receipt{std::move(batch), false};
}

namespace {

absl::Status CheckRevision(const EstimateRevision& revision) {
  if (revision.idempotency_key.empty() || revision.idempotency_key.size() > 128) {
    return absl::InvalidArgumentError("idempotency_key: must have 1 to 128 bytes");
  }
  if (absl::Status in_range = CheckBusinessTime("effective_from", revision.effective_from); !in_range.ok()) {
    return in_range;
  }
  if (!IsShare(revision.expected_redemption_rate)) {
    return absl::InvalidArgumentError(absl::StrCat("expected_redemption_rate: ",
                                                   revision.expected_redemption_rate.ToString(),
                                                   " is not a share in (0, 1]"));
  }
  if (revision.cohort < 0 || revision.cohort > 9999) {
    return absl::InvalidArgumentError(absl::StrCat("cohort: ", revision.cohort, " is not a year 1..9999 (0: all)"));
  }
  if (revision.actor.empty() || revision.actor.size() > 256) {
    return absl::InvalidArgumentError("actor: must have 1 to 256 bytes");
  }
  if (revision.reason.size() > 4096) return absl::InvalidArgumentError("reason: longer than 4096 bytes");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Receipt> EngineImpl::ReviseEstimate(const EstimateRevision& revision) {
  if (absl::Status valid = CheckRevision(revision); !valid.ok()) return valid;
  return Retrying([&] { return ReviseEstimateOnce(revision); });
}

absl::StatusOr<Receipt> EngineImpl::ReviseEstimateOnce(const EstimateRevision& revision) {
  entries::EstimateRevised body{revision.expected_redemption_rate, revision.cohort, revision.actor, revision.reason};
  Entry entry;
  entry.member = MemberId::FromValid(kProgramMember);
  entry.business_time = revision.effective_from;
  entry.recorded_at = clock_.Now();
  entry.idempotency_key = revision.idempotency_key;
  entry.version = program_.InForceAt(revision.effective_from).id;
  entry.body = body;
  // What a retry must repeat; the actor's length makes the split unambiguous.
  entry.command_digest = DigestOfRecord(absl::StrCat(
      "estimate ", revision.effective_from.unix_micros(), " ", revision.expected_redemption_rate.ToString(), " ",
      revision.cohort, " ", revision.actor.size(), ":", revision.actor, revision.reason));
  if (store_->FindKey(entry.idempotency_key)) return Replayed(entry.idempotency_key, entry.command_digest);
  entry.explanation = absl::StrCat("expected redemption rate ", revision.expected_redemption_rate.ToString(),
                                   revision.cohort == 0 ? " for every cohort" : absl::StrCat(" for cohort ", revision.cohort),
                                   " from ", revision.effective_from.ToString(), ", revised by ", revision.actor,
                                   revision.reason.empty() ? "" : absl::StrCat(": ", revision.reason));
  std::vector<Entry> batch{std::move(entry)};
  std::lock_guard<SpinningMutex> journal(journal_mutex_);
  if (absl::Status appended = AppendLocked(batch); !appended.ok()) return appended;
  return Receipt{std::move(batch), false};
}

absl::StatusOr<TierStanding> EngineImpl::TierOf(const MemberId& member, Instant at) const {
  return ReadMember(member, [&](const MemberState& state) { return StandingOf(program_, state, at); });
}

template <typename F>
auto EngineImpl::ReadMember(const MemberId& member, F read) const
    -> absl::StatusOr<std::invoke_result_t<F, const MemberState&>> {
  const MemberId* involved[] = {&member};
  ShardLocks lock(*this, involved);
  const MemberState* state = FindLocked(member);
  if (state == nullptr) return absl::NotFoundError(absl::StrCat("member ", member.value(), " is not enrolled"));
  return read(*state);
}

absl::StatusOr<MemberState> EngineImpl::Snapshot(const MemberId& member) const {
  return ReadMember(member, [](const MemberState& state) { return state; });
}

absl::StatusOr<Balance> EngineImpl::BalanceOf(const MemberId& member) const {
  const Instant now = clock_.Now();
  return ReadMember(member, [now](const MemberState& state) {
    Balance balance{state.balance, state.held(), state.debt()};
    absl::btree_map<uint64_t, std::pair<Points, Instant>> holds;
    for (const auto& [seq, hold] : state.detail().holds) holds.emplace(seq, std::pair(hold.amount, hold.expires_at));
    ReleaseLapsed(holds, now, balance);
    return balance;
  });
}

absl::StatusOr<std::vector<Lot>> EngineImpl::OpenLots(const MemberId& member) const {
  return ReadMember(member, [](const MemberState& state) {
    std::vector<Lot> lots;
    for (size_t index : SpendableLots(state, Instant::Min())) lots.push_back(state.lots[index]);
    return lots;
  });
}

absl::StatusOr<std::vector<Entry>> EngineImpl::History(const MemberId& member) const {
  auto last = ReadMember(member, [](const MemberState& state) -> uint64_t { return state.last_seq; });
  if (!last.ok()) return last.status();
  return EntriesOf(member, *last);  // committed entries never change: no lock needed
}

absl::StatusOr<Balance> EngineImpl::BalanceAsOf(const MemberId& member, Instant at) const {
  auto history = History(member);
  if (!history.ok()) return history.status();
  Balance balance;
  absl::btree_map<uint64_t, std::pair<Points, Instant>> holds;  // open at `at`
  for (const Entry& entry : *history) {
    if (entry.business_time > at) continue;
    BalanceDelta delta = DeltaOf(entry.body);
    // Each partial sum is bounded by totals the ledger already holds.
    balance.available = Points(balance.available.value() + delta.available.value());
    balance.held = Points(balance.held.value() + delta.held.value());
    balance.debt = Points(balance.debt.value() + delta.debt.value());
    if (const auto* placed = std::get_if<entries::HoldPlaced>(&entry.body)) {
      holds.emplace(entry.seq, std::pair(placed->amount, placed->expires_at));
    } else if (const auto* captured = std::get_if<entries::HoldCaptured>(&entry.body)) {
      holds.erase(captured->hold);
    } else if (const auto* released = std::get_if<entries::HoldReleased>(&entry.body)) {
      holds.erase(released->hold);
    }
  }
  ReleaseLapsed(holds, at, balance);
  return balance;
}

absl::StatusOr<Points> EngineImpl::BudgetUsed(absl::string_view rule) const {
  std::lock_guard<std::mutex> lock(budget_mutex_);
  if (!budgets_.Counts(rule)) {
    return absl::NotFoundError(absl::StrCat("no version of the program gives rule \"", rule, "\" a budget"));
  }
  return budgets_.Used(rule);
}

absl::StatusOr<std::vector<LapsingLot>> EngineImpl::ExpiringPoints(const MemberId& member, int within_days) const {
  constexpr int kMaxDays = 36600;
  if (within_days < 0 || within_days > kMaxDays) {
    return absl::InvalidArgumentError(absl::StrCat("within_days: ", within_days, " is not 0..", kMaxDays));
  }
  const Instant now = clock_.Now();
  const int64_t window = int64_t{within_days} * 24 * 3600 * 1'000'000;
  const Instant until = now.unix_micros() > Instant::Max().unix_micros() - window
                            ? Instant::Max()
                            : Instant::FromUnixMicros(now.unix_micros() + window);
  return ReadMember(member, [&](const MemberState& state) { return ExpiringPointsOf(program_, state, now, until); });
}

std::vector<PendingTransfer> EngineImpl::PendingTransfers() const {
  ShardLocks all(*this);
  std::vector<PendingTransfer> pending;
  for (const Shard& shard : shards_) {
    shard.members.ForEach([&](const MemberId& id, const MemberState& member) {
      for (const auto& [seq, sent] : member.detail().transfers_sent) pending.push_back({id, seq, sent});
    });
  }
  std::sort(pending.begin(), pending.end(),
            [](const PendingTransfer& a, const PendingTransfer& b) { return std::tie(a.from, a.seq) < std::tie(b.from, b.seq); });
  return pending;
}

Sha256 EngineImpl::StateDigest() const {
  ShardLocks all(*this);
  std::lock_guard<std::mutex> lock(published_mutex_);
  return internal::StateDigest(MembersInIdOrderLocked(), published_);
}

}  // namespace loyalty::internal
