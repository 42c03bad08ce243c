// The JSON program-definition loader (loyalty/io.h): parses with
// nlohmann::json, walks the document against the format of
// docs/program-format.md collecting every problem with its JSON path, builds
// the ProgramVersion values and their content hashes, and hands the history
// to Program::FromVersions. nlohmann::json may throw; every entry point
// catches everything, so no exception leaves this file.
#include "loyalty/io.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "chain.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "loyalty/value.h"
#include "nlohmann/json.hpp"

namespace loyalty {
namespace {

using Json = nlohmann::json;

enum class Need { kOptional, kRequired };
constexpr Need kOptional = Need::kOptional;
constexpr Need kRequired = Need::kRequired;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr size_t kMaxVersionIdLength = 64;

constexpr absl::string_view kActivityTypes[] = {"purchase", "flight", "custom"};
constexpr absl::string_view kCabins[] = {"economy", "premium_economy", "business", "first"};

// The problems found so far, each a line `<path>: <reason>`, in the order found.
class Problems {
 public:
  void Add(absl::string_view path, absl::string_view reason) {
    lines_.push_back(absl::StrCat(path.empty() ? "(root)" : path, ": ", reason));
  }
  bool empty() const { return lines_.empty(); }
  void Append(const Problems& other) { lines_.insert(lines_.end(), other.lines_.begin(), other.lines_.end()); }
  absl::Status ToStatus() const { return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n")); }

 private:
  std::vector<std::string> lines_;
};

// `text` as a JSON string literal, for quoting input in messages.
std::string Quote(absl::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The path of member `key` of the object at `path`: "a.b", or a["b.c"] for
// keys that are not plain words.
std::string Member(absl::string_view path, absl::string_view key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!plain) return absl::StrCat(path, "[", Quote(key), "]");
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Element(absl::string_view path, size_t index) { return absl::StrCat(path, "[", index, "]"); }

// What a JSON value is, for "expected X, got Y".
absl::string_view Kind(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number with a fraction or exponent (or beyond 64 bits)";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    default: return "an unsupported value";
  }
}

// "a, b, c" for messages that list the accepted words.
template <typename Words>
std::string Listing(const Words& words) {
  return absl::StrJoin(words, ", ", [](std::string* out, const auto& word) { absl::StrAppend(out, word); });
}

template <typename Words>
bool Contains(const Words& words, absl::string_view word) {
  return std::find(std::begin(words), std::end(words), word) != std::end(words);
}

bool IsAirportCode(absl::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsBookingClass(absl::string_view letter) { return letter.size() == 1 && letter[0] >= 'A' && letter[0] <= 'Z'; }

// ------------------------------------------------------------ value readers
// Each reads one JSON value at `path`, reports what is wrong with it, and
// returns nothing if it is unusable.

std::optional<std::string> ReadString(const Json& value, const std::string& path, Problems& problems,
                                      bool non_empty = true) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected a string, got ", Kind(value)));
    return std::nullopt;
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (non_empty && text.empty()) {
    problems.Add(path, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> ReadBool(const Json& value, const std::string& path, Problems& problems) {
  if (!value.is_boolean()) {
    problems.Add(path, absl::StrCat("expected true or false, got ", Kind(value)));
    return std::nullopt;
  }
  return value.get<bool>();
}

// A JSON integer in min..max. Floating-point numbers are rejected, never
// converted.
std::optional<int64_t> ReadInteger(const Json& value, const std::string& path, Problems& problems,
                                   int64_t min, int64_t max) {
  if (!value.is_number_integer()) {
    problems.Add(path, absl::StrCat("expected an integer, got ", Kind(value)));
    return std::nullopt;
  }
  auto out_of_range = [&](const auto& number, bool below) {
    if (max != kInt64Max) {
      problems.Add(path, absl::StrCat(number, " is not in ", min, "..", max));
    } else if (!below) {
      problems.Add(path, absl::StrCat(number, " does not fit in 64 bits"));
    } else if (min == 0) {
      problems.Add(path, absl::StrCat(number, " is negative"));
    } else {
      problems.Add(path, absl::StrCat(number, " is less than ", min));
    }
    return std::nullopt;
  };
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(max)) return out_of_range(number, false);
    if (min > 0 && number < static_cast<uint64_t>(min)) return out_of_range(number, true);
    return static_cast<int64_t>(number);
  }
  int64_t number = value.get<int64_t>();
  if (number < min || number > max) return out_of_range(number, number < min);
  return number;
}

// Points: a non-negative JSON integer.
std::optional<Points> ReadPoints(const Json& value, const std::string& path, Problems& problems) {
  auto number = ReadInteger(value, path, problems, 0, kInt64Max);
  if (!number) return std::nullopt;
  return Points(*number);
}

// A rate: a decimal string, never a JSON number.
std::optional<Rate> ReadRate(const Json& value, const std::string& path, Problems& problems) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected a decimal string such as \"1.5\", got ", Kind(value)));
    return std::nullopt;
  }
  auto rate = Rate::Parse(value.get_ref<const std::string&>());
  if (!rate.ok()) {
    problems.Add(path, rate.status().message());
    return std::nullopt;
  }
  return *rate;
}

// A non-negative amount of `currency` as a decimal string.
std::optional<Money> ReadMoney(const Json& value, const std::string& path, Problems& problems,
                               const Currency& currency) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected an amount as a decimal string such as \"25.99\", got ", Kind(value)));
    return std::nullopt;
  }
  const std::string& text = value.get_ref<const std::string&>();
  auto money = Money::Parse(text, currency);
  if (!money.ok()) {
    problems.Add(path, money.status().message());
    return std::nullopt;
  }
  if (money->minor_units() < 0) {
    problems.Add(path, absl::StrCat(Quote(text), " is negative"));
    return std::nullopt;
  }
  return *money;
}

std::optional<Instant> ReadInstant(const Json& value, const std::string& path, Problems& problems) {
  auto text = ReadString(value, path, problems);
  if (!text) return std::nullopt;
  auto instant = Instant::Parse(*text);
  if (!instant.ok()) {
    problems.Add(path, instant.status().message());
    return std::nullopt;
  }
  return *instant;
}

std::optional<Date> ReadDate(const Json& value, const std::string& path, Problems& problems) {
  auto text = ReadString(value, path, problems);
  if (!text) return std::nullopt;
  auto date = Date::Parse(*text);
  if (!date.ok()) {
    problems.Add(path, date.status().message());
    return std::nullopt;
  }
  return *date;
}

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

// Checks a word against an optional rule; returns the reason it fails, or "".
using WordCheck = std::string (*)(absl::string_view word);

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

// An array of non-empty strings, each passing `check` if given; with
// `unique`, a string listed twice is a problem. Returns the good strings
// even when some are reported, so that later checks still see them, and
// their paths in `paths` if given.
std::optional<std::vector<std::string>> ReadStrings(const Json& value, const std::string& path, Problems& problems,
                                                    WordCheck check = nullptr, bool unique = false,
                                                    std::vector<std::string>* paths = nullptr) {
  if (!value.is_array()) {
    problems.Add(path, absl::StrCat("expected an array of strings, got ", Kind(value)));
    return std::nullopt;
  }
  std::vector<std::string> words;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = Element(path, i);
    auto word = ReadString(value[i], at, problems);
    if (!word) continue;
    if (check != nullptr) {
      if (std::string reason = check(*word); !reason.empty()) {
        problems.Add(at, reason);
        continue;
      }
    }
    if (unique && Contains(words, *word)) {
      problems.Add(at, absl::StrCat(Quote(*word), " is listed twice"));
      continue;
    }
    words.push_back(*std::move(word));
    if (paths != nullptr) paths->push_back(std::move(at));
  }
  return words;
}

// An object of rates by key ({"J": "1.5"}); keys pass `check` if given.
std::optional<std::map<std::string, Rate>> ReadRates(const Json& value, const std::string& path,
                                                     Problems& problems, WordCheck check = nullptr) {
  if (!value.is_object()) {
    problems.Add(path, absl::StrCat("expected an object of decimal strings, got ", Kind(value)));
    return std::nullopt;
  }
  std::map<std::string, Rate> rates;
  bool ok = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    std::string at = Member(path, it.key());
    if (it.key().empty()) {
      problems.Add(at, "the key must not be empty");
      ok = false;
      continue;
    }
    if (check != nullptr) {
      if (std::string reason = check(it.key()); !reason.empty()) {
        problems.Add(at, reason);
        ok = false;
        continue;
      }
    }
    auto rate = ReadRate(it.value(), at, problems);
    if (!rate) {
      ok = false;
      continue;
    }
    rates.emplace(it.key(), *rate);
  }
  if (!ok) return std::nullopt;
  return rates;
}

// The members of one JSON object: reports unknown ones when constructed,
// missing required ones when asked for. If the value is not an object, that
// is reported once and every getter returns nothing.
class Fields {
 public:
  Fields(const Json& value, std::string path, Problems& problems, std::initializer_list<absl::string_view> known)
      : object_(value.is_object() ? &value : nullptr), path_(std::move(path)), problems_(problems) {
    if (object_ == nullptr) {
      problems_.Add(path_, absl::StrCat("expected an object, got ", Kind(value)));
      return;
    }
    for (auto it = object_->begin(); it != object_->end(); ++it) {
      if (!Contains(known, it.key())) problems_.Add(PathOf(it.key()), "unknown field");
    }
  }

  bool ok() const { return object_ != nullptr; }
  const std::string& path() const { return path_; }
  std::string PathOf(absl::string_view key) const { return Member(path_, key); }
  bool Has(absl::string_view key) const { return object_ != nullptr && object_->contains(std::string(key)); }

  // The value of `key`, or nullptr if absent (a problem if required).
  const Json* Get(absl::string_view key, Need need = kOptional) const {
    if (object_ == nullptr) return nullptr;
    auto it = object_->find(std::string(key));
    if (it == object_->end()) {
      if (need == kRequired) problems_.Add(PathOf(key), "required field is missing");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> String(absl::string_view key, Need need = kOptional, bool non_empty = true) const {
    const Json* value = Get(key, need);
    return value ? ReadString(*value, PathOf(key), problems_, non_empty) : std::nullopt;
  }
  std::optional<bool> Bool(absl::string_view key) const {
    const Json* value = Get(key);
    return value ? ReadBool(*value, PathOf(key), problems_) : std::nullopt;
  }
  std::optional<int64_t> Integer(absl::string_view key, int64_t min, int64_t max, Need need = kOptional) const {
    const Json* value = Get(key, need);
    return value ? ReadInteger(*value, PathOf(key), problems_, min, max) : std::nullopt;
  }
  std::optional<Points> PointsField(absl::string_view key, Need need = kOptional) const {
    const Json* value = Get(key, need);
    return value ? ReadPoints(*value, PathOf(key), problems_) : std::nullopt;
  }
  std::optional<Rate> RateField(absl::string_view key, Need need = kOptional) const {
    const Json* value = Get(key, need);
    return value ? ReadRate(*value, PathOf(key), problems_) : std::nullopt;
  }
  std::optional<Instant> InstantField(absl::string_view key, Need need = kOptional) const {
    const Json* value = Get(key, need);
    return value ? ReadInstant(*value, PathOf(key), problems_) : std::nullopt;
  }
  std::optional<Date> DateField(absl::string_view key) const {
    const Json* value = Get(key);
    return value ? ReadDate(*value, PathOf(key), problems_) : std::nullopt;
  }
  std::optional<std::vector<std::string>> Strings(absl::string_view key, WordCheck check = nullptr,
                                                  bool unique = false,
                                                  std::vector<std::string>* paths = nullptr) const {
    const Json* value = Get(key);
    return value ? ReadStrings(*value, PathOf(key), problems_, check, unique, paths) : std::nullopt;
  }
  std::optional<std::map<std::string, Rate>> Rates(absl::string_view key, WordCheck check = nullptr) const {
    const Json* value = Get(key);
    return value ? ReadRates(*value, PathOf(key), problems_, check) : std::nullopt;
  }
  // The elements of an array field, or none (a problem if it is not an array).
  const Json* Array(absl::string_view key) const {
    const Json* value = Get(key);
    if (value != nullptr && !value->is_array()) {
      problems_.Add(PathOf(key), absl::StrCat("expected an array, got ", Kind(*value)));
      return nullptr;
    }
    return value;
  }

 private:
  const Json* object_;
  std::string path_;
  Problems& problems_;
};

// ------------------------------------------------------------ accrual

AccrualCondition ReadCondition(const Json& value, const std::string& path, Problems& problems,
                               const std::optional<Currency>& currency) {
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
      {"member_tiers", &when.member_tiers, nullptr},  // tiers are not declared yet: any name
  };
  for (const ListField& list : lists) {
    if (auto words = f.Strings(list.key, list.check)) *list.target = *std::move(words);
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
                                                  "multiplier"};
constexpr AccrualEffect::Kind kEffectKinds[] = {AccrualEffect::Kind::kPerMoney, AccrualEffect::Kind::kPerDistance,
                                                AccrualEffect::Kind::kPerTicketPrice, AccrualEffect::Kind::kFixed,
                                                AccrualEffect::Kind::kMultiplier};

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
  }
  return false;
}

// The references of one rule, resolved once the whole version is read.
struct RuleRefs {
  std::string path;                                        // accrual[i]
  bool multiplier = false;
  std::vector<std::pair<std::string, std::string>> bases;  // rule id, path of the reference
  std::optional<std::string> balance;                      // as written
};

AccrualEffect ReadEffect(const Json& value, const std::string& path, Problems& problems, RuleRefs& refs) {
  AccrualEffect effect;
  Fields f(value, path, problems,
           {"kind", "rate", "rounding", "booking_class_rates", "tier_rates", "minimum", "fixed", "base_rules",
            "balance", "tier_bonus"});
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
  if (auto tier_rates = f.Rates("tier_rates")) effect.tier_rates = *std::move(tier_rates);
  if (auto minimum = f.PointsField("minimum")) effect.minimum = *minimum;
  if (auto fixed = f.PointsField("fixed")) effect.fixed = *fixed;
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
                                "base_rules", "tier_bonus"}) {
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
  }
  return effect;
}

AccrualCap ReadCap(const Json& value, const std::string& path, Problems& problems) {
  AccrualCap cap;
  Fields f(value, path, problems, {"per_activity", "per_member_day", "per_member_month", "per_campaign", "max_uses"});
  cap.per_activity = f.PointsField("per_activity");
  cap.per_member_day = f.PointsField("per_member_day");
  cap.per_member_month = f.PointsField("per_member_month");
  cap.per_campaign = f.PointsField("per_campaign");
  cap.max_uses = f.Integer("max_uses", 0, kInt64Max);
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
  if (const Json* when = f.Get("when")) rule.when = ReadCondition(*when, f.PathOf("when"), problems, currency);
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
  std::vector<Color> color(rules.size(), kUnseen);
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

// ------------------------------------------------------------ rewards, expiry, grandfathering

// `partners`: the version's partners section, or nullptr if it has none.
Redemption ReadRedemption(const Json& value, const std::string& path, Problems& problems,
                          const std::optional<Currency>& currency, const std::vector<Partner>* partners) {
  Redemption redemption;
  Fields f(value, path, problems, {"airport_regions", "award_chart", "catalog", "pay_with_points"});

  absl::flat_hash_set<std::string> regions;
  if (const Json* airports = f.Get("airport_regions")) {
    std::string at = f.PathOf("airport_regions");
    if (!airports->is_object()) {
      problems.Add(at, absl::StrCat("expected an object of airport code to region, got ", Kind(*airports)));
    } else {
      for (auto it = airports->begin(); it != airports->end(); ++it) {
        std::string airport_path = Member(at, it.key());
        if (!IsAirportCode(it.key())) problems.Add(airport_path, CheckAirport(it.key()));
        if (auto region = ReadString(it.value(), airport_path, problems)) {
          regions.insert(*region);
          redemption.airport_regions.emplace(it.key(), *region);
        }
      }
    }
  }

  // Reward ids already taken, with the path that took them.
  absl::flat_hash_map<std::string, std::string> reward_paths;
  if (const Json* chart = f.Array("award_chart")) {
    for (size_t i = 0; i < chart->size(); ++i) {
      std::string row_path = Element(f.PathOf("award_chart"), i);
      Fields r((*chart)[i], row_path, problems, {"from_region", "to_region", "cabin", "round_trip", "price"});
      AwardChartRow row;
      bool ok = r.ok();
      for (auto [key, target] : {std::pair<absl::string_view, std::string*>{"from_region", &row.from_region},
                                 std::pair<absl::string_view, std::string*>{"to_region", &row.to_region}}) {
        auto region = r.String(key, kRequired);
        if (!region) {
          ok = false;
        } else if (!regions.contains(*region)) {
          problems.Add(r.PathOf(key),
                       absl::StrCat(Quote(*region), " is not a region of any airport in airport_regions"));
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
      if (!ok) continue;
      std::string id = AwardRewardId(row);
      if (auto [it, inserted] = reward_paths.emplace(id, row_path); !inserted) {
        problems.Add(row_path, absl::StrCat("the reward ", Quote(id), " is also priced by ", it->second));
        continue;
      }
      redemption.award_chart.push_back(std::move(row));
    }
  }

  if (const Json* catalog = f.Array("catalog")) {
    for (size_t i = 0; i < catalog->size(); ++i) {
      std::string item_path = Element(f.PathOf("catalog"), i);
      Fields c((*catalog)[i], item_path, problems, {"id", "name", "price", "cash", "partner"});
      CatalogItem item;
      bool ok = c.ok();
      if (auto id = c.String("id", kRequired)) {
        if (auto [it, inserted] = reward_paths.emplace(*id, item_path); !inserted) {
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
        if (partners == nullptr) {
          problems.Add(c.PathOf("partner"), absl::StrCat(Quote(*partner), " names a partner, but the version has no partners"));
          ok = false;
        } else if (std::none_of(partners->begin(), partners->end(), [&](const Partner& p) { return p.id == *partner; })) {
          problems.Add(c.PathOf("partner"), absl::StrCat(Quote(*partner), " is not one of the version's partners"));
          ok = false;
        }
        item.partner = *partner;
      }
      if (ok) redemption.catalog.push_back(std::move(item));
    }
  }

  if (const Json* pay = f.Get("pay_with_points")) {
    Fields p(*pay, f.PathOf("pay_with_points"), problems, {"value_per_point", "minimum_points", "step_points"});
    PayWithPoints terms;
    if (auto value_per_point = p.RateField("value_per_point", kRequired)) {
      if (value_per_point->mantissa() == 0) problems.Add(p.PathOf("value_per_point"), "must be greater than 0");
      terms.value_per_point = *value_per_point;
    }
    if (auto minimum = p.PointsField("minimum_points")) terms.minimum_points = *minimum;
    if (auto step = p.Integer("step_points", 1, kInt64Max)) terms.step_points = Points(*step);
    if (p.ok()) redemption.pay_with_points = terms;
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
        problems.Add(Member(at, it.key()), absl::StrCat(Quote(it.key()), " is not one of the version's counters"));
        continue;
      }
      if (auto minimum = ReadPoints(*it, Member(at, it.key()), problems)) read.minimums[it.key()] = *minimum;
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
      int64_t one = 1;  // 10^scale: the mantissa of 1 at this scale
      for (int i = 0; i < discount->scale(); ++i) one *= 10;
      if (discount->mantissa() >= one) {
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
        problems.Add(Member(at, "id"), absl::StrCat(Quote(tier.id), " is the id of an earlier tier"));
      }
      ladder.tiers.push_back(std::move(tier));
    }
    if (tiers->empty()) problems.Add(f.PathOf("ladder"), "must list at least one tier");
  } else if (!f.Has("ladder")) {
    problems.Add(f.PathOf("ladder"), "required field is missing");
  }
  return ladder;
}

// ------------------------------------------------------------ versions

struct ReadResult {
  ProgramVersion version;
  bool has_currency = false;
  bool has_zone = false;
  bool has_effective_from = false;
};

ReadResult ReadVersion(const Json& value, const std::string& path, Problems& problems) {
  ReadResult result;
  ProgramVersion& v = result.version;
  Fields f(value, path, problems,
           {"id", "name", "currency", "time_zone", "announced_at", "effective_from", "redeemable_balance",
            "counters", "accrual", "redemption", "expiry", "grandfathering", "tiers", "partners"});
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
          problems.Add(Member(rule_refs.path, "id"),
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
  if (has_partners) {
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
  if (const Json* redemption = f.Get("redemption")) {
    v.redemption = ReadRedemption(*redemption, f.PathOf("redemption"), problems, currency,
                                  has_partners ? &v.partners : nullptr);
  }
  if (const Json* expiry = f.Get("expiry")) v.expiry = ReadExpiry(*expiry, f.PathOf("expiry"), problems);
  if (const Json* promise = f.Get("grandfathering")) {
    v.grandfathering = ReadGrandfathering(*promise, f.PathOf("grandfathering"), problems);
  }
  if (const Json* tiers = f.Get("tiers")) v.tiers = ReadTiers(*tiers, f.PathOf("tiers"), problems, v.counters);
  return result;
}

// Nesting deeper than any field of the format: duplicate keys down there
// are not looked for (the enclosing value is reported as unknown or of the
// wrong type anyway), which keeps the paths of hostile input short.
constexpr size_t kMaxCheckedDepth = 16;

// Parses `text` into a document, reporting malformed JSON (with the parser's
// position) or, for a document that parses, every duplicate key: a later
// value would silently replace the earlier one.
std::optional<Json> ParseDocument(absl::string_view text, Problems& problems) {
  struct Frame {
    std::string path;  // empty below kMaxCheckedDepth
    bool is_array = false;
    size_t next_index = 0;
    std::string key;
    absl::flat_hash_set<std::string> keys;
  };
  std::vector<Frame> frames;
  Problems duplicates;
  auto child_path = [&]() -> std::string {
    if (frames.empty() || frames.size() >= kMaxCheckedDepth) return "";
    const Frame& top = frames.back();
    return top.is_array ? Element(top.path, top.next_index) : Member(top.path, top.key);
  };
  auto value_done = [&] {
    if (!frames.empty() && frames.back().is_array) ++frames.back().next_index;
  };
  Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: {
        Frame frame;
        frame.path = child_path();
        frame.is_array = event == Json::parse_event_t::array_start;
        frames.push_back(std::move(frame));
        break;
      }
      case Json::parse_event_t::key: {
        if (frames.size() > kMaxCheckedDepth) break;
        Frame& top = frames.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) duplicates.Add(Member(top.path, top.key), "duplicate key");
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames.pop_back();
        value_done();
        break;
      case Json::parse_event_t::value: value_done(); break;
    }
    return true;
  };
  try {
    Json document = Json::parse(text.begin(), text.end(), callback);
    problems.Append(duplicates);
    return document;
  } catch (const Json::parse_error& error) {
    absl::string_view what = error.what();
    if (size_t end = what.find("] "); absl::StartsWith(what, "[json.exception.") && end != what.npos) {
      what.remove_prefix(end + 2);
    }
    problems.Add("", absl::StrCat("malformed JSON: ", what));
    return std::nullopt;
  }
}

// The status for an exception that escaped the loader's own checks.
absl::Status FromException(std::exception_ptr thrown) {
  try {
    std::rethrow_exception(thrown);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("out of memory while loading a program");
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("(root): ", error.what()));
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("program loader: ", error.what()));
  } catch (...) {
    return absl::InternalError("program loader: unknown exception");
  }
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
        problems.Add(Member(path, "id"),
                     absl::StrCat(Quote(v.id), " is also the id of ", Element("versions", it->second)));
      }
    }
    if (i == 0) continue;
    const ReadResult& before = results[i - 1];
    const ReadResult& first = results[0];
    if (results[i].has_effective_from && before.has_effective_from &&
        v.effective_from <= before.version.effective_from) {
      problems.Add(Member(path, "effective_from"),
                   absl::StrCat(v.effective_from.ToString(), " is not after ", Element("versions", i - 1),
                                ".effective_from ", before.version.effective_from.ToString()));
    }
    if (results[i].has_zone && first.has_zone && v.zone.name() != first.version.zone.name()) {
      problems.Add(Member(path, "time_zone"), absl::StrCat(Quote(v.zone.name()), " differs from versions[0].time_zone ",
                                                           Quote(first.version.zone.name())));
    }
    if (results[i].has_currency && first.has_currency && v.currency != first.version.currency) {
      problems.Add(Member(path, "currency"),
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
    return FromException(std::current_exception());
  }
}

absl::StatusOr<Program> ParseProgram(absl::string_view json_text) {
  try {
    return ParseProgramOrThrow(json_text);
  } catch (...) {
    return FromException(std::current_exception());
  }
}

absl::StatusOr<Program> LoadProgramFile(const std::string& path) {
  try {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open program file ", path));
    std::string text;
    char buffer[1 << 16];
    size_t read;
    while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, read);
    int error = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
    std::fclose(file);
    if (error != 0) return absl::ErrnoToStatus(error, absl::StrCat("cannot read program file ", path));
    auto program = ParseProgramOrThrow(text);
    if (program.ok() || program.status().code() != absl::StatusCode::kInvalidArgument) return program;
    std::vector<std::string> lines = absl::StrSplit(program.status().message(), '\n');
    for (std::string& line : lines) line = absl::StrCat(path, ": ", line);
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  } catch (...) {
    return FromException(std::current_exception());
  }
}

}  // namespace loyalty
