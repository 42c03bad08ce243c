// Tests of the JSON program-definition loader (loyalty/io.h): the shipped
// Miles & More-like example, content hashes, defaults, and one test per
// validation rule asserting the canonical code and the problem line with its
// exact JSON path; malformed text never crashes.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/sha256.h"
#include "gtest/gtest.h"
#include "loyalty/io.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty {
namespace {

constexpr absl::string_view kBusinessAward = "award:EU-NA:business:round_trip";

// The repository root, from this file's path (tests/io/program_json_test.cc).
std::string SourceRoot() {
  std::string file = __FILE__;
  return file.substr(0, file.rfind("/tests/"));
}
std::string ExamplePath() { return SourceRoot() + "/examples/programs/miles-and-more-2011.json"; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Instant At(absl::string_view rfc3339) {
  auto instant = Instant::Parse(rfc3339);
  EXPECT_TRUE(instant.ok()) << instant.status();
  return instant.ok() ? *instant : Instant();
}

// A valid version object with `extra` fields appended ("" for none).
std::string Version(absl::string_view extra = "", absl::string_view id = "v1",
                    absl::string_view effective_from = "2011-01-03T00:00:00+01:00") {
  return absl::StrCat(R"({"id": ")", id, R"(", "currency": "EUR", "time_zone": "Europe/Berlin", )",
                      R"("announced_at": "2010-12-01T00:00:00+01:00", "effective_from": ")", effective_from, "\"",
                      extra.empty() ? "" : ", ", extra, "}");
}

std::string Document(const std::vector<std::string>& versions) {
  return absl::StrCat(R"({"versions": [)", absl::StrJoin(versions, ", "), "]}");
}

// Whether one line of the error message starts with `line_prefix`
// (`<path>: <reason...>`), and the code is InvalidArgument.
::testing::AssertionResult HasProblem(const absl::Status& status, absl::string_view line_prefix) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "code is not InvalidArgument: " << status;
  }
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    if (absl::StartsWith(line, line_prefix)) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no line starts with [" << line_prefix << "] in:\n" << status.message();
}

absl::Status VersionStatus(absl::string_view extra) { return ParseProgramVersion(Version(extra)).status(); }

// ------------------------------------------------------------ the example

TEST(ProgramJsonTest, ExampleFileLoads) {
  auto program = LoadProgramFile(ExamplePath());
  ASSERT_TRUE(program.ok()) << program.status();
  ASSERT_EQ(program->versions().size(), 2u);

  const ProgramVersion& v2010 = program->InForceAt(At("2011-01-02T12:00:00+01:00"));
  const ProgramVersion& last_old_day = program->InForceAt(At("2011-01-02T23:59:59+01:00"));
  const ProgramVersion& v2011 = program->InForceAt(At("2011-01-03T00:00:00+01:00"));
  EXPECT_EQ(v2010.id, "mm-2010");
  EXPECT_EQ(last_old_day.id, "mm-2010");
  EXPECT_EQ(v2011.id, "mm-2011");
  EXPECT_EQ(program->version_id(), "mm-2011");
  EXPECT_EQ(program->zone().name(), "Europe/Berlin");

  auto old_price = v2010.PriceOf(kBusinessAward);
  auto new_price = v2011.PriceOf(kBusinessAward);
  ASSERT_TRUE(old_price.ok()) << old_price.status();
  ASSERT_TRUE(new_price.ok()) << new_price.status();
  EXPECT_EQ(old_price->value(), 90000);
  EXPECT_EQ(new_price->value(), 105000);

  // The ladder that the status holders' bonus names, in both versions.
  for (const ProgramVersion* v : {&v2010, &v2011}) {
    ASSERT_EQ(v->tiers.tiers.size(), 3u) << v->id;
    EXPECT_EQ(v->tiers.tiers[0].id, "frequent_traveller");
    EXPECT_EQ(v->tiers.tiers[2].qualification.periods, 2);
    EXPECT_EQ(v->accrual[2].when.member_tiers,
              (std::vector<std::string>{"frequent_traveller", "senator", "hon_circle"}));
  }
  EXPECT_EQ(v2011.announced_at, At("2010-12-01T00:00:00+01:00"));
  EXPECT_EQ(v2011.effective_from, At("2011-01-03T00:00:00+01:00"));
  EXPECT_TRUE(v2011.grandfathering.price_lock);
  EXPECT_FALSE(v2010.grandfathering.price_lock);
  EXPECT_EQ(v2011.redeemable_balance, "award_miles");
  EXPECT_EQ(v2011.counters, std::vector<std::string>{"status_miles"});

  // Earning by distance x booking class, with a minimum per segment.
  ASSERT_EQ(v2011.accrual.size(), 4u);
  const AccrualRule& flight = v2011.accrual[0];
  EXPECT_EQ(flight.id, "flight-award-miles");
  EXPECT_EQ(flight.effect.kind, AccrualEffect::Kind::kPerDistance);
  EXPECT_EQ(flight.effect.booking_class_rates.at("J"), *Rate::Parse("2"));
  EXPECT_EQ(flight.effect.booking_class_rates.at("K"), *Rate::Parse("0.25"));
  EXPECT_EQ(flight.effect.minimum, Points(125));
  EXPECT_EQ(flight.effect.rounding, Rounding::kDown);
  EXPECT_EQ(flight.when.activity_types, std::vector<std::string>{"flight"});
  EXPECT_EQ(v2011.accrual[1].effect.balance, "status_miles");
  // A multiplier without a balance credits the redeemable balance.
  const AccrualRule& bonus = v2011.accrual[2];
  EXPECT_EQ(bonus.effect.kind, AccrualEffect::Kind::kMultiplier);
  EXPECT_EQ(bonus.effect.base_rules, std::vector<std::string>{"flight-award-miles"});
  EXPECT_EQ(bonus.effect.balance, "award_miles");
  const AccrualRule& card = v2011.accrual[3];
  EXPECT_EQ(card.effect.kind, AccrualEffect::Kind::kPerMoney);
  EXPECT_EQ(card.when.min_eligible_amount, Money(100, *Currency::FromCode("EUR")));
  EXPECT_EQ(card.cap.per_member_month, Points(20000));
  EXPECT_FALSE(card.cap.per_activity.has_value());

  // 36 months to the end of the quarter: earned 12 Dec 2016, expire 31 Dec 2019.
  EXPECT_EQ(v2011.expiry.months, 36);
  EXPECT_EQ(v2011.expiry.round, ExpiryTerm::Round::kEndOfQuarter);
  EXPECT_EQ(program->LotExpiry(At("2016-12-12T10:00:00+01:00")), At("2020-01-01T00:00:00+01:00"));

  EXPECT_EQ(v2011.PriceOf("lounge-voucher")->value(), 4000);
  EXPECT_EQ(v2011.redemption.airport_regions.at("FRA"), "EU");
  EXPECT_EQ(v2011.redemption.airport_regions.at("JFK"), "NA");
  EXPECT_FALSE(v2011.redemption.pay_with_points.has_value());
}

TEST(ProgramJsonTest, DocumentationShowsTheExampleFile) {
  std::string doc = ReadText(SourceRoot() + "/docs/program-format.md");
  const std::string kMarker = "<!-- example: examples/programs/miles-and-more-2011.json -->";
  size_t marker = doc.find(kMarker);
  ASSERT_NE(marker, std::string::npos) << "docs/program-format.md lacks the example marker";
  size_t open = doc.find("```json\n", marker);
  ASSERT_NE(open, std::string::npos);
  open += 8;
  size_t close = doc.find("```", open);
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(doc.substr(open, close - open), ReadText(ExamplePath()));
}

TEST(ProgramJsonTest, ContentHashesDifferAndAreStable) {
  std::string text = ReadText(ExamplePath());
  auto first = ParseProgram(text);
  auto second = ParseProgram(text);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  const Sha256& h2010 = first->versions()[0]->content_hash;
  const Sha256& h2011 = first->versions()[1]->content_hash;
  EXPECT_NE(h2010, Sha256{});
  EXPECT_NE(h2010, h2011);
  EXPECT_EQ(h2010, second->versions()[0]->content_hash);
  EXPECT_EQ(h2011, second->versions()[1]->content_hash);

  // Whitespace does not count: the whole file on one line.
  std::string one_line = absl::StrReplaceAll(text, {{"\n", ""}, {"  ", ""}});
  auto compact = ParseProgram(one_line);
  ASSERT_TRUE(compact.ok()) << compact.status();
  EXPECT_EQ(compact->versions()[0]->content_hash, h2010);
  EXPECT_EQ(compact->versions()[1]->content_hash, h2011);

  // A value does.
  std::string cheaper = absl::StrReplaceAll(text, {{"\"price\": 105000", "\"price\": 100000"}});
  ASSERT_NE(cheaper, text);
  auto changed = ParseProgram(cheaper);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->versions()[0]->content_hash, h2010);
  EXPECT_NE(changed->versions()[1]->content_hash, h2011);
}

TEST(ProgramJsonTest, ContentHashIsSha256OfTheSortedCompactObject) {
  std::string pretty = R"({
    "time_zone": "Europe/Berlin",
    "id": "v1",
    "expiry": { "round": "end_of_quarter", "months": 36 },
    "effective_from": "2011-01-03T00:00:00+01:00",
    "currency": "EUR",
    "announced_at": "2010-12-01T00:00:00+01:00"
  })";
  std::string reordered = R"({"announced_at":"2010-12-01T00:00:00+01:00","currency":"EUR",
    "effective_from":"2011-01-03T00:00:00+01:00","expiry":{"months":36,"round":"end_of_quarter"},
    "id":"v1","time_zone":"Europe/Berlin"})";
  std::string canonical =
      R"({"announced_at":"2010-12-01T00:00:00+01:00","currency":"EUR",)"
      R"("effective_from":"2011-01-03T00:00:00+01:00","expiry":{"months":36,"round":"end_of_quarter"},)"
      R"("id":"v1","time_zone":"Europe/Berlin"})";
  auto a = ParseProgramVersion(pretty);
  auto b = ParseProgramVersion(reordered);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->content_hash, b->content_hash);
  EXPECT_EQ(ToHex(a->content_hash), ToHex(internal::Sha256Of(canonical)));

  // The same object inside a program document hashes the same.
  auto program = ParseProgram(Document({pretty}));
  ASSERT_TRUE(program.ok()) << program.status();
  EXPECT_EQ(program->versions()[0]->content_hash, a->content_hash);

  // Spelling out a default is a different definition text, so a different hash.
  auto explicit_default = ParseProgramVersion(Version(R"("redeemable_balance": "points")"));
  auto implicit_default = ParseProgramVersion(Version());
  ASSERT_TRUE(explicit_default.ok()) << explicit_default.status();
  ASSERT_TRUE(implicit_default.ok()) << implicit_default.status();
  EXPECT_NE(explicit_default->content_hash, implicit_default->content_hash);
}

TEST(ProgramJsonTest, OptionalFieldsTakeTheStructDefaults) {
  auto version = ParseProgramVersion(Version(R"("accrual": [{"id": "r", "effect": {"kind": "fixed", "fixed": 5}}],
      "redemption": {"pay_with_points": {"value_per_point": "0.01"}})"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->id, "v1");
  EXPECT_EQ(version->name, "");
  EXPECT_EQ(version->currency.code(), "EUR");
  EXPECT_EQ(version->zone.name(), "Europe/Berlin");
  EXPECT_EQ(version->redeemable_balance, "points");
  EXPECT_TRUE(version->counters.empty());
  EXPECT_EQ(version->expiry.months, 0);
  EXPECT_EQ(version->expiry.round, ExpiryTerm::Round::kNone);
  EXPECT_FALSE(version->grandfathering.price_lock);
  EXPECT_FALSE(version->grandfathering.book_by.has_value());
  ASSERT_EQ(version->accrual.size(), 1u);
  const AccrualRule& rule = version->accrual[0];
  EXPECT_EQ(rule.priority, 0);
  EXPECT_EQ(rule.exclusive_group, "");
  EXPECT_TRUE(rule.when.activity_types.empty());
  EXPECT_FALSE(rule.when.first_activity_only);
  EXPECT_EQ(rule.effect.fixed, Points(5));
  EXPECT_EQ(rule.effect.rounding, Rounding::kDown);
  EXPECT_EQ(rule.effect.balance, "points");
  EXPECT_FALSE(rule.cap.max_uses.has_value());
  ASSERT_TRUE(version->redemption.pay_with_points.has_value());
  EXPECT_EQ(version->redemption.pay_with_points->value_per_point, *Rate::Parse("0.01"));
  EXPECT_EQ(version->redemption.pay_with_points->minimum_points, Points(0));
  EXPECT_EQ(version->redemption.pay_with_points->step_points, Points(1));
  EXPECT_EQ(version->LotExpiry(At("2011-05-01T00:00:00Z")), Instant::Max());
}

TEST(ProgramJsonTest, EveryFieldIsRead) {
  auto version = ParseProgramVersion(Version(R"(
    "name": "Retail", "redeemable_balance": "points", "counters": ["spend"],
    "accrual": [
      {"id": "base", "description": "1 point per EUR 2", "priority": -3, "exclusive_group": "base",
       "when": {"activity_types": ["purchase"], "partners": ["dm"], "channels": ["online"], "stores": ["s1"],
                "include_categories": ["food"], "exclude_categories": ["tobacco"], "include_skus": ["1"],
                "exclude_skus": ["2"], "include_tags": ["bio"], "exclude_tags": ["gift_card"],
                "custom_types": ["survey"], "cabins": ["first"], "booking_classes": ["F"], "origins": ["FRA"],
                "destinations": ["JFK"], "member_tiers": ["gold"], "from_date": "2011-01-01",
                "until_date": "2011-12-31", "days_of_week": [0, 6], "min_eligible_amount": "5.50",
                "first_activity_only": true},
       "effect": {"kind": "per_money", "rate": "0.5", "rounding": "half_even", "balance": "points"},
       "cap": {"per_activity": 1, "per_member_day": 2, "per_member_month": 3, "per_campaign": 4, "max_uses": 5,
               "budget": 6}},
      {"id": "ticket", "effect": {"kind": "per_ticket_price", "rate": "4", "tier_rates": {"gold": "6"},
                                  "rounding": "up", "balance": "spend"}}
    ],
    "redemption": {"airport_regions": {"FRA": "EU", "JFK": "NA"},
                   "award_chart": [{"from_region": "NA", "to_region": "EU", "cabin": "first", "round_trip": false,
                                    "price": 70000}],
                   "catalog": [{"id": "mug", "name": "Mug", "price": 500}],
                   "pay_with_points": {"value_per_point": "0.01", "minimum_points": 200, "step_points": 10}},
    "expiry": {"months": 36, "round": "fixed_day", "fixed_month": 9, "fixed_day": 30},
    "grandfathering": {"price_lock": true, "book_by": "2011-01-03T00:00:00Z",
                       "earned_before": "2011-01-03T00:00:00Z", "spend_until": "2011-07-01T00:00:00Z"},
    "tiers": {"period": "calendar_year", "months_after_period": 12, "ladder": [{"id": "gold", "qualify": [{"spend": 1}]}]})"));
  ASSERT_TRUE(version.ok()) << version.status();
  const AccrualRule& base = version->accrual[0];
  EXPECT_EQ(base.description, "1 point per EUR 2");
  EXPECT_EQ(base.priority, -3);
  EXPECT_EQ(base.exclusive_group, "base");
  EXPECT_EQ(base.when.exclude_tags, std::vector<std::string>{"gift_card"});
  EXPECT_EQ(base.when.destinations, std::vector<std::string>{"JFK"});
  EXPECT_EQ(base.when.from_date, Date::Parse("2011-01-01").value());
  EXPECT_EQ(base.when.until_date, Date::Parse("2011-12-31").value());
  EXPECT_EQ(base.when.days_of_week, (std::vector<int>{0, 6}));
  EXPECT_EQ(base.when.min_eligible_amount, Money(550, *Currency::FromCode("EUR")));
  EXPECT_TRUE(base.when.first_activity_only);
  EXPECT_EQ(base.effect.rounding, Rounding::kHalfEven);
  EXPECT_EQ(base.cap.per_activity, Points(1));
  EXPECT_EQ(base.cap.per_campaign, Points(4));
  EXPECT_EQ(base.cap.max_uses, 5);
  EXPECT_EQ(base.cap.budget, Points(6));
  const AccrualRule& ticket = version->accrual[1];
  EXPECT_EQ(ticket.effect.tier_rates.at("gold"), *Rate::Parse("6"));
  EXPECT_EQ(ticket.effect.balance, "spend");
  EXPECT_EQ(version->PriceOf("award:NA-EU:first:one_way")->value(), 70000);
  EXPECT_EQ(version->PriceOf("mug")->value(), 500);
  EXPECT_EQ(version->redemption.pay_with_points->step_points, Points(10));
  EXPECT_EQ(version->expiry.round, ExpiryTerm::Round::kFixedDay);
  EXPECT_EQ(version->expiry.fixed_month, 9);
  EXPECT_EQ(version->expiry.fixed_day, 30);
  EXPECT_EQ(version->grandfathering.book_by, At("2011-01-03T00:00:00Z"));
  EXPECT_EQ(version->grandfathering.spend_until, At("2011-07-01T00:00:00Z"));
}

// ------------------------------------------------------------ all problems at once

TEST(ProgramJsonTest, ReportsEveryProblemWithItsPath) {
  std::string text = Document({
      Version(R"("accrual": [{"id": "a", "effect": {"kind": "per_money", "rate": "0.5"}},
                            {"id": "b", "effect": {"kind": "per_money", "rate": "1,5"}}],
                 "colour": "blue")",
              "mm-2010"),
      Version(R"("accrual": [{"id": "a", "effect": {"kind": "fixed", "fixed": 10}},
                            {"id": "b", "effect": {"kind": "multiplier", "rate": "1", "base_rules": ["c"]}},
                            {"id": "c2", "effect": {"kind": "per_money", "rate": "0.5", "balance": "miles"}},
                            {"id": "d", "effect": {"kind": "per_money", "rate": "2", "rounding": "nearest"}}],
                 "redemption": {"catalog": [{"id": "mug", "price": -1}]})",
              "mm-2011", "2011-01-03T00:00:00+01:00"),
  });
  auto program = ParseProgram(text);
  ASSERT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> lines = absl::StrSplit(program.status().message(), '\n');
  std::vector<std::string> expected = {
      "versions[0].colour: unknown field; expected one of id, name, currency, time_zone, announced_at, "
      "effective_from, redeemable_balance, counters, accrual, redemption, expiry, grandfathering, tiers, partners, "
      "accounting, stamp_cards, point_sales, transfers",
      R"(versions[0].accrual[1].effect.rate: "1,5" is not a decimal: unexpected character ',')",
      R"(versions[1].accrual[3].effect.rounding: "nearest" is not a rounding mode (down, up, half_up, half_even))",
      R"(versions[1].accrual[1].effect.base_rules[0]: no rule has the id "c")",
      R"(versions[1].accrual[2].effect.balance: "miles" is neither the redeemable balance "points" nor one of the counters)",
      "versions[1].redemption.catalog[0].price: -1 is negative",
      "versions[1].effective_from: 2011-01-02T23:00:00Z is not after versions[0].effective_from 2011-01-02T23:00:00Z",
  };
  EXPECT_EQ(absl::StrJoin(lines, "\n"), absl::StrJoin(expected, "\n"));
}

TEST(ProgramJsonTest, LoadProgramFilePrefixesTheFileToEveryLine) {
  std::string path = ::testing::TempDir() + "/program_json_test_bad.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << Document({Version(R"("counters": 3, "expiry": {"months": -1})")});
  }
  auto program = LoadProgramFile(path);
  EXPECT_TRUE(
      HasProblem(program.status(), path + ": versions[0].counters: expected an array of strings, got an integer"));
  EXPECT_TRUE(HasProblem(program.status(), path + ": versions[0].expiry.months: -1 is not in 0..1200"));
  std::remove(path.c_str());
}

TEST(ProgramJsonTest, LoadProgramFileReportsUnreadableFiles) {
  auto missing = LoadProgramFile(SourceRoot() + "/examples/programs/no-such-program.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "no-such-program.json"));
  auto directory = LoadProgramFile(SourceRoot() + "/examples/programs");
  EXPECT_FALSE(directory.ok());
  EXPECT_NE(directory.status().code(), absl::StatusCode::kInvalidArgument) << directory.status();
}

// ------------------------------------------------------------ malformed text

TEST(ProgramJsonTest, MalformedJsonNamesTheParserPosition) {
  auto status = ParseProgram("{\n  \"versions\": [\n    {\"id\": \"v1\",}\n  ]\n}").status();
  EXPECT_TRUE(HasProblem(status, "(root): malformed JSON: parse error at line 3, column"));
  EXPECT_TRUE(absl::StrContains(status.message(), "line 3, column 17")) << status;

  for (absl::string_view text : {"", "{", "{\"versions\": [}", "nul", "{\"versions\": [1,]}", "\"\xff\"", "{} {}",
                                 "{\"versions\": [] // comment\n}"}) {
    auto program = ParseProgram(text);
    EXPECT_TRUE(HasProblem(program.status(), "(root): malformed JSON: parse error at line")) << text;
    auto version = ParseProgramVersion(text);
    EXPECT_TRUE(HasProblem(version.status(), "(root): malformed JSON: parse error at line")) << text;
  }
}

TEST(ProgramJsonTest, HostileInputNeverCrashes) {
  // Nesting beyond 64 levels is refused before parsing, with where it
  // starts: copying, comparing and printing a JSON value recurse per level.
  const std::string kTooDeep = "(root): arrays and objects nested more than 64 deep (the limit) at line ";
  std::string deep(200000, '[');
  EXPECT_TRUE(HasProblem(ParseProgram(deep).status(), kTooDeep + "1, column 65"));
  deep += std::string(200000, ']');
  EXPECT_TRUE(HasProblem(ParseProgram(deep).status(), kTooDeep + "1, column 65"));
  EXPECT_TRUE(HasProblem(ParseProgram("{\"versions\":\n  " + Document({deep})).status(), kTooDeep + "2, column 78"));
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += "{\"a\":";
  deep_objects += "1" + std::string(100000, '}');
  EXPECT_TRUE(HasProblem(ParseProgramVersion(deep_objects).status(), kTooDeep + "1, column 321"));
  // 64 levels are read as usual; brackets and escaped quotes inside strings
  // do not count.
  std::string at_limit(62, '[');  // inside {"versions": [...]}
  at_limit += std::string(62, ']');
  EXPECT_TRUE(HasProblem(ParseProgram(Document({at_limit})).status(), "versions[0]: expected an object, got an array"));
  EXPECT_TRUE(HasProblem(ParseProgramVersion(R"({"a\"": ")" + deep + R"("})").status(), R"(["a\""]: unknown field)"));
  EXPECT_TRUE(HasProblem(ParseProgram("null").status(), "(root): expected an object, got null"));
  EXPECT_TRUE(
      HasProblem(ParseProgram(absl::string_view("{\"versions\"\0: []}", 17)).status(), "(root): malformed JSON"));
  EXPECT_TRUE(HasProblem(ParseProgramVersion(Version(R"("expiry": {"months": 99999999999999999999999})")).status(),
                         "expiry.months: expected an integer, got a number"));
  EXPECT_TRUE(HasProblem(ParseProgramVersion(Version(R"("expiry": {"months": 18446744073709551615})")).status(),
                         "expiry.months: 18446744073709551615 is not in 0..1200"));
}

// ------------------------------------------------------------ one test per rule

TEST(ProgramJsonTest, UnknownFieldsAtEveryLevel) {
  EXPECT_TRUE(HasProblem(ParseProgram(R"({"versions": [], "name": "x"})").status(), "name: unknown field"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("colour": 1)"), "colour: unknown field"));
  auto status = VersionStatus(R"(
      "accrual": [{"id": "r", "colour": 1, "when": {"colour": 1}, "effect": {"kind": "fixed", "fixed": 1, "colour": 1},
                   "cap": {"colour": 1}}],
      "redemption": {"colour": 1, "airport_regions": {"FRA": "EU"},
                     "award_chart": [{"from_region": "EU", "to_region": "EU", "cabin": "economy", "price": 1,
                                      "colour": 1}],
                     "catalog": [{"id": "c", "price": 1, "colour": 1}],
                     "pay_with_points": {"value_per_point": "0.01", "colour": 1}},
      "expiry": {"colour": 1}, "grandfathering": {"colour": 1, "a.b": 2})");
  for (absl::string_view path :
       {"accrual[0].colour", "accrual[0].when.colour", "accrual[0].effect.colour", "accrual[0].cap.colour",
        "redemption.colour", "redemption.award_chart[0].colour", "redemption.catalog[0].colour",
        "redemption.pay_with_points.colour", "expiry.colour", "grandfathering.colour", "grandfathering[\"a.b\"]"}) {
    EXPECT_TRUE(HasProblem(status, absl::StrCat(path, ": unknown field")));
  }
}

TEST(ProgramJsonTest, DuplicateKeys) {
  EXPECT_TRUE(HasProblem(VersionStatus(R"("expiry": {"months": 36, "months": 12})"), "expiry.months: duplicate key"));
  EXPECT_TRUE(
      HasProblem(ParseProgram(Document({Version(R"("counters": ["a"], "counters": ["b"])"), Version()})).status(),
                 "versions[0].counters: duplicate key"));
}

TEST(ProgramJsonTest, RequiredFieldsMissing) {
  EXPECT_TRUE(HasProblem(ParseProgram("{}").status(), "versions: required field is missing"));
  EXPECT_TRUE(
      HasProblem(ParseProgram(R"({"versions": []})").status(), "versions: a program needs at least one version"));
  auto status = ParseProgramVersion("{}").status();
  for (absl::string_view field : {"id", "currency", "time_zone", "announced_at", "effective_from"}) {
    EXPECT_TRUE(HasProblem(status, absl::StrCat(field, ": required field is missing")));
  }
  status = VersionStatus(R"("accrual": [{"when": {}}, {"id": "r", "effect": {}}],
      "redemption": {"airport_regions": {"FRA": "EU"}, "award_chart": [{"cabin": "economy"}], "catalog": [{}],
                     "pay_with_points": {}},
      "expiry": {"months": 12, "round": "fixed_day"})");
  for (absl::string_view path :
       {"accrual[0].id", "accrual[0].effect", "accrual[1].effect.kind", "redemption.award_chart[0].from_region",
        "redemption.award_chart[0].to_region", "redemption.award_chart[0].price", "redemption.catalog[0].id",
        "redemption.catalog[0].price", "redemption.pay_with_points.value_per_point", "expiry.fixed_month",
        "expiry.fixed_day"}) {
    EXPECT_TRUE(HasProblem(status, absl::StrCat(path, ": required field is missing")));
  }
}

TEST(ProgramJsonTest, EffectFieldsFollowTheKind) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "a", "effect": {"kind": "per_money"}},
      {"id": "b", "effect": {"kind": "per_distance", "booking_class_rates": {}}},
      {"id": "c", "effect": {"kind": "per_ticket_price"}},
      {"id": "d", "effect": {"kind": "fixed", "rate": "2"}},
      {"id": "e", "effect": {"kind": "multiplier", "rate": "1", "base_rules": []}},
      {"id": "f", "effect": {"kind": "per_money", "rate": "1", "minimum": 5, "base_rules": ["a"]}},
      {"id": "g", "effect": {"kind": "per_mile"}},
      {"id": "h", "effect": {"kind": "per_unit"}},
      {"id": "i", "effect": {"kind": "per_unit", "points": -10, "rate": "1"}},
      {"id": "j", "effect": {"kind": "fixed", "fixed": 5, "points": 10}}])");
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].effect.rate: required for kind "per_money")"));
  EXPECT_TRUE(
      HasProblem(status, R"(accrual[1].effect.booking_class_rates: must not be empty for kind "per_distance")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[2].effect.rate: kind "per_ticket_price" needs rate, tier_rates or both)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[3].effect.rate: not used by kind "fixed")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[3].effect.fixed: required for kind "fixed")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[4].effect.base_rules: must not be empty for kind "multiplier")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[5].effect.minimum: not used by kind "per_money")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[5].effect.base_rules: not used by kind "per_money")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[6].effect.kind: "per_mile" is not an effect kind (per_money, )"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[7].effect.points: required for kind "per_unit")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[8].effect.points: -10 is negative)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[8].effect.rate: not used by kind "per_unit")"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[9].effect.points: not used by kind "fixed")"));
}

TEST(ProgramJsonTest, PerUnitReadsItsPoints) {
  auto version = ParseProgramVersion(Version(R"("accrual": [
      {"id": "coffee", "when": {"include_categories": ["coffee"]}, "effect": {"kind": "per_unit", "points": 10}}])"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->accrual[0].effect.kind, AccrualEffect::Kind::kPerUnit);
  EXPECT_EQ(version->accrual[0].effect.per_unit, Points(10));
}

TEST(ProgramJsonTest, WrongJsonTypes) {
  EXPECT_TRUE(HasProblem(ParseProgram(R"({"versions": {}})").status(),
                         "versions: expected an array of versions, got an object"));
  EXPECT_TRUE(HasProblem(ParseProgramVersion(R"({"id": 7})").status(), "id: expected a string, got an integer"));
  EXPECT_TRUE(
      HasProblem(VersionStatus(R"("counters": "miles")"), "counters: expected an array of strings, got a string"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("counters": ["a", 1])"), "counters[1]: expected a string, got an integer"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("accrual": {})"), "accrual: expected an array, got an object"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("accrual": [7])"), "accrual[0]: expected an object, got an integer"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("redemption": null)"), "redemption: expected an object, got null"));
  auto status = VersionStatus(R"("accrual": [{"id": "r", "priority": "1",
        "when": {"first_activity_only": "yes", "days_of_week": 1},
        "effect": {"kind": "per_money", "rate": 0.5}, "cap": {"max_uses": 1.0}}],
      "redemption": {"airport_regions": {"FRA": "EU"},
                     "award_chart": [{"from_region": "EU", "to_region": "EU", "cabin": "economy",
                                      "round_trip": "yes", "price": "90000"}],
                     "catalog": [{"id": "c", "price": 1.5}]})");
  EXPECT_TRUE(HasProblem(status, "accrual[0].priority: expected an integer, got a string"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].when.first_activity_only: expected true or false, got a string"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].when.days_of_week: expected an array, got an integer"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].effect.rate: expected a decimal string such as "1.5", got a number)"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].cap.max_uses: expected an integer, got a number with a fraction"));
  EXPECT_TRUE(HasProblem(status, "redemption.award_chart[0].round_trip: expected true or false, got a string"));
  EXPECT_TRUE(HasProblem(status, "redemption.award_chart[0].price: expected an integer, got a string"));
  EXPECT_TRUE(HasProblem(status, "redemption.catalog[0].price: expected an integer, got a number with a fraction"));
}

TEST(ProgramJsonTest, BadDecimalsAndMoney) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "a", "when": {"min_eligible_amount": "25.999"}, "effect": {"kind": "per_money", "rate": "1,5"}},
      {"id": "b", "when": {"min_eligible_amount": "-1"}, "effect": {"kind": "per_money", "rate": "-0.5"}},
      {"id": "c", "when": {"min_eligible_amount": 25}, "effect": {"kind": "per_distance",
                                                                  "booking_class_rates": {"J": "1.5.0"}}}],
      "redemption": {"pay_with_points": {"value_per_point": "0"}})");
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].effect.rate: "1,5" is not a decimal)"));
  EXPECT_TRUE(HasProblem(
      status, R"(accrual[0].when.min_eligible_amount: "25.999" is not an amount of EUR: more than 2 digits)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[1].effect.rate: "-0.5" is not a decimal)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[1].when.min_eligible_amount: "-1" is negative)"));
  EXPECT_TRUE(HasProblem(status, "accrual[2].when.min_eligible_amount: expected an amount as a decimal string"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[2].effect.booking_class_rates.J: "1.5.0" is not a decimal)"));
  EXPECT_TRUE(HasProblem(status, "redemption.pay_with_points.value_per_point: must be greater than 0"));
}

TEST(ProgramJsonTest, BadDatesInstantsZonesCurrenciesRoundings) {
  auto status = ParseProgramVersion(R"({"id": "v", "currency": "EURO", "time_zone": "Europe/Berln",
      "announced_at": "2010-12-01", "effective_from": "2011-01-03T25:00:00Z",
      "accrual": [{"id": "r", "when": {"from_date": "2011-02-29", "until_date": "3.1.2011"},
                   "effect": {"kind": "fixed", "fixed": 1}}],
      "expiry": {"months": 36, "round": "end_of_week"},
      "grandfathering": {"book_by": "soon"}})")
                    .status();
  EXPECT_TRUE(HasProblem(status, R"(currency: "EURO" is not an ISO-4217 currency code)"));
  EXPECT_TRUE(HasProblem(status, R"(time_zone: "Europe/Berln" is not an IANA time zone)"));
  EXPECT_TRUE(HasProblem(status, R"(announced_at: "2010-12-01" is not an RFC 3339 instant)"));
  EXPECT_TRUE(HasProblem(status, R"(effective_from: "2011-01-03T25:00:00Z" is not an RFC 3339 instant)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.from_date: "2011-02-29": 2011-02-29 is not a date)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.until_date: "3.1.2011" is not a date (YYYY-MM-DD))"));
  EXPECT_TRUE(HasProblem(status, R"(expiry.round: "end_of_week" is not an expiry rounding (none, end_of_month, )"));
  EXPECT_TRUE(HasProblem(status, R"(grandfathering.book_by: "soon" is not an RFC 3339 instant)"));
}

TEST(ProgramJsonTest, ConditionValues) {
  auto status = VersionStatus(R"("accrual": [{"id": "r", "effect": {"kind": "fixed", "fixed": 1},
      "when": {"activity_types": ["flights"], "cabins": ["buisness"], "booking_classes": ["j"],
               "origins": ["fra"], "destinations": [""], "days_of_week": [0, 7],
               "from_date": "2011-02-01", "until_date": "2011-01-31"}}])");
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.activity_types[0]: "flights" is not an activity type)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.cabins[0]: "buisness" is not a cabin)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.booking_classes[0]: "j" is not a booking class)"));
  EXPECT_TRUE(HasProblem(status, R"(accrual[0].when.origins[0]: "fra" is not an IATA airport code)"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].when.destinations[0]: must not be empty"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].when.days_of_week[1]: 7 is not in 0..6"));
  EXPECT_TRUE(HasProblem(status, "accrual[0].when.until_date: 2011-01-31 is before from_date 2011-02-01"));
}

TEST(ProgramJsonTest, DanglingBalance) {
  auto status = VersionStatus(R"("redeemable_balance": "award_miles", "counters": ["status_miles"],
      "accrual": [{"id": "a", "effect": {"kind": "fixed", "fixed": 1, "balance": "status_miles"}},
                  {"id": "b", "effect": {"kind": "fixed", "fixed": 1, "balance": "award_miles"}},
                  {"id": "c", "effect": {"kind": "fixed", "fixed": 1, "balance": "statusmiles"}}])");
  EXPECT_TRUE(HasProblem(
      status,
      R"(accrual[2].effect.balance: "statusmiles" is neither the redeemable balance "award_miles" nor one of the counters)"));
  EXPECT_FALSE(HasProblem(status, "accrual[0]"));
  EXPECT_FALSE(HasProblem(status, "accrual[1]"));
}

TEST(ProgramJsonTest, CountersAreDistinctFromTheRedeemableBalance) {
  auto status = VersionStatus(R"("counters": ["points", "qp", "qp"])");
  EXPECT_TRUE(HasProblem(status, R"(counters[0]: "points" is the redeemable balance)"));
  EXPECT_TRUE(HasProblem(status, R"(counters[2]: "qp" is listed twice)"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("redeemable_balance": "")"), "redeemable_balance: must not be empty"));
}

TEST(ProgramJsonTest, DanglingBaseRules) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "base", "effect": {"kind": "fixed", "fixed": 100}},
      {"id": "bonus", "effect": {"kind": "multiplier", "rate": "0.25", "base_rules": ["base", "bsae"]}}])");
  EXPECT_TRUE(HasProblem(status, R"(accrual[1].effect.base_rules[1]: no rule has the id "bsae")"));
  EXPECT_FALSE(HasProblem(status, "accrual[1].effect.base_rules[0]"));
}

// Every field that names a tier names one of the same version's ladder; the
// problem has the JSON path (the element's own index, even after a bad
// element) and lists the version's tiers, lowest first.
TEST(ProgramJsonTest, TierNamesAreTheVersionsOwn) {
  const std::string ladder = R"("counters": ["miles"], "tiers": {"period": "calendar_year", "months_after_period": 14,
      "ladder": [{"id": "basic", "qualify": [{"miles": 1}]}, {"id": "frequent_traveller", "qualify": [{"miles": 2}]},
                 {"id": "senator", "qualify": [{"miles": 3}]}]})";
  const std::string rules = R"("accrual": [
      {"id": "base", "effect": {"kind": "fixed", "fixed": 10}},
      {"id": "bonus", "when": {"member_tiers": ["senator", 7, "frequent_traveler"]},
       "effect": {"kind": "fixed", "fixed": 5}},
      {"id": "ticket", "effect": {"kind": "per_ticket_price", "tier_rates": {"basic": "5", "gold": "6", "gold tier": "7"}}}])";
  auto program = ParseProgram(Document({Version(absl::StrCat(ladder, ", ", rules)),
                                        Version(rules, "v2", "2012-01-01T00:00:00+01:00")}));
  const std::string known = "the version's tiers are: basic, frequent_traveller, senator";
  EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(program.status().message(),
            absl::StrJoin(std::vector<std::string>{
                              R"(versions[0].accrual[1].when.member_tiers[1]: expected a string, got an integer)",
                           R"(versions[0].accrual[1].when.member_tiers[2]: unknown tier "frequent_traveler"; )" + known,
                           R"(versions[0].accrual[2].effect.tier_rates.gold: unknown tier "gold"; )" + known,
                           R"(versions[0].accrual[2].effect.tier_rates["gold tier"]: unknown tier "gold tier"; )" + known,
                           R"(versions[1].accrual[1].when.member_tiers[1]: expected a string, got an integer)",
                           R"(versions[1].accrual[1].when.member_tiers[0]: unknown tier "senator"; the version declares no tiers)",
                           R"(versions[1].accrual[1].when.member_tiers[2]: unknown tier "frequent_traveler"; the version declares no tiers)",
                           R"(versions[1].accrual[2].effect.tier_rates.basic: unknown tier "basic"; the version declares no tiers)",
                           R"(versions[1].accrual[2].effect.tier_rates.gold: unknown tier "gold"; the version declares no tiers)",
                           R"(versions[1].accrual[2].effect.tier_rates["gold tier"]: unknown tier "gold tier"; the version declares no tiers)"},
                          "\n"));

  // The same names against a good ladder load; a ladder that could not be
  // read is reported once, not again as every name being unknown.
  auto good = ParseProgramVersion(Version(absl::StrCat(ladder, R"(, "accrual": [{"id": "bonus",
      "when": {"member_tiers": ["senator", "frequent_traveller"]}, "effect": {"kind": "fixed", "fixed": 5}}])")));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->accrual[0].when.member_tiers[1], "frequent_traveller");
  auto broken = VersionStatus(R"("tiers": {"period": "calendar_year", "months_after_period": 14, "ladder": []},
      "accrual": [{"id": "bonus", "when": {"member_tiers": ["senator"]}, "effect": {"kind": "fixed", "fixed": 5}}])");
  EXPECT_EQ(broken.message(), "tiers.ladder: must list at least one tier");
}

// Golden: the typo that motivated the check. "frequent_traveler" (one l)
// for the ladder's "frequent_traveller" used to load, and the status
// holders' 25 % bonus then silently never fired for Frequent Travellers. It
// is refused in both versions of the example, with the JSON path; a program
// built in C++ with the same typo is refused by Program::FromVersions with
// the version and the rule.
TEST(ProgramJsonTest, GoldenFrequentTravelerTypoIsRefused) {
  const std::string text = ReadText(ExamplePath());
  const std::string typo = absl::StrReplaceAll(
      text, {{R"("member_tiers": ["frequent_traveller")", R"("member_tiers": ["frequent_traveler")"}});
  ASSERT_NE(typo, text);
  auto program = ParseProgram(typo);
  EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(program.status().message(),
            "versions[0].accrual[2].when.member_tiers[0]: unknown tier \"frequent_traveler\"; the version's tiers "
            "are: frequent_traveller, senator, hon_circle\n"
            "versions[1].accrual[2].when.member_tiers[0]: unknown tier \"frequent_traveler\"; the version's tiers "
            "are: frequent_traveller, senator, hon_circle");

  auto good = ParseProgram(text);
  ASSERT_TRUE(good.ok()) << good.status();
  std::vector<ProgramVersion> versions;
  for (const auto& version : good->versions()) versions.push_back(*version);
  versions[1].accrual[2].when.member_tiers[0] = "frequent_traveler";
  auto built = Program::FromVersions(versions);
  EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(built.status().message(),
            "versions[1] (mm-2011): accrual[2] (rule \"status-holder-bonus\").when.member_tiers[0]: unknown tier "
            "\"frequent_traveler\"; the version's tiers are: frequent_traveller, senator, hon_circle");
}

TEST(ProgramJsonTest, MultiplierCycles) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "self", "effect": {"kind": "multiplier", "rate": "1", "base_rules": ["self"]}},
      {"id": "a", "effect": {"kind": "multiplier", "rate": "1", "base_rules": ["b"]}},
      {"id": "b", "effect": {"kind": "multiplier", "rate": "1", "base_rules": ["a"]}}])");
  EXPECT_TRUE(HasProblem(status, "accrual[0].effect.base_rules: multipliers form a cycle: self -> self"));
  EXPECT_TRUE(HasProblem(status, "accrual[2].effect.base_rules: multipliers form a cycle: a -> b -> a"));
}

TEST(ProgramJsonTest, DuplicateRuleIds) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "flight", "effect": {"kind": "fixed", "fixed": 1}},
      {"id": "card", "effect": {"kind": "fixed", "fixed": 1}},
      {"id": "flight", "effect": {"kind": "fixed", "fixed": 2}}])");
  EXPECT_TRUE(HasProblem(status, R"(accrual[2].id: "flight" is also the id of accrual[0])"));
}

TEST(ProgramJsonTest, DuplicateCatalogIdsAndAwards) {
  auto status = VersionStatus(R"("redemption": {"airport_regions": {"FRA": "EU", "JFK": "NA"},
      "award_chart": [{"from_region": "EU", "to_region": "NA", "cabin": "business", "price": 90000},
                      {"from_region": "EU", "to_region": "NA", "cabin": "business", "round_trip": true,
                       "price": 80000}],
      "catalog": [{"id": "mug", "price": 500}, {"id": "mug", "price": 600},
                  {"id": "award:EU-NA:business:round_trip", "price": 1}]})");
  EXPECT_TRUE(HasProblem(status, R"(redemption.catalog[1].id: "mug" is also the id of redemption.catalog[0])"));
  EXPECT_TRUE(HasProblem(
      status,
      R"(redemption.award_chart[1]: the reward "award:EU-NA:business:round_trip" is also priced by redemption.award_chart[0])"));
  EXPECT_TRUE(HasProblem(
      status,
      R"(redemption.catalog[2].id: "award:EU-NA:business:round_trip" is also the id of redemption.award_chart[0])"));
}

TEST(ProgramJsonTest, AwardChartRegionsComeFromAirportRegions) {
  auto status = VersionStatus(R"("redemption": {"airport_regions": {"FRA": "EU", "Jfk": "NA", "ORD": ""},
      "award_chart": [{"from_region": "EU", "to_region": "US", "cabin": "business", "price": 90000},
                      {"from_region": "EU", "to_region": "EU", "cabin": "coach", "price": 10000}]})");
  EXPECT_TRUE(HasProblem(
      status, R"(redemption.award_chart[0].to_region: "US" is not a region of any airport in airport_regions)"));
  EXPECT_FALSE(HasProblem(status, "redemption.award_chart[0].from_region"));
  EXPECT_TRUE(HasProblem(status, R"(redemption.award_chart[1].cabin: "coach" is not a cabin)"));
  EXPECT_TRUE(HasProblem(status, R"(redemption.airport_regions.Jfk: "Jfk" is not an IATA airport code)"));
  EXPECT_TRUE(HasProblem(status, "redemption.airport_regions.ORD: must not be empty"));
  // Without any airports, no region exists.
  EXPECT_TRUE(HasProblem(VersionStatus(R"("redemption": {"award_chart": [
      {"from_region": "EU", "to_region": "EU", "cabin": "economy", "price": 1}]})"),
                         R"(redemption.award_chart[0].from_region: "EU" is not a region of any airport)"));
}

TEST(ProgramJsonTest, EffectiveFromBeforeAnnouncedAt) {
  auto status = ParseProgramVersion(R"({"id": "v", "currency": "EUR", "time_zone": "UTC",
      "announced_at": "2011-01-03T00:00:00Z", "effective_from": "2010-12-20T00:00:00Z"})")
                    .status();
  EXPECT_TRUE(HasProblem(status, "effective_from: 2010-12-20T00:00:00Z is before announced_at 2011-01-03T00:00:00Z"));
  // Announced and effective at the same instant (no notice) is allowed here; notice is an audit question.
  EXPECT_TRUE(ParseProgramVersion(R"({"id": "v", "currency": "EUR", "time_zone": "UTC",
      "announced_at": "2011-01-03T00:00:00Z", "effective_from": "2011-01-03T00:00:00Z"})")
                  .ok());
}

TEST(ProgramJsonTest, EffectiveFromIncreasesAcrossVersions) {
  auto status =
      ParseProgram(Document({Version("", "a", "2011-01-03T00:00:00Z"), Version("", "b", "2011-06-01T00:00:00Z"),
                             Version("", "c", "2011-05-01T00:00:00Z")}))
          .status();
  EXPECT_TRUE(HasProblem(
      status,
      "versions[2].effective_from: 2011-05-01T00:00:00Z is not after versions[1].effective_from 2011-06-01T00:00:00Z"));
  EXPECT_FALSE(HasProblem(status, "versions[1]"));
}

TEST(ProgramJsonTest, VersionsAgreeOnIdZoneAndCurrency) {
  std::string other = R"({"id": "v1", "currency": "USD", "time_zone": "America/New_York",
      "announced_at": "2011-05-01T00:00:00Z", "effective_from": "2011-06-01T00:00:00Z"})";
  auto status = ParseProgram(Document({Version(), other})).status();
  EXPECT_TRUE(HasProblem(status, R"(versions[1].id: "v1" is also the id of versions[0])"));
  EXPECT_TRUE(HasProblem(
      status, R"(versions[1].time_zone: "America/New_York" differs from versions[0].time_zone "Europe/Berlin")"));
  EXPECT_TRUE(HasProblem(status, R"(versions[1].currency: "USD" differs from versions[0].currency "EUR")"));
}

TEST(ProgramJsonTest, ExpiryFixedDayMustExistEveryYear) {
  EXPECT_TRUE(
      HasProblem(VersionStatus(R"("expiry": {"months": 36, "round": "fixed_day", "fixed_month": 2, "fixed_day": 29})"),
                 "expiry.fixed_day: month 2 day 29 does not exist in every year"));
  EXPECT_TRUE(
      HasProblem(VersionStatus(R"("expiry": {"months": 36, "round": "fixed_day", "fixed_month": 9, "fixed_day": 31})"),
                 "expiry.fixed_day: month 9 day 31 does not exist in every year"));
  EXPECT_TRUE(
      HasProblem(VersionStatus(R"("expiry": {"months": 36, "round": "fixed_day", "fixed_month": 13, "fixed_day": 1})"),
                 "expiry.fixed_month: 13 is not in 1..12"));
  EXPECT_TRUE(ParseProgramVersion(
                  Version(R"("expiry": {"months": 36, "round": "fixed_day", "fixed_month": 9, "fixed_day": 30})"))
                  .ok());
  EXPECT_TRUE(HasProblem(VersionStatus(R"("expiry": {"months": 36, "round": "end_of_year", "fixed_day": 30})"),
                         R"(expiry.fixed_day: only used when round is "fixed_day")"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("expiry": {"round": "end_of_quarter"})"),
                         "expiry.round: not used when months is 0 (points never expire)"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("expiry": {"months": 1201})"), "expiry.months: 1201 is not in 0..1200"));
}

TEST(ProgramJsonTest, NegativePricesPointsAndMinimums) {
  auto status = VersionStatus(R"("accrual": [
      {"id": "a", "effect": {"kind": "per_distance", "booking_class_rates": {"Y": "1"}, "minimum": -125}},
      {"id": "b", "effect": {"kind": "fixed", "fixed": -1},
       "cap": {"per_activity": -1, "per_member_day": -2, "per_member_month": -3, "per_campaign": -4, "max_uses": -5,
               "budget": -6}}],
      "redemption": {"airport_regions": {"FRA": "EU"},
                     "award_chart": [{"from_region": "EU", "to_region": "EU", "cabin": "economy", "price": -90000}],
                     "catalog": [{"id": "mug", "price": -500}],
                     "pay_with_points": {"value_per_point": "0.01", "minimum_points": -1, "step_points": 0}})");
  for (absl::string_view line :
       {"accrual[0].effect.minimum: -125 is negative", "accrual[1].effect.fixed: -1 is negative",
        "accrual[1].cap.per_activity: -1 is negative", "accrual[1].cap.per_member_day: -2 is negative",
        "accrual[1].cap.per_member_month: -3 is negative", "accrual[1].cap.per_campaign: -4 is negative",
        "accrual[1].cap.max_uses: -5 is negative", "accrual[1].cap.budget: -6 is negative", "redemption.award_chart[0].price: -90000 is negative",
        "redemption.catalog[0].price: -500 is negative", "redemption.pay_with_points.minimum_points: -1 is negative",
        "redemption.pay_with_points.step_points: 0 is less than 1"}) {
    EXPECT_TRUE(HasProblem(status, line));
  }
}

TEST(ProgramJsonTest, EmptyIds) {
  EXPECT_TRUE(HasProblem(ParseProgram(Document({Version("", "")})).status(), "versions[0].id: must not be empty"));
  auto status = VersionStatus(R"("accrual": [{"id": "", "effect": {"kind": "fixed", "fixed": 1}}],
                                 "redemption": {"catalog": [{"id": "", "price": 1}]})");
  EXPECT_TRUE(HasProblem(status, "accrual[0].id: must not be empty"));
  EXPECT_TRUE(HasProblem(status, "redemption.catalog[0].id: must not be empty"));
  EXPECT_TRUE(HasProblem(ParseProgramVersion(Version("", std::string(65, 'x'))).status(), "id: \"xxxxxxxxxx"));
}

TEST(ProgramJsonTest, GrandfatheringWindowNeedsBothEnds) {
  EXPECT_TRUE(HasProblem(VersionStatus(R"("grandfathering": {"earned_before": "2011-01-03T00:00:00Z"})"),
                         "grandfathering.spend_until: required when the other of earned_before and spend_until"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("grandfathering": {"price_lock": 1})"),
                         "grandfathering.price_lock: expected true or false, got an integer"));
}

}  // namespace
}  // namespace loyalty

namespace loyalty {
namespace {

TEST(ProgramJsonCashAndPoints, CatalogCashIsParsedInTheVersionCurrency) {
  auto version = ParseProgramVersion(
      Version(R"("redemption": {"catalog": [{"id": "voucher", "price": 10000, "cash": "49.00"}]})"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->CashOf("voucher"), Money::Parse("49.00", *Currency::FromCode("EUR")).value());
  EXPECT_EQ(version->PriceOf("voucher").value(), Points(10000));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("redemption": {"catalog": [{"id": "v", "price": 1, "cash": "1,5"}]})"),
                         "redemption.catalog[0].cash:"));
  EXPECT_TRUE(HasProblem(VersionStatus(R"("redemption": {"catalog": [{"id": "v", "price": 1, "cash": "0.00"}]})"),
                         "redemption.catalog[0].cash: must be greater than 0"));
}

TEST(ProgramJsonExpiryPolicies, InactivityProtectionAndClosureAreRead) {
  auto version = ParseProgramVersion(Version(
      R"("expiry": {"months": 36, "round": "end_of_quarter", "inactivity_months": 18,)"
      R"( "protected_by_flags": ["cobrand_card"], "closure_grace_months": 6})"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->expiry.inactivity_months, 18);
  EXPECT_EQ(version->expiry.protected_by_flags, std::vector<std::string>{"cobrand_card"});
  EXPECT_EQ(version->expiry.closure_grace_months, 6);
  EXPECT_TRUE(HasProblem(VersionStatus(R"("expiry": {"inactivity_months": -1})"), "expiry.inactivity_months:"));
}

}  // namespace
}  // namespace loyalty
