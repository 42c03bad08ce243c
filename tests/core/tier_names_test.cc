// Tests that Program::FromVersions refuses a version whose fields name a tier
// its own ladder does not declare (an accrual rule's when.member_tiers and
// effect.tier_rates), or whose ladder has an empty or repeated id: one test
// per kind of field, each asserting the code and the whole message with its
// path and the known names; and CheckTierName, whose text the JSON loader
// reports under the JSON path (tests/io/program_json_test.cc).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "loyalty/program.h"

namespace loyalty {
namespace {

Tier Named(std::string id) {
  Tier tier;
  tier.id = std::move(id);
  return tier;
}

// A version "2024-01" with the ladder basic < frequent_traveller < senator
// and a base rule; `rule` is added as accrual[1].
ProgramVersion Version(AccrualRule rule, std::string id = "2024-01") {
  ProgramVersion version;
  version.id = std::move(id);
  version.zone = *TimeZone::Load("Europe/Berlin");
  version.tiers.tiers = {Named("basic"), Named("frequent_traveller"), Named("senator")};
  AccrualRule base;
  base.id = "base";
  base.effect.kind = AccrualEffect::Kind::kFixed;
  base.effect.fixed = Points(10);
  version.accrual = {base, std::move(rule)};
  return version;
}

AccrualRule Bonus(std::vector<std::string> member_tiers) {
  AccrualRule rule;
  rule.id = "bonus";
  rule.effect.kind = AccrualEffect::Kind::kFixed;
  rule.effect.fixed = Points(5);
  rule.when.member_tiers = std::move(member_tiers);
  return rule;
}

AccrualRule Ticket(std::map<std::string, Rate> tier_rates) {
  AccrualRule rule;
  rule.id = "ticket";
  rule.effect.kind = AccrualEffect::Kind::kPerTicketPrice;
  rule.effect.rate = *Rate::Parse("4");
  rule.effect.tier_rates = std::move(tier_rates);
  return rule;
}

absl::Status Refusal(std::vector<ProgramVersion> versions) {
  return Program::FromVersions(std::move(versions)).status();
}

TEST(TierNames, ACorrectProgramLoads) {
  ProgramVersion with_bonus = Version(Bonus({"frequent_traveller", "senator"}));
  ProgramVersion with_rates = Version(Ticket({{"basic", *Rate::Parse("5")}, {"senator", *Rate::Parse("8")}}), "2025-01");
  with_rates.effective_from = *Instant::Parse("2025-01-01T00:00:00Z");
  ProgramVersion no_tiers = Version(Bonus({}), "2026-01");  // names no tier: needs no ladder
  no_tiers.tiers.tiers.clear();
  no_tiers.effective_from = *Instant::Parse("2026-01-01T00:00:00Z");
  auto program = Program::FromVersions({with_bonus, with_rates, no_tiers});
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_EQ(program->versions()[0]->accrual[1].when.member_tiers[1], "senator");
}

TEST(TierNames, MemberTiersMustBeInTheVersionsLadder) {
  absl::Status status = Refusal({Version(Bonus({"senator", "frequent_traveler"}))});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            R"(versions[0] (2024-01): accrual[1] (rule "bonus").when.member_tiers[1]: unknown tier )"
            R"("frequent_traveler"; the version's tiers are: basic, frequent_traveller, senator)");
}

TEST(TierNames, TierRatesKeysMustBeInTheVersionsLadder) {
  absl::Status status = Refusal({Version(Ticket({{"basic", *Rate::Parse("5")}, {"gold", *Rate::Parse("6")}}))});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            R"(versions[0] (2024-01): accrual[1] (rule "ticket").effect.tier_rates["gold"]: unknown tier "gold"; )"
            R"(the version's tiers are: basic, frequent_traveller, senator)");
}

TEST(TierNames, AVersionWithoutTiersNamesNone) {
  ProgramVersion version = Version(Ticket({{"senator", *Rate::Parse("6")}}));
  version.tiers.tiers.clear();
  absl::Status status = Refusal({version});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), R"(versions[0] (2024-01): accrual[1] (rule "ticket").effect.tier_rates["senator"]: )"
                              R"(unknown tier "senator"; the version declares no tiers)");
}

// The rule is the version's own ladder: a tier only an earlier version
// declares is unknown to a later one, whose error names it.
TEST(TierNames, ATierOfAnotherVersionIsUnknown) {
  ProgramVersion first = Version(Bonus({"senator"}));
  first.tiers.tiers.push_back(Named("hon_circle"));
  ProgramVersion second = Version(Bonus({"hon_circle"}), "2025-01");
  second.effective_from = *Instant::Parse("2025-01-01T00:00:00Z");
  absl::Status status = Refusal({first, second});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), R"(versions[1] (2025-01): accrual[1] (rule "bonus").when.member_tiers[0]: )"
                              R"(unknown tier "hon_circle"; the version's tiers are: basic, frequent_traveller, senator)");
}

TEST(TierNames, LadderIdsAreNonEmptyAndUnique) {
  ProgramVersion empty = Version(Bonus({}));
  empty.tiers.tiers[1].id = "";
  absl::Status status = Refusal({empty});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "versions[0] (2024-01): tiers.tiers[1].id: a tier needs an id");

  ProgramVersion twice = Version(Bonus({}));
  twice.tiers.tiers[2].id = "basic";
  status = Refusal({twice});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), R"(versions[0] (2024-01): tiers.tiers[2].id: "basic" is also the id of tiers.tiers[0])");
}

TEST(TierNames, CheckTierNameGivesTheMessageWithoutAPath) {
  TierLadder ladder;
  EXPECT_EQ(CheckTierName(ladder, "gold").message(), R"(unknown tier "gold"; the version declares no tiers)");
  EXPECT_EQ(CheckTierName(ladder, "").code(), absl::StatusCode::kInvalidArgument);
  ladder.tiers = {Named("silver"), Named("gold")};
  EXPECT_TRUE(CheckTierName(ladder, "gold").ok());
  EXPECT_EQ(CheckTierName(ladder, "Gold").message(), R"(unknown tier "Gold"; the version's tiers are: silver, gold)");
  EXPECT_EQ(CheckTierName(ladder, "").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loyalty
