// The shard map: the member's logical shard (a stable hash, checked
// against values computed apart from this code), its spread over the
// shards, the checks of a map, and its JSON file form with the path of
// every problem.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loyalty/io.h"
#include "loyalty/shard_map.h"

namespace loyalty {
namespace {

MemberId Id(const char* text) { return MemberId::FromValid(text); }

// The expected shards are the first 8 bytes of SHA-256(id) as a big-endian
// integer modulo the count, computed with Python's hashlib.
TEST(ShardOf, IsTheStableHashOfTheMemberId) {
  EXPECT_EQ(ShardOf(Id("M-1"), 256), 117u);
  EXPECT_EQ(ShardOf(Id("anna"), 256), 206u);
  EXPECT_EQ(ShardOf(Id("4711-0815"), 256), 106u);
  EXPECT_EQ(ShardOf(Id("B-0042"), 256), 230u);
  EXPECT_EQ(ShardOf(Id("M-1"), 16), 5u);
  EXPECT_EQ(ShardOf(Id("4711-0815"), 3), 2u);
  EXPECT_EQ(ShardOf(Id("anna"), 1), 0u);
}

TEST(ShardOf, SpreadsMembersEvenly) {
  std::vector<int> members(16);
  for (int i = 0; i < 16000; ++i) ++members[ShardOf(MemberId::FromValid("M-" + std::to_string(i)), 16)];
  for (int shard = 0; shard < 16; ++shard) {
    EXPECT_GT(members[shard], 850) << "shard " << shard;
    EXPECT_LT(members[shard], 1150) << "shard " << shard;
  }
}

TEST(ShardMap, MapsEveryShardToItsDatabase) {
  auto map = ShardMap::Create(4, {{"db-a", {0, 1}}, {"db-b", ShardRange(2, 3)}});
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->shards(), 4u);
  EXPECT_EQ(map->ConninfoOf(1), "db-a");
  EXPECT_EQ(map->ConninfoOf(2), "db-b");
  EXPECT_EQ(map->ShardOf(Id("M-1")), ShardOf(Id("M-1"), 4));
  EXPECT_EQ(ShardSchema(7), "loyalty_shard_7");
}

TEST(ShardMap, RefusesAMapThatDoesNotHoldEachShardOnce) {
  auto message = [](uint32_t shards, std::vector<ShardMap::Database> databases) {
    auto map = ShardMap::Create(shards, std::move(databases));
    EXPECT_TRUE(absl::IsInvalidArgument(map.status())) << map.status();
    return std::string(map.status().message());
  };
  EXPECT_EQ(message(0, {}), "shard map: 0 shards: a map has 1 to 65536 logical shards");
  EXPECT_EQ(message(2, {{"a", {0, 1}}, {"b", {1}}}), "shard map: shard 1 is held by database 0 and by database 1");
  EXPECT_EQ(message(2, {{"a", {0, 2}}}), "shard map: database 0 holds shard 2, past the map's 2 shards");
  EXPECT_EQ(message(3, {{"a", {0, 2}}}), "shard map: shard 1 is held by no database");
  EXPECT_EQ(message(1, {{"", {0}}}), "shard map: database 0 has no conninfo");
}

TEST(ShardMapFile, ReadsNumbersAndRanges) {
  auto map = ParseShardMap(R"({"shards": 8, "databases": [
      {"conninfo": "postgresql:///a", "shards": ["0-5"]},
      {"conninfo": "postgresql:///b", "shards": [6, "7-7"]}]})");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->shards(), 8u);
  EXPECT_EQ(map->ConninfoOf(5), "postgresql:///a");
  EXPECT_EQ(map->ConninfoOf(6), "postgresql:///b");
  EXPECT_EQ(map->ConninfoOf(7), "postgresql:///b");
}

TEST(ShardMapFile, NamesEachProblemByItsPath) {
  auto problems = [](const char* json) {
    auto map = ParseShardMap(json);
    EXPECT_TRUE(absl::IsInvalidArgument(map.status())) << map.status();
    return std::string(map.status().message());
  };
  EXPECT_EQ(problems(R"({"shards": 4, "databases": [{"conninfo": "a", "shards": ["0-3"]},
                                                     {"conninfo": "b", "shards": [2]}]})"),
            "databases[1].shards[0]: shard 2 is held by databases[0] already");
  EXPECT_EQ(problems(R"({"shards": 4, "databases": [{"conninfo": "a", "shards": ["0-4"]}]})"),
            "databases[0].shards[0]: shard 4 is past the map's 4 shards (0 to 3)");
  EXPECT_EQ(problems(R"({"shards": 4, "databases": [{"conninfo": "a", "shards": ["3-1", -1, "x"]}]})"),
            "databases[0].shards[0]: \"3-1\" is not a range of shards such as \"0-127\"\n"
            "databases[0].shards[1]: expected a shard's number or a range such as \"0-127\"\n"
            "databases[0].shards[2]: \"x\" is not a range of shards such as \"0-127\"");
  EXPECT_EQ(problems(R"({"shards": 4, "databases": [{"conninfo": "a", "shards": ["0-2"]}]})"),
            "databases: shard 3 is held by no database (every shard from 0 to 3 needs one)");
  const std::string missing = problems(R"({"databases": [{"shards": [0]}]})");
  EXPECT_NE(missing.find("shards: required field is missing"), std::string::npos) << missing;
  EXPECT_NE(missing.find("databases[0].conninfo: required field is missing"), std::string::npos) << missing;
  const std::string range = problems(R"({"shards": 70000, "databases": []})");
  EXPECT_NE(range.find("shards: "), std::string::npos) << range;
  EXPECT_NE(problems("[1, 2").find("(root)"), std::string::npos);
}

TEST(ShardMapFile, AFileThatCannotBeReadIsNamed) {
  auto map = LoadShardMapFile("/nonexistent/shards.json");
  EXPECT_TRUE(absl::IsNotFound(map.status())) << map.status();
  EXPECT_NE(map.status().message().find("/nonexistent/shards.json"), std::string::npos) << map.status();
}

}  // namespace
}  // namespace loyalty
