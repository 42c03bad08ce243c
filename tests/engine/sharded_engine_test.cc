// A program sharded by member over PostgreSQL schemas (ShardedEngine):
// commands go to the journal of their member's shard; a host refuses a
// member of a shard it does not own; the program's versions are published
// in every shard; each shard's journal verifies on its own; what two hosts
// wrote, one host owning every shard reads back.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loyalty/io.h"
#include "loyalty/sharded_engine.h"
#include "loyalty/store.h"
#include "store_fixture.h"

namespace loyalty {
namespace {

constexpr uint32_t kShards = 4;

class ShardedEngineTest : public ::testing::Test {
 protected:
  ShardedEngineTest()
      : map_(*ShardMap::Create(kShards, {{PostgresConninfo(), {0, 1}}, {PostgresConninfo(), {2, 3}}})),
        clock_(*Instant::Parse("2011-01-10T12:00:00Z")),
        program_(*Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter})) {
    std::string sql = "SET client_min_messages = warning; DROP SCHEMA IF EXISTS ";
    for (uint32_t shard = 0; shard < kShards; ++shard) absl::StrAppend(&sql, shard ? ", " : "", ShardSchema(shard));
    PostgresSql(sql + " CASCADE");
    // The first members "M-<i>" of each shard.
    for (int i = 0; members_.size() < kShards * 3; ++i) {
      MemberId id = MemberId::FromValid(absl::StrCat("M-", i));
      if (in_shard_[map_.ShardOf(id)].size() < 3) {
        in_shard_[map_.ShardOf(id)].push_back(id);
        members_.push_back(id);
      }
    }
  }

  absl::StatusOr<std::unique_ptr<ShardedEngine>> Open(std::vector<uint32_t> owned = {},
                                                      const Program* program = nullptr) {
    return ShardedEngine::Open(
        map_, [&](uint32_t shard) { return OpenShardStore(map_, shard); }, clock_,
        program != nullptr ? *program : program_, {.owned = std::move(owned), .engine = {}});
  }

  static Command EnrollOf(const MemberId& id) {
    return Enroll{.idempotency_key = "e-" + id.value(), .member = id, .at = *Instant::Parse("2011-01-01T00:00:00Z")};
  }
  static Command CreditOf(const MemberId& id, int64_t points) {
    return Credit{.idempotency_key = absl::StrCat("c-", id.value(), "-", points), .member = id, .amount = Points(points)};
  }

  ShardMap map_;
  FakeClock clock_;
  Program program_;
  std::vector<MemberId> members_;
  std::map<uint32_t, std::vector<MemberId>> in_shard_;
};

TEST_F(ShardedEngineTest, EachCommandGoesToTheJournalOfItsMembersShard) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  std::vector<Command> batch;
  for (const MemberId& id : members_) batch.push_back(EnrollOf(id));
  for (size_t i = 0; i < members_.size(); ++i) batch.push_back(CreditOf(members_[i], 100 + static_cast<int64_t>(i)));
  std::vector<absl::StatusOr<Receipt>> results = (*host)->ExecuteBatch(batch);
  ASSERT_EQ(results.size(), batch.size());
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    EXPECT_EQ(results[i]->entries.at(0).member, MemberOf(batch[i])) << i;  // in the order given
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    auto balance = (*host)->BalanceOf(members_[i]);
    ASSERT_TRUE(balance.ok()) << balance.status();
    EXPECT_EQ(balance->available, Points(100 + static_cast<int64_t>(i)));
  }
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    const Store& store = (*host)->EngineOfShard(shard)->store();
    EXPECT_EQ(store.LastSeq(), 2u * 3);  // three members, enrolled and credited
    for (const MemberId& id : members_) {
      EXPECT_EQ(store.FindKey("e-" + id.value()).has_value(), map_.ShardOf(id) == shard) << id.value();
    }
    auto verified = VerifyChain(store);
    ASSERT_TRUE(verified.ok()) << "shard " << shard << ": " << verified.status();
  }
}

TEST_F(ShardedEngineTest, AHostRefusesAMemberOfAShardItDoesNotOwn) {
  const MemberId& ann = in_shard_[0][0];
  const MemberId& bob = in_shard_[2][0];
  {
    auto first = Open({0, 1});
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = Open({2, 3});
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ((*first)->owned(), (std::vector<uint32_t>{0, 1}));
    auto refused = (*first)->Execute(EnrollOf(bob));
    EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
    EXPECT_EQ(refused.status().message(),
              absl::StrCat("member ", bob.value(), " is in shard 2, which this host does not own"));
    EXPECT_TRUE(absl::IsFailedPrecondition((*first)->BalanceOf(bob).status()));
    ASSERT_TRUE((*first)->Execute(EnrollOf(ann)).ok());
    ASSERT_TRUE((*first)->Execute(CreditOf(ann, 70)).ok());
    ASSERT_TRUE((*second)->Execute(EnrollOf(bob)).ok());
    ASSERT_TRUE((*second)->Execute(CreditOf(bob, 30)).ok());
  }
  auto all = Open();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->BalanceOf(ann)->available, Points(70));
  EXPECT_EQ((*all)->BalanceOf(bob)->available, Points(30));
}

TEST_F(ShardedEngineTest, TheProgramsVersionsArePublishedInEveryShard) {
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/mm-2010-tiers.json");
  ASSERT_TRUE(program.ok()) << program.status();
  auto host = Open({}, &*program);
  ASSERT_TRUE(host.ok()) << host.status();
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    auto first = (*host)->EngineOfShard(shard)->store().Get(1);
    ASSERT_TRUE(first.ok()) << "shard " << shard << ": " << first.status();
    EXPECT_TRUE(std::holds_alternative<entries::VersionPublished>(first->body)) << "shard " << shard;
  }
}

// Keys are unique within a shard: two members of different shards may use
// the same one.
TEST_F(ShardedEngineTest, AnIdempotencyKeyIsUniqueWithinItsShard) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (uint32_t shard : {0u, 1u}) {
    auto enrolled = (*host)->Execute(Enroll{.idempotency_key = "same", .member = in_shard_[shard][0]});
    ASSERT_TRUE(enrolled.ok()) << enrolled.status();
    EXPECT_FALSE(enrolled->replayed);
  }
}

// Within a shard a transfer is one append; between shards it is three,
// in two PostgreSQL schemas (shard_transfer_test tests them on SQLite).
TEST_F(ShardedEngineTest, ATransferRunsWithinAShardAndBetweenShards) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  const MemberId &ann = in_shard_[1][0], &bea = in_shard_[1][1], &cid = in_shard_[3][0];
  for (const MemberId* id : {&ann, &bea, &cid}) ASSERT_TRUE((*host)->Execute(EnrollOf(*id)).ok());
  ASSERT_TRUE((*host)->Execute(CreditOf(ann, 500)).ok());
  auto within = (*host)->Execute(Transfer{.idempotency_key = "t-1", .member = ann, .to = bea, .amount = Points(200)});
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_EQ((*host)->BalanceOf(bea)->available, Points(200));
  auto across = (*host)->Execute(Transfer{.idempotency_key = "t-2", .member = ann, .to = cid, .amount = Points(100)});
  ASSERT_TRUE(across.ok()) << across.status();
  EXPECT_EQ(across->entries.size(), 3u);
  EXPECT_EQ((*host)->BalanceOf(ann)->available, Points(200));
  EXPECT_EQ((*host)->BalanceOf(cid)->available, Points(100));
  EXPECT_TRUE((*host)->EngineOfShard(1)->PendingTransfers().empty());
}

// The shards open at once; a shard whose journal cannot be opened fails
// the whole open, named.
TEST_F(ShardedEngineTest, AShardThatCannotOpenIsNamed) {
  auto host = ShardedEngine::Open(
      map_,
      [](uint32_t shard) -> absl::StatusOr<std::unique_ptr<Store>> {
        if (shard == 2) return absl::UnavailableError("no server");
        return NewMemoryStore();
      },
      clock_, program_);
  EXPECT_TRUE(absl::IsUnavailable(host.status())) << host.status();
  EXPECT_EQ(host.status().message(), "shard 2: no server");
}

TEST_F(ShardedEngineTest, OwnedShardsMustBeOfTheMapAndNamedOnce) {
  EXPECT_TRUE(absl::IsInvalidArgument(Open({0, 4}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Open({1, 1}).status()));
}

}  // namespace
}  // namespace loyalty
