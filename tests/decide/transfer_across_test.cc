// The three commands of a transfer between shards on their own (Decide and
// the ledger, no engine): what each decides, each refusal with the field
// or member it names, and the forged entries the ledger refuses.
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loyalty/command.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty {
namespace {

using ::testing::HasSubstr;

Instant At(const char* text) { return *Instant::Parse(text); }

const MemberId kAnn = MemberId::FromValid("ann");
const MemberId kBob = MemberId::FromValid("bob");
const Instant kNow = At("2021-03-01T10:00:00Z");

class TransferAcrossTest : public ::testing::Test {
 protected:
  TransferAcrossTest()
      : program_(*Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter})) {
    Apply(Enroll{"e", kAnn, At("2021-01-01T00:00:00Z")});
    Apply(Credit{"c1", kAnn, At("2021-01-10T00:00:00Z"), Points(300), "flight", At("2022-12-31T23:00:00Z")});
    Apply(Credit{"c2", kAnn, At("2021-02-10T00:00:00Z"), Points(200), "flight", At("2023-12-31T23:00:00Z")});
  }

  absl::StatusOr<std::vector<Entry>> DecideNow(const Command& command) {
    return Decide(
        program_,
        [&](const MemberId& id) -> const MemberState* {
          auto it = members_.find(id);
          return it == members_.end() ? nullptr : &it->second;
        },
        command, kNow);
  }
  // Decides `command` and applies its entries; returns them.
  std::vector<Entry> Apply(const Command& command) {
    auto decided = DecideNow(command);
    EXPECT_TRUE(decided.ok()) << decided.status();
    if (!decided.ok()) return {};
    for (Entry& entry : *decided) {
      entry.seq = ++seq_;
      ApplyToMember(members_[entry.member], entry);
    }
    return *decided;
  }
  // The status of checking `entry`, forged, against its member.
  absl::Status Forged(Entry entry) {
    entry.seq = seq_ + 1;
    return CheckApplicable(members_[entry.member], entry);
  }

  Program program_;
  std::map<MemberId, MemberState> members_;
  uint64_t seq_ = 0;
};

TEST_F(TransferAcrossTest, SendingTakesTheLotsInSpendingOrderAndKeepsThemPending) {
  std::vector<Entry> sent = Apply(SendTransfer{"t", kAnn, std::nullopt, kBob, Points(400)});
  ASSERT_EQ(sent.size(), 1u);
  const auto& out = std::get<entries::TransferredOut>(sent[0].body);
  EXPECT_TRUE(out.across);
  // The soonest-expiring lot first: 300 of the 2022 lot, 100 of the 2023 one.
  ASSERT_EQ(out.lots.size(), 2u);
  EXPECT_EQ(out.lots[0], (TransferredLot{Points(300), At("2021-01-10T00:00:00Z"), At("2022-12-31T23:00:00Z")}));
  EXPECT_EQ(out.lots[1], (TransferredLot{Points(100), At("2021-02-10T00:00:00Z"), At("2023-12-31T23:00:00Z")}));
  const MemberState& ann = members_[kAnn];
  EXPECT_EQ(ann.balance, Points(100));
  ASSERT_EQ(ann.detail().transfers_sent.count(sent[0].seq), 1u);
  EXPECT_EQ(ann.detail().transfers_sent.at(sent[0].seq).idempotency_key, "t");
}

TEST_F(TransferAcrossTest, ARefusedTransferComesBackWithItsDatesAfterDebt) {
  std::vector<Entry> sent = Apply(SendTransfer{"t", kAnn, std::nullopt, kBob, Points(400)});
  std::vector<Entry> settled = Apply(SettleTransfer{"t/settled", kAnn, std::nullopt, sent[0].seq, true, "not enrolled"});
  const auto& body = std::get<entries::TransferSettled>(settled[0].body);
  EXPECT_EQ(body.returned, Points(400));
  EXPECT_EQ(body.lots, std::get<entries::TransferredOut>(sent[0].body).lots);
  EXPECT_EQ(members_[kAnn].balance, Points(500));
  EXPECT_TRUE(members_[kAnn].detail().transfers_sent.empty());
  // Settled once: a second settlement finds nothing pending.
  auto again = DecideNow(SettleTransfer{"t/settled-2", kAnn, std::nullopt, sent[0].seq, false});
  EXPECT_TRUE(absl::IsNotFound(again.status())) << again.status();
}

TEST_F(TransferAcrossTest, ReceivingSettlesDebtFirstAndKeepsTheDates) {
  Apply(Enroll{"e-bob", kBob, At("2021-01-01T00:00:00Z")});
  const std::vector<TransferredLot> lots = {{Points(60), At("2021-01-10T00:00:00Z"), At("2022-12-31T23:00:00Z")},
                                            {Points(40), At("2021-02-10T00:00:00Z"), At("2023-12-31T23:00:00Z")}};
  members_[kBob].mutable_detail().debt = Points(70);  // a reversal's debt, set by hand
  std::vector<Entry> received = Apply(ReceiveTransfer{"t", kBob, std::nullopt, kAnn, Points(100), lots});
  const auto& in = std::get<entries::TransferredIn>(received[0].body);
  EXPECT_TRUE(in.across);
  EXPECT_EQ(in.debt_paid, Points(70));
  ASSERT_EQ(in.lots.size(), 1u);
  EXPECT_EQ(in.lots[0], (TransferredLot{Points(30), At("2021-02-10T00:00:00Z"), At("2023-12-31T23:00:00Z")}));
  EXPECT_EQ(members_[kBob].balance, Points(30));
}

TEST_F(TransferAcrossTest, EachRefusalNamesItsField) {
  Apply(Enroll{"e-bob", kBob, At("2021-01-01T00:00:00Z")});
  struct Case {
    Command command;
    absl::StatusCode code;
    const char* names;
  };
  const TransferredLot lot{Points(10), At("2021-01-10T00:00:00Z"), At("2022-12-31T23:00:00Z")};
  TransferredLot backwards = lot;
  backwards.expires_at = At("2020-01-01T00:00:00Z");
  const std::vector<Case> cases = {
      {SendTransfer{"t", kAnn, std::nullopt, kAnn, Points(10)}, absl::StatusCode::kInvalidArgument, "to:"},
      {SendTransfer{"t", kAnn, std::nullopt, MemberId(), Points(10)}, absl::StatusCode::kInvalidArgument, "to:"},
      {SendTransfer{"t", kAnn, std::nullopt, MemberId::FromValid("#program"), Points(10)},
       absl::StatusCode::kInvalidArgument, "reserved"},
      {SendTransfer{"t", kAnn, std::nullopt, kBob, Points(0)}, absl::StatusCode::kInvalidArgument, "amount"},
      {SendTransfer{"t", kAnn, std::nullopt, kBob, Points(501)}, absl::StatusCode::kFailedPrecondition, "501"},
      {SendTransfer{std::string(kMaxSendTransferKey + 1, 'k'), kAnn, std::nullopt, kBob, Points(1)},
       absl::StatusCode::kInvalidArgument, "idempotency_key: at most 120 bytes"},
      {ReceiveTransfer{"t", kBob, std::nullopt, kAnn, Points(10), {}}, absl::StatusCode::kInvalidArgument, "lots"},
      {ReceiveTransfer{"t", kBob, std::nullopt, kAnn, Points(20), {lot}}, absl::StatusCode::kInvalidArgument,
       "sum to 10, not the amount 20"},
      {ReceiveTransfer{"t", kBob, std::nullopt, kAnn, Points(10), {backwards}}, absl::StatusCode::kInvalidArgument,
       "lots[0].expires_at"},
      {ReceiveTransfer{"t", kBob, std::nullopt, kBob, Points(10), {lot}}, absl::StatusCode::kInvalidArgument, "from:"},
      {ReceiveTransfer{"t", MemberId::FromValid("cy"), std::nullopt, kAnn, Points(10), {lot}},
       absl::StatusCode::kNotFound, "cy"},
      {SettleTransfer{"t", kAnn, std::nullopt, 99, false}, absl::StatusCode::kNotFound, "no pending transfer 99"},
  };
  for (const Case& c : cases) {
    auto decided = DecideNow(c.command);
    ASSERT_FALSE(decided.ok()) << c.names;
    EXPECT_EQ(decided.status().code(), c.code) << decided.status();
    EXPECT_THAT(std::string(decided.status().message()), HasSubstr(c.names));
  }
  std::vector<Entry> sent = Apply(SendTransfer{"t", kAnn, std::nullopt, kBob, Points(10)});
  auto delivered_with_reason = DecideNow(SettleTransfer{"s", kAnn, std::nullopt, sent[0].seq, false, "why"});
  EXPECT_THAT(std::string(delivered_with_reason.status().message()), HasSubstr("reason"));
}

TEST_F(TransferAcrossTest, TheLedgerRefusesForgedHalves) {
  std::vector<Entry> sent = Apply(SendTransfer{"t", kAnn, std::nullopt, kBob, Points(400)});
  // A settlement of a transfer that is not pending.
  Entry settle = sent[0];
  settle.body = entries::TransferSettled{12345, Points(0), Points(0), {}, ""};
  EXPECT_THAT(std::string(Forged(settle).message()), HasSubstr("no transfer 12345 is pending"));
  // A return of other lots than were sent, and of another amount.
  const auto& out = std::get<entries::TransferredOut>(sent[0].body);
  std::vector<TransferredLot> other = out.lots;
  other[0].expires_at = Instant::Max();
  settle.body = entries::TransferSettled{sent[0].seq, Points(400), Points(0), other, "x"};
  EXPECT_THAT(std::string(Forged(settle).message()), HasSubstr("not the lots sent"));
  settle.body = entries::TransferSettled{sent[0].seq, Points(300), Points(0), out.lots, "x"};
  EXPECT_THAT(std::string(Forged(settle).message()), HasSubstr("returns 300 of a transfer of 400"));
  // A sending entry whose lots are not the lots it draws.
  std::vector<Entry> more = Apply(Credit{"c3", kAnn, std::nullopt, Points(50), "x"});
  Entry forged_send = sent[0];
  auto body = out;
  body.draws = {{LotId{more[0].seq, 0}, Points(50)}};
  body.amount = Points(50);
  body.lots = {{Points(50), At("2000-01-01T00:00:00Z"), Instant::Max()}};
  forged_send.body = body;
  EXPECT_THAT(std::string(Forged(forged_send).message()), HasSubstr("the lots sent are not the lots drawn"));
}

}  // namespace
}  // namespace loyalty
