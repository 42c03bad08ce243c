// A program sharded by member (docs/scaling.md): this host's engines, one
// per logical shard it owns, each over that shard's own journal, and the
// routing of commands to them by the member's shard (loyalty/shard_map.h).
//
//   auto map = LoadShardMapFile("shards.json");
//   auto host = ShardedEngine::Open(*map, [&](uint32_t shard) { return OpenShardStore(*map, shard); },
//                                   clock, program, {.owned = ShardRange(0, 63)});
//   auto receipt = (*host)->Execute(Credit{...});   // FailedPrecondition if another host owns the member's shard
//
// Each shard's journal has its own chain, head and idempotency keys (a key
// is unique within the member's shard), and each engine starts from its
// shard's latest checkpoint. An append is a transaction on one database.
// Thread safety: every method may be called from any thread.
#ifndef LOYALTY_SHARDED_ENGINE_H_
#define LOYALTY_SHARDED_ENGINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/command.h"
#include "loyalty/engine.h"
#include "loyalty/shard_map.h"
#include "loyalty/store.h"

namespace loyalty {

struct ShardedEngineOptions {
  std::vector<uint32_t> owned;  // the logical shards this host serves; empty: every shard of the map
  EngineOptions engine;         // for each shard's engine
};

class ShardedEngine {
 public:
  // The journal store of `shard`.
  using StoreOpener = std::function<absl::StatusOr<std::unique_ptr<Store>>(uint32_t shard)>;

  // Opens an engine for each owned shard over the journal `open_store`
  // gives for it (OpenShardStore, loyalty/store.h, for the PostgreSQL
  // schema of the shard in the database the map names); the program's
  // versions are published in each. The shards open on several threads at
  // once, so `open_store` must be safe to call from any thread.
  // InvalidArgument for an owned shard past the map or named twice;
  // otherwise the error of the lowest shard that failed, its message
  // prefixed "shard N: "; no engine stays open then.
  static absl::StatusOr<std::unique_ptr<ShardedEngine>> Open(ShardMap map, const StoreOpener& open_store,
                                                             const Clock& clock, const Program& program,
                                                             ShardedEngineOptions options = {});

  // The engine of `member`'s shard; FailedPrecondition naming the member
  // and the shard if this host does not own it, so that a load balancer
  // can route the command to the host that does.
  absl::StatusOr<Engine*> EngineOf(const MemberId& member) const;
  // The engine of `shard`; nullptr if this host does not own it.
  Engine* EngineOfShard(uint32_t shard) const;

  // Engine::Execute on the engine of the command's member. A Transfer
  // between members of two shards is Unimplemented.
  absl::StatusOr<Receipt> Execute(const Command& command);
  // Each command as Execute would route it; the commands of one shard go
  // to its engine as one ExecuteBatch, in their order. The results are in
  // the order of `commands`.
  std::vector<absl::StatusOr<Receipt>> ExecuteBatch(std::span<const Command> commands);
  // Engine::BalanceOf on the member's shard (errors as EngineOf).
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;

  const ShardMap& map() const { return map_; }
  // The shards this host owns, ascending.
  const std::vector<uint32_t>& owned() const { return owned_; }

 private:
  explicit ShardedEngine(ShardMap map) : map_(std::move(map)) {}
  // The engine of the command's member, or the routing error; for a
  // transfer, also checks that both members are in one shard.
  absl::StatusOr<Engine*> Route(const Command& command) const;

  ShardMap map_;
  std::vector<uint32_t> owned_;
  std::vector<std::unique_ptr<Engine>> engines_;  // by shard; null where not owned
};

}  // namespace loyalty

#endif  // LOYALTY_SHARDED_ENGINE_H_
