// Campaign budgets (AccrualCap::budget): what a rule may grant to every
// member together. The rule grants what is left, then nothing, and says
// so; the use is rebuilt from the journal (checkpoint or replay), checked
// by its readers and kept by re-rating. Every figure worked out in the
// comments. The two-thread test is in engine_test.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "loyalty/sharded_engine.h"
#include "test_values.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

using test::At;
using test::Eur;
using test::Id;

// A point per euro; in the launch week of March 2025, 400 points a basket
// from a budget of 1,000; 10 points a coffee from a budget of 250.
constexpr char kCafe[] = R"({"versions": [
 {"id": "cafe-2025", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00+01:00",
  "accrual": [
   {"id": "base", "when": {"activity_types": ["purchase"]},
    "effect": {"kind": "per_money", "rate": "1", "rounding": "down"}},
   {"id": "launch", "when": {"activity_types": ["purchase"], "from_date": "2025-03-01", "until_date": "2025-03-07"},
    "effect": {"kind": "fixed", "fixed": 400}, "cap": {"budget": 1000}},
   {"id": "coffee", "when": {"include_categories": ["coffee"]},
    "effect": {"kind": "per_unit", "points": 10}, "cap": {"budget": 250}}]}]})";

class CampaignBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kCafe);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;
    Open(NewMemoryStore());
  }
  void Open(std::unique_ptr<Store> store) {
    engine_.reset();
    auto engine = Engine::Open(std::move(store), clock_, program_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  // Enrols `member` (once) and accrues a basket of `lines` on `day`.
  absl::StatusOr<Receipt> Basket(const std::string& member, const std::string& id, const char* at,
                                 std::vector<PurchaseLine> lines) {
    auto enrolled = engine_->Execute(
        Enroll{.idempotency_key = "enrol-" + member, .member = Id(member), .at = At("2025-01-02T08:00:00Z")});
    if (!enrolled.ok()) return enrolled.status();
    return engine_->Execute(Accrue{.idempotency_key = member + "-" + id, .member = Id(member), .at = At(at),
                                   .activity = {id, Purchase{"", "s1", "store", std::move(lines)}}});
  }
  // A basket of one sandwich at EUR 5.00 in the launch week: 5 base points
  // and what is left of the launch budget.
  Entry Sandwich(const std::string& member) {
    auto receipt = Basket(member, "b-" + member, "2025-03-03T09:00:00Z", {PurchaseLine{"s", "food", {}, 1, Eur(500)}});
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->own().front() : Entry{};
  }
  static Points GrantOf(const Entry& entry, const std::string& rule) {
    for (const RuleGrant& grant : std::get<entries::Credited>(entry.body).grants) {
      if (grant.rule == rule) return grant.granted;
    }
    return Points(-1);
  }

  FakeClock clock_{At("2025-06-01T00:00:00Z")};
  Program program_ = *Program::Create("unused", "UTC", {});
  std::unique_ptr<Engine> engine_;
};

// 400 + 400 exhaust 800 of 1,000; the third basket gets the 200 left, the
// fourth nothing, and each explanation says why.
TEST_F(CampaignBudgetTest, TheRuleGrantsWhatIsLeftThenNothing) {
  EXPECT_EQ(GrantOf(Sandwich("ann"), "launch"), Points(400));
  EXPECT_EQ(GrantOf(Sandwich("bob"), "launch"), Points(400));
  const Entry third = Sandwich("cem");
  EXPECT_EQ(GrantOf(third, "launch"), Points(200));
  EXPECT_EQ(std::get<entries::Credited>(third.body).amount, Points(205));
  EXPECT_THAT(third.explanation, HasSubstr("launch -> points: fixed 400; cap budget 1,000 (800 used) bites: 400 -> 200"));
  const Entry fourth = Sandwich("dee");
  EXPECT_EQ(GrantOf(fourth, "launch"), Points(0));
  EXPECT_EQ(std::get<entries::Credited>(fourth.body).amount, Points(5));
  EXPECT_THAT(fourth.explanation,
              HasSubstr("cap budget 1,000 (1,000 used) bites: 400 -> 0, budget used up"));
  EXPECT_EQ(engine_->BalanceOf(Id("dee"))->available, Points(5));
  EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(1000));
  EXPECT_EQ(*engine_->BudgetUsed("coffee"), Points(0));
  EXPECT_EQ(engine_->BudgetUsed("base").status().code(), absl::StatusCode::kNotFound);
}

// 30 coffees want 300 of a budget of 250: the basket gets 250, on the
// coffee line (the sandwich line keeps its base points only); the next
// coffee gets none.
TEST_F(CampaignBudgetTest, ABudgetIsUsedUpWithinOneBasket) {
  auto receipt = Basket("ann", "b1", "2025-04-01T09:00:00Z",
                        {PurchaseLine{"s", "food", {}, 1, Eur(500)}, PurchaseLine{"c", "coffee", {}, 30, Eur(250)}});
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  const auto& credited = std::get<entries::Credited>(receipt->own().front().body);
  EXPECT_EQ(GrantOf(receipt->own().front(), "coffee"), Points(250));
  // base: floor(5.00 + 75.00) = 80 (5 and 75 by line); coffee: 250 on line 1.
  EXPECT_EQ(credited.amount, Points(330));
  EXPECT_EQ(credited.line_points, (std::vector<Points>{Points(5), Points(325)}));
  EXPECT_THAT(receipt->own().front().explanation, HasSubstr("cap budget 250 bites: 300 -> 250"));
  auto next = Basket("bob", "b2", "2025-04-01T10:00:00Z", {PurchaseLine{"c", "coffee", {}, 1, Eur(250)}});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(GrantOf(next->own().front(), "coffee"), Points(0));
  EXPECT_EQ(std::get<entries::Credited>(next->own().front().body).amount, Points(2));
}

// Returned points were granted: the budget is what the campaign gave out,
// and a return does not give it back.
TEST_F(CampaignBudgetTest, AReturnGivesNoBudgetBack) {
  const Entry first = Sandwich("ann");
  ASSERT_TRUE(engine_->Execute(ReturnLines{.idempotency_key = "ret", .member = Id("ann"),
                                           .at = At("2025-03-04T09:00:00Z"), .credit = first.seq, .lines = {0}})
                  .ok());
  EXPECT_EQ(engine_->BalanceOf(Id("ann"))->available, Points(0));
  EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(400));
  EXPECT_EQ(GrantOf(Sandwich("bob"), "launch"), Points(400));
  EXPECT_EQ(GrantOf(Sandwich("cem"), "launch"), Points(200));
}

// The budget's use is state rebuilt from the journal: after a reopen from
// the checkpoint and after one that replays every entry, the third basket
// still gets the 200 left.
TEST_F(CampaignBudgetTest, TheUseIsRebuiltFromTheJournal) {
  for (bool checkpoint : {true, false}) {
    SCOPED_TRACE(checkpoint ? "from the checkpoint" : "from the entries");
    const std::string path = ::testing::TempDir() + "/campaign_budget.db";
    RemoveDb(path);
    Open(*OpenSqliteStore(path));
    Sandwich("ann");
    Sandwich("bob");
    EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(800));
    engine_.reset();  // a clean shutdown saves a checkpoint
    if (!checkpoint) {
      ASSERT_TRUE(DropCheckpoints(path).ok());
    }
    Open(*OpenSqliteStore(path));
    EXPECT_EQ(GrantOf(Sandwich("cem"), "launch"), Points(200));
    EXPECT_EQ(GrantOf(Sandwich("dee"), "launch"), Points(0));
    EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(1000));
    engine_.reset();
  }
}

// A batch whose append fails leaves the budget's use as it was before
// the batch (its members are read back from the journal); the same batch
// then spends it again.
TEST_F(CampaignBudgetTest, AFailedBatchSpendsNoBudget) {
  const std::string path = ::testing::TempDir() + "/campaign_budget_batch.db";
  RemoveDb(path);
  Open(*OpenSqliteStore(path));
  Sandwich("ann");
  const uint64_t last = engine_->store().LastSeq();
  ASSERT_TRUE(Sql(path, absl::StrCat("CREATE TRIGGER refuse BEFORE INSERT ON journal WHEN NEW.seq = ", last + 4,
                                     " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
                  .ok());
  std::vector<Command> batch;
  for (const char* member : {"bob", "cem"}) {
    batch.push_back(Enroll{.idempotency_key = absl::StrCat("enrol-", member), .member = Id(member),
                           .at = At("2025-01-02T08:00:00Z")});
    batch.push_back(Accrue{.idempotency_key = absl::StrCat("basket-", member), .member = Id(member),
                           .at = At("2025-03-03T09:00:00Z"),
                           .activity = {absl::StrCat("b-", member),
                                        Purchase{"", "s1", "store", {PurchaseLine{"s", "food", {}, 1, Eur(500)}}}}});
  }
  for (const auto& result : engine_->ExecuteBatch(batch)) EXPECT_FALSE(result.ok());
  EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(400));
  ASSERT_TRUE(Sql(path, "DROP TRIGGER refuse").ok());
  auto results = engine_->ExecuteBatch(batch);
  ASSERT_TRUE(results[3].ok()) << results[3].status();
  EXPECT_EQ(GrantOf(results[1]->own().front(), "launch"), Points(400));
  EXPECT_EQ(GrantOf(results[3]->own().front(), "launch"), Points(200));
  EXPECT_EQ(*engine_->BudgetUsed("launch"), Points(1000));
}

// Re-rating decides each accrual again with the re-rated journal's use of
// the budgets: the same grants, nothing changed.
TEST_F(CampaignBudgetTest, ReRatingKeepsTheBudget) {
  for (const char* member : {"ann", "bob", "cem", "dee"}) Sandwich(member);
  auto rerating = Rerate(engine_->store(), program_);
  ASSERT_TRUE(rerating.ok()) << rerating.status();
  EXPECT_TRUE(rerating->commands_changed.empty());
  EXPECT_EQ(rerating->failed, 0u);
}

// A journal whose grants exceed the budget is refused by every reader
// given the program (the engine's open, verify), naming the entry.
TEST_F(CampaignBudgetTest, AGrantBeyondTheBudgetIsDataLoss) {
  for (const char* member : {"ann", "bob", "cem"}) Sandwich(member);
  std::vector<Entry> entries;
  ASSERT_TRUE(engine_->store().Read(1, [&](const Entry& e) {
                entries.push_back(e);
                return absl::OkStatus();
              }).ok());
  Entry& third = entries.back();
  auto& credited = std::get<entries::Credited>(third.body);
  for (RuleGrant& grant : credited.grants) {
    if (grant.rule == "launch") grant.granted = Points(201);
  }
  credited.amount = Points(206);
  credited.unattributed = Points(credited.unattributed.value() + 1);
  const uint64_t seq = third.seq;
  auto forged = [&] {
    std::unique_ptr<Store> store = NewMemoryStore();
    std::vector<Entry> copy = entries;
    EXPECT_TRUE(store->Append(std::span<Entry>(copy)).ok());
    return store;
  };
  auto engine = Engine::Open(forged(), clock_, program_);
  ASSERT_EQ(engine.status().code(), absl::StatusCode::kDataLoss) << engine.status();
  EXPECT_THAT(engine.status().message(), HasSubstr(absl::StrCat("journal entry ", seq)));
  EXPECT_THAT(engine.status().message(), HasSubstr("rule launch grants 201 points with 800 of its budget of 1000"));
  EXPECT_EQ(VerifyJournal(*forged(), std::nullopt, std::nullopt, &program_).bad_seq, seq);
  EXPECT_TRUE(VerifyJournal(*forged()).ok());  // without the program, budgets are unknown
}

// Each shard's engine would count only its own members: a sharded program
// with a budget is refused before any shard opens.
TEST_F(CampaignBudgetTest, AShardedProgramCannotKeepABudget) {
  auto map = ShardMap::Create(4, {{"host=unused", {0, 1, 2, 3}}});
  ASSERT_TRUE(map.ok()) << map.status();
  auto host = ShardedEngine::Open(
      *map, [](uint32_t) -> absl::StatusOr<std::unique_ptr<Store>> { return absl::UnavailableError("not opened"); },
      clock_, program_, {});
  ASSERT_EQ(host.status().code(), absl::StatusCode::kFailedPrecondition) << host.status();
  EXPECT_THAT(host.status().message(), HasSubstr("version cafe-2025, rule launch: cap.budget"));
}

}  // namespace
}  // namespace loyalty
