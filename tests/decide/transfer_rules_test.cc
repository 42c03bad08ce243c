// A version's transfer rules (ProgramVersion::transfers): whether members
// may send each other points, the minimum, the yearly limit per sender in
// the version's calendar year, and the fee in points. Every figure worked
// out in the comments.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "test_values.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;
using test::At;
using test::Id;

// 2024: no section, so transfers are free and unlimited. 2025: at least
// 500, 2,000 a year (Berlin's calendar), a fee of 50. From July 2026: none.
constexpr char kClub[] = R"({"versions": [
 {"id": "club-2024", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-01-01T00:00:00Z", "effective_from": "2024-01-01T00:00:00Z"},
 {"id": "club-2025", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00+01:00",
  "transfers": {"minimum": 500, "yearly_limit": 2000, "fee": 50}},
 {"id": "club-2026", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2026-05-01T00:00:00Z", "effective_from": "2026-07-01T00:00:00+02:00",
  "transfers": {"allowed": false}}]})";

class TransferRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = ParseProgram(kClub);
    ASSERT_TRUE(program.ok()) << program.status();
    program_ = *program;
    Open(NewMemoryStore());
    for (const char* member : {"ann", "bob"}) {
      ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = absl::StrCat("enrol-", member), .member = Id(member),
                                          .at = At("2024-01-02T08:00:00Z")})
                      .ok());
    }
    // Two lots: 1,000 valid first (the lot spent first), then 9,000.
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c1", .member = Id("ann"), .at = At("2024-01-03T08:00:00Z"),
                                        .amount = Points(1000), .expires_at = At("2027-01-01T00:00:00Z")})
                    .ok());
    ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c2", .member = Id("ann"), .at = At("2024-01-03T09:00:00Z"),
                                        .amount = Points(9000), .expires_at = At("2028-01-01T00:00:00Z")})
                    .ok());
  }
  void Open(std::unique_ptr<Store> store) {
    engine_.reset();
    auto engine = Engine::Open(std::move(store), clock_, program_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }
  absl::StatusOr<Receipt> Send(const std::string& key, const char* at, int64_t points) {
    return engine_->Execute(
        Transfer{.idempotency_key = key, .member = Id("ann"), .at = At(at), .to = Id("bob"), .amount = Points(points)});
  }
  int64_t Available(const char* member) { return engine_->BalanceOf(Id(member))->available.value(); }

  FakeClock clock_{At("2026-12-01T00:00:00Z")};
  Program program_ = *Program::Create("unused", "UTC", {});
  std::unique_ptr<Engine> engine_;
};

// Without a transfers section: 100 points, no fee, two entries.
TEST_F(TransferRulesTest, WithoutASectionATransferIsFreeAndUnlimited) {
  auto receipt = Send("t", "2024-06-01T10:00:00Z", 100);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->entries.size(), 2u);
  EXPECT_EQ(Available("ann"), 9900);
  EXPECT_EQ(Available("bob"), 100);
}

// 500 sent and a fee of 50: the transfer takes the first 500 of the lot of
// 1,000, the fee the next 50; ann keeps 10,000 - 550 = 9,450.
TEST_F(TransferRulesTest, TheSenderPaysTheFeeFromItsLots) {
  auto receipt = Send("t", "2025-03-01T10:00:00Z", 500);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  ASSERT_EQ(receipt->entries.size(), 3u);
  const auto& out = std::get<entries::TransferredOut>(receipt->entries[0].body);
  EXPECT_EQ(out.amount, Points(500));
  EXPECT_TRUE(std::holds_alternative<entries::TransferredIn>(receipt->entries[1].body));
  const auto& fee = std::get<entries::Debited>(receipt->entries[2].body);
  EXPECT_EQ(fee.amount, Points(50));
  ASSERT_EQ(fee.draws.size(), 1u);
  EXPECT_EQ(fee.draws[0].lot, out.draws[0].lot);
  EXPECT_EQ(fee.draws[0].amount, Points(50));
  EXPECT_THAT(receipt->entries[2].explanation,
              HasSubstr("paid the fee of 50 points for the transfer to bob (transfers.fee of club-2025)"));
  EXPECT_EQ(Available("ann"), 9450);
  EXPECT_EQ(Available("bob"), 500);
}

// A transfer to another shard's member pays the same fee: the sending
// entry comes first (what the receiving shard is given), then the fee.
TEST_F(TransferRulesTest, ATransferToAnotherShardPaysTheFeeToo) {
  auto receipt = engine_->Execute(SendTransfer{.idempotency_key = "s", .member = Id("ann"),
                                               .at = At("2025-03-01T10:00:00Z"), .to = Id("zoe"),
                                               .amount = Points(500)});
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  ASSERT_EQ(receipt->entries.size(), 2u);
  EXPECT_TRUE(std::get<entries::TransferredOut>(receipt->own().front().body).across);
  EXPECT_EQ(std::get<entries::Debited>(receipt->entries[1].body).amount, Points(50));
  EXPECT_EQ(Available("ann"), 9450);
}

// 499 is below the minimum: refused naming the field and the rule; nothing
// changes.
TEST_F(TransferRulesTest, BelowTheMinimumIsRefused) {
  auto receipt = Send("t", "2025-03-01T10:00:00Z", 499);
  ASSERT_EQ(receipt.status().code(), absl::StatusCode::kInvalidArgument) << receipt.status();
  EXPECT_THAT(receipt.status().message(),
              HasSubstr("amount: 499 is below the minimum of 500 points a transfer of version club-2025 "
                        "(transfers.minimum)"));
  EXPECT_EQ(Available("ann"), 10000);
}

// The fee comes on top of the amount: with 520 points, 500 cannot be sent.
TEST_F(TransferRulesTest, TheFeeMustBeCoveredToo) {
  ASSERT_TRUE(engine_->Execute(Redeem{.idempotency_key = "r", .member = Id("ann"), .at = At("2025-02-01T10:00:00Z"),
                                      .amount = Points(9480)})
                  .ok());
  auto receipt = Send("t", "2025-03-01T10:00:00Z", 500);
  EXPECT_EQ(receipt.status().code(), absl::StatusCode::kFailedPrecondition) << receipt.status();
  EXPECT_EQ(Available("ann"), 520);
}

// The limit is per calendar year in Berlin: 1,500 in June; 600 more at
// 23:45 on 31 December would make 2,100 and is refused, 500 (2,000 in all)
// goes; at 00:15 on 1 January (23:15 UTC) a new year starts. The sends are
// state: the refusal holds after a reopen from the journal.
TEST_F(TransferRulesTest, TheYearlyLimitCountsTheLocalCalendarYear) {
  const std::string path = ::testing::TempDir() + "/transfer_rules.db";
  RemoveDb(path);
  Open(*OpenSqliteStore(path));
  for (const char* member : {"ann", "bob"}) {
    ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = absl::StrCat("enrol-", member), .member = Id(member),
                                        .at = At("2024-01-02T08:00:00Z")})
                    .ok());
  }
  ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "c", .member = Id("ann"), .at = At("2024-01-03T08:00:00Z"),
                                      .amount = Points(10000)})
                  .ok());
  ASSERT_TRUE(Send("june", "2025-06-01T10:00:00Z", 1500).ok());
  engine_.reset();  // the journal's writer lock
  Open(*OpenSqliteStore(path));
  auto over = Send("late", "2025-12-31T22:45:00Z", 600);
  ASSERT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition) << over.status();
  EXPECT_THAT(over.status().message(),
              HasSubstr("member ann sent 1500 points in 2025; 600 more would pass the yearly limit of 2000 of "
                        "version club-2025 (transfers.yearly_limit)"));
  EXPECT_TRUE(Send("last", "2025-12-31T22:50:00Z", 500).ok());
  EXPECT_TRUE(Send("new-year", "2025-12-31T23:15:00Z", 1000).ok());
  // 10,000 - (1,500 + 500 + 1,000) - 3 fees of 50 = 6,850.
  EXPECT_EQ(Available("ann"), 6850);
  engine_.reset();
}

// A send years later (club-2026 allows none from July 2026, so June) does
// not make the earlier year forget its sends.
TEST_F(TransferRulesTest, AYearKeepsItsSendsAfterLaterOnes) {
  ASSERT_TRUE(Send("full", "2025-06-01T10:00:00Z", 2000).ok());
  ASSERT_TRUE(Send("later", "2026-06-01T10:00:00Z", 500).ok());
  auto back_dated = Send("back", "2025-07-01T10:00:00Z", 500);
  EXPECT_EQ(back_dated.status().code(), absl::StatusCode::kFailedPrecondition) << back_dated.status();
}

// From July 2026 the version allows none.
TEST_F(TransferRulesTest, AVersionMayForbidTransfers) {
  auto receipt = Send("t", "2026-07-02T10:00:00Z", 500);
  ASSERT_EQ(receipt.status().code(), absl::StatusCode::kFailedPrecondition) << receipt.status();
  EXPECT_THAT(receipt.status().message(),
              HasSubstr("version club-2026 does not allow transfers between members (transfers.allowed)"));
}

// The program's reader refuses a limit below the minimum and a negative fee.
TEST(TransferRulesJson, ProblemsNameTheField) {
  auto program = ParseProgram(R"({"versions": [
   {"id": "v", "currency": "EUR", "time_zone": "UTC", "announced_at": "2025-01-01T00:00:00Z",
    "effective_from": "2025-01-01T00:00:00Z", "transfers": {"minimum": 500, "yearly_limit": 100, "fee": -1}}]})");
  ASSERT_FALSE(program.ok());
  EXPECT_THAT(program.status().message(), HasSubstr("versions[0].transfers.yearly_limit: 100 is below the minimum 500"));
  EXPECT_THAT(program.status().message(), HasSubstr("versions[0].transfers.fee: -1 is negative"));
}

// A program built in C++ is held to the same rules as one read from JSON.
TEST(TransferRulesProgram, ANegativeFeeIsRefused) {
  ProgramVersion version = *ParseProgram(kClub)->versions()[1];
  version.transfers->fee = Points(-5);
  auto program = Program::FromVersions({version});
  ASSERT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument) << program.status();
  EXPECT_THAT(program.status().message(), HasSubstr("transfers: "));
}

}  // namespace
}  // namespace loyalty
