// Shard map files: the JSON form of a ShardMap (docs/sharding.md).
//
//   {"shards": 256,
//    "databases": [{"conninfo": "postgresql:///loyalty?host=/run/pg-a", "shards": ["0-127"]},
//                  {"conninfo": "postgresql:///loyalty?host=/run/pg-b", "shards": ["128-254", 255]}]}
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "io/json_fields.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

using internal::Fields;
using internal::Json;
using internal::kRequired;
using internal::Problems;

// One element of a database's "shards": a shard's number, or a range
// "first-last". Appends its shards to `out`; reports a malformed one.
void ReadShards(const Json& element, const std::string& path, uint32_t count, Problems& problems,
                std::vector<uint32_t>& out) {
  uint64_t first = 0, last = 0;
  if (element.is_number_unsigned()) {
    first = last = element.get<uint64_t>();
  } else if (element.is_string()) {
    const std::string text = element.get<std::string>();
    std::vector<absl::string_view> ends = absl::StrSplit(text, absl::MaxSplits('-', 1));
    if (ends.size() != 2 || !absl::SimpleAtoi(ends[0], &first) || !absl::SimpleAtoi(ends[1], &last) ||
        last < first) {
      problems.Add(path, absl::StrCat("\"", text, "\" is not a range of shards such as \"0-127\""));
      return;
    }
  } else {
    problems.Add(path, "expected a shard's number or a range such as \"0-127\"");
    return;
  }
  if (last >= count) {
    problems.Add(path, absl::StrCat("shard ", last, " is past the map's ", count, " shards (0 to ", count - 1, ")"));
    return;
  }
  for (uint64_t shard = first; shard <= last; ++shard) out.push_back(static_cast<uint32_t>(shard));
}

// One database of "databases"; `holder` maps each shard read so far to the
// path of the database that holds it.
std::optional<ShardMap::Database> ReadDatabase(const Json& value, const std::string& path, uint32_t count,
                                               Problems& problems, std::map<uint32_t, std::string>& holder) {
  Fields f(value, path, problems, {"conninfo", "shards"});
  ShardMap::Database database;
  if (auto conninfo = f.String("conninfo", kRequired)) database.conninfo = *conninfo;
  const Json* shards = f.Array("shards");
  if (f.ok() && shards == nullptr && !f.Has("shards")) f.Get("shards", kRequired);
  if (shards == nullptr) return std::nullopt;
  for (size_t i = 0; i < shards->size(); ++i) {
    const std::string element_path = absl::StrCat(f.PathOf("shards"), "[", i, "]");
    std::vector<uint32_t> read;
    ReadShards((*shards)[i], element_path, count, problems, read);
    for (uint32_t shard : read) {
      auto [it, fresh] = holder.try_emplace(shard, path);
      if (!fresh) {
        problems.Add(element_path, absl::StrCat("shard ", shard, " is held by ", it->second, " already"));
        return std::nullopt;
      }
      database.shards.push_back(shard);
    }
  }
  return database;
}

absl::StatusOr<ShardMap> ParseShardMapOrThrow(absl::string_view json_text) {
  Problems problems;
  std::optional<Json> document = internal::ParseDocument(json_text, problems);
  if (!document) return problems.ToStatus();
  Fields f(*document, "", problems, {"shards", "databases"});
  const std::optional<int64_t> count = f.Integer("shards", 1, kMaxShards, kRequired);
  const Json* databases = f.Array("databases");
  if (f.ok() && databases == nullptr && !f.Has("databases")) f.Get("databases", kRequired);
  if (databases == nullptr) return problems.ToStatus();
  // Without a valid count the databases are still read for their own problems.
  const auto shards = static_cast<uint32_t>(count.value_or(kMaxShards));
  std::vector<ShardMap::Database> read;
  std::map<uint32_t, std::string> holder;
  for (size_t i = 0; i < databases->size(); ++i) {
    const std::string path = absl::StrCat("databases[", i, "]");
    if (auto database = ReadDatabase((*databases)[i], path, shards, problems, holder)) {
      read.push_back(*std::move(database));
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  for (uint32_t shard = 0; shard < shards; ++shard) {
    if (!holder.contains(shard)) {
      problems.Add("databases", absl::StrCat("shard ", shard, " is held by no database (every shard from 0 to ",
                                             shards - 1, " needs one)"));
      return problems.ToStatus();
    }
  }
  return ShardMap::Create(shards, std::move(read));
}

}  // namespace

absl::StatusOr<ShardMap> ParseShardMap(absl::string_view json_text) {
  try {
    return ParseShardMapOrThrow(json_text);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "shard map");
  }
}

absl::StatusOr<ShardMap> LoadShardMapFile(const std::string& path) {
  absl::StatusOr<std::string> text = internal::ReadFile(path, "shard map file");
  if (!text.ok()) return text.status();
  absl::StatusOr<ShardMap> map = ParseShardMap(*text);
  if (map.ok()) return map;
  return internal::PrefixLines(map.status(), path);
}

}  // namespace loyalty
