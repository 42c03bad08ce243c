// PostgreSQL journals in schemas of their own (PostgresOptions::schema),
// as the logical shards of a program keep them: journals in two schemas of
// one database are independent (each its own seqs, chain, head, keys and
// checkpoints), a reopened store finds its own, and a schema name that
// would need quoting is refused.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "loyalty/shard_map.h"
#include "loyalty/store.h"
#include "store_fixture.h"

namespace loyalty {
namespace {

class PostgresSchemaTest : public ::testing::Test {
 protected:
  PostgresSchemaTest() {
    DropPostgresJournal();
    PostgresSql("SET client_min_messages = warning; DROP SCHEMA IF EXISTS loyalty_shard_0, loyalty_shard_1 CASCADE");
  }

  static absl::StatusOr<std::unique_ptr<Store>> Open(uint32_t shard) {
    return OpenPostgresStore(PostgresConninfo(), {.schema = ShardSchema(shard)});
  }

  static absl::Status AppendCredit(Store& store, const std::string& key, int64_t amount) {
    Entry entry = Credited(store.LastSeq() + 1, key, amount);
    return store.Append(std::span<Entry>(&entry, 1));
  }
};

TEST_F(PostgresSchemaTest, JournalsInTwoSchemasAreIndependent) {
  auto first = Open(0);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Open(1);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(AppendCredit(**first, "k-1", 100).ok());
  ASSERT_TRUE(AppendCredit(**first, "k-2", 200).ok());
  // The same key and seq in the other schema: its own keys and chain.
  ASSERT_TRUE(AppendCredit(**second, "k-1", 300).ok());
  EXPECT_EQ((*first)->LastSeq(), 2u);
  EXPECT_EQ((*second)->LastSeq(), 1u);
  EXPECT_NE((*first)->HeadHash(), (*second)->HeadHash());
  // A key is unique within its schema only.
  EXPECT_TRUE(absl::IsAlreadyExists(AppendCredit(**second, "k-1", 1)));
  // The default schema holds no journal.
  auto plain = OpenPostgresStore(PostgresConninfo());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->LastSeq(), 0u);

  first->reset();
  auto reopened = Open(0);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->LastSeq(), 2u);
  ASSERT_TRUE((*reopened)->FindKey("k-2").has_value());
  EXPECT_EQ((*reopened)->FindKey("k-2")->first, 2u);
  auto verified = VerifyChain(**reopened);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, 2u);
}

TEST_F(PostgresSchemaTest, EachSchemaKeepsItsOwnCheckpoints) {
  auto first = Open(0);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Open(1);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(AppendCredit(**first, "k-1", 100).ok());
  const CheckpointInfo info{1, (*first)->HeadHash(), Sha256{}, 1};
  bool given = false;
  ASSERT_TRUE((*first)
                  ->SaveCheckpoint(info,
                                   [&](std::string* part) {
                                     if (given) return false;
                                     *part = "part";
                                     given = true;
                                     return true;
                                   })
                  .ok());
  ASSERT_EQ((*first)->Checkpoints()->size(), 1u);
  EXPECT_TRUE((*second)->Checkpoints()->empty());
}

TEST_F(PostgresSchemaTest, ASchemaNameThatNeedsQuotingIsRefused) {
  for (const char* schema : {"Shard", "shard-1", "1shard", "a;DROP TABLE x", "s\"q"}) {
    auto store = OpenPostgresStore(PostgresConninfo(), {.schema = schema});
    EXPECT_TRUE(absl::IsInvalidArgument(store.status())) << schema << ": " << store.status();
  }
}

}  // namespace
}  // namespace loyalty
