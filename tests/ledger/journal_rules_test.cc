// The journal is untrusted input for every reader. A journal written by the
// engine has one entry made impossible (forged), then is appended again
// through the store's own API, so that its chain is valid; every reader
// (the engine's open, replay, re-rating, verify, statements, the liability
// roll-forward, partner settlement) must answer DataLoss naming that entry,
// never crash, and verify and the engine's open must agree.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "journal/chain.h"
#include "gtest/gtest.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

MemberId Id(const char* text) { return MemberId::FromValid(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("EUR")); }

constexpr char kProgram[] = R"({"versions": [
 {"id": "shop-2024", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2023-11-01T00:00:00Z", "effective_from": "2024-01-01T00:00:00Z",
  "counters": ["spend"],
  "accrual": [{"id": "base", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "1", "rounding": "down"}},
              {"id": "spend", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "1", "rounding": "down", "balance": "spend"}},
              {"id": "launch", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "fixed", "fixed": 5}, "cap": {"budget": 5}}],
  "redemption": {"catalog": [{"id": "voucher", "price": 100}]},
  "point_sales": {"price_per_point": "0.01", "minimum": 100},
  "transfers": {"minimum": 50},
  "stamp_cards": [{"id": "food-card", "when": {"include_categories": ["food"]}, "stamps": 2, "reward": "voucher",
                   "voucher_days": 30}],
  "expiry": {"months": 24, "round": "end_of_month"},
  "accounting": {"standalone_value_per_point": "0.01", "expected_redemption_rate": "0.8"},
  "tiers": {"period": "rolling_12_months", "validity_months": 12,
            "ladder": [{"id": "silver", "qualify": [{"spend": 500}]},
                       {"id": "ambassador", "invitation_only": true}]}}]})";

Program TheProgram() { return *ParseProgram(kProgram); }

// The status names "journal entry <seq>".
bool NamesEntry(const absl::Status& status, uint64_t seq) {
  const std::string named = absl::StrCat("journal entry ", seq);
  const size_t at = status.message().find(named);
  return at != absl::string_view::npos &&
         (at + named.size() == status.message().size() || !absl::ascii_isdigit(status.message()[at + named.size()]));
}

class ForgedJournal : public ::testing::Test {
 protected:
  struct Seqs {
    uint64_t anna = 0, credit = 0, accrual = 0, redeem = 0, hold = 0, captured = 0, released = 0, reversed = 0,
             returned = 0, voucher = 0, transfer_out = 0, adjust = 0, quote = 0, flag = 0, tier = 0, bought = 0,
             refunded = 0, closed = 0;
  };

  void SetUp() override {
    auto engine = Engine::Open(NewMemoryStore(), clock_, TheProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    Engine& e = **engine;
    auto run = [&](const Command& command) -> uint64_t {
      auto receipt = e.Execute(command);
      EXPECT_TRUE(receipt.ok()) << receipt.status();
      return receipt.ok() ? receipt->seq() : 0;
    };
    s_.anna = run(Enroll{.idempotency_key = "enroll-anna", .member = Id("anna")});
    run(Enroll{.idempotency_key = "enroll-ben", .member = Id("ben")});
    run(Enroll{.idempotency_key = "enroll-carl", .member = Id("carl")});
    clock_.Advance(absl::Hours(1));
    s_.credit = run(Credit{.idempotency_key = "credit", .member = Id("anna"), .amount = Points(500), .source = "goodwill"});
    s_.accrual = run(Accrue{.idempotency_key = "basket", .member = Id("anna"),
                            .activity = {"basket-1", Purchase{"", "b", "store",
                                                              {PurchaseLine{"a", "food", {}, 2, Eur("30.00")},
                                                               PurchaseLine{"b", "food", {}, 1, Eur("10.00")}}}}});
    s_.redeem = run(Redeem{.idempotency_key = "redeem", .member = Id("anna"), .amount = Points(120)});
    s_.hold = run(PlaceHold{.idempotency_key = "hold", .member = Id("anna"), .amount = Points(40), .ttl = absl::Hours(2)});
    s_.captured = run(CaptureHold{.idempotency_key = "capture", .member = Id("anna"), .hold = s_.hold});
    uint64_t hold2 =
        run(PlaceHold{.idempotency_key = "hold2", .member = Id("anna"), .amount = Points(30), .ttl = absl::Hours(2)});
    s_.released = run(ReleaseHold{.idempotency_key = "release", .member = Id("anna"), .hold = hold2});
    s_.reversed = run(ReverseDebit{.idempotency_key = "undo", .member = Id("anna"), .debit = s_.redeem});
    // The basket's 3 food units filled the food card of 2 once: voucher 0,
    // 1 stamp on the new card; the return of line 1 takes 1 back.
    s_.returned = run(ReturnLines{.idempotency_key = "return", .member = Id("anna"), .credit = s_.accrual, .lines = {1}});
    clock_.Advance(absl::Minutes(1));
    s_.voucher = run(RedeemVoucher{.idempotency_key = "voucher", .member = Id("anna"), .voucher = {s_.accrual, 0}});
    s_.transfer_out =
        run(Transfer{.idempotency_key = "transfer", .member = Id("anna"), .to = Id("ben"), .amount = Points(100)});
    s_.adjust = run(Adjust{.idempotency_key = "adjust", .member = Id("ben"), .delta = Points(-10), .reason = "typo",
                           .actor = "ops"});
    s_.quote = run(QuoteReward{.idempotency_key = "quote", .member = Id("anna"), .reward = "voucher", .ttl = absl::Hours(1)});
    s_.flag = run(SetMemberFlag{.idempotency_key = "flag", .member = Id("anna"), .flag = "card"});
    s_.tier = run(GrantTier{.idempotency_key = "tier", .member = Id("anna"), .tier = "ambassador",
                            .reason = "press", .actor = "ops"});
    // 300 points bought for EUR 3.00, all refunded.
    s_.bought = run(PurchasePoints{.idempotency_key = "buy", .member = Id("ben"), .points = Points(300)});
    s_.refunded = run(RefundPoints{.idempotency_key = "refund", .member = Id("ben"), .purchase = s_.bought});
    run(Credit{.idempotency_key = "credit-carl", .member = Id("carl"), .amount = Points(70), .source = "goodwill"});
    s_.closed = run(CloseMembership{.idempotency_key = "close", .member = Id("carl")});
    // Two years on, the first lots lapse.
    clock_.Advance(absl::Hours(24 * 800));
    auto expiry = e.RunExpiry("expiry-2026", clock_.Now());
    ASSERT_TRUE(expiry.ok()) << expiry.status();
    ASSERT_FALSE(expiry->entries.empty());
    ASSERT_TRUE(e.store().Read(1, [&](const Entry& entry) {
                  entries_.push_back(entry);
                  return absl::OkStatus();
                }).ok());
  }

  // A store holding `entries`, chained by the store itself; the links to
  // each member's previous entry are recomputed unless `keep_links`.
  static std::unique_ptr<Store> Rechained(std::vector<Entry> entries, bool keep_links = false) {
    internal::MemberLinks links;
    for (Entry& entry : entries) {
      const uint64_t link = links.Next(entry);
      if (!keep_links) entry.member_prev = link;
    }
    std::unique_ptr<Store> store = NewMemoryStore();
    absl::Status appended = store->Append(std::span<Entry>(entries));
    EXPECT_TRUE(appended.ok()) << appended;
    return store;
  }

  // Every reader of a journal, each on a fresh copy of `entries`: OK, or
  // the error it answers with.
  struct Answers {
    absl::Status open, replay, rerate, statement, liability, settlement, revenue;
    JournalVerification verify;
    JournalVerification verify_with_program;  // agrees with the engine's open
  };
  Answers ReadEverywhere(const std::vector<Entry>& entries, bool keep_links = false) {
    Answers a;
    auto engine = Engine::Open(Rechained(entries, keep_links), clock_, TheProgram());
    a.open = engine.status();
    a.replay = Replay(*Rechained(entries, keep_links)).status();
    a.rerate = Rerate(*Rechained(entries, keep_links), TheProgram()).status();
    a.verify = VerifyJournal(*Rechained(entries, keep_links));
    const Program program = TheProgram();
    a.verify_with_program = VerifyJournal(*Rechained(entries, keep_links), std::nullopt, std::nullopt, &program);
    a.statement = StatementOf(*Rechained(entries, keep_links), Id("anna"), Instant::Min(), Instant::Max()).status();
    a.liability = RollForward(*Rechained(entries, keep_links), TimeZone::Utc(),
                              {.from = Instant::FromUnixMicros(0), .to = Instant::Max()})
                      .status();
    a.settlement = SettlePartners(*Rechained(entries, keep_links), TheProgram(), Instant::Min(), Instant::Max()).status();
    a.revenue =
        RecogniseRevenue(*Rechained(entries, keep_links), TheProgram(), {.from = Instant::Min(), .to = Instant::Max()})
            .status();
    return a;
  }

  Entry& At(std::vector<Entry>& entries, uint64_t seq) { return entries[seq - 1]; }
  template <typename T>
  T& Body(std::vector<Entry>& entries, uint64_t seq) {
    return std::get<T>(At(entries, seq).body);
  }

  FakeClock clock_{*Instant::Parse("2024-03-01T10:00:00Z")};
  Seqs s_;
  std::vector<Entry> entries_;
};

TEST_F(ForgedJournal, TheJournalAsWrittenReadsEverywhere) {
  Answers a = ReadEverywhere(entries_);
  EXPECT_TRUE(a.open.ok()) << a.open;
  EXPECT_TRUE(a.replay.ok()) << a.replay;
  EXPECT_TRUE(a.rerate.ok()) << a.rerate;
  EXPECT_TRUE(a.verify.ok()) << a.verify.Summary();
  EXPECT_TRUE(a.verify_with_program.ok()) << a.verify_with_program.Summary();
  EXPECT_TRUE(a.statement.ok()) << a.statement;
  EXPECT_TRUE(a.liability.ok()) << a.liability;
  EXPECT_TRUE(a.settlement.ok()) << a.settlement;
  EXPECT_TRUE(a.revenue.ok()) << a.revenue;
}

struct Forgery {
  const char* name;
  std::function<uint64_t(std::vector<Entry>&)> forge;  // returns the seq of the entry at fault
  // Only readers given the program can tell (the engine's open, settlement).
  bool needs_program = false;
  bool keep_links = false;
};

TEST_F(ForgedJournal, EveryReaderNamesTheImpossibleEntry) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Seqs s = s_;
  const uint64_t transfer_in = s.transfer_out + 1;
  const Forgery forgeries[] = {
      {"a debit larger than its lot",
       [&](auto& e) {
         auto& d = Body<entries::Debited>(e, s.redeem);
         d.amount = Points(100000);
         d.draws = {{LotId{s.credit, 0}, Points(100000)}};
         return s.redeem;
       }},
      {"a debit from a lot that does not exist",
       [&](auto& e) {
         Body<entries::Debited>(e, s.redeem).draws[0].lot = LotId{999, 0};
         return s.redeem;
       }},
      {"a capture of a hold that does not exist",
       [&](auto& e) {
         Body<entries::HoldCaptured>(e, s.captured).hold = 4242;
         return s.captured;
       }},
      {"an entry of a member never enrolled",
       [&](auto& e) {
         At(e, s.credit).member = Id("mallory");
         return s.credit;
       }},
      {"a credit that overflows the balance",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).amount = Points(kMax);
         return s.accrual;
       }},
      {"a credit dated before the member's enrolment",
       [&](auto& e) {
         At(e, s.credit).business_time = Instant::FromUnixMicros(At(e, s.anna).business_time.unix_micros() - 1);
         return s.credit;
       }},
      {"a credit that pays a debt the member does not owe",
       [&](auto& e) {
         Body<entries::Credited>(e, s.credit).debt_paid = Points(5);
         return s.credit;
       }},
      {"points received that no entry sent",
       [&](auto& e) {
         At(e, s.transfer_out).body = entries::Quoted{Points(1), Instant::Max(), {}};
         return transfer_in;
       }},
      {"points sent that no entry received",
       [&](auto& e) {
         At(e, transfer_in).body = entries::Quoted{Points(1), Instant::Max(), {}};
         return transfer_in;
       }},
      {"a transfer whose receiver gets other dates",
       [&](auto& e) {
         Body<entries::TransferredIn>(e, transfer_in).lots[0].expires_at = Instant::Max();
         return transfer_in;
       }},
      {"a transfer whose receiver gets more",
       [&](auto& e) {
         auto& in = Body<entries::TransferredIn>(e, transfer_in);
         in.amount = Points(in.amount.value() + 1);
         in.lots[0].amount = Points(in.lots[0].amount.value() + 1);
         return transfer_in;
       }},
      {"a transfer at the end of the journal, never received",
       [&](auto& e) {
         e.resize(s.transfer_out);
         return s.transfer_out;
       }},
      {"an expiry of a lot not yet due",
       [&](auto& e) {
         At(e, s.flag).body = entries::Expired{Points(10), {{LotId{s.credit, 0}, Points(10)}}};
         return s.flag;
       }},
      {"an expiry of more than the lot holds",
       [&](auto& e) {
         At(e, s.flag).body = entries::Expired{Points(100000), {{LotId{s.credit, 0}, Points(100000)}}};
         return s.flag;
       }},
      {"a hold released to other lots than it came from",
       [&](auto& e) {
         auto& released = Body<entries::HoldReleased>(e, s.released);
         released.draws[0].lot = released.draws[0].lot == LotId{s.credit, 0} ? LotId{s.accrual, 0} : LotId{s.credit, 0};
         return s.released;
       }},
      {"a debit reversed twice",
       [&](auto& e) {
         At(e, s.reversed + 1).body = At(e, s.reversed).body;
         At(e, s.reversed + 1).member = Id("anna");
         return s.reversed + 1;
       }},
      {"an earn reversed beyond what it earned",
       [&](auto& e) {
         At(e, s.returned).body = entries::EarnReversed{s.credit, Points(501), Points(501), Points(0), {}, {}};
         return s.returned;
       }},
      {"a line returned twice",
       [&](auto& e) {
         At(e, s.adjust).member = Id("anna");
         At(e, s.adjust).body = entries::EarnReversed{s.accrual, Points(0), Points(0), Points(0), {}, {1}};
         return s.adjust;
       }},
      {"an adjustment by the most negative amount",
       [&](auto& e) {
         Body<entries::Adjusted>(e, s.adjust).delta = Points(INT64_MIN);
         return s.adjust;
       }},
      {"a quote used twice",
       [&](auto& e) {
         At(e, s.flag).body = entries::Debited{Points(0), {}, {}, s.redeem, std::nullopt};
         return s.flag;
       }},
      {"a flag cleared that was never set",
       [&](auto& e) {
         Body<entries::FlagChanged>(e, s.flag).on = false;
         return s.flag;
       }},
      {"a membership closed twice",
       [&](auto& e) {
         At(e, s.closed - 1).body = entries::MembershipClosed{Instant::Max()};
         return s.closed;
       }},
      {"a tier the program does not define",
       [&](auto& e) {
         Body<entries::TierChanged>(e, s.tier).tier = "platinum";
         return s.tier;
       },
       /*needs_program=*/true},
      {"a member's entry under a reserved id",
       [&](auto& e) {
         At(e, s.credit).member = Id("#ops");
         return s.credit;
       }},
      {"a member's entry under the program's id",
       [&](auto& e) {
         At(e, s.credit).member = Id(kProgramMember);
         return s.credit;
       }},
      {"a version published twice",
       [&](auto& e) {
         At(e, s.quote).member = At(e, 1).member;
         At(e, s.quote).body = At(e, 1).body;
         return s.quote;
       }},
      {"a revised estimate above one",
       [&](auto& e) {
         At(e, s.quote).member = Id(kProgramMember);
         At(e, s.quote).body = entries::EstimateRevised{*Rate::Parse("1.5"), 0, "mallory", ""};
         return s.quote;
       }},
      {"a revised estimate without an actor",
       [&](auto& e) {
         At(e, s.quote).member = Id(kProgramMember);
         At(e, s.quote).body = entries::EstimateRevised{*Rate::Parse("0.5"), 2024, "", ""};
         return s.quote;
       }},
      {"an accrual whose units do not match its lines",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).line_units = {2};
         return s.accrual;
       }},
      {"a return of more units than its line has",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.returned).units = {2};
         return s.returned;
       }},
      {"a return that takes back more than its units earned",
       [&](auto& e) {
         auto& r = Body<entries::EarnReversed>(e, s.returned);
         r.amount = Points(r.amount.value() + 1);
         r.from_lot = Points(r.from_lot.value() + 1);
         return s.returned;
       }},
      {"an accrual that collects more stamps than its units",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).stamps[0].stamps = 4;
         return s.accrual;
       }},
      {"an accrual that issues a voucher its card did not complete",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).stamps[0].vouchers = 2;
         return s.accrual;
       }},
      {"a return that keeps the stamps of its units",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.returned).stamps.clear();
         return s.returned;
       }},
      {"a return that withdraws a voucher its card did not need",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.returned).stamps[0].withdrawn = {0};
         return s.returned;
       }},
      {"a voucher redeemed twice",
       [&](auto& e) {
         At(e, s.quote).body = entries::VoucherRedeemed{VoucherId{s.accrual, 0}, "voucher"};
         return s.quote;
       }},
      {"a voucher redeemed after it lapsed",
       [&](auto& e) {
         At(e, s.voucher).business_time = Body<entries::Credited>(e, s.accrual).stamps[0].voucher_expires_at;
         return s.voucher;
       }},
      {"an accrual whose lines earned more than it credited",
       [&](auto& e) {
         auto& lines = Body<entries::Credited>(e, s.accrual).line_points;
         lines[0] = Points(lines[0].value() + 1000);
         return s.accrual;
       }},
      {"an accrual with a line of negative points",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).line_points[1] = Points(-1);
         return s.accrual;
       }},
      {"a return of whole lines of an accrual that recorded units",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.returned).units.clear();
         return s.returned;
       }},
      {"bought points on a day the calendar does not know",
       [&](auto& e) {
         Body<entries::Credited>(e, s.bought).local_day = 2932897;
         return s.bought;
       }},
      {"a voucher for a reward its card does not give",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).stamps[0].reward = "mug";
         return s.accrual;
       },
       /*needs_program=*/true},
      {"a rule's grant below zero",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).grants.back().granted = Points(-1);
         return s.accrual;
       }},
      {"grants that do not sum to the points credited",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).grants.front().granted = Points(71);
         return s.accrual;
       },
       /*needs_program=*/true},
      {"a grant of a rule the version does not have",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).grants.front().rule = "bogus";
         return s.accrual;
       },
       /*needs_program=*/true},
      {"a transfer below the version's minimum",
       [&](auto& e) {
         auto& out = Body<entries::TransferredOut>(e, s.transfer_out);
         out.amount = Points(40);
         out.draws = {{out.draws[0].lot, Points(40)}};
         return s.transfer_out;
       },
       /*needs_program=*/true},
      {"a grant beyond what was left of its rule's budget",
       [&](auto& e) {
         auto& credited = Body<entries::Credited>(e, s.accrual);
         for (RuleGrant& grant : credited.grants) {
           if (grant.rule == "launch") grant.granted = Points(6);
         }
         credited.amount = Points(credited.amount.value() + 1);
         credited.unattributed = Points(credited.unattributed.value() + 1);
         return s.accrual;
       },
       /*needs_program=*/true},
      {"points bought at another price than the version's",
       [&](auto& e) {
         Body<entries::Credited>(e, s.bought).price = Eur("2.00");
         return s.bought;
       },
       /*needs_program=*/true},
      {"a price on an accrual",
       [&](auto& e) {
         Body<entries::Credited>(e, s.accrual).price = Eur("1.00");
         return s.accrual;
       }},
      {"a refund that pays back more than its points' share",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.refunded).refund = Eur("3.01");
         return s.refunded;
       }},
      {"a refund of a credit that was not bought",
       [&](auto& e) {
         Body<entries::EarnReversed>(e, s.refunded).credit = s.credit;
         return s.refunded;
       }},
      {"a business time out of range",
       [&](auto& e) {
         At(e, s.credit).business_time = Instant::Min();
         return s.credit;
       }},
      {"a link to the wrong previous entry",
       [&](auto& e) {
         At(e, s.redeem).member_prev = s.anna;
         return s.redeem;
       },
       false, /*keep_links=*/true},
      {"two entries swapped and renumbered",
       [&](auto& e) {
         std::swap(At(e, s.accrual), At(e, s.redeem));
         for (size_t i = 0; i < e.size(); ++i) e[i].seq = i + 1;
         return s.reversed;
       }},
  };
  for (const Forgery& f : forgeries) {
    SCOPED_TRACE(f.name);
    std::vector<Entry> entries = entries_;
    const uint64_t seq = f.forge(entries);
    Answers a = ReadEverywhere(entries, f.keep_links);
    EXPECT_EQ(a.open.code(), absl::StatusCode::kDataLoss) << a.open;
    EXPECT_TRUE(NamesEntry(a.open, seq)) << a.open;
    EXPECT_EQ(a.settlement.code(), absl::StatusCode::kDataLoss) << a.settlement;
    EXPECT_TRUE(NamesEntry(a.settlement, seq)) << a.settlement;
    EXPECT_EQ(a.verify_with_program.bad_seq, seq) << a.verify_with_program.Summary();
    if (f.needs_program) continue;
    for (const absl::Status* status : {&a.replay, &a.rerate, &a.statement, &a.liability, &a.revenue}) {
      EXPECT_EQ(status->code(), absl::StatusCode::kDataLoss) << *status;
      EXPECT_TRUE(NamesEntry(*status, seq)) << *status;
    }
    EXPECT_FALSE(a.verify.ok());
    EXPECT_EQ(a.verify.bad_seq, seq) << a.verify.Summary();
    EXPECT_EQ(a.verify.entries, seq - 1) << a.verify.Summary();
  }
}

// The engine refuses to write what its readers would refuse to read.
TEST_F(ForgedJournal, NothingHappensToAMemberBeforeItsEnrolment) {
  auto engine = Engine::Open(Rechained(entries_), clock_, TheProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = "enroll-dora", .member = Id("dora")}).ok());
  const Instant before = Instant::FromUnixMicros(clock_.Now().unix_micros() - 1);
  auto credit = (*engine)->Execute(
      Credit{.idempotency_key = "early", .member = Id("dora"), .at = before, .amount = Points(5), .source = "x"});
  EXPECT_EQ(credit.status().code(), absl::StatusCode::kInvalidArgument) << credit.status();
  EXPECT_NE(credit.status().message().find("at: "), absl::string_view::npos) << credit.status();
  auto transfer = (*engine)->Execute(Transfer{.idempotency_key = "early-transfer", .member = Id("ben"), .at = before,
                                              .to = Id("dora"), .amount = Points(1)});
  EXPECT_EQ(transfer.status().code(), absl::StatusCode::kInvalidArgument) << transfer.status();
}

}  // namespace
}  // namespace loyalty
