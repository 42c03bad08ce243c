// ShardedEngine: one engine per owned logical shard, and the routing of
// commands to them.
#include "loyalty/sharded_engine.h"

#include <algorithm>
#include <atomic>
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

absl::Status InShard(uint32_t shard, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("shard ", shard, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedEngine>> ShardedEngine::Open(ShardMap map, const StoreOpener& open_store,
                                                                   const Clock& clock, const Program& program,
                                                                   ShardedEngineOptions options) {
  auto owned = OwnedShards(map, std::move(options.owned));
  if (!owned.ok()) return owned.status();
  auto host = std::unique_ptr<ShardedEngine>(new ShardedEngine(map));
  host->owned_ = *std::move(owned);
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
  if (const auto* transfer = std::get_if<Transfer>(&command)) {
    const uint32_t from = map_.ShardOf(transfer->member), to = map_.ShardOf(transfer->to);
    if (from != to) {
      return absl::UnimplementedError(absl::StrCat("transfer from member ", transfer->member.value(), " (shard ", from,
                                                   ") to member ", transfer->to.value(), " (shard ", to,
                                                   "): transfers between shards are not supported yet"));
    }
  }
  return EngineOf(MemberOf(command));
}

absl::StatusOr<Receipt> ShardedEngine::Execute(const Command& command) {
  auto engine = Route(command);
  if (!engine.ok()) return engine.status();
  return (*engine)->Execute(command);
}

std::vector<absl::StatusOr<Receipt>> ShardedEngine::ExecuteBatch(std::span<const Command> commands) {
  std::vector<absl::StatusOr<Receipt>> results(commands.size(), absl::UnknownError("not executed"));
  // The commands of each engine, in order, with their places in `commands`.
  std::vector<std::pair<Engine*, std::vector<size_t>>> batches;
  for (size_t i = 0; i < commands.size(); ++i) {
    auto engine = Route(commands[i]);
    if (!engine.ok()) {
      results[i] = engine.status();
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
  return results;
}

absl::StatusOr<Balance> ShardedEngine::BalanceOf(const MemberId& member) const {
  auto engine = EngineOf(member);
  if (!engine.ok()) return engine.status();
  return (*engine)->BalanceOf(member);
}

}  // namespace loyalty
