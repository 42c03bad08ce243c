// The shard map: which logical shard a member is in, and which database
// holds it.
#include "loyalty/shard_map.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "loyalty/check.h"

namespace loyalty {

uint32_t ShardOf(const MemberId& member, uint32_t shards) {
  LOYALTY_CHECK(shards > 0);
  const Sha256 hash = internal::Sha256Of(member.value());
  uint64_t prefix = 0;
  for (int i = 0; i < 8; ++i) prefix = (prefix << 8) | hash[i];
  return static_cast<uint32_t>(prefix % shards);
}

std::string ShardSchema(uint32_t shard) { return absl::StrCat("loyalty_shard_", shard); }

std::vector<uint32_t> ShardRange(uint32_t first, uint32_t last) {
  std::vector<uint32_t> range;
  for (uint64_t shard = first; shard <= last; ++shard) range.push_back(static_cast<uint32_t>(shard));
  return range;
}

absl::StatusOr<ShardMap> ShardMap::Create(uint32_t shards, std::vector<Database> databases) {
  if (shards == 0 || shards > kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard map: ", shards, " shards: a map has 1 to ", kMaxShards, " logical shards"));
  }
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> database_of(shards, kNone);
  for (size_t d = 0; d < databases.size(); ++d) {
    if (databases[d].conninfo.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("shard map: database ", d, " has no conninfo"));
    }
    for (uint32_t shard : databases[d].shards) {
      if (shard >= shards) {
        return absl::InvalidArgumentError(
            absl::StrCat("shard map: database ", d, " holds shard ", shard, ", past the map's ", shards, " shards"));
      }
      if (database_of[shard] != kNone) {
        return absl::InvalidArgumentError(absl::StrCat("shard map: shard ", shard, " is held by database ",
                                                       database_of[shard], " and by database ", d));
      }
      database_of[shard] = static_cast<uint32_t>(d);
    }
  }
  for (uint32_t shard = 0; shard < shards; ++shard) {
    if (database_of[shard] == kNone) {
      return absl::InvalidArgumentError(absl::StrCat("shard map: shard ", shard, " is held by no database"));
    }
  }
  ShardMap map;
  map.shards_ = shards;
  map.databases_ = std::move(databases);
  map.database_of_ = std::move(database_of);
  return map;
}

uint32_t ShardMap::ShardOf(const MemberId& member) const { return loyalty::ShardOf(member, shards_); }

const ShardMap::Database& ShardMap::DatabaseOf(uint32_t shard) const {
  LOYALTY_CHECK(shard < shards_);
  return databases_[database_of_[shard]];
}

}  // namespace loyalty
