// Engine behaviour, command by command, with balances worked out by hand.
#include "loyalty/engine.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : clock_(At("2011-01-10T12:00:00Z")) { Reopen(NewMemoryStore()); }

  void Reopen(std::unique_ptr<Store> store) {
    // Lots last 36 months and lapse at the end of that quarter (Miles & More).
    auto program = Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
    auto engine = Engine::Open(std::move(store), clock_, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  Receipt Ok(const Command& command) {
    auto receipt = engine_->Execute(command);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? *receipt : Receipt{};
  }

  // Enrolled long before the dates the tests credit at.
  void Enroll(const char* member) {
    Ok(loyalty::Enroll{.idempotency_key = std::string("enroll-") + member, .member = Id(member),
                       .at = At("2000-01-01T00:00:00Z")});
  }

  uint64_t CreditPoints(const char* member, int64_t amount, const char* key, const char* at) {
    return Ok(Credit{.idempotency_key = key, .member = Id(member), .at = At(at), .amount = Points(amount)})
        .entries.front()
        .seq;
  }

  Balance BalanceOf(const char* member) { return *engine_->BalanceOf(Id(member)); }

  // Reopens the engine on a new SQLite journal in the scratch directory;
  // returns its path.
  std::string ReopenOnNewSqlite(const std::string& name) {
    std::string path = ::testing::TempDir() + "/" + name;
    RemoveDb(path);
    Reopen(*OpenSqliteStore(path));
    return path;
  }

  // Reopens the engine on the journal at `path`: the state it rebuilds must
  // be the one the engine had.
  void ExpectSameStateAfterRestart(const std::string& path) {
    const Sha256 digest = engine_->StateDigest();
    engine_.reset();  // its store holds the journal's writer lock
    Reopen(*OpenSqliteStore(path));
    EXPECT_EQ(engine_->StateDigest(), digest);
  }

  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, CreditCreatesLotWithProgramExpiry) {
  Enroll("A");
  uint64_t seq = CreditPoints("A", 6000, "c1", "2016-12-12T10:00:00Z");
  auto lots = engine_->OpenLots(Id("A"));
  ASSERT_EQ(lots->size(), 1u);
  EXPECT_EQ((*lots)[0].id.entry, seq);
  EXPECT_EQ((*lots)[0].remaining, Points(6000));
  // 12 Dec 2016 + 36 months = 12 Dec 2019, end of quarter 31 Dec 2019; the
  // lot lapses at the start of 1 Jan 2020 in Berlin (23:00 UTC).
  EXPECT_EQ((*lots)[0].expires_at, At("2019-12-31T23:00:00Z"));
  EXPECT_EQ(*(*lots)[0].version, "v1");
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(6000), Points(0), Points(0)}));
}

TEST_F(EngineTest, RedeemConsumesSoonestExpiringFirst) {
  Enroll("A");
  uint64_t late = CreditPoints("A", 500, "late", "2011-01-05T00:00:00Z");   // lapses 2014-03-31
  uint64_t early = CreditPoints("A", 300, "early", "2010-02-01T00:00:00Z");  // lapses 2013-03-31
  Receipt receipt = Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(400)});
  const auto& debit = std::get<entries::Debited>(receipt.entries[0].body);
  ASSERT_EQ(debit.draws.size(), 2u);
  EXPECT_EQ(debit.draws[0], (LotDraw{LotId{early, 0}, Points(300)}));
  EXPECT_EQ(debit.draws[1], (LotDraw{LotId{late, 0}, Points(100)}));
  EXPECT_EQ(BalanceOf("A").available, Points(400));
}

TEST_F(EngineTest, InsufficientPointsChangesNothing) {
  Enroll("A");
  CreditPoints("A", 100, "c", "2011-01-01T00:00:00Z");
  uint64_t before = engine_->store().LastSeq();
  auto receipt = engine_->Execute(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(101)});
  EXPECT_EQ(receipt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(receipt.status().message().find("100 available, 101 requested"), absl::string_view::npos);
  EXPECT_EQ(engine_->store().LastSeq(), before);
  EXPECT_EQ(BalanceOf("A").available, Points(100));
}

TEST_F(EngineTest, IdempotentRepeatReturnsOriginalAndConflictIsAlreadyExists) {
  Enroll("A");
  Receipt first = Ok(Credit{.idempotency_key = "k", .member = Id("A"), .amount = Points(70)});
  clock_.Advance(absl::Hours(1));  // an unset `at` is not part of the payload
  Receipt again = Ok(Credit{.idempotency_key = "k", .member = Id("A"), .amount = Points(70)});
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.entries, first.entries);
  EXPECT_EQ(BalanceOf("A").available, Points(70));
  auto conflict = engine_->Execute(Credit{.idempotency_key = "k", .member = Id("A"), .amount = Points(71)});
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(BalanceOf("A").available, Points(70));
}

TEST_F(EngineTest, ValidationNamesTheField) {
  Enroll("A");
  auto negative = engine_->Execute(Credit{.idempotency_key = "n", .member = Id("A"), .amount = Points(-5)});
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("amount"), absl::string_view::npos);
  auto no_key = engine_->Execute(Credit{.idempotency_key = "", .member = Id("A"), .amount = Points(5)});
  EXPECT_NE(no_key.status().message().find("idempotency_key"), absl::string_view::npos);
  auto unknown = engine_->Execute(Credit{.idempotency_key = "u", .member = Id("B"), .amount = Points(5)});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  auto twice = engine_->Execute(loyalty::Enroll{.idempotency_key = "again", .member = Id("A"), .at = At("2000-01-01T00:00:00Z")});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kAlreadyExists);
  auto overflow = engine_->Execute(Credit{.idempotency_key = "big", .member = Id("A"), .amount = Points(INT64_MAX)});
  ASSERT_TRUE(overflow.ok());
  auto more = engine_->Execute(Credit{.idempotency_key = "more", .member = Id("A"), .amount = Points(1)});
  EXPECT_EQ(more.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(engine_->store().LastSeq(), 2u);
}

TEST_F(EngineTest, HoldCaptureReleaseAndLapse) {
  Enroll("A");
  CreditPoints("A", 1000, "c", "2011-01-01T00:00:00Z");
  uint64_t hold = Ok(PlaceHold{.idempotency_key = "h1", .member = Id("A"), .amount = Points(600), .ttl = absl::Hours(48)})
                      .entries[0]
                      .seq;
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(400), Points(600), Points(0)}));
  // Only the 400 not held can be spent.
  EXPECT_FALSE(engine_->Execute(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(401)}).ok());
  Ok(ReleaseHold{.idempotency_key = "rel", .member = Id("A"), .hold = hold});
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(1000), Points(0), Points(0)}));
  auto again = engine_->Execute(CaptureHold{.idempotency_key = "cap-after-release", .member = Id("A"), .hold = hold});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);

  uint64_t hold2 = Ok(PlaceHold{.idempotency_key = "h2", .member = Id("A"), .amount = Points(250), .ttl = absl::Hours(1)})
                       .entries[0]
                       .seq;
  uint64_t capture = Ok(CaptureHold{.idempotency_key = "cap", .member = Id("A"), .hold = hold2}).seq();
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(750), Points(0), Points(0)}));
  // A captured hold is a debit and can be reversed.
  Ok(ReverseDebit{.idempotency_key = "undo", .member = Id("A"), .debit = capture});
  EXPECT_EQ(BalanceOf("A").available, Points(1000));

  uint64_t hold3 = Ok(PlaceHold{.idempotency_key = "h3", .member = Id("A"), .amount = Points(100), .ttl = absl::Hours(1)})
                       .entries[0]
                       .seq;
  clock_.Advance(absl::Hours(2));
  auto lapsed = engine_->Execute(CaptureHold{.idempotency_key = "late", .member = Id("A"), .hold = hold3});
  EXPECT_EQ(lapsed.status().code(), absl::StatusCode::kFailedPrecondition);
  auto run = engine_->RunExpiry("expiry-1", clock_.Now());
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->entries.size(), 1u);
  EXPECT_TRUE(std::get<entries::HoldReleased>(run->entries[0].body).lapsed);
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(1000), Points(0), Points(0)}));
}

TEST_F(EngineTest, ReverseEarnAfterSpendingCreatesDebtThatLaterCreditsPay) {
  Enroll("A");
  uint64_t credit = CreditPoints("A", 1000, "c", "2011-01-01T00:00:00Z");
  Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(800)});
  // 200 are left in the lot; reversing all 1000 takes those 200 and leaves
  // 800 of debt.
  Receipt reversal = Ok(ReverseEarn{.idempotency_key = "refund", .member = Id("A"), .credit = credit, .amount = Points(1000)});
  const auto& body = std::get<entries::EarnReversed>(reversal.entries[0].body);
  EXPECT_EQ(body.from_lot, Points(200));
  EXPECT_EQ(body.debt_added, Points(800));
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(0), Points(0), Points(800)}));
  // Nothing more of that credit can be reversed.
  auto twice = engine_->Execute(ReverseEarn{.idempotency_key = "refund2", .member = Id("A"), .credit = credit, .amount = Points(1)});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
  // The next credit pays the debt first: 500 -> debt 300, nothing left.
  CreditPoints("A", 500, "c2", "2011-01-05T00:00:00Z");
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(0), Points(0), Points(300)}));
  CreditPoints("A", 450, "c3", "2011-01-06T00:00:00Z");
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(150), Points(0), Points(0)}));
}

TEST_F(EngineTest, ReverseDebitRestoresTheSameLotsWithTheirExpiry) {
  Enroll("A");
  uint64_t a = CreditPoints("A", 300, "a", "2010-02-01T00:00:00Z");
  uint64_t b = CreditPoints("A", 300, "b", "2011-01-01T00:00:00Z");
  uint64_t debit = Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(450)}).seq();
  CreditPoints("A", 50, "c", "2011-01-02T00:00:00Z");
  Ok(ReverseDebit{.idempotency_key = "undo", .member = Id("A"), .debit = debit});
  auto state = engine_->Snapshot(Id("A"));
  EXPECT_EQ(state->FindLot(LotId{a, 0})->remaining, Points(300));
  EXPECT_EQ(state->FindLot(LotId{b, 0})->remaining, Points(300));
  EXPECT_EQ(state->FindLot(LotId{a, 0})->expires_at, At("2013-03-31T22:00:00Z"));
  EXPECT_EQ(BalanceOf("A").available, Points(650));
  auto twice = engine_->Execute(ReverseDebit{.idempotency_key = "undo2", .member = Id("A"), .debit = debit});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EngineTest, PointsComingBackSettleDebtFirst) {
  Enroll("A");
  uint64_t credit = CreditPoints("A", 100, "c", "2011-01-01T00:00:00Z");
  uint64_t debit = Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(70)}).seq();
  uint64_t hold = Ok(PlaceHold{.idempotency_key = "h", .member = Id("A"), .amount = Points(30), .ttl = absl::Hours(5)})
                      .entries[0]
                      .seq;
  // The purchase is returned: nothing is left in the lot (70 spent, 30
  // held), so all 100 become debt.
  Ok(ReverseEarn{.idempotency_key = "refund", .member = Id("A"), .credit = credit, .amount = Points(100)});
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(0), Points(30), Points(100)}));
  // The award is cancelled: its 70 points pay 70 of the debt.
  Receipt undo = Ok(ReverseDebit{.idempotency_key = "undo", .member = Id("A"), .debit = debit});
  EXPECT_EQ(std::get<entries::DebitReversed>(undo.entries[0].body).debt_paid, Points(70));
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(0), Points(30), Points(30)}));
  // The hold is released: its 30 pay the rest. Earned 100, reversed 100:
  // the member ends with nothing and owes nothing.
  Ok(ReleaseHold{.idempotency_key = "rel", .member = Id("A"), .hold = hold});
  EXPECT_EQ(BalanceOf("A"), (Balance{Points(0), Points(0), Points(0)}));
}

TEST_F(EngineTest, ExpiryLapsesLotsByTheirOwnDate) {
  Enroll("A");
  CreditPoints("A", 100, "old", "2010-02-01T00:00:00Z");  // valid through 2013-03-31
  CreditPoints("A", 200, "new", "2010-05-01T00:00:00Z");  // valid through 2013-06-30
  // Lapsed lots are not spendable even before the expiry run records it.
  auto spend = engine_->Execute(Redeem{.idempotency_key = "r", .member = Id("A"), .at = At("2013-04-02T00:00:00Z"), .amount = Points(201)});
  EXPECT_EQ(spend.status().code(), absl::StatusCode::kFailedPrecondition);
  auto run = engine_->RunExpiry("x", At("2013-04-01T00:00:00Z"));
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->entries.size(), 1u);
  EXPECT_EQ(std::get<entries::Expired>(run->entries[0].body).amount, Points(100));
  EXPECT_EQ(BalanceOf("A").available, Points(200));
  auto repeat = engine_->RunExpiry("x", At("2013-04-01T00:00:00Z"));
  EXPECT_TRUE(repeat->replayed);
  EXPECT_EQ(repeat->entries, run->entries);
  EXPECT_EQ(BalanceOf("A").available, Points(200));
}

TEST_F(EngineTest, TimesOutOfRangeAreRefused) {
  Enroll("A");
  auto never = engine_->RunExpiry("x", Instant::Max());
  EXPECT_EQ(never.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(never.status().message().find("as_of"), absl::string_view::npos);
  auto ancient = engine_->Execute(Credit{.idempotency_key = "c", .member = Id("A"), .at = Instant::Min(), .amount = Points(1)});
  EXPECT_EQ(ancient.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ancient.status().message().find("at:"), absl::string_view::npos);
}

TEST_F(EngineTest, TransferKeepsLotDatesAndPaysReceiverDebt) {
  Enroll("A");
  Enroll("B");
  CreditPoints("A", 400, "a1", "2010-02-01T00:00:00Z");
  uint64_t b_credit = CreditPoints("B", 100, "b1", "2011-01-01T00:00:00Z");
  Ok(Redeem{.idempotency_key = "b-spend", .member = Id("B"), .amount = Points(100)});
  Ok(ReverseEarn{.idempotency_key = "b-refund", .member = Id("B"), .credit = b_credit, .amount = Points(100)});
  ASSERT_EQ(BalanceOf("B").debt, Points(100));
  Receipt receipt = Ok(Transfer{.idempotency_key = "t", .member = Id("A"), .to = Id("B"), .amount = Points(250)});
  ASSERT_EQ(receipt.entries.size(), 2u);
  EXPECT_EQ(BalanceOf("A").available, Points(150));
  EXPECT_EQ(BalanceOf("B"), (Balance{Points(150), Points(0), Points(0)}));
  auto lots = engine_->OpenLots(Id("B"));
  ASSERT_EQ(lots->size(), 1u);
  EXPECT_EQ((*lots)[0].expires_at, At("2013-03-31T22:00:00Z"));
  EXPECT_EQ((*lots)[0].earned_at, At("2010-02-01T00:00:00Z"));
  auto self = engine_->Execute(Transfer{.idempotency_key = "self", .member = Id("A"), .to = Id("A"), .amount = Points(1)});
  EXPECT_EQ(self.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, AdjustNeedsReasonAndActor) {
  Enroll("A");
  auto bare = engine_->Execute(Adjust{.idempotency_key = "adj", .member = Id("A"), .delta = Points(10)});
  EXPECT_EQ(bare.status().code(), absl::StatusCode::kInvalidArgument);
  Ok(Adjust{.idempotency_key = "adj", .member = Id("A"), .delta = Points(10), .reason = "goodwill", .actor = "agent-7"});
  Ok(Adjust{.idempotency_key = "adj2", .member = Id("A"), .delta = Points(-4), .reason = "typo", .actor = "agent-7"});
  EXPECT_EQ(BalanceOf("A").available, Points(6));
}

TEST_F(EngineTest, BalanceAsOfCountsOnlyEarlierEntries) {
  Enroll("A");
  CreditPoints("A", 100, "c1", "2010-06-01T00:00:00Z");
  CreditPoints("A", 50, "c2", "2010-09-01T00:00:00Z");
  Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .at = At("2010-10-01T00:00:00Z"), .amount = Points(120)});
  EXPECT_EQ(engine_->BalanceAsOf(Id("A"), At("2010-07-01T00:00:00Z"))->available, Points(100));
  EXPECT_EQ(engine_->BalanceAsOf(Id("A"), At("2010-09-15T00:00:00Z"))->available, Points(150));
  EXPECT_EQ(engine_->BalanceAsOf(Id("A"), At("2010-12-01T00:00:00Z"))->available, Points(30));
}

TEST_F(EngineTest, BatchAppliesInOrderAndRepeatsWithinBatch) {
  std::vector<Command> batch = {
      loyalty::Enroll{.idempotency_key = "e", .member = Id("A"), .at = At("2000-01-01T00:00:00Z")},
      Credit{.idempotency_key = "c", .member = Id("A"), .amount = Points(100)},
      Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(150)},  // fails: only 100
      Redeem{.idempotency_key = "r2", .member = Id("A"), .amount = Points(60)},
      Credit{.idempotency_key = "c", .member = Id("A"), .amount = Points(100)},  // repeat
      Credit{.idempotency_key = "c", .member = Id("A"), .amount = Points(5)},    // conflict
  };
  auto results = engine_->ExecuteBatch(batch);
  ASSERT_EQ(results.size(), 6u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(results[3].ok());
  ASSERT_TRUE(results[4].ok());
  EXPECT_TRUE(results[4]->replayed);
  EXPECT_EQ(results[4]->entries, results[1]->entries);
  EXPECT_EQ(results[5].status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(engine_->store().LastSeq(), 3u);
  EXPECT_EQ(BalanceOf("A").available, Points(40));
}

// A command that fails writes nothing and leaves its key unused, so a repeat
// later in the batch is decided afresh; the failure stays the first one's
// answer (a stress run once found the repeat's receipt copied over it).
TEST_F(EngineTest, RepeatAfterAFailureInTheBatchIsDecidedAgain) {
  std::vector<Command> batch = {
      loyalty::Enroll{.idempotency_key = "e", .member = Id("A"), .at = At("2000-01-01T00:00:00Z")},
      Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(60)},  // fails: nothing yet
      Credit{.idempotency_key = "c", .member = Id("A"), .amount = Points(100)},
      Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(60)},  // now it fits
  };
  auto results = engine_->ExecuteBatch(batch);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(results[3].ok()) << results[3].status();
  EXPECT_FALSE(results[3]->replayed);
  ASSERT_EQ(results[3]->entries.size(), 1u);
  EXPECT_EQ(results[3]->seq(), 3u);
  EXPECT_EQ(engine_->store().LastSeq(), 3u);
  EXPECT_EQ(BalanceOf("A").available, Points(40));
}

TEST_F(EngineTest, RestartRebuildsStateAndRemembersKeys) {
  std::string path = ::testing::TempDir() + "/engine_restart.db";
  std::filesystem::remove(path);
  Reopen(*OpenSqliteStore(path));
  Enroll("A");
  CreditPoints("A", 900, "c", "2011-01-01T00:00:00Z");
  Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(100)});
  Enroll("B");
  // A transfer writes two entries under one key; reopening must accept that.
  Ok(Transfer{.idempotency_key = "t", .member = Id("A"), .to = Id("B"), .amount = Points(300)});
  ASSERT_TRUE(engine_->RunExpiry("x", At("2011-02-01T00:00:00Z")).ok());
  Sha256 digest = engine_->StateDigest();
  engine_.reset();
  Reopen(*OpenSqliteStore(path));
  EXPECT_EQ(engine_->StateDigest(), digest);
  Receipt repeat = Ok(Redeem{.idempotency_key = "r", .member = Id("A"), .amount = Points(100)});
  EXPECT_TRUE(repeat.replayed);
  EXPECT_EQ(BalanceOf("A").available, Points(500));
  EXPECT_EQ(BalanceOf("B").available, Points(300));
}

// A member's history is read from the journal by the links from each of
// its entries to the one before (Entry::member_prev), which every way of
// appending sets: single commands, a transfer (two members in one
// command), batches, an expiry run over all members. It is the member's
// entries in the journal's order, before and after a restart.
TEST_F(EngineTest, HistoryFollowsEachMembersLinks) {
  std::string path = ReopenOnNewSqlite("engine_history.db");
  Enroll("A");
  Enroll("B");
  CreditPoints("A", 900, "c1", "2011-01-01T00:00:00Z");
  CreditPoints("B", 50, "c2", "2011-01-01T00:00:00Z");
  Ok(Transfer{.idempotency_key = "t", .member = Id("A"), .to = Id("B"), .amount = Points(300)});
  std::vector<Command> batch;
  for (int n = 0; n < 20; ++n) {
    batch.push_back(loyalty::Enroll{.idempotency_key = absl::StrCat("e", n), .member = MemberId::FromValid(absl::StrCat("C", n)), .at = At("2000-01-01T00:00:00Z")});
  }
  for (int n = 0; n < 300; ++n) {
    const std::string member = n % 3 == 0 ? "A" : n % 3 == 1 ? "B" : absl::StrCat("C", n % 20);
    batch.push_back(Credit{.idempotency_key = absl::StrCat("b", n), .member = MemberId::FromValid(member),
                           .at = At("2011-01-02T00:00:00Z"), .amount = Points(1)});
  }
  for (const auto& result : engine_->ExecuteBatch(batch)) ASSERT_TRUE(result.ok()) << result.status();
  // A run of more entries than a command's: one expiry for each of 22 members.
  auto expired = engine_->RunExpiry("x", At("2015-01-01T00:00:00Z"));
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(expired->entries.size(), 22u);
  Ok(Credit{.idempotency_key = "late", .member = Id("A"), .amount = Points(5)});
  auto expect_histories = [&] {
    std::map<std::string, std::vector<uint64_t>> expected;
    ASSERT_TRUE(engine_->store()
                    .Read(1, [&](const Entry& entry) {
                      expected[entry.member.value()].push_back(entry.seq);
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(expected.size(), 22u);
    for (const auto& [member, seqs] : expected) {
      if (member == kProgramMember) continue;
      auto history = engine_->History(MemberId::FromValid(member));
      ASSERT_TRUE(history.ok()) << history.status();
      std::vector<uint64_t> found;
      for (const Entry& entry : *history) found.push_back(entry.seq);
      EXPECT_EQ(found, seqs) << member;
    }
    EXPECT_GT(expected["A"].size(), 100u);
    EXPECT_GT(expected["B"].size(), 100u);
  };
  expect_histories();
  ExpectSameStateAfterRestart(path);
  expect_histories();
}

// A batch of several append pieces (ExecuteBatch hands the store 128
// entries at a time; SQLite writes them while the next are decided).
std::vector<Command> LargeBatch() {
  std::vector<Command> batch;
  for (int member = 0; member < 40; ++member) {
    batch.push_back(loyalty::Enroll{.idempotency_key = "e" + std::to_string(member),
                                    .member = MemberId::FromValid("M" + std::to_string(member)), .at = At("2000-01-01T00:00:00Z")});
  }
  for (int n = 0; n < 560; ++n) {
    MemberId member = MemberId::FromValid("M" + std::to_string(n % 40));
    if (n % 7 == 3) {
      batch.push_back(Redeem{.idempotency_key = "r" + std::to_string(n), .member = member, .amount = Points(150)});
    } else {
      batch.push_back(Credit{.idempotency_key = "c" + std::to_string(n), .member = member, .amount = Points(100)});
    }
  }
  batch.push_back(Credit{.idempotency_key = "c5", .member = Id("M5"), .amount = Points(100)});  // a repeat
  return batch;
}

TEST_F(EngineTest, LargeBatchOnSqliteMatchesMemoryAndSurvivesRestart) {
  std::vector<Command> batch = LargeBatch();
  auto in_memory = engine_->ExecuteBatch(batch);
  const Sha256 digest = engine_->StateDigest();
  const Sha256 head = engine_->store().HeadHash();

  std::string path = ReopenOnNewSqlite("engine_large_batch.db");
  auto durable = engine_->ExecuteBatch(batch);
  ASSERT_EQ(durable.size(), in_memory.size());
  size_t failed = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    ASSERT_EQ(durable[i].status(), in_memory[i].status()) << "command " << i;
    if (!durable[i].ok()) {
      ++failed;
      continue;
    }
    EXPECT_EQ(durable[i]->entries, in_memory[i]->entries) << "command " << i;
    EXPECT_EQ(durable[i]->replayed, in_memory[i]->replayed) << "command " << i;
  }
  EXPECT_GT(failed, 0u);            // some redeems found too few points
  EXPECT_TRUE(durable.back()->replayed);
  EXPECT_EQ(engine_->store().HeadHash(), head);
  EXPECT_EQ(engine_->StateDigest(), digest);
  ExpectSameStateAfterRestart(path);
}

// An append that fails in its third piece (a trigger refuses entry 300)
// writes nothing and leaves the state as it was; the same batch then goes
// through once the cause is gone.
TEST_F(EngineTest, LargeBatchFailingInAPieceWritesNothing) {
  std::string path = ReopenOnNewSqlite("engine_failed_batch.db");
  ASSERT_TRUE(engine_->Execute(loyalty::Enroll{.idempotency_key = "e0", .member = Id("M0"), .at = At("2000-01-01T00:00:00Z")}).ok());
  // M0 is rebuilt from its entries before the batch: three, by their links.
  CreditPoints("M0", 70, "before-1", "2011-01-01T00:00:00Z");
  CreditPoints("M0", 80, "before-2", "2011-01-01T00:00:00Z");
  const Sha256 before = engine_->StateDigest();
  ASSERT_EQ(Sql(path, "CREATE TRIGGER refuse BEFORE INSERT ON journal WHEN NEW.seq = 300 "
                      "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"),
            absl::OkStatus());
  std::vector<Command> batch = LargeBatch();
  auto results = engine_->ExecuteBatch(batch);
  for (size_t i = 1; i < batch.size(); ++i) {
    if (results[i].ok()) ADD_FAILURE() << "command " << i << " succeeded";
  }
  EXPECT_TRUE(results[0]->replayed);  // e0 was there before
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kUnavailable) << results[1].status();
  EXPECT_EQ(engine_->store().LastSeq(), 3u);
  EXPECT_EQ(engine_->StateDigest(), before);
  EXPECT_EQ(engine_->History(Id("M0"))->size(), 3u);
  EXPECT_FALSE(engine_->store().FindKey("c100").has_value());

  ASSERT_EQ(Sql(path, "DROP TRIGGER refuse"), absl::OkStatus());
  results = engine_->ExecuteBatch(batch);
  EXPECT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_GT(engine_->store().LastSeq(), 500u);
  ExpectSameStateAfterRestart(path);
}

// Once the WAL holds 1,000 pages, the SQLite store copies them into the
// database on a thread of its own (the appends go on meanwhile): the
// database file grows while the engine is still open.
TEST_F(EngineTest, DurableJournalIsCheckpointedInTheBackground) {
  std::string path = ReopenOnNewSqlite("engine_checkpointed.db");
  const uintmax_t empty = std::filesystem::file_size(path);
  std::vector<Command> batch = {loyalty::Enroll{.idempotency_key = "e", .member = Id("A"), .at = At("2000-01-01T00:00:00Z")}};
  for (int round = 0; round < 8; ++round) {
    for (int n = 0; n < 4000; ++n) {
      batch.push_back(Credit{.idempotency_key = absl::StrCat("c", round, "-", n), .member = Id("A"), .amount = Points(1)});
    }
    for (const auto& result : engine_->ExecuteBatch(batch)) ASSERT_TRUE(result.ok()) << result.status();
    batch.clear();
  }
  // 32,000 entries of about 175 bytes: some 1,400 pages, checkpointed
  // asynchronously; wait for it (at most 30 s, far more than it takes).
  for (int wait = 0; wait < 300 && std::filesystem::file_size(path) < empty + (2u << 20); ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(std::filesystem::file_size(path), empty + (2u << 20));
  EXPECT_EQ(BalanceOf("A").available, Points(32'000));
  ExpectSameStateAfterRestart(path);
}

// Two threads accrue for different members, one command at a time and in
// batches, while 40 budgets run out one after the other: rule r<i> grants
// 7 points a basket from a budget of 280 x (i + 1) - 4, so that the
// 40 x (i + 1)-th of the 1,600 baskets gets the 3 left of it. In journal
// order every basket gets min(7, what is left) of each rule, so each rule
// grants exactly its budget, never more, whatever the interleaving.
TEST(EngineBudgetTest, TwoThreadsNeverOverGrantABudget) {
  constexpr int kRules = 40;
  std::string rules;
  for (int i = 0; i < kRules; ++i) {
    absl::StrAppend(&rules, i == 0 ? "" : ",", R"({"id": "r)", i,
                    R"(", "when": {"activity_types": ["purchase"]}, "effect": {"kind": "fixed", "fixed": 7}, )",
                    R"("cap": {"budget": )", 280 * (i + 1) - 4, "}}");
  }
  auto program = ParseProgram(absl::StrCat(R"({"versions": [
   {"id": "v1", "currency": "EUR", "time_zone": "UTC",
    "announced_at": "2025-01-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
    "accrual": [)", rules, "]}]}"));
  ASSERT_TRUE(program.ok()) << program.status();
  FakeClock clock(At("2025-06-01T00:00:00Z"));
  auto engine = Engine::Open(NewMemoryStore(), clock, *program);
  ASSERT_TRUE(engine.ok()) << engine.status();
  constexpr int kPerThread = 800;
  std::vector<Command> enrolments;
  for (const char* side : {"a", "b"}) {
    for (int n = 0; n < kPerThread; ++n) {
      const std::string member = absl::StrCat(side, "-", n);
      enrolments.push_back(loyalty::Enroll{.idempotency_key = "e-" + member, .member = Id(member.c_str()),
                                           .at = At("2025-01-02T00:00:00Z")});
    }
  }
  for (const auto& result : (*engine)->ExecuteBatch(enrolments)) ASSERT_TRUE(result.ok()) << result.status();
  auto basket = [](const std::string& member) -> Command {
    return Accrue{.idempotency_key = "basket-" + member, .member = MemberId::FromValid(member),
                  .activity = {"basket-" + member, Purchase{"", "s1", "store", {PurchaseLine{"x"}}}}};
  };
  std::thread one_by_one([&] {
    for (int n = 0; n < kPerThread; ++n) {
      auto receipt = (*engine)->Execute(basket(absl::StrCat("a-", n)));
      EXPECT_TRUE(receipt.ok()) << receipt.status();
    }
  });
  std::thread batched([&] {
    for (int n = 0; n < kPerThread; n += 40) {
      std::vector<Command> batch;
      for (int k = n; k < n + 40; ++k) batch.push_back(basket(absl::StrCat("b-", k)));
      for (const auto& result : (*engine)->ExecuteBatch(batch)) EXPECT_TRUE(result.ok()) << result.status();
    }
  });
  one_by_one.join();
  batched.join();
  std::map<std::string, int64_t> used;
  int accruals = 0;
  ASSERT_TRUE((*engine)->store().Read(1, [&](const Entry& entry) {
    const auto* credited = std::get_if<entries::Credited>(&entry.body);
    if (credited == nullptr) return absl::OkStatus();
    ++accruals;
    for (const RuleGrant& grant : credited->grants) {
      const int64_t budget = 280 * (std::stoi(grant.rule.substr(1)) + 1) - 4;
      EXPECT_EQ(grant.granted.value(), std::min<int64_t>(7, budget - used[grant.rule]))
          << "entry " << entry.seq << ", rule " << grant.rule;
      used[grant.rule] += grant.granted.value();
    }
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(accruals, 2 * kPerThread);
  for (int i = 0; i < kRules; ++i) EXPECT_EQ(used[absl::StrCat("r", i)], 280 * (i + 1) - 4);
  EXPECT_TRUE(VerifyJournal((*engine)->store(), std::nullopt, std::nullopt, &*program).ok());
}

}  // namespace
}  // namespace loyalty
