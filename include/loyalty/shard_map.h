// The shard map of a program sharded by member: a fixed number of logical
// shards, each member in the one its id hashes to, and each logical shard
// held by one PostgreSQL database, in a schema of its own (ShardSchema), with
// its own chain, head and idempotency keys (docs/scaling.md).
//
//   auto map = ShardMap::Create(256, {{"postgresql:///a?host=/run/pg-a", ShardRange(0, 127)},
//                                     {"postgresql:///b?host=/run/pg-b", ShardRange(128, 255)}});
//   uint32_t shard = map->ShardOf(member);
//   auto store = OpenPostgresStore(map->ConninfoOf(shard), {.schema = ShardSchema(shard)});
//
// The map is read from a file by LoadShardMapFile (loyalty/io.h).
// Thread safety: a ShardMap is immutable; the functions keep no state.
#ifndef LOYALTY_SHARD_MAP_H_
#define LOYALTY_SHARD_MAP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/value.h"

namespace loyalty {

// The most logical shards a map may have.
inline constexpr uint32_t kMaxShards = 65536;

// The logical shard of `member` among `shards`: the first 8 bytes of the
// SHA-256 of its id (as UTF-8) read as a big-endian integer, modulo
// `shards`. The same on every machine and in every version, so that a load
// balancer can compute it to route a command. Precondition: shards > 0.
uint32_t ShardOf(const MemberId& member, uint32_t shards);

// The schema that holds logical shard `shard`'s journal: "loyalty_shard_"
// and the shard's number in decimal, e.g. "loyalty_shard_7".
std::string ShardSchema(uint32_t shard);

// The shards first to last, both included (empty if last < first).
std::vector<uint32_t> ShardRange(uint32_t first, uint32_t last);

class ShardMap {
 public:
  struct Database {
    std::string conninfo;          // a libpq connection string or URI
    std::vector<uint32_t> shards;  // the logical shards it holds
  };

  // InvalidArgument naming the problem if `shards` is 0 or more than
  // kMaxShards, a database has an empty conninfo, a shard is past the
  // count or held by two databases (both named by their index), or a
  // shard is held by none (the first such is named).
  static absl::StatusOr<ShardMap> Create(uint32_t shards, std::vector<Database> databases);

  uint32_t shards() const { return shards_; }
  // ::ShardOf(member, shards()).
  uint32_t ShardOf(const MemberId& member) const;
  // The database that holds `shard`. Precondition: shard < shards().
  const Database& DatabaseOf(uint32_t shard) const;
  const std::string& ConninfoOf(uint32_t shard) const { return DatabaseOf(shard).conninfo; }
  const std::vector<Database>& databases() const { return databases_; }

 private:
  ShardMap() = default;

  uint32_t shards_ = 0;
  std::vector<Database> databases_;
  std::vector<uint32_t> database_of_;  // shard -> index in databases_
};

}  // namespace loyalty

#endif  // LOYALTY_SHARD_MAP_H_
