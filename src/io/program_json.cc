// The JSON program-definition loader (loyalty/io.h): parses with
// nlohmann::json, walks the document against the format of
// docs/program-format.md collecting every problem with its JSON path, builds
// the ProgramVersion values and their content hashes, and hands the history
// to Program::FromVersions. The paths, messages and value readers are
// json_fields.h's, shared with the scenario loader. nlohmann::json may
// throw; every entry point catches everything, so no exception leaves this
// file.
#include "loyalty/io.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/sha256.h"
#include "io/json_fields.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"
#include "nlohmann/json.hpp"

namespace loyalty {
namespace {

using internal::Contains;
using internal::Element;
using internal::FieldPath;
using internal::Fields;
using internal::Json;
using internal::Kind;
using internal::kInt64Max;
using internal::kOptional;
using internal::kRequired;
using internal::Listing;
using internal::ParseDocument;
using internal::Problems;
using internal::Quote;
using internal::ReadInteger;
using internal::ReadMoney;
using internal::ReadPoints;
using internal::ReadString;
using internal::WordCheck;

constexpr size_t kMaxVersionIdLength = 64;

constexpr absl::string_view kActivityTypes[] = {"purchase", "flight", "custom"};
constexpr absl::string_view kCabins[] = {"economy", "premium_economy", "business", "first"};

bool IsAirportCode(absl::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsBookingClass(absl::string_view letter) { return letter.size() == 1 && letter[0] >= 'A' && letter[0] <= 'Z'; }

// One of the `names` (parallel to `values`); `what` names the set in the message.
template <typename T, size_t N>
std::optional<T> ReadChoice(const Json& value, const std::string& path, Problems& problems, absl::string_view what,
                            const absl::string_view (&names)[N], const T (&values)[N]) {
  auto text = ReadString(value, path, problems, /*non_empty=*/false);
  if (!text) return std::nullopt;
  for (size_t i = 0; i < N; ++i) {
    if (*text == names[i]) return values[i];
  }
  problems.Add(path, absl::StrCat(Quote(*text), " is not ", what, " (", Listing(names), ")"));
  return std::nullopt;
}

std::string CheckActivityType(absl::string_view word) {
  if (Contains(kActivityTypes, word)) return "";
  return absl::StrCat(Quote(word), " is not an activity type (", Listing(kActivityTypes), ")");
}
std::string CheckCabin(absl::string_view word) {
  if (Contains(kCabins, word)) return "";
  return absl::StrCat(Quote(word), " is not a cabin (", Listing(kCabins), ")");
}
std::string CheckAirport(absl::string_view word) {
  if (IsAirportCode(word)) return "";
  return absl::StrCat(Quote(word), " is not an IATA airport code (three letters A-Z)");
}
std::string CheckBookingClass(absl::string_view word) {
  if (IsBookingClass(word)) return "";
  return absl::StrCat(Quote(word), " is not a booking class (one letter A-Z)");
}

// ------------------------------------------------------------ accrual

// The references of one rule, resolved once the whole version is read.
struct RuleRefs {
  std::string path;                                        // accrual[i]
  bool multiplier = false;
  std::vector<std::pair<std::string, std::string>> bases;  // rule id, path of the reference
  std::optional<std::string> balance;                      // as written
  std::vector<std::pair<std::string, std::string>> tiers;  // tier id, path of the reference
};

AccrualCondition ReadCondition(const Json& value, const std::string& path, Problems& problems,
                               const std::optional<Currency>& currency, RuleRefs& refs) {
  AccrualCondition when;
  Fields f(value, path, problems,
           {"activity_types", "custom_types", "partners", "channels", "stores", "include_categories",
            "exclude_categories", "include_skus", "exclude_skus", "include_tags", "exclude_tags", "cabins",
            "booking_classes", "origins", "destinations", "member_tiers", "from_date", "until_date",
            "days_of_week", "min_eligible_amount", "first_activity_only"});
  struct ListField {
    absl::string_view key;
    std::vector<std::string>* target;
    WordCheck check;
  };
  const ListField lists[] = {
      {"activity_types", &when.activity_types, CheckActivityType},
      {"custom_types", &when.custom_types, nullptr},
      {"partners", &when.partners, nullptr},
      {"channels", &when.channels, nullptr},
      {"stores", &when.stores, nullptr},
      {"include_categories", &when.include_categories, nullptr},
      {"exclude_categories", &when.exclude_categories, nullptr},
      {"include_skus", &when.include_skus, nullptr},
      {"exclude_skus", &when.exclude_skus, nullptr},
      {"include_tags", &when.include_tags, nullptr},
      {"exclude_tags", &when.exclude_tags, nullptr},
      {"cabins", &when.cabins, CheckCabin},
      {"booking_classes", &when.booking_classes, CheckBookingClass},
      {"origins", &when.origins, CheckAirport},
      {"destinations", &when.destinations, CheckAirport},
  };
  for (const ListField& list : lists) {
    if (auto words = f.Strings(list.key, list.check)) *list.target = *std::move(words);
  }
  std::vector<std::string> tier_paths;  // checked against the version's ladder once it is read
  if (auto tiers = f.Strings("member_tiers", nullptr, /*unique=*/false, &tier_paths)) {
    for (size_t i = 0; i < tiers->size(); ++i) refs.tiers.emplace_back((*tiers)[i], tier_paths[i]);
    when.member_tiers = *std::move(tiers);
  }
  when.from_date = f.DateField("from_date");
  when.until_date = f.DateField("until_date");
  if (when.from_date && when.until_date && *when.until_date < *when.from_date) {
    problems.Add(f.PathOf("until_date"), absl::StrCat(when.until_date->ToString(), " is before from_date ",
                                                      when.from_date->ToString()));
  }
  if (const Json* days = f.Array("days_of_week")) {
    for (size_t i = 0; i < days->size(); ++i) {
      if (auto day = ReadInteger((*days)[i], Element(f.PathOf("days_of_week"), i), problems, 0, 6)) {
        when.days_of_week.push_back(static_cast<int>(*day));
      }
    }
  }
  // Without a valid currency (reported at the version) the amount cannot be read.
  if (const Json* amount = f.Get("min_eligible_amount"); amount != nullptr && currency.has_value()) {
    when.min_eligible_amount = ReadMoney(*amount, f.PathOf("min_eligible_amount"), problems, *currency);
  }
  if (auto first = f.Bool("first_activity_only")) when.first_activity_only = *first;
  return when;
}

constexpr absl::string_view kEffectKindNames[] = {"per_money", "per_distance", "per_ticket_price", "fixed",
                                                  "multiplier", "per_unit"};
constexpr AccrualEffect::Kind kEffectKinds[] = {AccrualEffect::Kind::kPerMoney, AccrualEffect::Kind::kPerDistance,
                                                AccrualEffect::Kind::kPerTicketPrice, AccrualEffect::Kind::kFixed,
                                                AccrualEffect::Kind::kMultiplier, AccrualEffect::Kind::kPerUnit};

absl::string_view EffectKindName(AccrualEffect::Kind kind) {
  return kEffectKindNames[static_cast<size_t>(std::find(std::begin(kEffectKinds), std::end(kEffectKinds), kind) -
                                              std::begin(kEffectKinds))];
}

// Whether an effect of `kind` reads field `key` (every kind reads kind and
// balance). A field the kind does not read is a problem, not silently ignored.
bool KindUses(AccrualEffect::Kind kind, absl::string_view key) {
  if (key == "kind" || key == "balance") return true;
  switch (kind) {
    case AccrualEffect::Kind::kPerMoney: return key == "rate" || key == "rounding";
    case AccrualEffect::Kind::kPerDistance:
      return key == "booking_class_rates" || key == "minimum" || key == "rounding";
    case AccrualEffect::Kind::kPerTicketPrice: return key == "rate" || key == "tier_rates" || key == "rounding";
    case AccrualEffect::Kind::kFixed: return key == "fixed";
    case AccrualEffect::Kind::kMultiplier:
      return key == "rate" || key == "base_rules" || key == "rounding" || key == "tier_bonus";
    case AccrualEffect::Kind::kPerUnit: return key == "points";
  }
  return false;
}

AccrualEffect ReadEffect(const Json& value, const std::string& path, Problems& problems, RuleRefs& refs) {
  AccrualEffect effect;
  Fields f(value, path, problems,
           {"kind", "rate", "rounding", "booking_class_rates", "tier_rates", "minimum", "fixed", "base_rules",
            "balance", "tier_bonus", "points"});
  std::optional<AccrualEffect::Kind> kind;
  if (const Json* text = f.Get("kind", kRequired)) {
    kind = ReadChoice(*text, f.PathOf("kind"), problems, "an effect kind", kEffectKindNames, kEffectKinds);
    if (kind) effect.kind = *kind;
  }
  if (auto rate = f.RateField("rate")) effect.rate = *rate;
  if (auto bonus = f.Bool("tier_bonus")) effect.tier_bonus = *bonus;
  if (auto rounding = f.String("rounding", kOptional, /*non_empty=*/false)) {
    auto parsed = ParseRounding(*rounding);
    if (parsed.ok()) {
      effect.rounding = *parsed;
    } else {
      problems.Add(f.PathOf("rounding"), parsed.status().message());
    }
  }
  auto class_rates = f.Rates("booking_class_rates", CheckBookingClass);
  if (class_rates) effect.booking_class_rates = *std::move(class_rates);
  if (auto tier_rates = f.Rates("tier_rates")) {
    for (const auto& [tier, rate] : *tier_rates) refs.tiers.emplace_back(tier, FieldPath(f.PathOf("tier_rates"), tier));
    effect.tier_rates = *std::move(tier_rates);
  }
  if (auto minimum = f.PointsField("minimum")) effect.minimum = *minimum;
  if (auto fixed = f.PointsField("fixed")) effect.fixed = *fixed;
  if (auto points = f.PointsField("points")) {
    if (points->IsNegative()) problems.Add(f.PathOf("points"), absl::StrCat(points->value(), " is negative"));
    effect.per_unit = *points;
  }
  std::vector<std::string> base_paths;
  if (auto bases = f.Strings("base_rules", nullptr, /*unique=*/true, &base_paths)) {
    for (size_t i = 0; i < bases->size(); ++i) refs.bases.emplace_back((*bases)[i], base_paths[i]);
    effect.base_rules = *std::move(bases);
  }
  refs.balance = f.String("balance");
  if (refs.balance) effect.balance = *refs.balance;

  if (!kind || !f.ok()) return effect;
  refs.multiplier = *kind == AccrualEffect::Kind::kMultiplier;
  absl::string_view name = EffectKindName(*kind);
  for (absl::string_view key : {"rate", "rounding", "booking_class_rates", "tier_rates", "minimum", "fixed",
                                "base_rules", "tier_bonus", "points"}) {
    if (f.Has(key) && !KindUses(*kind, key)) {
      problems.Add(f.PathOf(key), absl::StrCat("not used by kind ", Quote(name)));
    }
  }
  auto require = [&](absl::string_view key) {
    if (!f.Has(key)) problems.Add(f.PathOf(key), absl::StrCat("required for kind ", Quote(name)));
  };
  auto require_nonempty = [&](absl::string_view key) {
    const Json* value = f.Get(key);
    if (value != nullptr && value->is_structured() && value->empty()) {
      problems.Add(f.PathOf(key), absl::StrCat("must not be empty for kind ", Quote(name)));
    }
  };
  switch (*kind) {
    case AccrualEffect::Kind::kPerMoney: require("rate"); break;
    case AccrualEffect::Kind::kPerDistance:
      require("booking_class_rates");
      require_nonempty("booking_class_rates");
      break;
    case AccrualEffect::Kind::kPerTicketPrice:
      if (!f.Has("rate") && !f.Has("tier_rates")) {
        problems.Add(f.PathOf("rate"), "kind \"per_ticket_price\" needs rate, tier_rates or both");
      }
      break;
    case AccrualEffect::Kind::kFixed: require("fixed"); break;
    case AccrualEffect::Kind::kMultiplier:
      if (f.Has("rate") == effect.tier_bonus) {
        problems.Add(f.PathOf("rate"), "kind \"multiplier\" needs either rate or \"tier_bonus\": true");
      }
      require("base_rules");
      require_nonempty("base_rules");
      break;
    case AccrualEffect::Kind::kPerUnit: require("points"); break;
  }
  return effect;
}

AccrualCap ReadCap(const Json& value, const std::string& path, Problems& problems) {
  AccrualCap cap;
  Fields f(value, path, problems, {"per_activity", "per_member_day", "per_member_month", "per_campaign", "max_uses", "budget"});
  cap.per_activity = f.PointsField("per_activity");
  cap.per_member_day = f.PointsField("per_member_day");
  cap.per_member_month = f.PointsField("per_member_month");
  cap.per_campaign = f.PointsField("per_campaign");
  cap.max_uses = f.Integer("max_uses", 0, kInt64Max);
  cap.budget = f.PointsField("budget");
  return cap;
}

AccrualRule ReadRule(const Json& value, const std::string& path, Problems& problems,
                     const std::optional<Currency>& currency, RuleRefs& refs) {
  AccrualRule rule;
  refs.path = path;
  Fields f(value, path, problems, {"id", "description", "priority", "exclusive_group", "when", "effect", "cap"});
  if (auto id = f.String("id", kRequired)) rule.id = *id;
  if (auto description = f.String("description", kOptional, /*non_empty=*/false)) rule.description = *description;
  if (auto priority = f.Integer("priority", std::numeric_limits<int>::min(), std::numeric_limits<int>::max())) {
    rule.priority = static_cast<int>(*priority);
  }
  if (auto group = f.String("exclusive_group", kOptional, /*non_empty=*/false)) rule.exclusive_group = *group;
  if (const Json* when = f.Get("when")) rule.when = ReadCondition(*when, f.PathOf("when"), problems, currency, refs);
  if (const Json* effect = f.Get("effect", kRequired)) {
    rule.effect = ReadEffect(*effect, f.PathOf("effect"), problems, refs);
  }
  if (const Json* cap = f.Get("cap")) rule.cap = ReadCap(*cap, f.PathOf("cap"), problems);
  return rule;
}

// Reports multiplier rules whose base_rules lead back to themselves.
// Iterative, so that a long chain of rules cannot exhaust the stack.
void CheckMultiplierCycles(const std::vector<AccrualRule>& rules, const std::vector<RuleRefs>& refs,
                           const absl::flat_hash_map<std::string, size_t>& index_of, Problems& problems) {
  std::vector<std::vector<size_t>> edges(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!refs[i].multiplier) continue;
    for (const auto& [base, at] : refs[i].bases) {
      if (auto it = index_of.find(base); it != index_of.end()) edges[i].push_back(it->second);
    }
  }
  enum Color : uint8_t { kUnseen, kOnPath, kDone };
  // Value-initialized, so every rule starts kUnseen; g++ 12 at -O3 takes the
  // fill constructor's buffer for one freed at an offset (-Wfree-nonheap-object).
  std::vector<Color> color(rules.size());
  for (size_t start = 0; start < rules.size(); ++start) {
    if (color[start] != kUnseen) continue;
    std::vector<std::pair<size_t, size_t>> path = {{start, 0}};  // rule, next edge
    color[start] = kOnPath;
    while (!path.empty()) {
      auto& [rule, next] = path.back();
      if (next == edges[rule].size()) {
        color[rule] = kDone;
        path.pop_back();
        continue;
      }
      size_t to = edges[rule][next++];
      if (color[to] == kUnseen) {
        color[to] = kOnPath;
        path.emplace_back(to, 0);
      } else if (color[to] == kOnPath) {
        std::vector<std::string> ids;
        auto from = std::find_if(path.begin(), path.end(), [&](const auto& step) { return step.first == to; });
        for (auto step = from; step != path.end(); ++step) ids.push_back(rules[step->first].id);
        ids.push_back(rules[to].id);
        problems.Add(absl::StrCat(refs[path.back().first].path, ".effect.base_rules"),
                     absl::StrCat("multipliers form a cycle: ", absl::StrJoin(ids, " -> ")));
      }
    }
  }
}

// ------------------------------------------------------------ partners

// The `partners` section: an array of partners with unique ids. Each rate
// is a decimal string of major units of the version's currency per point;
// zero is allowed, a sign is not (Rate::Parse refuses "-0.01").
std::vector<Partner> ReadPartners(const Json& value, const std::string& path, Problems& problems) {
  std::vector<Partner> partners;
  if (!value.is_array()) {
    problems.Add(path, absl::StrCat("expected an array, got ", Kind(value)));
    return partners;
  }
  absl::flat_hash_map<std::string, std::string> paths;  // id -> path of the partner that has it
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = Element(path, i);
    Fields f(value[i], at, problems, {"id", "name", "funding_per_point", "reimbursement_per_point"});
    Partner partner;
    bool ok = f.ok();
    if (auto id = f.String("id", kRequired)) {
      if (auto [it, inserted] = paths.emplace(*id, at); !inserted) {
        problems.Add(f.PathOf("id"), absl::StrCat(Quote(*id), " is also the id of ", it->second));
        ok = false;
      }
      partner.id = *id;
    } else {
      ok = false;
    }
    if (auto name = f.String("name", kOptional, /*non_empty=*/false)) partner.name = *name;
    if (auto rate = f.RateField("funding_per_point", kRequired)) {
      partner.funding_per_point = *rate;
    } else {
      ok = false;
    }
    if (auto rate = f.RateField("reimbursement_per_point", kRequired)) {
      partner.reimbursement_per_point = *rate;
    } else {
      ok = false;
    }
    if (ok) partners.push_back(std::move(partner));
  }
  return partners;
}

// ------------------------------------------------------------ accounting

void CheckShare(const Rate& rate, const std::string& path, Problems& problems) {
  if (!IsShare(rate)) problems.Add(path, absl::StrCat(Quote(rate.ToString()), " is not a share in (0, 1]"));
}

LedgerAccounts ReadAccounts(const Json& value, const std::string& path, Problems& problems) {
  LedgerAccounts accounts;
  std::pair<const char*, std::string*> names[] = {
      {"contract_liability", &accounts.contract_liability}, {"sales_revenue", &accounts.sales_revenue},
      {"funding_receivable", &accounts.funding_receivable}, {"redemption_revenue", &accounts.redemption_revenue},
      {"breakage_revenue", &accounts.breakage_revenue},     {"estimate_change", &accounts.estimate_change}};
  std::vector<std::string> known;
  for (const auto& [key, field] : names) known.emplace_back(key);
  Fields f(value, path, problems, known);
  for (const auto& [key, field] : names) {
    if (auto name = f.String(key)) *field = *name;
  }
  return accounts;
}

// The `accounting` section: the estimates that revenue accounting applies.
Accounting ReadAccounting(const Json& value, const std::string& path, Problems& problems) {
  Accounting a;
  Fields f(value, path, problems,
           {"standalone_value_per_point", "expected_redemption_rate", "cohorts", "credit_sources", "accounts"});
  if (auto rate = f.RateField("standalone_value_per_point", kRequired)) a.standalone_value_per_point = *rate;
  if (auto rate = f.RateField("expected_redemption_rate", kRequired)) {
    a.expected_redemption_rate = *rate;
    CheckShare(*rate, f.PathOf("expected_redemption_rate"), problems);
  }
  if (auto cohorts = f.Rates("cohorts")) {
    for (const auto& [year, rate] : *cohorts) {
      const std::string at = FieldPath(f.PathOf("cohorts"), year);
      int number = 0;
      if (!absl::SimpleAtoi(year, &number) || number < 1 || number > 9999 || year != absl::StrCat(number)) {
        problems.Add(at, "a cohort is a calendar year, 1 to 9999");
        continue;
      }
      CheckShare(rate, at, problems);
      a.cohort_redemption_rates.emplace(number, rate);
    }
  }
  if (auto sources = f.Rates("credit_sources")) a.credit_sources.insert(sources->begin(), sources->end());
  if (const Json* accounts = f.Get("accounts")) a.accounts = ReadAccounts(*accounts, f.PathOf("accounts"), problems);
  return a;
}

// ------------------------------------------------------------ rewards, expiry, grandfathering

// Reward ids already taken, by award chart rows and catalog items, with the
// path of the one that took each.
using RewardPaths = absl::flat_hash_map<std::string, std::string>;

// Reads `airport_regions`: the region of each airport code, for the award
// chart's rows. Returns the regions named.
absl::flat_hash_set<std::string> ReadAirportRegions(const Fields& f, Redemption& redemption, Problems& problems) {
  absl::flat_hash_set<std::string> regions;
  const Json* airports = f.Get("airport_regions");
  if (airports == nullptr) return regions;
  std::string at = f.PathOf("airport_regions");
  if (!airports->is_object()) {
    problems.Add(at, absl::StrCat("expected an object of airport code to region, got ", Kind(*airports)));
    return regions;
  }
  for (auto it = airports->begin(); it != airports->end(); ++it) {
    std::string airport_path = FieldPath(at, it.key());
    if (!IsAirportCode(it.key())) problems.Add(airport_path, CheckAirport(it.key()));
    if (auto region = ReadString(it.value(), airport_path, problems)) {
      regions.insert(*region);
      redemption.airport_regions.emplace(it.key(), *region);
    }
  }
  return regions;
}

// Reads one row of the award chart: the price in points of an award between
// two of `regions` in a cabin; nothing if the row is unusable.
std::optional<AwardChartRow> ReadAwardChartRow(const Json& value, const std::string& path,
                                               const absl::flat_hash_set<std::string>& regions, Problems& problems) {
  Fields r(value, path, problems, {"from_region", "to_region", "cabin", "round_trip", "price"});
  AwardChartRow row;
  bool ok = r.ok();
  for (auto [key, target] : {std::pair<absl::string_view, std::string*>{"from_region", &row.from_region},
                             std::pair<absl::string_view, std::string*>{"to_region", &row.to_region}}) {
    auto region = r.String(key, kRequired);
    if (!region) {
      ok = false;
    } else if (!regions.contains(*region)) {
      problems.Add(r.PathOf(key), absl::StrCat(Quote(*region), " is not a region of any airport in airport_regions"));
      ok = false;
    } else {
      *target = *region;
    }
  }
  auto cabin = r.String("cabin", kRequired);
  if (cabin && !CheckCabin(*cabin).empty()) {
    problems.Add(r.PathOf("cabin"), CheckCabin(*cabin));
    cabin.reset();
  }
  if (cabin) {
    row.cabin = *cabin;
  } else {
    ok = false;
  }
  if (auto round_trip = r.Bool("round_trip")) row.round_trip = *round_trip;
  if (auto price = r.PointsField("price", kRequired)) {
    row.price = *price;
  } else {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return row;
}

// Reads `award_chart`: rows over the regions of airport_regions, each
// pricing a reward no other row or catalog item prices.
void ReadAwardChart(const Fields& f, const absl::flat_hash_set<std::string>& regions, RewardPaths& reward_paths,
                    Redemption& redemption, Problems& problems) {
  const Json* chart = f.Array("award_chart");
  if (chart == nullptr) return;
  for (size_t i = 0; i < chart->size(); ++i) {
    std::string row_path = Element(f.PathOf("award_chart"), i);
    std::optional<AwardChartRow> row = ReadAwardChartRow((*chart)[i], row_path, regions, problems);
    if (!row) continue;
    std::string id = AwardRewardId(*row);
    if (auto [it, inserted] = reward_paths.emplace(id, row_path); !inserted) {
      problems.Add(row_path, absl::StrCat("the reward ", Quote(id), " is also priced by ", it->second));
      continue;
    }
    redemption.award_chart.push_back(*std::move(row));
  }
}

// Checks the `partner` of a catalog item against the version's partners
// (nullptr if it has none); false if it is not one of them.
bool IsVersionPartner(const Fields& c, const std::string& partner, const std::vector<Partner>* partners,
                      Problems& problems) {
  if (partners == nullptr) {
    problems.Add(c.PathOf("partner"),
                 absl::StrCat(Quote(partner), " names a partner, but the version has no partners"));
    return false;
  }
  if (std::none_of(partners->begin(), partners->end(), [&](const Partner& p) { return p.id == partner; })) {
    problems.Add(c.PathOf("partner"), absl::StrCat(Quote(partner), " is not one of the version's partners"));
    return false;
  }
  return true;
}

// Reads one catalog item: a reward with its price in points, perhaps a cash
// part and the partner where it is redeemed; nothing if it is unusable. Its
// id is taken in `reward_paths` even then.
std::optional<CatalogItem> ReadCatalogItem(const Json& value, const std::string& path,
                                           const std::optional<Currency>& currency,
                                           const std::vector<Partner>* partners, RewardPaths& reward_paths,
                                           Problems& problems) {
  Fields c(value, path, problems, {"id", "name", "price", "cash", "partner"});
  CatalogItem item;
  bool ok = c.ok();
  if (auto id = c.String("id", kRequired)) {
    if (auto [it, inserted] = reward_paths.emplace(*id, path); !inserted) {
      problems.Add(c.PathOf("id"), absl::StrCat(Quote(*id), " is also the id of ", it->second));
      ok = false;
    }
    item.id = *id;
  } else {
    ok = false;
  }
  if (auto name = c.String("name", kOptional, /*non_empty=*/false)) item.name = *name;
  if (auto price = c.PointsField("price", kRequired)) {
    item.price = *price;
  } else {
    ok = false;
  }
  if (const Json* cash = c.Get("cash"); cash != nullptr && currency.has_value()) {
    item.cash = ReadMoney(*cash, c.PathOf("cash"), problems, *currency);
    if (!item.cash) {
      ok = false;
    } else if (item.cash->minor_units() <= 0) {
      problems.Add(c.PathOf("cash"), "must be greater than 0");
      ok = false;
    }
  }
  if (auto partner = c.String("partner")) {
    if (!IsVersionPartner(c, *partner, partners, problems)) ok = false;
    item.partner = *partner;
  }
  if (!ok) return std::nullopt;
  return item;
}

// Reads `catalog`: the rewards besides the award chart's.
void ReadCatalog(const Fields& f, const std::optional<Currency>& currency, const std::vector<Partner>* partners,
                 RewardPaths& reward_paths, Redemption& redemption, Problems& problems) {
  const Json* catalog = f.Array("catalog");
  if (catalog == nullptr) return;
  for (size_t i = 0; i < catalog->size(); ++i) {
    std::string item_path = Element(f.PathOf("catalog"), i);
    if (auto item = ReadCatalogItem((*catalog)[i], item_path, currency, partners, reward_paths, problems)) {
      redemption.catalog.push_back(*std::move(item));
    }
  }
}

// Reads `pay_with_points`: what a point is worth at the till, and the least
// and the step of points a payment spends; nothing if it is not an object.
std::optional<PayWithPoints> ReadPayWithPoints(const Json& value, const std::string& path, Problems& problems) {
  Fields p(value, path, problems, {"value_per_point", "minimum_points", "step_points"});
  PayWithPoints terms;
  if (auto value_per_point = p.RateField("value_per_point", kRequired)) {
    if (value_per_point->mantissa() == 0) problems.Add(p.PathOf("value_per_point"), "must be greater than 0");
    terms.value_per_point = *value_per_point;
  }
  if (auto minimum = p.PointsField("minimum_points")) terms.minimum_points = *minimum;
  if (auto step = p.Integer("step_points", 1, kInt64Max)) terms.step_points = Points(*step);
  if (!p.ok()) return std::nullopt;
  return terms;
}

// Reads the `redemption` section: the rewards and how points pay at a till.
// `partners`: the version's partners section, or nullptr if it has none.
Redemption ReadRedemption(const Json& value, const std::string& path, Problems& problems,
                          const std::optional<Currency>& currency, const std::vector<Partner>* partners) {
  Redemption redemption;
  Fields f(value, path, problems, {"airport_regions", "award_chart", "catalog", "pay_with_points"});
  absl::flat_hash_set<std::string> regions = ReadAirportRegions(f, redemption, problems);
  RewardPaths reward_paths;
  ReadAwardChart(f, regions, reward_paths, redemption, problems);
  ReadCatalog(f, currency, partners, reward_paths, redemption, problems);
  if (const Json* pay = f.Get("pay_with_points")) {
    redemption.pay_with_points = ReadPayWithPoints(*pay, f.PathOf("pay_with_points"), problems);
  }
  return redemption;
}

ExpiryTerm ReadExpiry(const Json& value, const std::string& path, Problems& problems) {
  ExpiryTerm expiry;
  Fields f(value, path, problems,
           {"months", "round", "fixed_month", "fixed_day", "inactivity_months", "protected_by_flags",
            "closure_grace_months"});
  auto months = f.Integer("months", 0, 1200);
  if (months) expiry.months = static_cast<int>(*months);
  if (auto inactivity = f.Integer("inactivity_months", 0, 1200)) expiry.inactivity_months = static_cast<int>(*inactivity);
  if (auto grace = f.Integer("closure_grace_months", 0, 1200)) expiry.closure_grace_months = static_cast<int>(*grace);
  if (auto flags = f.Strings("protected_by_flags", nullptr, /*unique=*/true)) expiry.protected_by_flags = *std::move(flags);
  static constexpr absl::string_view kNames[] = {"none", "end_of_month", "end_of_quarter", "end_of_year",
                                                 "fixed_day"};
  static constexpr ExpiryTerm::Round kRounds[] = {ExpiryTerm::Round::kNone, ExpiryTerm::Round::kEndOfMonth,
                                                  ExpiryTerm::Round::kEndOfQuarter, ExpiryTerm::Round::kEndOfYear,
                                                  ExpiryTerm::Round::kFixedDay};
  std::optional<ExpiryTerm::Round> round;
  if (const Json* text = f.Get("round")) {
    round = ReadChoice(*text, f.PathOf("round"), problems, "an expiry rounding", kNames, kRounds);
    if (round) expiry.round = *round;
  }
  bool never_expires = !f.Has("months") || (months && *months == 0);
  if (never_expires && round.has_value() && *round != ExpiryTerm::Round::kNone) {
    problems.Add(f.PathOf("round"), "not used when months is 0 (points never expire)");
  }
  if (round == ExpiryTerm::Round::kFixedDay) {
    auto month = f.Integer("fixed_month", 1, 12, kRequired);
    auto day = f.Integer("fixed_day", 1, 31, kRequired);
    if (month) expiry.fixed_month = static_cast<int>(*month);
    if (day) expiry.fixed_day = static_cast<int>(*day);
    // 2001 is not a leap year: a day it has, every year has.
    if (month && day && !Date::FromYmd(2001, expiry.fixed_month, expiry.fixed_day).ok()) {
      problems.Add(f.PathOf("fixed_day"), absl::StrCat("month ", *month, " day ", *day,
                                                        " does not exist in every year"));
    }
  } else {
    for (absl::string_view key : {"fixed_month", "fixed_day"}) {
      if (f.Has(key)) problems.Add(f.PathOf(key), "only used when round is \"fixed_day\"");
    }
  }
  return expiry;
}

Grandfathering ReadGrandfathering(const Json& value, const std::string& path, Problems& problems) {
  Grandfathering promise;
  Fields f(value, path, problems, {"price_lock", "book_by", "earned_before", "spend_until"});
  if (auto lock = f.Bool("price_lock")) promise.price_lock = *lock;
  promise.book_by = f.InstantField("book_by");
  promise.earned_before = f.InstantField("earned_before");
  promise.spend_until = f.InstantField("spend_until");
  if (f.Has("earned_before") != f.Has("spend_until")) {
    absl::string_view missing = f.Has("earned_before") ? "spend_until" : "earned_before";
    problems.Add(f.PathOf(missing), "required when the other of earned_before and spend_until is given");
  }
  return promise;
}

// ------------------------------------------------------------ tiers

// A qualification: an array of requirements, any one of which suffices,
// each an object of counter -> minimum ({"status_miles": 100000}).
TierQualification ReadQualification(const Json& value, const std::string& path, Problems& problems,
                                    const std::vector<std::string>& counters) {
  TierQualification qualification;
  if (!value.is_array() || value.empty()) {
    problems.Add(path, absl::StrCat("expected a non-empty array of requirements, got ", Kind(value)));
    return qualification;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string at = Element(path, i);
    const Json& requirement = value[i];
    if (!requirement.is_object() || requirement.empty()) {
      problems.Add(at, absl::StrCat("expected an object of counter minimums, got ", Kind(requirement)));
      continue;
    }
    TierRequirement read;
    for (auto it = requirement.begin(); it != requirement.end(); ++it) {
      if (!Contains(counters, it.key())) {
        problems.Add(FieldPath(at, it.key()), absl::StrCat(Quote(it.key()), " is not one of the version's counters"));
        continue;
      }
      if (auto minimum = ReadPoints(*it, FieldPath(at, it.key()), problems)) read.minimums[it.key()] = *minimum;
    }
    qualification.any_of.push_back(std::move(read));
  }
  return qualification;
}

Tier ReadTier(const Json& value, const std::string& path, Problems& problems, const std::vector<std::string>& counters) {
  Tier tier;
  Fields f(value, path, problems,
           {"id", "name", "qualify", "periods", "lifetime", "invitation_only", "paid", "benefits"});
  if (auto id = f.String("id", kRequired)) tier.id = *id;
  if (auto name = f.String("name", kOptional, /*non_empty=*/false)) tier.name = *name;
  if (const Json* qualify = f.Get("qualify")) {
    tier.qualification = ReadQualification(*qualify, f.PathOf("qualify"), problems, counters);
  }
  if (auto periods = f.Integer("periods", 1, 10)) tier.qualification.periods = static_cast<int>(*periods);
  if (const Json* lifetime = f.Get("lifetime")) {
    tier.lifetime = ReadQualification(*lifetime, f.PathOf("lifetime"), problems, counters);
  }
  if (auto invitation = f.Bool("invitation_only")) tier.invitation_only = *invitation;
  if (auto paid = f.Bool("paid")) tier.paid = *paid;
  if ((tier.invitation_only || tier.paid) && f.Has("qualify")) {
    problems.Add(f.PathOf("qualify"), "an invitation-only or paid tier is not earned on counters");
  }
  if (tier.invitation_only && tier.paid) problems.Add(f.PathOf("paid"), "a tier is invitation-only or paid, not both");
  if (!tier.invitation_only && !tier.paid && !f.Has("qualify")) {
    problems.Add(f.PathOf("qualify"), "required unless the tier is invitation_only or paid");
  }
  if (const Json* benefits = f.Get("benefits")) {
    Fields b(*benefits, f.PathOf("benefits"), problems,
             {"earn_bonus", "protects_from_expiry", "redemption_discount", "named"});
    tier.benefits.earn_bonus = b.RateField("earn_bonus");
    if (auto protects = b.Bool("protects_from_expiry")) tier.benefits.protects_from_expiry = *protects;
    if (auto discount = b.RateField("redemption_discount")) {
      if (discount->mantissa() >= PowerOfTen(discount->scale())) {  // the mantissa of 1 at this scale
        problems.Add(b.PathOf("redemption_discount"), "must be below 1 (a share of the price)");
      }
      tier.benefits.redemption_discount = *discount;
    }
    if (auto named = b.Strings("named", nullptr, /*unique=*/true)) tier.benefits.named = *std::move(named);
  }
  return tier;
}

TierLadder ReadTiers(const Json& value, const std::string& path, Problems& problems,
                     const std::vector<std::string>& counters) {
  TierLadder ladder;
  Fields f(value, path, problems,
           {"period", "months_after_period", "validity_months", "downgrade", "grace_months", "on_reversal",
            "thresholds_apply_immediately", "ladder"});
  static constexpr absl::string_view kPeriodNames[] = {"calendar_year", "membership_year", "rolling_12_months"};
  static constexpr TierLadder::Period kPeriods[] = {TierLadder::Period::kCalendarYear,
                                                    TierLadder::Period::kMembershipYear,
                                                    TierLadder::Period::kRolling12Months};
  if (const Json* period = f.Get("period", kRequired)) {
    if (auto read = ReadChoice(*period, f.PathOf("period"), problems, "a qualification period", kPeriodNames, kPeriods)) {
      ladder.period = *read;
    }
  }
  static constexpr absl::string_view kDowngradeNames[] = {"one_tier", "to_earned", "grace"};
  static constexpr TierLadder::Downgrade kDowngrades[] = {
      TierLadder::Downgrade::kOneTier, TierLadder::Downgrade::kToEarned, TierLadder::Downgrade::kGrace};
  if (const Json* downgrade = f.Get("downgrade")) {
    if (auto read = ReadChoice(*downgrade, f.PathOf("downgrade"), problems, "a downgrade policy", kDowngradeNames,
                               kDowngrades)) {
      ladder.downgrade = *read;
    }
  }
  static constexpr absl::string_view kReversalNames[] = {"keep", "revoke"};
  static constexpr TierLadder::OnReversal kReversals[] = {TierLadder::OnReversal::kKeep,
                                                          TierLadder::OnReversal::kRevoke};
  if (const Json* reversal = f.Get("on_reversal")) {
    if (auto read = ReadChoice(*reversal, f.PathOf("on_reversal"), problems, "a reversal policy", kReversalNames,
                               kReversals)) {
      ladder.on_reversal = *read;
    }
  }
  if (auto months = f.Integer("months_after_period", 1, 120)) ladder.months_after_period = static_cast<int>(*months);
  if (auto months = f.Integer("validity_months", 1, 120)) ladder.validity_months = static_cast<int>(*months);
  if (f.Has("months_after_period") == f.Has("validity_months")) {
    problems.Add(f.PathOf("validity_months"), "give exactly one of months_after_period and validity_months");
  }
  if (ladder.period == TierLadder::Period::kRolling12Months && f.Has("months_after_period")) {
    problems.Add(f.PathOf("months_after_period"), "a rolling period has no end: use validity_months");
  }
  if (auto grace = f.Integer("grace_months", 1, 120)) ladder.grace_months = static_cast<int>(*grace);
  if ((ladder.downgrade == TierLadder::Downgrade::kGrace) != f.Has("grace_months")) {
    problems.Add(f.PathOf("grace_months"), "required with downgrade \"grace\", and only with it");
  }
  if (auto immediately = f.Bool("thresholds_apply_immediately")) ladder.thresholds_apply_immediately = *immediately;
  if (const Json* tiers = f.Array("ladder")) {
    absl::flat_hash_set<std::string> ids;
    for (size_t i = 0; i < tiers->size(); ++i) {
      std::string at = Element(f.PathOf("ladder"), i);
      Tier tier = ReadTier((*tiers)[i], at, problems, counters);
      if (!tier.id.empty() && !ids.insert(tier.id).second) {
        problems.Add(FieldPath(at, "id"), absl::StrCat(Quote(tier.id), " is the id of an earlier tier"));
      }
      ladder.tiers.push_back(std::move(tier));
    }
    if (tiers->empty()) problems.Add(f.PathOf("ladder"), "must list at least one tier");
  } else if (!f.Has("ladder")) {
    problems.Add(f.PathOf("ladder"), "required field is missing");
  }
  return ladder;
}

// Reads the version's tiers section, if any, into `v`, then reports each
// tier a rule names (when.member_tiers, effect.tier_rates) that is not in
// that ladder, as Program::FromVersions would refuse it. A tiers section
// from which no tier was read is reported there; its rules' tier names are
// not also reported as unknown.
void ReadVersionTiers(const Fields& f, const std::vector<RuleRefs>& refs, Problems& problems, ProgramVersion& v) {
  if (const Json* tiers = f.Get("tiers")) {
    v.tiers = ReadTiers(*tiers, f.PathOf("tiers"), problems, v.counters);
    if (v.tiers.tiers.empty()) return;
  }
  for (const RuleRefs& rule_refs : refs) {
    for (const auto& [tier, at] : rule_refs.tiers) {
      if (absl::Status known = CheckTierName(v.tiers, tier); !known.ok()) problems.Add(at, known.message());
    }
  }
}

// ------------------------------------------------------------ stamp cards

constexpr int64_t kMaxCardStamps = 1'000'000;
constexpr int64_t kMaxVoucherDays = 3660;

// One stamp card: an id unique among the cards, the condition of an
// accrual rule (its tiers checked against the version's ladder), a size, a
// reward of the version's catalog and the vouchers' days.
StampCard ReadStampCard(const Json& value, const std::string& path, const std::optional<Currency>& currency,
                        Problems& problems, const ProgramVersion& v) {
  StampCard card;
  Fields f(value, path, problems, {"id", "description", "when", "stamps", "reward", "voucher_days"});
  card.id = f.String("id", kRequired).value_or("");
  card.description = f.String("description", kOptional, /*non_empty=*/false).value_or("");
  RuleRefs refs;
  if (const Json* when = f.Get("when")) card.when = ReadCondition(*when, f.PathOf("when"), problems, currency, refs);
  for (const auto& [tier, at] : refs.tiers) {
    if (absl::Status known = CheckTierName(v.tiers, tier); !known.ok()) problems.Add(at, known.message());
  }
  card.stamps = f.Integer("stamps", 1, kMaxCardStamps, kRequired).value_or(1);
  card.voucher_days = static_cast<int32_t>(f.Integer("voucher_days", 1, kMaxVoucherDays, kRequired).value_or(1));
  if (auto reward = f.String("reward", kRequired)) {
    card.reward = *reward;
    const auto& catalog = v.redemption.catalog;
    if (std::none_of(catalog.begin(), catalog.end(), [&](const CatalogItem& item) { return item.id == *reward; })) {
      problems.Add(f.PathOf("reward"), absl::StrCat(Quote(*reward), " is not a reward of the version's catalog"));
    }
  }
  return card;
}

// Reads `stamp_cards`, after the catalog and the tiers they name.
void ReadStampCards(const Fields& f, const std::optional<Currency>& currency, Problems& problems, ProgramVersion& v) {
  const Json* cards = f.Array("stamp_cards");
  if (cards == nullptr) return;
  absl::flat_hash_map<std::string, std::string> paths;  // id -> the path of the first card with it
  for (size_t i = 0; i < cards->size(); ++i) {
    const std::string path = Element(f.PathOf("stamp_cards"), i);
    StampCard card = ReadStampCard((*cards)[i], path, currency, problems, v);
    if (auto [it, inserted] = paths.emplace(card.id, path); !inserted && !card.id.empty()) {
      problems.Add(FieldPath(path, "id"), absl::StrCat(Quote(card.id), " is also the id of ", it->second));
    }
    v.stamp_cards.push_back(std::move(card));
  }
}

// ------------------------------------------------------------ point sales

// Reads `point_sales`: a positive price per point, a minimum and a step of
// at least 1, and a yearly limit not below the minimum.
PointSales ReadPointSales(const Json& value, const std::string& path, Problems& problems) {
  Fields p(value, path, problems, {"price_per_point", "minimum", "step", "yearly_limit"});
  PointSales sales;
  if (auto price = p.RateField("price_per_point", kRequired)) {
    if (price->mantissa() <= 0) problems.Add(p.PathOf("price_per_point"), "must be greater than 0");
    sales.price_per_point = *price;
  }
  if (auto minimum = p.Integer("minimum", 1, kInt64Max)) sales.minimum = Points(*minimum);
  if (auto step = p.Integer("step", 1, kInt64Max)) sales.step = Points(*step);
  if (auto limit = p.Integer("yearly_limit", 1, kInt64Max)) {
    sales.yearly_limit = Points(*limit);
    if (*sales.yearly_limit < sales.minimum) {
      problems.Add(p.PathOf("yearly_limit"), absl::StrCat(*limit, " is below the minimum ", sales.minimum.value()));
    }
  }
  return sales;
}

// ------------------------------------------------------------ transfers

// Reads `transfers`: allowed (default true), a minimum of at least 1, a
// yearly limit not below the minimum, a fee of 0 or more points.
TransferRules ReadTransferRules(const Json& value, const std::string& path, Problems& problems) {
  Fields t(value, path, problems, {"allowed", "minimum", "yearly_limit", "fee"});
  TransferRules rules;
  rules.allowed = t.Bool("allowed").value_or(true);
  if (auto minimum = t.Integer("minimum", 1, kInt64Max)) rules.minimum = Points(*minimum);
  if (auto limit = t.Integer("yearly_limit", 1, kInt64Max)) {
    rules.yearly_limit = Points(*limit);
    if (*rules.yearly_limit < rules.minimum) {
      problems.Add(t.PathOf("yearly_limit"), absl::StrCat(*limit, " is below the minimum ", rules.minimum.value()));
    }
  }
  if (auto fee = t.PointsField("fee")) rules.fee = *fee;
  return rules;
}

// The sections read after the catalog and tiers they name: stamp cards,
// point sales and transfers between members.
void ReadRetailSections(const Fields& f, const std::optional<Currency>& currency, Problems& problems,
                        ProgramVersion& v) {
  ReadStampCards(f, currency, problems, v);
  if (const Json* transfers = f.Get("transfers")) {
    v.transfers = ReadTransferRules(*transfers, f.PathOf("transfers"), problems);
  }
  const Json* sales = f.Get("point_sales");
  if (sales == nullptr) return;
  v.point_sales = ReadPointSales(*sales, f.PathOf("point_sales"), problems);
  // The least purchase costs at least one minor unit, so no price is zero.
  const Rate& price = v.point_sales->price_per_point;
  if (currency && price.mantissa() > 0 &&
      static_cast<Int128>(v.point_sales->minimum.value()) * price.mantissa() * PowerOfTen(currency->exponent()) <
          PowerOfTen(price.scale())) {
    problems.Add(FieldPath(f.PathOf("point_sales"), "price_per_point"),
                 absl::StrCat(v.point_sales->minimum.value(), " points (the minimum) cost less than the smallest unit of ",
                              currency->code()));
  }
}

// ------------------------------------------------------------ versions

struct ReadResult {
  ProgramVersion version;
  bool has_currency = false;
  bool has_zone = false;
  bool has_effective_from = false;
};

// The version's partners, and the partners its rules name checked against them.
void ReadVersionPartners(const Fields& f, const std::vector<RuleRefs>& refs, Problems& problems, ProgramVersion& v) {
  v.partners = ReadPartners(*f.Get("partners"), f.PathOf("partners"), problems);
  for (size_t i = 0; i < v.accrual.size(); ++i) {
    const std::vector<std::string>& named = v.accrual[i].when.partners;
    for (size_t j = 0; j < named.size(); ++j) {
      if (v.FindPartner(named[j]) == nullptr) {
        problems.Add(Element(absl::StrCat(refs[i].path, ".when.partners"), j),
                     absl::StrCat(Quote(named[j]), " is not one of the version's partners"));
      }
    }
  }
}

ReadResult ReadVersion(const Json& value, const std::string& path, Problems& problems) {
  ReadResult result;
  ProgramVersion& v = result.version;
  Fields f(value, path, problems,
           {"id", "name", "currency", "time_zone", "announced_at", "effective_from", "redeemable_balance",
            "counters", "accrual", "redemption", "expiry", "grandfathering", "tiers", "partners",
            "accounting", "stamp_cards", "point_sales", "transfers"});
  if (auto id = f.String("id", kRequired)) {
    if (id->size() > kMaxVersionIdLength) {
      problems.Add(f.PathOf("id"), absl::StrCat(Quote(*id), " is longer than ", kMaxVersionIdLength, " characters"));
    }
    v.id = *id;
  }
  if (auto name = f.String("name", kOptional, /*non_empty=*/false)) v.name = *name;
  std::optional<Currency> currency;
  if (auto code = f.String("currency", kRequired, /*non_empty=*/false)) {
    auto parsed = Currency::FromCode(*code);
    if (parsed.ok()) {
      currency = *parsed;
      v.currency = *parsed;
      result.has_currency = true;
    } else {
      problems.Add(f.PathOf("currency"), parsed.status().message());
    }
  }
  if (auto zone_name = f.String("time_zone", kRequired, /*non_empty=*/false)) {
    auto zone = TimeZone::Load(*zone_name);
    if (zone.ok()) {
      v.zone = *std::move(zone);
      result.has_zone = true;
    } else {
      problems.Add(f.PathOf("time_zone"), zone.status().message());
    }
  }
  auto announced_at = f.InstantField("announced_at", kRequired);
  auto effective_from = f.InstantField("effective_from", kRequired);
  if (announced_at) v.announced_at = *announced_at;
  if (effective_from) {
    v.effective_from = *effective_from;
    result.has_effective_from = true;
  }
  if (announced_at && effective_from && *effective_from < *announced_at) {
    problems.Add(f.PathOf("effective_from"), absl::StrCat(effective_from->ToString(), " is before announced_at ",
                                                          announced_at->ToString()));
  }
  if (auto balance = f.String("redeemable_balance")) v.redeemable_balance = *balance;
  std::vector<std::string> counter_paths;
  if (auto counters = f.Strings("counters", nullptr, /*unique=*/true, &counter_paths)) {
    for (size_t i = 0; i < counters->size(); ++i) {
      if ((*counters)[i] == v.redeemable_balance) {
        problems.Add(counter_paths[i],
                     absl::StrCat(Quote((*counters)[i]), " is the redeemable balance; a counter is never spendable"));
      }
    }
    v.counters = *std::move(counters);
  }

  std::vector<RuleRefs> refs;
  absl::flat_hash_map<std::string, size_t> rule_index;  // id -> first rule with it
  if (const Json* accrual = f.Array("accrual")) {
    for (size_t i = 0; i < accrual->size(); ++i) {
      RuleRefs rule_refs;
      AccrualRule rule = ReadRule((*accrual)[i], Element(f.PathOf("accrual"), i), problems, currency, rule_refs);
      if (!rule.id.empty()) {
        if (auto [it, inserted] = rule_index.emplace(rule.id, v.accrual.size()); !inserted) {
          problems.Add(FieldPath(rule_refs.path, "id"),
                       absl::StrCat(Quote(rule.id), " is also the id of ", refs[it->second].path));
        }
      }
      if (!rule_refs.balance) rule.effect.balance = v.redeemable_balance;  // the default
      v.accrual.push_back(std::move(rule));
      refs.push_back(std::move(rule_refs));
    }
  }
  for (size_t i = 0; i < v.accrual.size(); ++i) {
    const RuleRefs& rule_refs = refs[i];
    if (rule_refs.balance && *rule_refs.balance != v.redeemable_balance && !Contains(v.counters, *rule_refs.balance)) {
      problems.Add(absl::StrCat(rule_refs.path, ".effect.balance"),
                   absl::StrCat(Quote(*rule_refs.balance), " is neither the redeemable balance ",
                                Quote(v.redeemable_balance), " nor one of the counters"));
    }
    for (const auto& [base, at] : rule_refs.bases) {
      if (!rule_index.contains(base)) problems.Add(at, absl::StrCat("no rule has the id ", Quote(base)));
    }
  }
  CheckMultiplierCycles(v.accrual, refs, rule_index, problems);

  const bool has_partners = f.Has("partners");
  if (has_partners) ReadVersionPartners(f, refs, problems, v);
  if (const Json* redemption = f.Get("redemption")) {
    v.redemption = ReadRedemption(*redemption, f.PathOf("redemption"), problems, currency,
                                  has_partners ? &v.partners : nullptr);
  }
  if (const Json* expiry = f.Get("expiry")) v.expiry = ReadExpiry(*expiry, f.PathOf("expiry"), problems);
  if (const Json* promise = f.Get("grandfathering")) {
    v.grandfathering = ReadGrandfathering(*promise, f.PathOf("grandfathering"), problems);
  }
  ReadVersionTiers(f, refs, problems, v);
  if (const Json* accounting = f.Get("accounting")) v.accounting = ReadAccounting(*accounting, f.PathOf("accounting"), problems);
  ReadRetailSections(f, currency, problems, v);
  return result;
}

Sha256 ContentHash(const Json& version) { return internal::Sha256Of(version.dump()); }

absl::StatusOr<Program> ParseProgramOrThrow(absl::string_view json_text) {
  Problems problems;
  std::optional<Json> document = ParseDocument(json_text, problems);
  if (!document) return problems.ToStatus();
  Fields f(*document, "", problems, {"versions"});
  std::vector<ReadResult> results;
  if (const Json* versions = f.Get("versions", kRequired)) {
    if (!versions->is_array()) {
      problems.Add("versions", absl::StrCat("expected an array of versions, got ", Kind(*versions)));
    } else if (versions->empty()) {
      problems.Add("versions", "a program needs at least one version");
    } else {
      for (size_t i = 0; i < versions->size(); ++i) {
        results.push_back(ReadVersion((*versions)[i], Element("versions", i), problems));
      }
    }
  }
  absl::flat_hash_map<std::string, size_t> ids;
  for (size_t i = 0; i < results.size(); ++i) {
    const ProgramVersion& v = results[i].version;
    std::string path = Element("versions", i);
    if (!v.id.empty()) {
      if (auto [it, inserted] = ids.emplace(v.id, i); !inserted) {
        problems.Add(FieldPath(path, "id"),
                     absl::StrCat(Quote(v.id), " is also the id of ", Element("versions", it->second)));
      }
    }
    if (i == 0) continue;
    const ReadResult& before = results[i - 1];
    const ReadResult& first = results[0];
    if (results[i].has_effective_from && before.has_effective_from &&
        v.effective_from <= before.version.effective_from) {
      problems.Add(FieldPath(path, "effective_from"),
                   absl::StrCat(v.effective_from.ToString(), " is not after ", Element("versions", i - 1),
                                ".effective_from ", before.version.effective_from.ToString()));
    }
    if (results[i].has_zone && first.has_zone && v.zone.name() != first.version.zone.name()) {
      problems.Add(FieldPath(path, "time_zone"), absl::StrCat(Quote(v.zone.name()), " differs from versions[0].time_zone ",
                                                           Quote(first.version.zone.name())));
    }
    if (results[i].has_currency && first.has_currency && v.currency != first.version.currency) {
      problems.Add(FieldPath(path, "currency"),
                   absl::StrCat(Quote(v.currency.code()), " differs from versions[0].currency ",
                                Quote(first.version.currency.code())));
    }
  }
  if (!problems.empty()) return problems.ToStatus();

  std::vector<ProgramVersion> versions;
  const Json& array = document->at("versions");
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].version.content_hash = ContentHash(array[i]);
    versions.push_back(std::move(results[i].version));
  }
  auto program = Program::FromVersions(std::move(versions));
  if (!program.ok()) return absl::InvalidArgumentError(program.status().message());
  return program;
}

}  // namespace

absl::StatusOr<ProgramVersion> ParseProgramVersion(absl::string_view json_text) {
  try {
    Problems problems;
    std::optional<Json> document = ParseDocument(json_text, problems);
    if (!document) return problems.ToStatus();
    ReadResult result = ReadVersion(*document, "", problems);
    if (!problems.empty()) return problems.ToStatus();
    result.version.content_hash = ContentHash(*document);
    return std::move(result.version);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "program");
  }
}

absl::StatusOr<Program> ParseProgram(absl::string_view json_text) {
  try {
    return ParseProgramOrThrow(json_text);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "program");
  }
}

absl::StatusOr<Program> LoadProgramFile(const std::string& path) {
  try {
    absl::StatusOr<std::string> text = internal::ReadFile(path, "program file");
    if (!text.ok()) return text.status();
    auto program = ParseProgramOrThrow(*text);
    if (program.ok()) return program;
    return internal::PrefixLines(program.status(), path);
  } catch (...) {
    return internal::StatusOfException(std::current_exception(), "program");
  }
}

}  // namespace loyalty
