// A member's state as bytes and back (EncodeMember, DecodeMember): every
// part of a state the engine builds survives the round trip, one state has
// one encoding, and bytes that are not a valid state are refused, never
// crash.
#include "journal/member_codec.h"

#include <string>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty::internal {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

bool AnyVersion(absl::string_view version) { return version == "shop-2024"; }

// A member who used every part of the state: lots of every origin, an open
// hold and a quote, debits (one reversed), an accrual with a returned line
// and its activity, rule use, a flag, counters by day, a granted tier, debt,
// a transfer to another shard still pending, and a closed membership; and
// one who only enrolled.
class MemberCodecTest : public ::testing::Test {
 protected:
  MemberCodecTest() : clock_(At("2024-06-01T12:00:00Z")) {
    auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/retail-rolling-tiers.json");
    EXPECT_TRUE(program.ok()) << program.status();
    engine_ = *Engine::Open(NewMemoryStore(), clock_, *program);
    const Money eur = *Money::Parse("120.00", *Currency::FromCode("EUR"));
    Run(Enroll{.idempotency_key = "e1", .member = Id("ann"), .at = At("2024-01-02T00:00:00Z")});
    Run(Enroll{.idempotency_key = "e2", .member = Id("bob"), .at = At("2024-01-02T00:00:00Z")});
    Run(Credit{.idempotency_key = "c", .member = Id("ann"), .at = At("2024-02-01T00:00:00Z"), .amount = Points(3000)});
    const uint64_t accrual =
        Run(Accrue{.idempotency_key = "a", .member = Id("ann"), .at = At("2024-03-01T00:00:00Z"),
                   .activity = {"r-1", Purchase{"", "s", "store", {{"x", "shoes", {}, 1, eur}, {"y", "bags", {}, 1, eur}}}}});
    Run(ReturnLines{.idempotency_key = "ret", .member = Id("ann"), .at = At("2024-03-02T00:00:00Z"), .credit = accrual,
                    .lines = {1}});
    const uint64_t debit = Run(Redeem{.idempotency_key = "r", .member = Id("ann"), .amount = Points(100)});
    Run(ReverseDebit{.idempotency_key = "rd", .member = Id("ann"), .debit = debit});
    Run(Redeem{.idempotency_key = "r2", .member = Id("ann"), .amount = Points(50)});
    Run(Adjust{.idempotency_key = "adj", .member = Id("ann"), .delta = Points(20), .reason = "goodwill", .actor = "agent"});
    Run(Transfer{.idempotency_key = "t", .member = Id("ann"), .to = Id("bob"), .amount = Points(10)});
    Run(Transfer{.idempotency_key = "t2", .member = Id("bob"), .to = Id("ann"), .amount = Points(5)});
    Run(SendTransfer{.idempotency_key = "t3", .member = Id("ann"), .to = Id("dee"), .amount = Points(7)});
    Run(QuoteReward{.idempotency_key = "q", .member = Id("ann"), .reward = "voucher-10", .ttl = absl::Hours(24)});
    Run(HoldReward{.idempotency_key = "h", .member = Id("ann"), .reward = "voucher-10", .ttl = absl::Hours(24)});
    Run(SetMemberFlag{.idempotency_key = "f", .member = Id("ann"), .flag = "staff"});
    Run(GrantTier{.idempotency_key = "g", .member = Id("ann"), .tier = "ambassador", .reason = "invited", .actor = "cm"});
    Run(CloseMembership{.idempotency_key = "close", .member = Id("bob")});
    Run(Enroll{.idempotency_key = "e3", .member = Id("cy")});
  }

  uint64_t Run(const Command& command) {
    auto receipt = engine_->Execute(command);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->seq() : 0;
  }

  std::string Encode(const char* member) {
    std::string bytes;
    Writer w(&bytes);
    EncodeMember(w, Id(member), *engine_->Snapshot(Id(member)));
    return bytes;
  }

  FakeClock clock_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(MemberCodecTest, EveryPartSurvivesTheRoundTrip) {
  for (const char* name : {"ann", "bob", "cy"}) {
    SCOPED_TRACE(name);
    const std::string bytes = Encode(name);
    Reader r(bytes);
    MemberId id;
    MemberState decoded;
    ASSERT_TRUE(DecodeMember(r, AnyVersion, &id, &decoded)) << r.error();
    EXPECT_TRUE(r.AtEnd());
    EXPECT_EQ(id, Id(name));
    std::string again;
    Writer w(&again);
    EncodeMember(w, id, decoded);
    EXPECT_EQ(again, bytes);  // one state, one encoding
  }
  const std::string bytes = Encode("ann");
  Reader r(bytes);
  MemberId id;
  MemberState ann;
  ASSERT_TRUE(DecodeMember(r, AnyVersion, &id, &ann));
  const MemberState live = *engine_->Snapshot(Id("ann"));
  EXPECT_EQ(ann.balance, live.balance);
  EXPECT_EQ(ann.lots.size(), live.lots.size());
  EXPECT_EQ(ann.held(), live.held());
  EXPECT_EQ(ann.detail().holds.size(), 1u);
  EXPECT_EQ(ann.detail().quotes.size(), 1u);
  EXPECT_EQ(ann.detail().debits.size(), 2u);
  EXPECT_EQ(ann.detail().accruals.begin()->second.returned_units, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ann.detail().activities.size(), 1u);
  EXPECT_FALSE(ann.detail().rule_use.empty());
  EXPECT_EQ(ann.detail().flags, std::vector<std::string>{"staff"});
  EXPECT_EQ(ann.detail().counters, live.detail().counters);
  EXPECT_EQ(ann.detail().counter_days, live.detail().counter_days);
  EXPECT_EQ(ann.detail().status.tier, "ambassador");
  ASSERT_EQ(ann.detail().transfers_sent.size(), 1u);
  const SentTransfer& sent = ann.detail().transfers_sent.begin()->second;
  const SentTransfer& live_sent = live.detail().transfers_sent.begin()->second;
  EXPECT_EQ(sent.to, Id("dee"));
  EXPECT_EQ(sent.idempotency_key, "t3");
  EXPECT_EQ(sent.lots, live_sent.lots);
  EXPECT_EQ(sent.sent_at, live_sent.sent_at);
  EXPECT_EQ(ann.last_seq, live.last_seq);
}

TEST_F(MemberCodecTest, TruncatedOrUnknownBytesAreRefused) {
  const std::string bytes = Encode("ann");
  for (size_t size = 0; size < bytes.size(); ++size) {
    Reader r(absl::string_view(bytes).substr(0, size));
    MemberId id;
    MemberState member;
    EXPECT_FALSE(DecodeMember(r, AnyVersion, &id, &member)) << size;
  }
  Reader r(bytes);
  MemberId id;
  MemberState member;
  EXPECT_FALSE(DecodeMember(r, [](absl::string_view) { return false; }, &id, &member));
  EXPECT_NE(r.error().find("a version the journal does not publish"), std::string::npos) << r.error();
}

// Every byte changed in turn: the bytes are refused, or decode to a state
// that meets the ledger's invariants and whose encoding decodes to itself
// (a changed amount that still adds up cannot be told from a real one; the
// checkpoint's digest finds it).
TEST_F(MemberCodecTest, EveryChangedByteIsRefusedOrAValidState) {
  const std::string bytes = Encode("ann");
  int refused = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit : {0, 6}) {
      std::string changed = bytes;
      changed[i] = static_cast<char>(changed[i] ^ (1 << bit));
      Reader r(changed);
      MemberId id;
      MemberState member;
      if (!DecodeMember(r, AnyVersion, &id, &member)) {
        ++refused;
        continue;
      }
      std::string again;
      Writer w(&again);
      EncodeMember(w, id, member);
      Reader reread(again);
      MemberState same;
      ASSERT_TRUE(DecodeMember(reread, AnyVersion, &id, &same)) << "byte " << i << ": " << reread.error();
      std::string third;
      Writer w3(&third);
      EncodeMember(w3, id, same);
      EXPECT_EQ(third, again) << "byte " << i;
    }
  }
  EXPECT_GT(refused, 0);
}

// The invariants a decoded state must meet, each broken on its own.
TEST_F(MemberCodecTest, StatesThatBreakTheLedgersRulesAreRefused) {
  const MemberState live = *engine_->Snapshot(Id("ann"));
  auto refused = [&](MemberState state, const char* reason) {
    std::string bytes;
    Writer w(&bytes);
    EncodeMember(w, Id("ann"), state);
    Reader r(bytes);
    MemberId id;
    MemberState member;
    EXPECT_FALSE(DecodeMember(r, AnyVersion, &id, &member)) << reason;
    EXPECT_NE(r.error().find(reason), std::string::npos) << r.error() << " / " << reason;
  };
  MemberState balance = live;
  balance.balance = Points(balance.balance.value() + 1);
  refused(balance, "the balance is not the sum of the lots");
  MemberState held = live;
  held.mutable_detail().held = Points(0);
  refused(held, "the held total is not the sum of the holds");
  MemberState lots = live;
  std::swap(lots.lots[0], lots.lots[1]);
  refused(lots, "lots are not in increasing id order");
  MemberState future = live;
  future.last_seq = 1;
  refused(future, "is not an entry of the member");
  MemberState owed = live;
  Lot* held_lot = owed.FindLot(owed.detail().holds.begin()->second.draws.front().lot);
  owed.balance = Points(owed.balance.value() + held_lot->earned.value() - held_lot->remaining.value());
  held_lot->remaining = held_lot->earned;  // as if the hold had taken nothing from it
  refused(owed, "would get back more than it earned");
  MemberState flags = live;
  flags.mutable_detail().flags = {"b", "a"};
  refused(flags, "the flags are not sorted and distinct");
  MemberState sent = live;
  sent.mutable_detail().transfers_sent.begin()->second.amount = Points(8);  // its lots hold 7
  refused(sent, "is out of range");
}

}  // namespace
}  // namespace loyalty::internal
