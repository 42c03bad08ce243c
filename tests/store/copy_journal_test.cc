// Moving a logical shard to another database (CopyJournal): the journal is
// copied while it takes commands and again after its writer stopped, while
// another shard on the same server keeps taking commands; the copy verifies
// on its own, opens to the same state and answers old retries; a target
// that holds another journal, or a damaged source entry, copies nothing.
#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/shard_map.h"
#include "loyalty/store.h"
#include "store_fixture.h"

namespace loyalty {
namespace {

class CopyJournalTest : public ::testing::Test {
 protected:
  CopyJournalTest()
      : target_(absl::StrReplaceAll(PostgresConninfo(), {{"/loyalty?", "/loyalty_move?"}})),
        clock_(*Instant::Parse("2011-01-10T12:00:00Z")) {
    PostgresSql("SET client_min_messages = warning; DROP SCHEMA IF EXISTS loyalty_shard_0, loyalty_shard_1 CASCADE");
    PostgresSql("DROP DATABASE IF EXISTS loyalty_move");
    PostgresSql("CREATE DATABASE loyalty_move");
  }

  static absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(absl::StatusOr<std::unique_ptr<Store>> store,
                                                            const Clock& clock) {
    if (!store.ok()) return store.status();
    return Engine::Open(*std::move(store), clock,
                        *Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter}));
  }
  absl::StatusOr<std::unique_ptr<Store>> Source(uint32_t shard) {
    return OpenPostgresStore(PostgresConninfo(), {.schema = ShardSchema(shard)});
  }
  absl::StatusOr<std::unique_ptr<Store>> Target() { return OpenPostgresStore(target_, {.schema = ShardSchema(1)}); }

  // Shard 1's journal and its copy in the new database, and what
  // CopyJournal made of them.
  struct Copied {
    std::unique_ptr<Store> source, target;
    absl::StatusOr<uint64_t> entries;
  };
  Copied Copy() {
    auto source = Source(1);
    auto target = Target();
    if (!source.ok() || !target.ok()) {
      ADD_FAILURE() << source.status() << " / " << target.status();
      return {nullptr, nullptr, absl::UnknownError("not opened")};
    }
    absl::StatusOr<uint64_t> entries = CopyJournal(**source, **target);
    return {*std::move(source), *std::move(target), entries};
  }

  // `n` credits of `member` (enrolled by the first round), keyed by `round`.
  static void Credits(Engine& engine, const std::string& member, const std::string& round, int n) {
    const MemberId id = MemberId::FromValid(member);
    if (round == "1") {
      ASSERT_TRUE(engine.Execute(Enroll{.idempotency_key = "e-" + member, .member = id}).ok());
    }
    for (int i = 0; i < n; ++i) {
      auto receipt = engine.Execute(
          Credit{.idempotency_key = absl::StrCat("c-", member, "-", round, "-", i), .member = id, .amount = Points(10)});
      ASSERT_TRUE(receipt.ok()) << receipt.status();
    }
  }

  std::string target_;
  FakeClock clock_;
};

TEST_F(CopyJournalTest, AShardMovesWhileTheOthersKeepTakingCommands) {
  auto moving = OpenEngine(Source(1), clock_);
  ASSERT_TRUE(moving.ok()) << moving.status();
  auto staying = OpenEngine(Source(0), clock_);
  ASSERT_TRUE(staying.ok()) << staying.status();
  Credits(**moving, "ann", "1", 20);
  ASSERT_TRUE((*moving)->SaveCheckpoint().ok());
  Credits(**moving, "ann", "2", 5);
  {
    // The bulk, while the shard takes commands.
    Copied copied = Copy();
    ASSERT_TRUE(copied.entries.ok()) << copied.entries.status();
    EXPECT_EQ(*copied.entries, 26u);
    EXPECT_EQ(copied.target->Checkpoints()->size(), 1u);
  }
  Credits(**moving, "ann", "3", 4);
  Credits(**staying, "bob", "1", 3);
  const Sha256 digest = (*moving)->StateDigest();
  moving->reset();  // the shard's writer stops (its shutdown checkpoint is copied too)
  {
    Copied copied = Copy();
    ASSERT_TRUE(copied.entries.ok()) << copied.entries.status();
    EXPECT_EQ(*copied.entries, 4u);
    EXPECT_EQ(copied.target->HeadHash(), copied.source->HeadHash());
    auto verified = VerifyChain(*copied.target);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(*verified, 30u);
  }
  Credits(**staying, "bob", "2", 3);
  // The map now names the new database for shard 1: its engine opens there
  // from the copied checkpoint, to the same state, and knows the old keys.
  auto moved = OpenEngine(Target(), clock_);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ((*moved)->StateDigest(), digest);
  EXPECT_EQ((*moved)->BalanceOf(MemberId::FromValid("ann"))->available, Points(290));
  auto retry = (*moved)->Execute(
      Credit{.idempotency_key = "c-ann-1-0", .member = MemberId::FromValid("ann"), .amount = Points(10)});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ((*staying)->BalanceOf(MemberId::FromValid("bob"))->available, Points(60));
}

TEST_F(CopyJournalTest, ATargetHoldingAnotherJournalIsRefused) {
  {
    auto engine = OpenEngine(Source(1), clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    Credits(**engine, "ann", "1", 3);
    auto other = OpenEngine(Target(), clock_);
    ASSERT_TRUE(other.ok()) << other.status();
    Credits(**other, "zoe", "1", 1);
  }
  Copied copied = Copy();
  EXPECT_TRUE(absl::IsFailedPrecondition(copied.entries.status())) << copied.entries.status();
  ASSERT_NE(copied.target, nullptr);
  EXPECT_EQ(copied.target->LastSeq(), 2u);
}

TEST_F(CopyJournalTest, ADamagedSourceEntryIsNamedAndNotCopied) {
  {
    auto engine = OpenEngine(Source(1), clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    Credits(**engine, "ann", "1", 3);
  }
  // Damage before the checkpoint, which the source's open does not read.
  PostgresSql("UPDATE loyalty_shard_1.loyalty_journal SET hash = decode(repeat('ab', 32), 'hex') WHERE seq = 2");
  Copied copied = Copy();
  EXPECT_TRUE(absl::IsDataLoss(copied.entries.status())) << copied.entries.status();
  EXPECT_NE(copied.entries.status().message().find("entry 2"), std::string::npos) << copied.entries.status();
  ASSERT_NE(copied.target, nullptr);
  EXPECT_EQ(copied.target->LastSeq(), 0u);
}

}  // namespace
}  // namespace loyalty
