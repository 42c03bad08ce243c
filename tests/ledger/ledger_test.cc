// Apply, DeltaOf and the spending order, on hand-built entries.
#include "loyalty/ledger.h"

#include "gtest/gtest.h"

namespace loyalty {
namespace {

Instant Day(int day) { return Instant::FromUnixMicros(int64_t{86'400'000'000} * day); }

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() { Apply(entries::Enrolled{}, Day(0)); }

  // Applies `body` as the next entry and returns its seq.
  uint64_t Apply(EntryBody body, Instant at) {
    Entry entry;
    entry.seq = ++seq_;
    entry.member = MemberId::FromValid("M-1");
    entry.business_time = at;
    entry.version = "v" + std::to_string(version_);
    entry.body = std::move(body);
    ApplyToMember(member_, entry);
    return entry.seq;
  }

  uint64_t Credit(int64_t amount, Instant at, Instant expires) {
    return Apply(entries::Credited{Points(amount), Points(0), expires, "test", {}}, at);
  }

  MemberState member_;
  uint64_t seq_ = 0;
  int version_ = 1;
};

// Worked with Python's hashlib: the first 8 bytes, little-endian, of
// sha256(b"\x00\x08coupon-1") and of sha256(b"\x02LH\x08coupon-1").
TEST(ActivityFingerprint, IsTheSha256OfPartnerAndIdLengthPrefixed) {
  EXPECT_EQ(ActivityFingerprint("", "coupon-1"), 0xb09e1de4ff41872eu);
  EXPECT_EQ(ActivityFingerprint("LH", "coupon-1"), 0xb04fb9d3422e9d7fu);
  EXPECT_NE(ActivityFingerprint("L", "Hcoupon-1"), ActivityFingerprint("LH", "coupon-1"));
}

TEST_F(LedgerTest, CreditAddsLotWithVersionAndCounters) {
  uint64_t seq = Apply(entries::Credited{Points(500), Points(0), Day(100), "flight", {{"status_miles", Points(500)}, {"segments", Points(1)}}},
                       Day(1));
  ASSERT_EQ(member_.lots.size(), 1u);
  const Lot& lot = member_.lots[0];
  EXPECT_EQ(lot.id, (LotId{seq, 0}));
  EXPECT_EQ(lot.remaining, Points(500));
  EXPECT_EQ(lot.earned_at, Day(1));
  EXPECT_EQ(lot.expires_at, Day(100));
  EXPECT_EQ(*lot.version, "v1");
  EXPECT_EQ(member_.balance, Points(500));
  // Qualifying counters are apart from the redeemable balance.
  EXPECT_EQ(member_.detail().counters.at("status_miles"), Points(500));
  EXPECT_EQ(member_.detail().counters.at("segments"), Points(1));
  EXPECT_EQ(member_.last_seq, seq);
}

TEST_F(LedgerTest, SpendingOrderIsExpiryThenEarnedThenId) {
  uint64_t a = Credit(10, Day(5), Day(50));
  uint64_t b = Credit(10, Day(3), Day(40));
  uint64_t c = Credit(10, Day(1), Day(50));
  uint64_t d = Credit(10, Day(1), Day(50));
  std::vector<size_t> order = SpendableLots(member_, Day(0));
  std::vector<uint64_t> ids;
  for (size_t index : order) ids.push_back(member_.lots[index].id.entry);
  EXPECT_EQ(ids, (std::vector<uint64_t>{b, c, d, a}));
  // A lot whose expiry has passed is not spendable.
  EXPECT_EQ(SpendableLots(member_, Day(40)).size(), 3u);
}

TEST_F(LedgerTest, DebitAndReversalRestoreTheSameLots) {
  uint64_t a = Credit(100, Day(1), Day(50));
  uint64_t b = Credit(100, Day(2), Day(60));
  std::vector<LotDraw> draws = {{LotId{a, 0}, Points(100)}, {LotId{b, 0}, Points(20)}};
  uint64_t debit = Apply(entries::Debited{Points(120), draws}, Day(3));
  EXPECT_EQ(member_.balance, Points(80));
  EXPECT_EQ(member_.FindLot(LotId{a, 0})->remaining, Points(0));
  Apply(entries::DebitReversed{debit, Points(120), draws, Points(0)}, Day(4));
  EXPECT_EQ(member_.FindLot(LotId{a, 0})->remaining, Points(100));
  EXPECT_EQ(member_.FindLot(LotId{b, 0})->remaining, Points(100));
  EXPECT_TRUE(member_.detail().debits.at(debit).reversed);
}

TEST_F(LedgerTest, EarnReversalBeyondTheLotIsDebt) {
  uint64_t a = Credit(100, Day(1), Day(50));
  Apply(entries::Debited{Points(60), {{LotId{a, 0}, Points(60)}}}, Day(2));
  // Nothing else to take from: the 60 already spent become debt.
  Apply(entries::EarnReversed{a, Points(100), Points(40), Points(60), {}}, Day(3));
  EXPECT_EQ(member_.balance, Points(0));
  EXPECT_EQ(member_.debt(), Points(60));
  EXPECT_EQ(member_.FindLot(LotId{a, 0})->reversed, Points(100));
  // A later credit pays the debt before it forms a lot.
  uint64_t b = Apply(entries::Credited{Points(80), Points(60), Day(90), "test", {}}, Day(4));
  EXPECT_EQ(member_.debt(), Points(0));
  EXPECT_EQ(member_.FindLot(LotId{b, 0})->remaining, Points(20));
  EXPECT_EQ(member_.balance, Points(20));
}

// Credit a (100) has 40 left after a debit of 60; b (50) expires first,
// c (30) later. Reversing all of a takes its 40, then 50 from b and 10 from
// c: no debt, 20 left.
TEST_F(LedgerTest, EarnReversalTakesFromOtherLotsBeforeDebt) {
  uint64_t a = Credit(100, Day(1), Day(50));
  uint64_t b = Credit(50, Day(2), Day(40));
  uint64_t c = Credit(30, Day(2), Day(60));
  Apply(entries::Debited{Points(60), {{LotId{a, 0}, Points(60)}}}, Day(3));
  entries::EarnReversed reversal{a, Points(100), Points(40), Points(0), {}};
  reversal.draws = {{LotId{b, 0}, Points(50)}, {LotId{c, 0}, Points(10)}};
  BalanceDelta delta = DeltaOf(reversal);
  EXPECT_EQ(delta.available, Points(-100));
  EXPECT_EQ(delta.debt, Points(0));
  Apply(reversal, Day(4));
  EXPECT_EQ(member_.balance, Points(20));
  EXPECT_EQ(member_.debt(), Points(0));
  EXPECT_EQ(member_.FindLot(LotId{b, 0})->remaining, Points(0));
  EXPECT_EQ(member_.FindLot(LotId{c, 0})->remaining, Points(20));
}

// The entry validator refuses what Decide would never write: debt beside
// points, the credit's own lot skipped or drawn twice, draws that do not
// add up. A reversal of the older kind may leave debt beside points: old
// journals replay as they were.
TEST_F(LedgerTest, ReversalRulesOfTheValidator) {
  uint64_t a = Credit(100, Day(1), Day(50));
  uint64_t b = Credit(50, Day(2), Day(40));
  Apply(entries::Debited{Points(60), {{LotId{a, 0}, Points(60)}}}, Day(3));
  auto check = [&](entries::EarnReversed body) {
    Entry entry;
    entry.seq = seq_ + 1;
    entry.member = MemberId::FromValid("M-1");
    entry.business_time = Day(4);
    entry.body = std::move(body);
    return CheckApplicable(member_, entry);
  };
  auto message = [&](entries::EarnReversed body) { return std::string(check(std::move(body)).message()); };
  // 60 of debt while b's 50 stay available.
  EXPECT_EQ(message({a, Points(100), Points(40), Points(60), {}}), "it adds 60 of debt but leaves 50 points available");
  entries::EarnReversed skips{a, Points(50), Points(0), Points(0), {}};
  skips.draws = {{LotId{b, 0}, Points(50)}};
  EXPECT_EQ(message(skips), "it does not take what is left of the credit's lot first");
  entries::EarnReversed own{a, Points(50), Points(40), Points(0), {}};
  own.draws = {{LotId{a, 0}, Points(10)}};
  EXPECT_EQ(message(own), "it draws on the reversed credit's own lot");
  entries::EarnReversed short_draws{a, Points(100), Points(40), Points(0), {}};
  short_draws.draws = {{LotId{b, 0}, Points(50)}};
  EXPECT_EQ(message(short_draws), "from_lot + draws + debt_added is not the amount");
  entries::EarnReversed legacy{a, Points(100), Points(40), Points(60), {}};
  legacy.balance_first = false;
  EXPECT_TRUE(check(legacy).ok());
  Apply(legacy, Day(4));
  EXPECT_EQ(member_.balance, Points(50));
  EXPECT_EQ(member_.debt(), Points(60));
  // Such a member goes on as before: a credit pays 30 of the debt.
  Apply(entries::Credited{Points(30), Points(30), Day(90), "test", {}}, Day(5));
  EXPECT_EQ(member_.debt(), Points(30));
}

TEST_F(LedgerTest, TransferInCreatesOneLotPerPart) {
  uint64_t seq = Apply(entries::TransferredIn{MemberId::FromValid("M-2"), Points(30), Points(0),
                                              {{Points(10), Day(1), Day(10)}, {Points(20), Day(2), Day(20)}}},
                       Day(5));
  ASSERT_EQ(member_.lots.size(), 2u);
  EXPECT_EQ(member_.lots[1].id, (LotId{seq, 1}));
  EXPECT_EQ(member_.lots[1].expires_at, Day(20));
  EXPECT_EQ(member_.balance, Points(30));
}

// A lot's earning date picks its cohort in the audit's calendar: one outside
// the business-time range does not fit (a forged transfer from another shard).
TEST_F(LedgerTest, TransferInOfALotEarnedOutOfRangeDoesNotFit) {
  Entry entry;
  entry.seq = seq_ + 1;
  entry.member = MemberId::FromValid("M-1");
  entry.business_time = Day(5);
  entry.body = entries::TransferredIn{MemberId::FromValid("M-2"), Points(10), Points(0),
                                     {{Points(10), Instant::Min(), Day(10)}}, /*across=*/true};
  absl::Status fits = CheckApplicable(member_, entry);
  EXPECT_EQ(fits.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(fits.message().find("outside 1900-01-01 to 9000-01-01"), std::string::npos) << fits;
}

TEST_F(LedgerTest, DeltaOfMatchesApply) {
  uint64_t a = Credit(100, Day(1), Day(50));
  std::vector<LotDraw> draws = {{LotId{a, 0}, Points(40)}};
  EntryBody hold = entries::HoldPlaced{Points(40), Day(9), draws};
  BalanceDelta delta = DeltaOf(hold);
  EXPECT_EQ(delta.available, Points(-40));
  EXPECT_EQ(delta.held, Points(40));
  Points before = member_.balance;
  Apply(hold, Day(2));
  EXPECT_EQ(member_.balance.value() - before.value(), delta.available.value());
  EXPECT_EQ(member_.held(), Points(40));
  EXPECT_EQ(EntryKindName(hold), "hold_placed");
}

TEST_F(LedgerTest, InternVersionSharesOneCopy) {
  VersionRef a = InternVersion("mm-2011");
  VersionRef b = InternVersion(std::string("mm-") + "2011");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(InternVersion("mm-2010") == a);
  EXPECT_EQ(*a, "mm-2011");
  EXPECT_EQ(&*a, &*b);  // one shared copy
  EXPECT_EQ(*InternVersion(""), "");
  EXPECT_TRUE(InternVersion("") == VersionRef());
}

using LedgerDeathTest = LedgerTest;

TEST_F(LedgerDeathTest, EntryThatDoesNotFitTheStateCrashes) {
  uint64_t a = Credit(10, Day(1), Day(50));
  // Drawing more than a lot holds can only come from a broken invariant.
  EXPECT_DEATH(Apply(entries::Debited{Points(11), {{LotId{a, 0}, Points(11)}}}, Day(2)), "check failed");
  EXPECT_DEATH(Apply(entries::Debited{Points(5), {{LotId{a + 7, 0}, Points(5)}}}, Day(2)), "check failed");
  EXPECT_DEATH(Apply(entries::Enrolled{}, Day(2)), "check failed");
}

}  // namespace
}  // namespace loyalty
