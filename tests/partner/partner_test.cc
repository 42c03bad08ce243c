// Coalition partners: the partners section of a program, the partner
// recorded on entries, settlement per partner and period, and the
// partner-scoped engine handle's permissions.
#include "loyalty/partner.h"

#include <cstdio>
#include <string>
#include <vector>

#include "journal/entry_codec.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "loyalty/audit.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

const Currency kEur = *Currency::FromCode("EUR");

Instant At(const char* text) { return *Instant::Parse(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, kEur); }
MemberId Id(const char* text) { return MemberId::FromValid(text); }

Activity Basket(const char* id, std::string partner, std::vector<PurchaseLine> lines) {
  Purchase purchase;
  purchase.partner = std::move(partner);
  purchase.lines = std::move(lines);
  return Activity{id, purchase};
}
PurchaseLine Line(const char* sku, int64_t quantity, const char* unit_price) {
  PurchaseLine line;
  line.sku = sku;
  line.category = "goods";
  line.quantity = quantity;
  line.unit_price = Eur(unit_price);
  return line;
}

// The coalition day of examples/programs/coalition.json, in March 2026,
// driven through the partners' handles. Rates (EUR per point):
//   skyways   earns 2 per EUR,   funds 0.012,  reimbursed 0.009
//   freshmart earns 0.5 per EUR, funds 0.01,   reimbursed 0.008
//   fuelco    earns 1 per EUR,   funds 0.0075, reimbursed 0.0085
class CoalitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/coalition.json");
    ASSERT_TRUE(program.ok()) << program.status();
    auto engine = Engine::Open(NewMemoryStore(), clock_, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
    for (const char* member : {"A", "B"}) {
      ASSERT_TRUE(engine_->Execute(Enroll{.idempotency_key = std::string("enroll-") + member, .member = Id(member)}).ok());
    }
  }

  uint64_t Run(PartnerHandle& handle, const Command& command, const char* at) {
    clock_.Set(At(at));
    auto receipt = handle.Execute(command);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    return receipt.ok() ? receipt->seq() : 0;
  }

  // The March day: returns nothing, records the seqs it needs.
  void RunMarch() {
    auto sky = *engine_->ForPartner("skyways");
    auto fresh = *engine_->ForPartner("freshmart");
    auto fuel = *engine_->ForPartner("fuelco");
    // A flies: EUR 600 x 2 = 1200 points at skyways.
    sky_credit_ = Run(sky, Accrue{.idempotency_key = "sk-1", .member = Id("A"),
                                  .activity = Basket("SK-1", "", {Line("fare", 1, "600.00")})},
                      "2026-03-02T08:00:00Z");
    // A shops: groceries 2 x EUR 20 -> 20 points, wine EUR 26 -> 13 points: 33 at freshmart.
    fresh_credit_ = Run(fresh, Accrue{.idempotency_key = "fm-1", .member = Id("A"),
                                      .activity = Basket("FM-1", "", {Line("groceries", 2, "20.00"),
                                                                      Line("wine", 1, "26.00")})},
                        "2026-03-03T10:00:00Z");
    // B fuels: EUR 62 -> 62 points at fuelco; shops EUR 100 -> 50 at freshmart.
    Run(fuel, Accrue{.idempotency_key = "fc-1", .member = Id("B"),
                     .activity = Basket("FC-1", "fuelco", {Line("diesel", 1, "62.00")})},
        "2026-03-04T07:00:00Z");
    Run(fresh, Accrue{.idempotency_key = "fm-2", .member = Id("B"),
                      .activity = Basket("FM-2", "", {Line("groceries", 1, "100.00")})},
        "2026-03-05T17:00:00Z");
    // A returns the wine: 13 points back from freshmart's issue.
    Run(fresh, ReturnLines{.idempotency_key = "fm-1-return", .member = Id("A"), .credit = fresh_credit_, .lines = {1}},
        "2026-03-06T09:00:00Z");
    // A redeems a seat upgrade (1000) at skyways.
    sky_debit_ = Run(sky, RedeemReward{.idempotency_key = "sk-upgrade", .member = Id("A"),
                                       .reward = "skyways:seat-upgrade"},
                     "2026-03-10T12:00:00Z");
    // B pays 40 points at fuelco; 30 at freshmart, reversed (the sale was voided).
    Run(fuel, PayWithPointsAtTill{.idempotency_key = "fc-pay", .member = Id("B"), .points = Points(40)},
        "2026-03-12T07:00:00Z");
    uint64_t voided = Run(fresh, PayWithPointsAtTill{.idempotency_key = "fm-pay-void", .member = Id("B"),
                                                     .points = Points(30)},
                          "2026-03-13T18:00:00Z");
    Run(fresh, ReverseDebit{.idempotency_key = "fm-pay-void-undo", .member = Id("B"), .debit = voided},
        "2026-03-13T18:05:00Z");
    // A pays 100 points at freshmart.
    Run(fresh, PayWithPointsAtTill{.idempotency_key = "fm-pay", .member = Id("A"), .points = Points(100)},
        "2026-03-20T11:00:00Z");
  }

  FakeClock clock_{At("2026-03-01T00:00:00Z")};
  std::unique_ptr<Engine> engine_;
  uint64_t sky_credit_ = 0, fresh_credit_ = 0, sky_debit_ = 0;
};

const Instant kMarch = At("2026-03-01T00:00:00+01:00");
const Instant kApril = At("2026-04-01T00:00:00+02:00");
const Instant kMay = At("2026-05-01T00:00:00+02:00");

TEST_F(CoalitionTest, SettlesEachPartnerForThePeriod) {
  RunMarch();
  // April: A flies again, EUR 100 x 2 = 200 points; not March's business.
  auto sky = *engine_->ForPartner("skyways");
  Run(sky, Accrue{.idempotency_key = "sk-2", .member = Id("A"),
                  .activity = Basket("SK-2", "", {Line("fare", 1, "100.00")})},
      "2026-04-02T08:00:00Z");
  // A: 1200 + 33 - 13 - 1000 - 100 + 200 = 320; B: 62 + 50 - 40 - 30 + 30 = 72.
  EXPECT_EQ(engine_->BalanceOf(Id("A"))->available, Points(320));
  EXPECT_EQ(engine_->BalanceOf(Id("B"))->available, Points(72));

  auto march = SettlePartners(engine_->store(), engine_->program(), kMarch, kApril);
  ASSERT_TRUE(march.ok()) << march.status();
  ASSERT_EQ(march->size(), 3u);  // by id: freshmart, fuelco, skyways
  const PartnerSettlement& fresh = (*march)[0];
  const PartnerSettlement& fuel = (*march)[1];
  const PartnerSettlement& skyways = (*march)[2];
  // freshmart: issued 33 + 50 - 13 = 70 -> 70 x 0.01 = EUR 0.70; redeemed
  // 30 - 30 + 100 = 100 -> 100 x 0.008 = EUR 0.80; net -0.10 (the operator pays).
  EXPECT_EQ(fresh.partner, "freshmart");
  EXPECT_EQ(fresh.issued, Points(70));
  EXPECT_EQ(fresh.redeemed, Points(100));
  EXPECT_EQ(fresh.owed_to_operator, Eur("0.70"));
  EXPECT_EQ(fresh.owed_to_partner, Eur("0.80"));
  EXPECT_EQ(fresh.net, Money(-10, kEur));
  // fuelco: 62 x 0.0075 = 0.465, half-even to the cent: EUR 0.46 (half-up
  // would give 0.47); 40 x 0.0085 = EUR 0.34; net 0.12.
  EXPECT_EQ(fuel.issued, Points(62));
  EXPECT_EQ(fuel.redeemed, Points(40));
  EXPECT_EQ(fuel.owed_to_operator, Eur("0.46"));
  EXPECT_EQ(fuel.owed_to_partner, Eur("0.34"));
  EXPECT_EQ(fuel.net, Eur("0.12"));
  // skyways: 1200 x 0.012 = EUR 14.40; 1000 x 0.009 = EUR 9.00; net 5.40.
  EXPECT_EQ(skyways.issued, Points(1200));
  EXPECT_EQ(skyways.redeemed, Points(1000));
  EXPECT_EQ(skyways.owed_to_operator, Eur("14.40"));
  EXPECT_EQ(skyways.owed_to_partner, Eur("9.00"));
  EXPECT_EQ(skyways.net, Eur("5.40"));

  // April: only skyways' 200 points, 200 x 0.012 = EUR 2.40.
  auto april = SettlePartners(engine_->store(), engine_->program(), kApril, kMay, "skyways");
  ASSERT_TRUE(april.ok()) << april.status();
  ASSERT_EQ(april->size(), 1u);
  EXPECT_EQ(april->front().issued, Points(200));
  EXPECT_EQ(april->front().redeemed, Points(0));
  EXPECT_EQ(april->front().net, Eur("2.40"));

  // The handle reads its own settlement, the same figures.
  auto own = sky.Settlement(kMarch, kApril, "skyways");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->net, Eur("5.40"));

  EXPECT_EQ(SettlePartners(engine_->store(), engine_->program(), kMarch, kApril, "nobody").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SettlePartners(engine_->store(), engine_->program(), kApril, kMarch).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CoalitionTest, EntriesRecordThePartner) {
  RunMarch();
  auto credit = engine_->store().Get(sky_credit_);
  auto debit = engine_->store().Get(sky_debit_);
  ASSERT_TRUE(credit.ok() && debit.ok());
  EXPECT_EQ(credit->partner, "skyways");
  EXPECT_EQ(debit->partner, "skyways");  // from the catalog item's partner
  // The operator's engine refuses a partner the version does not define.
  auto unknown = engine_->Execute(Credit{.idempotency_key = "c-x", .member = Id("A"), .amount = Points(5),
                                         .source = "bonus", .partner = "nobody"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("partner"), absl::string_view::npos) << unknown.status();
}

TEST_F(CoalitionTest, HistoryThroughAHandleShowsOnlyItsPartner) {
  RunMarch();
  auto fresh = *engine_->ForPartner("freshmart");
  auto history = fresh.History(Id("A"));
  ASSERT_TRUE(history.ok()) << history.status();
  // A's freshmart entries: the accrual, the return of its wine, the payment.
  ASSERT_EQ(history->size(), 3u);
  EXPECT_TRUE(std::holds_alternative<entries::Credited>((*history)[0].body));
  EXPECT_TRUE(std::holds_alternative<entries::EarnReversed>((*history)[1].body));
  EXPECT_TRUE(std::holds_alternative<entries::Debited>((*history)[2].body));
  for (const Entry& entry : *history) EXPECT_NE(entry.seq, sky_credit_);
  // A's whole history has the enrolment and skyways' entries too.
  EXPECT_EQ(engine_->History(Id("A"))->size(), 6u);
  auto sky_history = engine_->ForPartner("skyways")->History(Id("A"));
  ASSERT_EQ(sky_history->size(), 2u);
  EXPECT_EQ((*sky_history)[0].seq, sky_credit_);
  EXPECT_EQ((*sky_history)[1].seq, sky_debit_);
}

TEST_F(CoalitionTest, HandleRefusesWhatIsNotItsPartners) {
  RunMarch();
  auto fresh = *engine_->ForPartner("freshmart");
  const uint64_t last_seq = engine_->store().LastSeq();
  const Sha256 digest = engine_->StateDigest();
  FlightSegment flight{"SK", "SK1", "FRA", "JFK", 3851, "economy", "Y", std::nullopt};
  struct Case {
    Command command;
    const char* field;
  };
  std::vector<Case> cases = {
      {Accrue{.idempotency_key = "x1", .member = Id("A"),
              .activity = Basket("SK-9", "skyways", {Line("fare", 1, "50.00")})},
       "activity.detail.partner"},
      {Accrue{.idempotency_key = "x2", .member = Id("A"), .activity = {"F-1", flight}}, "activity.detail"},
      {RedeemReward{.idempotency_key = "x3", .member = Id("A"), .reward = "skyways:seat-upgrade"}, "reward"},
      {PayWithPointsAtTill{.idempotency_key = "x4", .member = Id("A"), .points = Points(10), .partner = "fuelco"},
       "partner"},
      {Redeem{.idempotency_key = "x5", .member = Id("A"), .amount = Points(10), .reason = "r", .partner = "skyways"},
       "partner"},
      {ReverseDebit{.idempotency_key = "x6", .member = Id("A"), .debit = sky_debit_}, "debit"},
      {ReturnLines{.idempotency_key = "x7", .member = Id("A"), .credit = sky_credit_, .lines = {0}}, "credit"},
      {Adjust{.idempotency_key = "x8", .member = Id("A"), .delta = Points(10), .reason = "r", .actor = "till"},
       "command"},
      {Transfer{.idempotency_key = "x9", .member = Id("A"), .to = Id("B"), .amount = Points(10)}, "command"},
      {Credit{.idempotency_key = "x10", .member = Id("A"), .amount = Points(10), .source = "s"}, "command"},
      {GrantTier{.idempotency_key = "x11", .member = Id("A"), .tier = "gold", .reason = "r", .actor = "a"},
       "command"},
  };
  for (const Case& c : cases) {
    auto receipt = fresh.Execute(c.command);
    EXPECT_EQ(receipt.status().code(), absl::StatusCode::kPermissionDenied) << c.field << ": " << receipt.status();
    EXPECT_TRUE(absl::StartsWith(receipt.status().message(), std::string(c.field) + ": ")) << receipt.status();
  }
  auto other = fresh.Settlement(kMarch, kApril, "skyways");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  // Nothing changed: the journal and every member's state.
  EXPECT_EQ(engine_->store().LastSeq(), last_seq);
  EXPECT_EQ(engine_->StateDigest(), digest);
  EXPECT_EQ(engine_->BalanceOf(Id("A"))->available, Points(120));
  // Unknown partners have no handle.
  EXPECT_EQ(engine_->ForPartner("nobody").status().code(), absl::StatusCode::kNotFound);
}

// Overflow is an error, never a wrap: INT64_MAX points x EUR 0.012 is
// about 1.1e19 cents, more than 64 bits hold; two such credits overflow
// the points sum itself.
TEST_F(CoalitionTest, SettlementOverflowIsOutOfRange) {
  clock_.Set(At("2026-03-02T08:00:00Z"));
  ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "huge-a", .member = Id("A"), .amount = Points(INT64_MAX),
                                      .source = "test", .partner = "skyways"})
                  .ok());
  auto one = SettlePartners(engine_->store(), engine_->program(), kMarch, kApril, "skyways");
  EXPECT_EQ(one.status().code(), absl::StatusCode::kOutOfRange) << one.status();
  ASSERT_TRUE(engine_->Execute(Credit{.idempotency_key = "huge-b", .member = Id("B"), .amount = Points(INT64_MAX),
                                      .source = "test", .partner = "skyways"})
                  .ok());
  auto two = SettlePartners(engine_->store(), engine_->program(), kMarch, kApril, "skyways");
  EXPECT_EQ(two.status().code(), absl::StatusCode::kOutOfRange) << two.status();
}

// The partner survives the journal file: a reopened SQLite journal settles
// the same figures.
TEST(PartnerJournalTest, SettlementReadsAReopenedSqliteJournal) {
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/coalition.json");
  ASSERT_TRUE(program.ok()) << program.status();
  std::string path = ::testing::TempDir() + "/partner_test.db";
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  FakeClock clock(At("2026-03-02T08:00:00Z"));
  uint64_t seq = 0;
  {
    auto engine = Engine::Open(*OpenSqliteStore(path), clock, *program);
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->Execute(Enroll{.idempotency_key = "e", .member = Id("A")}).ok());
    auto fuel = *(*engine)->ForPartner("fuelco");
    // EUR 18.00 of fuel -> 18 points; 18 x 0.0075 = 0.135 -> EUR 0.14 (half-even: 13.5 cents to 14).
    auto receipt = fuel.Execute(Accrue{.idempotency_key = "fc", .member = Id("A"),
                                       .activity = Basket("FC", "", {Line("petrol", 1, "18.00")})});
    ASSERT_TRUE(receipt.ok()) << receipt.status();
    seq = receipt->seq();
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Get(seq)->partner, "fuelco");
  auto settled = SettlePartners(**store, *program, kMarch, kApril, "fuelco");
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->front().issued, Points(18));
  EXPECT_EQ(settled->front().owed_to_operator, Eur("0.14"));
}

// ---------------------------------------------------------------- program JSON

std::string Version(absl::string_view partners, absl::string_view accrual = "[]", absl::string_view catalog = "[]") {
  return absl::StrCat(R"({"versions": [{"id": "v1", "currency": "EUR", "time_zone": "Europe/Berlin",)",
                      R"( "announced_at": "2026-01-01T00:00:00Z", "effective_from": "2026-01-01T00:00:00Z", )",
                      partners.empty() ? "" : absl::StrCat(R"("partners": )", partners, ", "),
                      R"("accrual": )", accrual, R"(, "redemption": {"catalog": )", catalog, "}}]}");
}

::testing::AssertionResult HasProblem(const absl::StatusOr<Program>& program, absl::string_view line_prefix) {
  if (program.status().code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "not InvalidArgument: " << program.status();
  }
  if (program.status().message().find(line_prefix) == absl::string_view::npos) {
    return ::testing::AssertionFailure() << "no [" << line_prefix << "] in:\n" << program.status().message();
  }
  return ::testing::AssertionSuccess();
}

constexpr char kOnePartner[] =
    R"([{"id": "fm", "name": "Freshmart", "funding_per_point": "0.01", "reimbursement_per_point": "0.008"}])";

TEST(PartnerJsonTest, ReadsPartners) {
  auto program = ParseProgram(Version(kOnePartner, R"([{"id": "r", "when": {"partners": ["fm"]},
      "effect": {"kind": "per_money", "rate": "1"}}])", R"([{"id": "v", "price": 5, "partner": "fm"}])"));
  ASSERT_TRUE(program.ok()) << program.status();
  const ProgramVersion& v = *program->versions().front();
  ASSERT_EQ(v.partners.size(), 1u);
  EXPECT_EQ(v.partners[0].name, "Freshmart");
  EXPECT_EQ(v.partners[0].funding_per_point, *Rate::Parse("0.01"));
  EXPECT_EQ(v.partners[0].reimbursement_per_point, *Rate::Parse("0.008"));
  EXPECT_EQ(v.redemption.catalog[0].partner, "fm");
}

TEST(PartnerJsonTest, RefusesBadPartnersWithTheirPaths) {
  EXPECT_TRUE(HasProblem(ParseProgram(Version(
                             R"([{"id": "fm", "funding_per_point": "0.01", "reimbursement_per_point": "0"},
                                 {"id": "fm", "funding_per_point": "0.02", "reimbursement_per_point": "0"}])")),
                         "versions[0].partners[1].id: \"fm\" is also the id of versions[0].partners[0]"));
  EXPECT_TRUE(HasProblem(ParseProgram(Version(
                             R"([{"id": "fm", "funding_per_point": "-0.01", "reimbursement_per_point": "0"}])")),
                         "versions[0].partners[0].funding_per_point: "));
  EXPECT_TRUE(HasProblem(ParseProgram(Version(R"([{"id": "fm", "funding_per_point": "0.01"}])")),
                         "versions[0].partners[0].reimbursement_per_point: required field is missing"));
  EXPECT_TRUE(HasProblem(ParseProgram(Version(kOnePartner, R"([{"id": "r", "when": {"partners": ["fm", "dm"]},
      "effect": {"kind": "per_money", "rate": "1"}}])")),
                         "versions[0].accrual[0].when.partners[1]: \"dm\" is not one of the version's partners"));
  EXPECT_TRUE(HasProblem(ParseProgram(Version(kOnePartner, "[]", R"([{"id": "v", "price": 5, "partner": "dm"}])")),
                         "versions[0].redemption.catalog[0].partner: \"dm\" is not one of the version's partners"));
  EXPECT_TRUE(HasProblem(ParseProgram(Version("", "[]", R"([{"id": "v", "price": 5, "partner": "dm"}])")),
                         "versions[0].redemption.catalog[0].partner: "));
  // Without a partners section, rules may name any partner: the version
  // lists none to check them against.
  EXPECT_TRUE(ParseProgram(Version("", R"([{"id": "r", "when": {"partners": ["dm"]},
      "effect": {"kind": "per_money", "rate": "1"}}])")).ok());
}

// ---------------------------------------------------------------- journal encoding

TEST(PartnerCodecTest, PartnerIsATrailerThatOldEntriesDoNotHave) {
  Entry entry;
  entry.seq = 7;
  entry.member = Id("A");
  entry.idempotency_key = "k";
  entry.version = "v1";
  entry.body = entries::Debited{Points(40), {}, RewardPrice{}, 0, std::nullopt};
  std::string without;
  internal::EncodeEntry(entry, &without);
  entry.partner = "fuelco";
  std::string with;
  internal::EncodeEntry(entry, &with);
  // Same bytes, plus the length-prefixed partner: entries without a partner
  // (and journals written before partners) keep their encoding.
  ASSERT_EQ(with.size(), without.size() + 1 + 6);
  EXPECT_EQ(with.substr(0, without.size()), without);
  auto decoded = internal::DecodeEntry(with);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, entry);
  EXPECT_EQ(internal::DecodeEntry(without)->partner, "");
  // An empty trailer is not canonical, and bytes after the partner are refused.
  EXPECT_FALSE(internal::DecodeEntry(without + std::string(1, '\0')).ok());
  EXPECT_FALSE(internal::DecodeEntry(with + "x").ok());
}

}  // namespace
}  // namespace loyalty
