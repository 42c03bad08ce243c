// Internal: EngineImpl::ShardLocks, the locks of a set of members' shards
// (or of all shards), taken in one order; shared by the engine's files.
#ifndef LOYALTY_SRC_ENGINE_SHARD_LOCKS_H_
#define LOYALTY_SRC_ENGINE_SHARD_LOCKS_H_

#include <algorithm>
#include <span>

#include "absl/container/inlined_vector.h"
#include "engine/engine_impl.h"

namespace loyalty::internal {

// Holds the shard mutexes of a set of members, taken in shard order so that
// two commands never wait on each other in a cycle.
class EngineImpl::ShardLocks {
 public:
  ShardLocks(const EngineImpl& engine, std::span<const MemberId* const> members) {
    for (const MemberId* member : members) shards_.push_back(&engine.ShardOf(*member));
    std::sort(shards_.begin(), shards_.end());
    shards_.erase(std::unique(shards_.begin(), shards_.end()), shards_.end());
    for (Shard* shard : shards_) shard->mutex.lock();
  }
  explicit ShardLocks(const EngineImpl& engine) {
    for (Shard& shard : engine.shards_) shards_.push_back(&shard);
    for (Shard* shard : shards_) shard->mutex.lock();
  }
  ~ShardLocks() {
    for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) (*it)->mutex.unlock();
  }
  ShardLocks(const ShardLocks&) = delete;
  ShardLocks& operator=(const ShardLocks&) = delete;

 private:
  absl::InlinedVector<Shard*, 2> shards_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_ENGINE_SHARD_LOCKS_H_
