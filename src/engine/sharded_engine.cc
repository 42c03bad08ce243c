// ShardedEngine: one engine per owned logical shard, and the routing of
// commands to them.
#include "loyalty/sharded_engine.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "loyalty/check.h"

namespace loyalty {
namespace {

// `options.owned`, sorted, or every shard of `map` if empty.
absl::StatusOr<std::vector<uint32_t>> OwnedShards(const ShardMap& map, std::vector<uint32_t> owned) {
  if (owned.empty()) return ShardRange(0, map.shards() - 1);
  std::sort(owned.begin(), owned.end());
  for (size_t i = 0; i < owned.size(); ++i) {
    if (owned[i] >= map.shards()) {
      return absl::InvalidArgumentError(
          absl::StrCat("owned shard ", owned[i], " is past the map's ", map.shards(), " shards"));
    }
    if (i > 0 && owned[i] == owned[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("owned shard ", owned[i], " is named twice"));
    }
  }
  return owned;
}

// FailedPrecondition naming the first rule with a campaign budget: each
// shard's engine counts only its own members' grants, so every shard would
// grant the whole budget.
absl::Status CheckNoBudgets(const Program& program) {
  for (const auto& version : program.versions()) {
    for (const AccrualRule& rule : version->accrual) {
      if (!rule.cap.budget.has_value()) continue;
      return absl::FailedPreconditionError(absl::StrCat(
          "version ", version->id, ", rule ", rule.id,
          ": cap.budget is kept by one journal; a program sharded over several journals cannot keep a budget "
          "across them (run it on one journal, or give the rule per-member caps)"));
    }
  }
  return absl::OkStatus();
}

absl::Status InShard(uint32_t shard, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("shard ", shard, ": ", status.message()));
}

// The key of a transfer's settlement is the transfer's key and this
// (SendTransfer leaves room for it).
constexpr absl::string_view kSettledSuffix = "/settled";

// Whether the receiving shard decided against the command (it will never
// write it), rather than failing to run it: only then are the points
// returned. An engine that may have written it answers Unavailable.
bool Refused(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return true;
    default:
      return false;
  }
}

// The refusal as a settlement's reason: at most 200 bytes, cut before a
// UTF-8 continuation byte.
std::string ReasonOf(const absl::Status& refusal) {
  std::string reason(refusal.message());
  if (reason.size() > 200) {
    size_t cut = 200;
    while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason.resize(cut);
  }
  return reason;
}

absl::Status Returned(const std::string& key, const absl::Status& refusal) {
  return absl::Status(refusal.code(), absl::StrCat("transfer ", key, " returned: ", refusal.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedEngine>> ShardedEngine::Open(ShardMap map, const StoreOpener& open_store,
                                                                   const Clock& clock, const Program& program,
                                                                   ShardedEngineOptions options) {
  auto owned = OwnedShards(map, std::move(options.owned));
  if (!owned.ok()) return owned.status();
  if (map.shards() > 1) {
    if (absl::Status budgets = CheckNoBudgets(program); !budgets.ok()) return budgets;
  }
  auto host = std::unique_ptr<ShardedEngine>(new ShardedEngine(map));
  host->owned_ = *std::move(owned);
  host->forward_ = std::move(options.forward);
  host->engines_.resize(map.shards());
  // The shards open on every core at once (each open reads its checkpoint
  // and the entries after it); the first failing shard's error is returned.
  std::vector<absl::Status> errors(host->owned_.size());
  std::atomic<size_t> next = 0;
  auto open_next = [&] {
    for (size_t i; (i = next.fetch_add(1)) < host->owned_.size();) {
      const uint32_t shard = host->owned_[i];
      auto store = open_store(shard);
      if (!store.ok()) {
        errors[i] = InShard(shard, store.status());
        continue;
      }
      auto engine = Engine::Open(*std::move(store), clock, program, options.engine);
      if (!engine.ok()) {
        errors[i] = InShard(shard, engine.status());
        continue;
      }
      host->engines_[shard] = *std::move(engine);
    }
  };
  const size_t threads = std::min<size_t>(host->owned_.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(open_next);
  open_next();
  for (std::thread& worker : workers) worker.join();
  for (const absl::Status& error : errors) {
    if (!error.ok()) return error;
  }
  return host;
}

Engine* ShardedEngine::EngineOfShard(uint32_t shard) const {
  return shard < engines_.size() ? engines_[shard].get() : nullptr;
}

absl::StatusOr<Engine*> ShardedEngine::EngineOf(const MemberId& member) const {
  const uint32_t shard = map_.ShardOf(member);
  if (Engine* engine = EngineOfShard(shard)) return engine;
  return absl::FailedPreconditionError(
      absl::StrCat("member ", member.value(), " is in shard ", shard, ", which this host does not own"));
}

absl::StatusOr<Engine*> ShardedEngine::Route(const Command& command) const {
  auto engine = EngineOf(MemberOf(command));
  if (!engine.ok()) return engine;
  const auto* transfer = std::get_if<Transfer>(&command);
  if (transfer == nullptr || map_.ShardOf(transfer->to) == map_.ShardOf(transfer->member)) return engine;
  const uint32_t to = map_.ShardOf(transfer->to);
  if (EngineOfShard(to) == nullptr && !forward_) {
    return absl::FailedPreconditionError(absl::StrCat("transfer to member ", transfer->to.value(), ", who is in shard ",
                                                      to, ", which this host does not own"));
  }
  return nullptr;
}

absl::StatusOr<Receipt> ShardedEngine::Execute(const Command& command) {
  auto engine = Route(command);
  if (!engine.ok()) return engine.status();
  if (*engine == nullptr) return TransferAcross(std::get<Transfer>(command));
  return (*engine)->Execute(command);
}

absl::StatusOr<Receipt> ShardedEngine::TransferAcross(const Transfer& t) {
  Engine& sender = *EngineOfShard(map_.ShardOf(t.member));  // owned: Route
  auto sent = sender.Execute(SendTransfer{t.idempotency_key, t.member, t.at, t.to, t.amount});
  if (!sent.ok()) return sent.status();
  const Entry& out = sent->own().front();
  const auto& body = std::get<entries::TransferredOut>(out.body);
  const PendingTransfer pending{t.member, out.seq,
                                SentTransfer{t.to, t.amount, body.lots, t.idempotency_key, out.business_time}};
  auto settled = Complete(sender, pending);
  if (!settled.ok()) return settled.status();
  if (settled->returned) return Returned(t.idempotency_key, settled->refusal);
  Receipt receipt = *std::move(sent);
  for (Entry& entry : settled->entries) receipt.entries.push_back(std::move(entry));
  return receipt;
}

absl::StatusOr<Receipt> ShardedEngine::Receive(const ReceiveTransfer& command) {
  const uint32_t shard = map_.ShardOf(command.member);
  if (Engine* engine = EngineOfShard(shard)) return engine->Execute(command);
  if (forward_) return forward_(shard, command);
  return absl::UnavailableError(absl::StrCat("shard ", shard, " is not owned here, and no host to forward to is set"));
}

absl::StatusOr<ShardedEngine::Settlement> ShardedEngine::Complete(Engine& sender, const PendingTransfer& pending) {
  std::lock_guard<std::mutex> lock(transfer_locks_[pending.seq % transfer_locks_.size()]);
  auto state = sender.Snapshot(pending.from);
  if (!state.ok()) return state.status();
  if (!state->detail().transfers_sent.contains(pending.seq)) return SettledAlready(sender, pending);
  const SentTransfer& sent = pending.sent;
  auto received = Receive(ReceiveTransfer{sent.idempotency_key, sent.to, sent.sent_at, pending.from, sent.amount, sent.lots});
  if (!received.ok() && !Refused(received.status())) return received.status();
  Settlement settlement;
  settlement.returned = !received.ok();
  settlement.refusal = received.status();
  auto settled = sender.Execute(SettleTransfer{absl::StrCat(sent.idempotency_key, kSettledSuffix), pending.from,
                                               sent.sent_at, pending.seq, settlement.returned,
                                               settlement.returned ? ReasonOf(received.status()) : ""});
  if (!settled.ok()) return settled.status();
  if (received.ok()) settlement.entries.assign(received->own().begin(), received->own().end());
  settlement.entries.insert(settlement.entries.end(), settled->own().begin(), settled->own().end());
  return settlement;
}

absl::StatusOr<ShardedEngine::Settlement> ShardedEngine::SettledAlready(const Engine& sender,
                                                                        const PendingTransfer& pending) const {
  const std::string key = absl::StrCat(pending.sent.idempotency_key, kSettledSuffix);
  std::optional<KeyRecord> record = sender.store().FindKey(key);
  auto entry = record ? sender.store().Get(record->first) : absl::NotFoundError("no entry");
  const auto* body = entry.ok() ? std::get_if<entries::TransferSettled>(&entry->body) : nullptr;
  if (body == nullptr || body->transfer != pending.seq) {
    return absl::InternalError(absl::StrCat("transfer ", pending.sent.idempotency_key, " (entry ", pending.seq,
                                            ") is settled, but not under key ", key));
  }
  Settlement settlement;
  settlement.returned = !body->returned.IsZero();
  if (settlement.returned) settlement.refusal = absl::FailedPreconditionError(body->reason);
  settlement.entries.push_back(*std::move(entry));
  return settlement;
}

TransferRecovery ShardedEngine::RecoverTransfers() {
  TransferRecovery recovery;
  auto leave = [&](const absl::Status& why) {
    ++recovery.pending;
    if (recovery.first_error.ok()) recovery.first_error = why;
  };
  for (uint32_t shard : owned_) {
    Engine& sender = *engines_[shard];
    for (const PendingTransfer& pending : sender.PendingTransfers()) {
      if (EngineOfShard(map_.ShardOf(pending.sent.to)) == nullptr && !forward_) {
        leave(absl::FailedPreconditionError(absl::StrCat("transfer ", pending.sent.idempotency_key, " to member ",
                                                         pending.sent.to.value(), ": shard ",
                                                         map_.ShardOf(pending.sent.to), " is not owned here")));
        continue;
      }
      auto settled = Complete(sender, pending);
      if (!settled.ok()) {
        leave(settled.status());
      } else if (settled->returned) {
        ++recovery.returned;
      } else {
        ++recovery.delivered;
      }
    }
  }
  return recovery;
}

std::vector<absl::StatusOr<Receipt>> ShardedEngine::ExecuteBatch(std::span<const Command> commands) {
  std::vector<absl::StatusOr<Receipt>> results(commands.size(), absl::UnknownError("not executed"));
  // The commands of each engine, in order, with their places in `commands`.
  std::vector<std::pair<Engine*, std::vector<size_t>>> batches;
  std::vector<size_t> across;  // transfers between shards, run after the batches
  for (size_t i = 0; i < commands.size(); ++i) {
    auto engine = Route(commands[i]);
    if (!engine.ok() || *engine == nullptr) {
      if (engine.ok()) {
        across.push_back(i);
      } else {
        results[i] = engine.status();
      }
      continue;
    }
    auto it = std::find_if(batches.begin(), batches.end(), [&](const auto& batch) { return batch.first == *engine; });
    if (it == batches.end()) it = batches.insert(batches.end(), {*engine, {}});
    it->second.push_back(i);
  }
  for (auto& [engine, places] : batches) {
    std::vector<Command> batch;
    batch.reserve(places.size());
    for (size_t i : places) batch.push_back(commands[i]);
    std::vector<absl::StatusOr<Receipt>> done = engine->ExecuteBatch(batch);
    LOYALTY_CHECK(done.size() == places.size());
    for (size_t j = 0; j < places.size(); ++j) results[places[j]] = std::move(done[j]);
  }
  for (size_t i : across) results[i] = TransferAcross(std::get<Transfer>(commands[i]));
  return results;
}

absl::StatusOr<Balance> ShardedEngine::BalanceOf(const MemberId& member) const {
  auto engine = EngineOf(member);
  if (!engine.ok()) return engine.status();
  return (*engine)->BalanceOf(member);
}

}  // namespace loyalty
