// Accrual rule evaluation: conditions, effects, caps, exclusive groups, and
// the attribution of a purchase's points to its lines (loyalty/accrual.h).
//
// This is a hot path (every basket at every till), so the evaluation keeps
// its working state in inline vectors, does the rate arithmetic here (the
// same exact products and roundings as ToPoints and Scale, without building
// an error text unless one is needed), and records each counted line's
// explanation as numbers (AccrualExplanation); FormulaText renders the text
// only when a caller asks for it. The rules themselves are checked once,
// when a Program is built (CheckAccrualRules), not on every call.
//
// EvaluateAccrual checks the activity, sorts the rules into priority order
// and runs an Evaluation over them: one function per step of a rule
// (eligible amount, effect by kind, caps, attribution, stacking), then the
// result.
#include "loyalty/accrual.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "loyalty/check.h"

namespace loyalty {
namespace {

__extension__ typedef unsigned __int128 UInt128;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

bool FitsInt64(Int128 value) { return value >= kInt64Min && value <= kInt64Max; }

// 10^0 .. 10^37 (a rate has at most 18 fraction digits, a currency a few).
struct Pow10Table {
  static constexpr int kSize = 38;
  Int128 value[kSize];
  constexpr Pow10Table() : value() {
    Int128 power = 1;
    for (int i = 0; i < kSize; ++i) {
      value[i] = power;
      if (i + 1 < kSize) power *= 10;
    }
  }
};
constexpr Pow10Table kPow10;

// value x rate / 10^exponent, rounded as asked: ToPoints (exponent = the
// currency's minor digits) and Scale (exponent 0). nullopt if the result does
// not fit in 64 bits. `exact` says whether no rounding was needed.
struct Product {
  int64_t value;
  bool exact;
};
std::optional<Product> MultiplyRate(int64_t value, const Rate& rate, int exponent, Rounding rounding) {
  int shift = rate.scale() + exponent;
  int64_t small_product;
  if (shift <= 18 && !__builtin_mul_overflow(value, rate.mantissa(), &small_product)) {
    // The common case, in 64 bits: the same rounding as DivideRounded.
    if (shift == 0) return Product{small_product, true};
    int64_t divisor = static_cast<int64_t>(kPow10.value[shift]);
    int64_t quotient = small_product / divisor;
    int64_t remainder = small_product % divisor;
    if (remainder == 0) return Product{quotient, true};
    int64_t away = small_product < 0 ? -1 : 1;
    uint64_t magnitude = remainder < 0 ? -static_cast<uint64_t>(remainder) : static_cast<uint64_t>(remainder);
    uint64_t twice = magnitude * 2;  // < 2 x 10^18, no overflow
    uint64_t unsigned_divisor = static_cast<uint64_t>(divisor);
    switch (rounding) {
      case Rounding::kDown: break;
      case Rounding::kUp: quotient += away; break;
      case Rounding::kHalfUp:
        if (twice >= unsigned_divisor) quotient += away;
        break;
      case Rounding::kHalfEven:
        if (twice > unsigned_divisor || (twice == unsigned_divisor && quotient % 2 != 0)) quotient += away;
        break;
    }
    return Product{quotient, false};
  }
  // |value| < 2^63 and mantissa < 2^63: the product fits in 127 bits.
  Int128 product = static_cast<Int128>(value) * rate.mantissa();
  Int128 result = product;
  bool exact = true;
  if (shift > 0) {
    Int128 divisor = kPow10.value[shift];
    exact = product % divisor == 0;
    result = exact ? product / divisor : DivideRounded(product, divisor, rounding);
  }
  if (!FitsInt64(result)) return std::nullopt;
  return Product{static_cast<int64_t>(result), exact};
}

// ---------------------------------------------------------------- text

absl::string_view RoundingFunction(Rounding rounding) {
  switch (rounding) {
    case Rounding::kDown: return "floor";  // the amounts here are never negative
    case Rounding::kUp: return "ceil";
    case Rounding::kHalfUp: return "round_half_up";
    case Rounding::kHalfEven: return "round_half_even";
  }
  return "round";
}

// ---------------------------------------------------------------- conditions

// Byte equality without a library call: the strings compared here (ids,
// categories, tiers) are short.
inline bool Equal(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

inline bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  for (const std::string& item : list) {
    if (Equal(item, value)) return true;
  }
  return false;
}

bool ContainsAny(const std::vector<std::string>& list, const std::vector<std::string>& values) {
  for (const std::string& value : values) {
    if (Contains(list, value)) return true;
  }
  return false;
}

bool HasIncludeFilters(const AccrualCondition& when) {
  return !when.include_categories.empty() || !when.include_skus.empty() || !when.include_tags.empty();
}

bool HasLineFilters(const AccrualCondition& when) {
  return HasIncludeFilters(when) || !when.exclude_categories.empty() || !when.exclude_skus.empty() ||
         !when.exclude_tags.empty();
}

bool LineEligible(const AccrualCondition& when, const PurchaseLine& line) {
  if (!when.include_categories.empty() && !Contains(when.include_categories, line.category)) return false;
  if (!when.include_skus.empty() && !Contains(when.include_skus, line.sku)) return false;
  if (!when.include_tags.empty() && !ContainsAny(when.include_tags, line.tags)) return false;
  if (Contains(when.exclude_categories, line.category)) return false;
  if (Contains(when.exclude_skus, line.sku)) return false;
  if (!when.exclude_tags.empty() && ContainsAny(when.exclude_tags, line.tags)) return false;
  return true;
}

// The activity, its kind resolved once.
struct ActivityView {
  absl::string_view type;
  const Purchase* purchase = nullptr;
  const FlightSegment* flight = nullptr;
  const CustomActivity* custom = nullptr;
};

// The local date of the activity, computed on first use. Activities come in
// runs on the same local day (a till, a replay), so each thread remembers
// the last day it converted: zone, first and last instant, date.
class LocalDay {
 public:
  LocalDay(const TimeZone& zone, Instant at) : zone_(zone), at_(at) {}
  Date date() {
    if (!date_.has_value()) date_ = Lookup();
    return *date_;
  }
  // 0 = Sunday .. 6 = Saturday; 1970-01-01 was a Thursday.
  int day_of_week() {
    int32_t days = date().days_since_epoch();
    return static_cast<int>(((days % 7) + 7 + 4) % 7);
  }

 private:
  struct Cached {
    std::string zone;
    Instant start = Instant::Max();  // empty until the first conversion
    Instant end = Instant::Min();
    Date date;
  };
  Date Lookup() const {
    thread_local Cached cached;
    if (cached.start <= at_ && at_ < cached.end && cached.zone == zone_.name()) return cached.date;
    Date date = zone_.LocalDate(at_);
    cached.zone = zone_.name();
    cached.start = zone_.StartOfDay(date);
    cached.end = zone_.StartOfDay(date.AddDays(1));
    cached.date = date;
    return date;
  }

  const TimeZone& zone_;
  Instant at_;
  std::optional<Date> date_;
};

// Every condition that does not depend on the purchase lines.
bool ConditionsHold(const AccrualCondition& when, const ActivityView& activity, const AccrualContext& context,
                    LocalDay& day) {
  if (!when.activity_types.empty() && !Contains(when.activity_types, activity.type)) return false;
  if (!when.custom_types.empty() && (activity.custom == nullptr || !Contains(when.custom_types, activity.custom->type))) {
    return false;
  }
  if (!when.partners.empty() || !when.channels.empty() || !when.stores.empty()) {
    const Purchase* purchase = activity.purchase;
    if (purchase == nullptr) return false;
    if (!when.partners.empty() && !Contains(when.partners, purchase->partner)) return false;
    if (!when.channels.empty() && !Contains(when.channels, purchase->channel)) return false;
    if (!when.stores.empty() && !Contains(when.stores, purchase->store)) return false;
  }
  if (activity.purchase == nullptr && HasIncludeFilters(when)) return false;  // no line to match
  if (!when.cabins.empty() || !when.booking_classes.empty() || !when.origins.empty() ||
      !when.destinations.empty()) {
    const FlightSegment* flight = activity.flight;
    if (flight == nullptr) return false;
    if (!when.cabins.empty() && !Contains(when.cabins, flight->cabin)) return false;
    if (!when.booking_classes.empty() && !Contains(when.booking_classes, flight->booking_class)) return false;
    if (!when.origins.empty() && !Contains(when.origins, flight->origin)) return false;
    if (!when.destinations.empty() && !Contains(when.destinations, flight->destination)) return false;
  }
  if (!when.member_tiers.empty() && !Contains(when.member_tiers, context.tier)) return false;
  if (when.first_activity_only && !context.first_activity) return false;
  if (when.from_date.has_value() && day.date() < *when.from_date) return false;
  if (when.until_date.has_value() && day.date() > *when.until_date) return false;
  if (!when.days_of_week.empty() &&
      std::find(when.days_of_week.begin(), when.days_of_week.end(), day.day_of_week()) == when.days_of_week.end()) {
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- input

absl::Status CurrencyError(absl::string_view field, const Money& money, const Currency& currency) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", money.currency().code(), " is not the program currency ", currency.code()));
}

// Checks a purchase and computes each line's amount (quantity x unit price).
absl::Status LineAmounts(const Purchase& purchase, const Currency& currency,
                         absl::InlinedVector<int64_t, 16>& amounts) {
  if (purchase.lines.empty()) return absl::InvalidArgumentError("lines: a purchase needs at least one line");
  amounts.resize(purchase.lines.size());
  for (size_t i = 0; i < purchase.lines.size(); ++i) {
    const PurchaseLine& line = purchase.lines[i];
    if (line.quantity < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("lines[", i, "].quantity: ", line.quantity, " is less than 1"));
    }
    if (!(line.unit_price.currency() == currency)) {
      return CurrencyError(absl::StrCat("lines[", i, "].unit_price"), line.unit_price, currency);
    }
    if (line.unit_price.minor_units() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("lines[", i, "].unit_price: ", line.unit_price.ToString(), " is negative"));
    }
    if (__builtin_mul_overflow(line.quantity, line.unit_price.minor_units(), &amounts[i])) {
      return absl::OutOfRangeError(absl::StrCat("lines[", i, "]: ", line.quantity, " x ",
                                                line.unit_price.ToString(), " does not fit in 64 bits"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMoney(absl::string_view field, const std::optional<Money>& money, const Currency& currency) {
  if (!money.has_value()) return absl::OkStatus();
  if (!(money->currency() == currency)) return CurrencyError(field, *money, currency);
  if (money->minor_units() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", money->ToString(), " is negative"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- evaluation state

constexpr int kRedeemable = -1;

// What one rule did, kept until the exclusive groups are settled; the
// formula is built from these inputs only for the rules that count.
struct RuleState {
  bool counted = false;      // applied and not beaten in its exclusive group
  int32_t balance = kRedeemable;  // or an index into version.counters
  int64_t desired = 0;
  int64_t granted = 0;
  int64_t input = 0;         // money: minor units; distance: miles; multiplier: base points
  int64_t before_minimum = 0;  // per distance
  const Rate* rate = nullptr;
  const std::string* label = nullptr;  // booking class or tier of the rate used
  bool exact = true;
  bool raised_to_minimum = false;
  int64_t unattributed = 0;  // purchases: the part of `granted` that belongs to no line
};

// A cap that bit rule `rule` (an index into version.accrual).
struct CapBite {
  int32_t rule;
  AccrualCapBite bite;
};

// Splits `total` over buckets in proportion to `weights` (the lines, then
// one extra bucket) by the largest-remainder method: every bucket gets the
// floor of its exact quota, and the points left over go one each to the
// buckets with the largest remainders, equal remainders to the lower index.
// Preconditions: total >= 0, weights >= 0, `sum` is the sum of the weights
// and the extra weight.
void Apportion(int64_t total, absl::Span<const int64_t> weights, int64_t extra_weight, int64_t sum,
               int64_t* shares, int64_t* extra_share) {
  const size_t n = weights.size();
  if (sum == 0 || total == 0) {
    for (size_t i = 0; i < n; ++i) shares[i] = 0;
    *extra_share = total;  // nothing to split by: it belongs to no line
    return;
  }
  constexpr size_t kInline = 32;
  int64_t inline_remainders[kInline + 1];
  std::vector<int64_t> heap_remainders;
  int64_t* remainders = inline_remainders;
  if (n > kInline) {
    heap_remainders.resize(n + 1);
    remainders = heap_remainders.data();
  }
  int64_t left = total;
  for (size_t i = 0; i <= n; ++i) {
    int64_t weight = i < n ? weights[i] : extra_weight;
    int64_t share;
    int64_t quota;
    if (weight == 0 || weight == sum) {  // most lines of a filtered rule; a rule on one line
      share = weight == 0 ? 0 : total;
      remainders[i] = 0;
    } else if (!__builtin_mul_overflow(total, weight, &quota)) {
      share = quota / sum;
      remainders[i] = quota % sum;
    } else {
      Int128 wide = static_cast<Int128>(total) * weight;
      share = static_cast<int64_t>(wide / sum);
      remainders[i] = static_cast<int64_t>(wide % sum);
    }
    (i < n ? shares[i] : *extra_share) = share;
    left -= share;
  }
  // 0 <= left < the number of buckets with a remainder. Hand out one point
  // at a time to the largest remainder, lowest index first; a handed-out
  // bucket's remainder is cleared. Baskets are short; for long ones, sort.
  if (left == 0) return;
  auto give = [&](size_t i) {
    ++(i < n ? shares[i] : *extra_share);
    remainders[i] = 0;
  };
  if (n <= kInline) {
    for (; left > 0; --left) {
      size_t best = 0;
      for (size_t i = 1; i <= n; ++i) {
        if (remainders[i] > remainders[best]) best = i;
      }
      give(best);
    }
    return;
  }
  std::vector<int32_t> order;
  for (size_t i = 0; i <= n; ++i) {
    if (remainders[i] > 0) order.push_back(static_cast<int32_t>(i));
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return remainders[a] > remainders[b]; });
  for (int64_t k = 0; k < left; ++k) give(static_cast<size_t>(order[static_cast<size_t>(k)]));
}

std::string RuleRef(size_t index, const AccrualRule& rule) {
  return absl::StrCat("accrual[", index, "] (rule \"", rule.id, "\")");
}

absl::Status ProductOverflow(size_t index, const AccrualRule& rule, absl::string_view what) {
  return absl::OutOfRangeError(
      absl::StrCat(RuleRef(index, rule), ": ", what, " does not fit in 64 bits"));
}

// The rule's balance: kRedeemable, an index into version.counters, or
// kUnknownBalance.
constexpr int32_t kUnknownBalance = -2;
int32_t ResolveBalance(const ProgramVersion& version, const AccrualRule& rule) {
  const std::string& balance = rule.effect.balance;
  if (balance.empty() || Equal(balance, version.redeemable_balance)) return kRedeemable;
  for (size_t c = 0; c < version.counters.size(); ++c) {
    if (Equal(version.counters[c], balance)) return static_cast<int32_t>(c);
  }
  return kUnknownBalance;
}

absl::Status UnknownBalance(const ProgramVersion& version, size_t index, const AccrualRule& rule) {
  return absl::InvalidArgumentError(absl::StrCat(
      RuleRef(index, rule), ".effect.balance: \"", rule.effect.balance, "\" is neither the redeemable balance \"",
      version.redeemable_balance, "\" nor a counter of version ", version.id));
}

// Text built in a stack buffer and copied once into its string (which stays
// inline for short ones such as "fixed 50"). Text longer than the buffer
// (long labels) continues in a heap string.
class TextBuilder {
 public:
  template <typename... Pieces>
  void Put(const Pieces&... pieces) {
    (PutOne(absl::string_view(pieces)), ...);
  }

  // "7,500", "-1,234,567".
  void PutGrouped(int64_t value) {
    Reserve(32);
    uint64_t magnitude = value < 0 ? -static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    char reversed[20];
    int n = 0;
    do {
      reversed[n++] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
      magnitude /= 10;
    } while (magnitude != 0);
    // A local cursor: stores through a char pointer could alias size_.
    char* out = buffer_ + size_;
    if (value < 0) *out++ = '-';
    for (int i = n - 1; i >= 0; --i) {
      *out++ = reversed[i];
      if (i > 0 && i % 3 == 0) *out++ = ',';
    }
    size_ = static_cast<size_t>(out - buffer_);
  }

  // value / 10^scale as plain decimal text: "25.99" (trim = false keeps
  // every fraction digit, as money prints), "0.5" and "3" (trim = true, as
  // rates print). Precondition: 0 <= scale <= 24.
  void PutDecimal(Int128 value, int scale, bool trim) {
    Reserve(64);
    UInt128 magnitude = value < 0 ? -static_cast<UInt128>(value) : static_cast<UInt128>(value);
    char reversed[48];
    int n = 0;
    while (magnitude > UINT64_MAX) {
      reversed[n++] = static_cast<char>('0' + static_cast<int>(magnitude % 10));
      magnitude /= 10;
    }
    uint64_t rest = static_cast<uint64_t>(magnitude);
    do {
      reversed[n++] = static_cast<char>('0' + static_cast<int>(rest % 10));
      rest /= 10;
    } while (rest != 0);
    while (n <= scale) reversed[n++] = '0';  // at least one digit before the point
    int fraction_end = 0;                    // reversed[fraction_end, scale) are printed
    if (trim) {
      while (fraction_end < scale && reversed[fraction_end] == '0') ++fraction_end;
    }
    char* out = buffer_ + size_;
    if (value < 0) *out++ = '-';
    for (int i = n - 1; i >= scale; --i) *out++ = reversed[i];
    if (fraction_end < scale) {
      *out++ = '.';
      for (int i = scale - 1; i >= fraction_end; --i) *out++ = reversed[i];
    }
    size_ = static_cast<size_t>(out - buffer_);
  }

  void PutRate(const Rate& rate) { PutDecimal(rate.mantissa(), rate.scale(), /*trim=*/true); }
  // The rate as a percentage: 1.5 -> "150", 0.255 -> "25.5".
  void PutPercent(const Rate& rate) {
    if (rate.scale() >= 2) {
      PutDecimal(rate.mantissa(), rate.scale() - 2, /*trim=*/true);
    } else {
      PutDecimal(static_cast<Int128>(rate.mantissa()) * kPow10.value[2 - rate.scale()], 0, /*trim=*/true);
    }
  }
  // "25.99 EUR".
  void PutMoney(int64_t minor_units, const Currency& currency) {
    PutDecimal(minor_units, currency.exponent(), /*trim=*/false);
    Put(" ", currency.code());
  }

  std::string Take() {
    if (spill_.empty()) return std::string(buffer_, size_);
    spill_.append(buffer_, size_);
    return std::move(spill_);
  }

 private:
  static constexpr size_t kCapacity = 192;

  void Spill() {
    spill_.append(buffer_, size_);
    size_ = 0;
  }
  void Reserve(size_t n) {
    if (kCapacity - size_ < n) Spill();
  }
  void PutOne(absl::string_view piece) {
    if (piece.size() > kCapacity - size_) {
      Spill();
      if (piece.size() > kCapacity) {
        spill_.append(piece.data(), piece.size());
        return;
      }
    }
    char* out = buffer_ + size_;  // pieces are a few bytes: a loop, no library call
    for (char c : piece) *out++ = c;
    size_ = static_cast<size_t>(out - buffer_);
  }

  char buffer_[kCapacity];
  size_t size_ = 0;
  std::string spill_;
};

// The numbers behind a counted rule's line, from its evaluation state and
// the caps that bit it.
void Explain(const AccrualEffect& effect, const RuleState& state, const Currency& currency,
             absl::Span<const CapBite> bites, int32_t index, AccrualExplanation& why) {
  why.kind = effect.kind;
  why.rounding = effect.rounding;
  why.exact = state.exact;
  why.product = Points(state.desired);
  if (state.rate != nullptr) why.rate = *state.rate;
  if (state.label != nullptr) why.rate_key = *state.label;
  switch (effect.kind) {
    case AccrualEffect::Kind::kPerMoney:
    case AccrualEffect::Kind::kPerTicketPrice:
      why.money = Money(state.input, currency);
      break;
    case AccrualEffect::Kind::kPerDistance:
      why.distance_miles = state.input;
      why.product = Points(state.before_minimum);
      if (state.raised_to_minimum) why.minimum = Points(state.desired);
      break;
    case AccrualEffect::Kind::kFixed:
      break;
    case AccrualEffect::Kind::kMultiplier:
      why.base_points = Points(state.input);
      break;
    case AccrualEffect::Kind::kPerUnit:
      why.units = state.input;
      why.base_points = effect.per_unit;
      break;
  }
  for (const CapBite& bite : bites) {
    if (bite.rule != index || why.cap_count == static_cast<int>(why.caps.size())) continue;
    why.caps[static_cast<size_t>(why.cap_count++)] = bite.bite;
  }
}

// ---------------------------------------------------------------- version checks

// The errors of CheckAccrualRules, also returned by an evaluation that meets
// them in a version that did not pass it.

// A min_eligible_amount in another currency than the version's.
absl::Status MinEligibleCurrencyError(size_t index, const AccrualRule& rule, const Currency& currency) {
  return CurrencyError(absl::StrCat(RuleRef(index, rule), ".when.min_eligible_amount"), *rule.when.min_eligible_amount,
                       currency);
}

// A kFixed effect with negative points.
absl::Status NegativeFixed(size_t index, const AccrualRule& rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(RuleRef(index, rule), ".effect.fixed: ", rule.effect.fixed.value(), " is negative"));
}

// A kPerDistance effect with a negative minimum.
absl::Status NegativeMinimum(size_t index, const AccrualRule& rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(RuleRef(index, rule), ".effect.minimum: ", rule.effect.minimum.value(), " is negative"));
}

// A kPerUnit effect with negative points.
absl::Status NegativePerUnit(size_t index, const AccrualRule& rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(RuleRef(index, rule), ".effect.points: ", rule.effect.per_unit.value(), " is negative"));
}

// ---------------------------------------------------------------- evaluation steps

// The activity with its kind resolved.
ActivityView ViewOf(const Activity& activity) {
  ActivityView view;
  view.type = ActivityTypeName(activity);
  view.purchase = std::get_if<Purchase>(&activity.detail);
  view.flight = std::get_if<FlightSegment>(&activity.detail);
  view.custom = std::get_if<CustomActivity>(&activity.detail);
  return view;
}

// Checks the activity, first error only: a purchase's lines (their amounts
// go into `line_amounts`), a flight's distance then ticket price, a custom
// activity's amount.
absl::Status CheckActivity(const ActivityView& view, const Currency& currency,
                           absl::InlinedVector<int64_t, 16>& line_amounts) {
  if (view.purchase != nullptr) return LineAmounts(*view.purchase, currency, line_amounts);
  if (view.flight != nullptr) {
    if (view.flight->distance_miles < 0) {
      return absl::InvalidArgumentError(absl::StrCat("distance_miles: ", view.flight->distance_miles, " is negative"));
    }
    return CheckMoney("ticket_price", view.flight->ticket_price, currency);
  }
  return CheckMoney("amount", view.custom->amount, currency);
}

// Sorts `order` (the rule indices) into evaluation order: lower priority
// first, then version order. Versions are usually written in priority order,
// so a sorted one is left as is; a few dozen rules take an insertion sort,
// which is stable and needs no buffer.
void SortByPriority(const std::vector<AccrualRule>& rules, absl::InlinedVector<int32_t, 32>& order) {
  for (size_t i = 0; i < rules.size(); ++i) order[i] = static_cast<int32_t>(i);
  auto by_priority = [&](int32_t a, int32_t b) { return rules[a].priority < rules[b].priority; };
  if (std::is_sorted(order.begin(), order.end(), by_priority)) return;
  if (order.size() > 64) {
    std::stable_sort(order.begin(), order.end(), by_priority);
    return;
  }
  for (size_t i = 1; i < order.size(); ++i) {
    int32_t moving = order[i];
    size_t j = i;
    for (; j > 0 && by_priority(moving, order[j - 1]); --j) order[j] = order[j - 1];
    order[j] = moving;
  }
}

// The member's use of the rule, asked for only when one of its caps or
// max_uses needs it (the callback may read a store).
RuleUsage UsageOf(const AccrualRule& rule, const AccrualContext& context) {
  const AccrualCap& cap = rule.cap;
  if (cap.per_member_day.has_value() || cap.per_member_month.has_value() || cap.per_campaign.has_value() ||
      cap.budget.has_value() || cap.max_uses.has_value()) {
    return context.usage(rule.id);
  }
  return RuleUsage();
}

// What a rule's effect is computed from and its attribution needs.
struct RuleBasis {
  bool all_lines = true;    // a purchase rule without line filters: every line is eligible
  bool has_amount = false;  // the activity has an eligible amount
  int64_t amount = 0;       // the eligible amount in minor units
  int64_t base_extra = 0;   // a multiplier on a purchase: the unattributed part of its base
  int64_t units = 0;        // per unit: the units of the eligible lines
};

// One evaluation of a version's rules against one checked activity: the
// working state of every rule until the exclusive groups are settled. It is
// inline for up to 32 rules and 16 lines, so a small basket allocates
// nothing, and used through raw pointers (an inline vector's operator[]
// tests where its data lives). Not copyable: the pointers point into it.
class Evaluation {
 public:
  Evaluation(const ProgramVersion& version, const ActivityView& view, const AccrualContext& context,
             absl::Span<const int64_t> line_amounts)
      : version_(version),
        rules_(version.accrual),
        currency_(version.currency),
        view_(view),
        context_(context),
        line_amount_(line_amounts.data()),
        n_(line_amounts.size()),
        states_storage_(rules_.size()),
        shares_storage_(view.purchase != nullptr ? rules_.size() * n_ : 0),
        eligible_storage_(n_),
        weights_storage_(n_),
        states_(states_storage_.data()),
        shares_(shares_storage_.data()),
        eligible_(eligible_storage_.data()),
        weights_(weights_storage_.data()),
        day_(version.zone, context.at) {}
  Evaluation(const Evaluation&) = delete;
  Evaluation& operator=(const Evaluation&) = delete;

  absl::Status EvaluateRule(int32_t index);
  absl::StatusOr<AccrualResult> Result(absl::Span<const int32_t> order) const;

 private:
  absl::Status FindEligible(size_t idx, const AccrualRule& rule, RuleBasis& basis, bool& applies);
  absl::Status BasketTotal(int64_t& total);
  absl::Status ApplyEffect(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state, bool& applies);
  absl::Status PerMoney(size_t idx, const AccrualRule& rule, const RuleBasis& basis, RuleState& state, bool& applies);
  absl::Status PerDistance(size_t idx, const AccrualRule& rule, RuleState& state, bool& applies);
  absl::Status PerTicketPrice(size_t idx, const AccrualRule& rule, const RuleBasis& basis, RuleState& state,
                              bool& applies);
  absl::Status Fixed(size_t idx, const AccrualRule& rule, RuleState& state, bool& applies);
  absl::Status PerUnit(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state, bool& applies);
  absl::Status Multiplier(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state, bool& applies);
  absl::Status MultiplierBase(size_t idx, const AccrualRule& rule, const RuleBasis& basis, Int128& base,
                              Int128& extra, bool& any);
  int64_t ApplyCaps(int32_t index, const AccrualCap& cap, const RuleUsage& usage, int64_t desired);
  void Attribute(size_t idx, AccrualEffect::Kind kind, const RuleBasis& basis, RuleState& state);
  void Stack(int32_t index, const AccrualRule& rule, RuleState& state);
  absl::Status AddLine(int32_t index, AccrualResult& result, int64_t& redeemable, int64_t& unattributed,
                       absl::Span<int64_t> counter_totals) const;

  const ProgramVersion& version_;
  const std::vector<AccrualRule>& rules_;
  const Currency& currency_;
  const ActivityView& view_;
  const AccrualContext& context_;
  const int64_t* const line_amount_;  // quantity x unit price of each purchase line
  const size_t n_;                    // the purchase lines; 0 unless a purchase
  absl::InlinedVector<RuleState, 32> states_storage_;
  absl::InlinedVector<int64_t, 128> shares_storage_;
  absl::InlinedVector<char, 16> eligible_storage_;
  absl::InlinedVector<int64_t, 16> weights_storage_;
  RuleState* const states_;  // [rule]
  int64_t* const shares_;    // [rule * n_ + line]: the points of the rule attributed to each line
  char* const eligible_;     // [line]: the rule being evaluated may use it (with line filters)
  int64_t* const weights_;   // [line]: the attribution weights of the rule being evaluated
  absl::InlinedVector<CapBite, 8> bites_;
  absl::InlinedVector<std::pair<absl::string_view, int32_t>, 8> group_leaders_;  // group -> rule index
  std::optional<int64_t> basket_total_;  // every line, for rules without line filters
  LocalDay day_;
};

// Evaluates rule `index`, after every rule before it in priority order: its
// conditions, eligible amount, max_uses, effect, caps, attribution and its
// place in its exclusive group. A rule that does not apply is left as it
// was: not counted.
absl::Status Evaluation::EvaluateRule(int32_t index) {
  const size_t idx = static_cast<size_t>(index);
  const AccrualRule& rule = rules_[idx];
  RuleState& state = states_[idx];
  // The balance picks the total the rule's line adds to; an unknown one (a
  // version that did not pass CheckAccrualRules) is an error, not an index.
  state.balance = ResolveBalance(version_, rule);
  if (state.balance == kUnknownBalance) return UnknownBalance(version_, idx, rule);
  if (!ConditionsHold(rule.when, view_, context_, day_)) return absl::OkStatus();

  RuleBasis basis;
  bool applies = false;
  if (absl::Status status = FindEligible(idx, rule, basis, applies); !status.ok() || !applies) return status;
  const std::optional<Money>& minimum = rule.when.min_eligible_amount;
  if (minimum.has_value() && (!basis.has_amount || basis.amount < minimum->minor_units())) return absl::OkStatus();
  const RuleUsage usage = UsageOf(rule, context_);
  if (rule.cap.max_uses.has_value() && usage.uses >= *rule.cap.max_uses) return absl::OkStatus();

  applies = false;
  if (absl::Status status = ApplyEffect(idx, rule, basis, state, applies); !status.ok() || !applies) return status;
  state.granted = ApplyCaps(index, rule.cap, usage, state.desired);
  state.counted = true;
  Attribute(idx, rule.effect.kind, basis, state);
  Stack(index, rule, state);
  return absl::OkStatus();
}

// The rule's eligible amount: a purchase's eligible lines (marked in
// eligible_ when the rule filters lines; no eligible line: the rule does not
// apply), a flight's ticket price, a custom activity's amount.
absl::Status Evaluation::FindEligible(size_t idx, const AccrualRule& rule, RuleBasis& basis, bool& applies) {
  applies = true;
  if (view_.purchase == nullptr) {
    if (view_.flight != nullptr && view_.flight->ticket_price.has_value()) {
      basis.has_amount = true;
      basis.amount = view_.flight->ticket_price->minor_units();
    } else if (view_.custom != nullptr && view_.custom->amount.has_value()) {
      basis.has_amount = true;
      basis.amount = view_.custom->amount->minor_units();
    }
    return absl::OkStatus();
  }
  basis.has_amount = true;
  if (!HasLineFilters(rule.when)) return BasketTotal(basis.amount);
  basis.all_lines = false;
  bool any = false;
  const std::vector<PurchaseLine>& lines = view_.purchase->lines;
  int64_t amount = 0;
  for (size_t i = 0; i < n_; ++i) {
    eligible_[i] = LineEligible(rule.when, lines[i]);
    if (!eligible_[i]) continue;
    any = true;
    if (__builtin_add_overflow(amount, line_amount_[i], &amount)) {
      return ProductOverflow(idx, rule, "the eligible amount");
    }
  }
  basis.amount = amount;
  applies = any;
  return absl::OkStatus();
}

// The sum of every line's amount, added up for the first rule that needs it.
absl::Status Evaluation::BasketTotal(int64_t& total) {
  if (!basket_total_.has_value()) {
    int64_t sum = 0;
    for (size_t i = 0; i < n_; ++i) {
      if (__builtin_add_overflow(sum, line_amount_[i], &sum)) {
        return absl::OutOfRangeError("lines: the basket total does not fit in 64 bits");
      }
    }
    basket_total_ = sum;
  }
  total = *basket_total_;
  return absl::OkStatus();
}

// The rule's points before caps (state.desired) and the numbers that
// explain them, by the effect's kind; `applies` false if the kind has
// nothing to work on (no amount, no rate for the booking class, no base).
absl::Status Evaluation::ApplyEffect(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state,
                                     bool& applies) {
  switch (rule.effect.kind) {
    case AccrualEffect::Kind::kPerMoney: return PerMoney(idx, rule, basis, state, applies);
    case AccrualEffect::Kind::kPerDistance: return PerDistance(idx, rule, state, applies);
    case AccrualEffect::Kind::kPerTicketPrice: return PerTicketPrice(idx, rule, basis, state, applies);
    case AccrualEffect::Kind::kFixed: return Fixed(idx, rule, state, applies);
    case AccrualEffect::Kind::kMultiplier: return Multiplier(idx, rule, basis, state, applies);
    case AccrualEffect::Kind::kPerUnit: return PerUnit(idx, rule, basis, state, applies);
  }
  return absl::OkStatus();
}

// The eligible amount in major units x rate.
absl::Status Evaluation::PerMoney(size_t idx, const AccrualRule& rule, const RuleBasis& basis, RuleState& state,
                                  bool& applies) {
  if (!basis.has_amount) return absl::OkStatus();
  const AccrualEffect& effect = rule.effect;
  std::optional<Product> product = MultiplyRate(basis.amount, effect.rate, currency_.exponent(), effect.rounding);
  if (!product.has_value()) {
    return ProductOverflow(idx, rule, absl::StrCat("points for ", Money(basis.amount, currency_).ToString(), " x ",
                                                   effect.rate.ToString()));
  }
  state.input = basis.amount;
  state.rate = &effect.rate;
  state.exact = product->exact;
  state.desired = product->value;
  applies = true;
  return absl::OkStatus();
}

// Distance x the booking class's rate, at least the minimum; a class
// without a rate earns nothing from the rule. A negative minimum (a version
// that did not pass CheckAccrualRules) is the error CheckAccrualRules gives.
absl::Status Evaluation::PerDistance(size_t idx, const AccrualRule& rule, RuleState& state, bool& applies) {
  if (view_.flight == nullptr) return absl::OkStatus();
  const AccrualEffect& effect = rule.effect;
  auto rate = effect.booking_class_rates.find(view_.flight->booking_class);
  if (rate == effect.booking_class_rates.end()) return absl::OkStatus();
  if (effect.minimum.IsNegative()) return NegativeMinimum(idx, rule);
  const int64_t distance = view_.flight->distance_miles;
  std::optional<Product> product = MultiplyRate(distance, rate->second, 0, effect.rounding);
  if (!product.has_value()) {
    return ProductOverflow(idx, rule, absl::StrCat("miles for ", distance, " mi x ", rate->second.ToString()));
  }
  state.input = distance;
  state.rate = &rate->second;
  state.label = &rate->first;
  state.exact = product->exact;
  state.before_minimum = product->value;
  state.raised_to_minimum = product->value < effect.minimum.value();
  state.desired = std::max(product->value, effect.minimum.value());
  applies = true;
  return absl::OkStatus();
}

// The ticket price in major units x the member tier's rate, else the rule's.
absl::Status Evaluation::PerTicketPrice(size_t idx, const AccrualRule& rule, const RuleBasis& basis,
                                        RuleState& state, bool& applies) {
  if (view_.flight == nullptr || !view_.flight->ticket_price.has_value()) return absl::OkStatus();
  const AccrualEffect& effect = rule.effect;
  const Rate* rate = &effect.rate;
  if (auto tier = effect.tier_rates.find(context_.tier); tier != effect.tier_rates.end()) {
    rate = &tier->second;
    state.label = &tier->first;
  }
  std::optional<Product> product = MultiplyRate(basis.amount, *rate, currency_.exponent(), effect.rounding);
  if (!product.has_value()) {
    return ProductOverflow(idx, rule, absl::StrCat("points for ", view_.flight->ticket_price->ToString(), " x ",
                                                   rate->ToString()));
  }
  state.input = basis.amount;
  state.rate = rate;
  state.exact = product->exact;
  state.desired = product->value;
  applies = true;
  return absl::OkStatus();
}

// Points per unit x the units of the eligible lines, which it leaves in
// basis.units and weights_ (by line) to attribute by. A negative amount (a
// version that did not pass CheckAccrualRules) is the error it gives.
absl::Status Evaluation::PerUnit(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state,
                                 bool& applies) {
  if (view_.purchase == nullptr) return absl::OkStatus();
  if (rule.effect.per_unit.IsNegative()) return NegativePerUnit(idx, rule);
  const std::vector<PurchaseLine>& lines = view_.purchase->lines;
  int64_t units = 0;
  for (size_t i = 0; i < n_; ++i) {
    weights_[i] = basis.all_lines || eligible_[i] ? lines[i].quantity : 0;
    if (__builtin_add_overflow(units, weights_[i], &units)) return ProductOverflow(idx, rule, "the eligible units");
  }
  if (units == 0) return absl::OkStatus();
  int64_t points = 0;
  if (__builtin_mul_overflow(units, rule.effect.per_unit.value(), &points)) {
    return ProductOverflow(idx, rule, absl::StrCat("points for ", units, " units x ", rule.effect.per_unit.value()));
  }
  basis.units = units;
  state.input = units;
  state.exact = true;
  state.desired = points;
  applies = true;
  return absl::OkStatus();
}

// The fixed points. A negative amount (a version that did not pass
// CheckAccrualRules) is the error CheckAccrualRules gives.
absl::Status Evaluation::Fixed(size_t idx, const AccrualRule& rule, RuleState& state, bool& applies) {
  if (rule.effect.fixed.IsNegative()) return NegativeFixed(idx, rule);
  state.desired = rule.effect.fixed.value();
  applies = true;
  return absl::OkStatus();
}

// Rate (or the member tier's earn bonus) x the granted points of the base
// rules that counted so far; on a purchase it also leaves in weights_ the
// base's points on each of the rule's eligible lines, to split by.
absl::Status Evaluation::Multiplier(size_t idx, const AccrualRule& rule, RuleBasis& basis, RuleState& state,
                                    bool& applies) {
  const AccrualEffect& effect = rule.effect;
  bool any = false;
  Int128 base = 0;
  Int128 extra = 0;
  if (absl::Status status = MultiplierBase(idx, rule, basis, base, extra, any); !status.ok() || !any) return status;
  const Rate* rate = &effect.rate;
  if (effect.tier_bonus) {
    if (!context_.tier_bonus.has_value()) return absl::OkStatus();
    rate = &*context_.tier_bonus;
    state.label = &context_.tier;
  }
  if (!FitsInt64(base)) return ProductOverflow(idx, rule, "the multiplier's base");
  basis.base_extra = static_cast<int64_t>(extra);
  std::optional<Product> product = MultiplyRate(static_cast<int64_t>(base), *rate, 0, effect.rounding);
  if (!product.has_value()) {
    return ProductOverflow(idx, rule, absl::StrCat("points ", static_cast<int64_t>(base), " x ", rate->ToString()));
  }
  state.input = static_cast<int64_t>(base);
  state.rate = rate;
  state.exact = product->exact;
  state.desired = product->value;
  applies = true;
  return absl::OkStatus();
}

// The multiplier's base: the granted points of each listed rule (once,
// however often it is listed) that counted so far; on a purchase, only
// their shares on the multiplier's eligible lines (into weights_), plus
// their unattributed points (into `extra`) if it has no line filters.
// `any` says whether a listed rule counted.
absl::Status Evaluation::MultiplierBase(size_t idx, const AccrualRule& rule, const RuleBasis& basis, Int128& base,
                                        Int128& extra, bool& any) {
  const std::vector<std::string>& base_rules = rule.effect.base_rules;
  std::fill(weights_, weights_ + n_, 0);
  for (auto listed = base_rules.begin(); listed != base_rules.end(); ++listed) {
    if (std::find(base_rules.begin(), listed, *listed) != listed) continue;  // listed twice
    for (size_t j = 0; j < rules_.size(); ++j) {
      if (!states_[j].counted || !Equal(rules_[j].id, *listed)) continue;
      any = true;
      if (view_.purchase == nullptr) {
        base += states_[j].granted;
        continue;
      }
      const int64_t* base_shares = &shares_[j * n_];
      for (size_t i = 0; i < n_; ++i) {
        if (!basis.all_lines && !eligible_[i]) continue;
        if (__builtin_add_overflow(weights_[i], base_shares[i], &weights_[i])) {
          return ProductOverflow(idx, rule, "the multiplier's base");
        }
        base += base_shares[i];
      }
      if (basis.all_lines) {
        extra += states_[j].unattributed;
        base += states_[j].unattributed;
      }
    }
  }
  return absl::OkStatus();
}

// The caps in their documented order, each against what is left of it
// (never below zero); each cap that bites is kept for the explanation.
// Returns the granted points.
int64_t Evaluation::ApplyCaps(int32_t index, const AccrualCap& cap, const RuleUsage& usage, int64_t desired) {
  int64_t granted = desired;
  auto apply_cap = [&](AccrualCapKind kind, const std::optional<Points>& limit, Points used) {
    if (!limit.has_value()) return;
    Int128 left = static_cast<Int128>(limit->value()) - used.value();
    if (left < 0) left = 0;
    if (granted <= left) return;
    bites_.push_back(
        CapBite{index, AccrualCapBite{kind, *limit, used, Points(granted), Points(static_cast<int64_t>(left))}});
    granted = static_cast<int64_t>(left);
  };
  apply_cap(AccrualCapKind::kPerActivity, cap.per_activity, Points(0));
  apply_cap(AccrualCapKind::kPerMemberDay, cap.per_member_day, usage.day);
  apply_cap(AccrualCapKind::kPerMemberMonth, cap.per_member_month, usage.month);
  apply_cap(AccrualCapKind::kPerCampaign, cap.per_campaign, usage.campaign);
  apply_cap(AccrualCapKind::kBudget, cap.budget, usage.budget);
  return granted;
}

// Splits a purchase rule's granted points over the purchase lines: a
// per-money rule's by its eligible lines' amounts, a multiplier's by its
// base's points on them (weights_, from MultiplierBase). Every other
// effect's points, and every other activity's, belong to no line.
void Evaluation::Attribute(size_t idx, AccrualEffect::Kind kind, const RuleBasis& basis, RuleState& state) {
  if (view_.purchase == nullptr) {
    state.unattributed = state.granted;
    return;
  }
  int64_t* rule_shares = &shares_[idx * n_];
  const absl::Span<const int64_t> weights(weights_, n_);
  if (kind == AccrualEffect::Kind::kPerMoney) {
    for (size_t i = 0; i < n_; ++i) weights_[i] = basis.all_lines || eligible_[i] ? line_amount_[i] : 0;
    Apportion(state.granted, weights, 0, basis.amount, rule_shares, &state.unattributed);
  } else if (kind == AccrualEffect::Kind::kMultiplier) {
    Apportion(state.granted, weights, basis.base_extra, state.input, rule_shares, &state.unattributed);
  } else if (kind == AccrualEffect::Kind::kPerUnit) {
    Apportion(state.granted, weights, 0, basis.units, rule_shares, &state.unattributed);
  } else {
    state.unattributed = state.granted;
  }
}

// Stacking: an exclusive group keeps the rule with the most granted points
// so far (the earlier one on a tie); the rule it beats stops counting.
void Evaluation::Stack(int32_t index, const AccrualRule& rule, RuleState& state) {
  if (rule.exclusive_group.empty()) return;
  auto leader = std::find_if(group_leaders_.begin(), group_leaders_.end(),
                             [&](const auto& entry) { return Equal(entry.first, rule.exclusive_group); });
  if (leader == group_leaders_.end()) {
    group_leaders_.emplace_back(rule.exclusive_group, index);
  } else if (state.granted > states_[static_cast<size_t>(leader->second)].granted) {
    states_[static_cast<size_t>(leader->second)].counted = false;
    leader->second = index;
  } else {
    state.counted = false;
  }
}

// The result: a line per counted rule in priority order, the redeemable and
// counter totals, and each purchase line's share of the redeemable points.
absl::StatusOr<AccrualResult> Evaluation::Result(absl::Span<const int32_t> order) const {
  AccrualResult result;
  result.version_id = version_.id;
  size_t counted = 0;
  for (const RuleState& state : states_storage_) counted += state.counted ? 1 : 0;
  result.lines.reserve(counted);
  if (view_.purchase != nullptr) result.per_line.resize(n_);
  absl::InlinedVector<int64_t, 8> counter_totals(version_.counters.size());
  int64_t redeemable = 0;
  int64_t unattributed = 0;
  for (int32_t index : order) {
    if (!states_[static_cast<size_t>(index)].counted) continue;
    if (absl::Status status = AddLine(index, result, redeemable, unattributed, absl::MakeSpan(counter_totals));
        !status.ok()) {
      return status;
    }
  }
  result.redeemable = Points(redeemable);
  result.unattributed = Points(unattributed);
  for (size_t c = 0; c < counter_totals.size(); ++c) {
    if (counter_totals[c] == 0) continue;
    result.counters.push_back(CounterDelta{version_.counters[c], Points(counter_totals[c])});
  }
  std::sort(result.counters.begin(), result.counters.end(),
            [](const CounterDelta& a, const CounterDelta& b) { return a.counter < b.counter; });
  return result;
}

// Adds a counted rule's line to the result and its points to its balance's
// total: a counter's, or the redeemable one with its attribution.
absl::Status Evaluation::AddLine(int32_t index, AccrualResult& result, int64_t& redeemable, int64_t& unattributed,
                                 absl::Span<int64_t> counter_totals) const {
  const size_t idx = static_cast<size_t>(index);
  const RuleState& state = states_[idx];
  const AccrualRule& rule = rules_[idx];
  const std::string& balance = state.balance == kRedeemable ? version_.redeemable_balance
                                                            : version_.counters[static_cast<size_t>(state.balance)];
  // Braces, not emplace_back's parentheses: clang before 16 cannot
  // construct an aggregate from a parenthesized list.
  AccrualLine& line =
      result.lines.emplace_back(AccrualLine{rule.id, balance, Points(state.desired), Points(state.granted), {}});
  Explain(rule.effect, state, currency_, bites_, index, line.explanation);
  if (state.balance != kRedeemable) {
    int64_t& total = counter_totals[static_cast<size_t>(state.balance)];
    if (__builtin_add_overflow(total, state.granted, &total)) {
      return absl::OutOfRangeError(absl::StrCat("counter ", balance, ": the total does not fit in 64 bits"));
    }
    return absl::OkStatus();
  }
  if (__builtin_add_overflow(redeemable, state.granted, &redeemable)) {
    return absl::OutOfRangeError(absl::StrCat(version_.redeemable_balance, ": the total does not fit in 64 bits"));
  }
  // Each rule's shares sum to its granted points, all non-negative, so no
  // partial sum exceeds the redeemable total checked above.
  unattributed += state.unattributed;
  if (view_.purchase != nullptr) {
    const int64_t* rule_shares = &shares_[idx * n_];
    for (size_t i = 0; i < n_; ++i) result.per_line[i] = Points(result.per_line[i].value() + rule_shares[i]);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckAccrualRules(const ProgramVersion& version) {
  for (size_t i = 0; i < version.accrual.size(); ++i) {
    const AccrualRule& rule = version.accrual[i];
    if (ResolveBalance(version, rule) == kUnknownBalance) return UnknownBalance(version, i, rule);
    if (rule.when.min_eligible_amount.has_value() && !(rule.when.min_eligible_amount->currency() == version.currency)) {
      return MinEligibleCurrencyError(i, rule, version.currency);
    }
    if (rule.effect.kind == AccrualEffect::Kind::kFixed && rule.effect.fixed.IsNegative()) {
      return NegativeFixed(i, rule);
    }
    if (rule.effect.kind == AccrualEffect::Kind::kPerDistance && rule.effect.minimum.IsNegative()) {
      return NegativeMinimum(i, rule);
    }
    if (rule.effect.kind == AccrualEffect::Kind::kPerUnit && rule.effect.per_unit.IsNegative()) {
      return NegativePerUnit(i, rule);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AccrualResult> EvaluateAccrual(const ProgramVersion& version, const Activity& activity,
                                              const AccrualContext& context) {
  const ActivityView view = ViewOf(activity);
  absl::InlinedVector<int64_t, 16> line_amounts;
  if (absl::Status status = CheckActivity(view, version.currency, line_amounts); !status.ok()) return status;
  absl::InlinedVector<int32_t, 32> order(version.accrual.size());
  SortByPriority(version.accrual, order);
  Evaluation evaluation(version, view, context, line_amounts);
  for (int32_t index : order) {
    if (absl::Status status = evaluation.EvaluateRule(index); !status.ok()) return status;
  }
  return evaluation.Result(order);
}

absl::string_view AccrualCapName(AccrualCapKind kind) {
  switch (kind) {
    case AccrualCapKind::kNone: return "none";
    case AccrualCapKind::kPerActivity: return "per_activity";
    case AccrualCapKind::kPerMemberDay: return "per_member_day";
    case AccrualCapKind::kPerMemberMonth: return "per_member_month";
    case AccrualCapKind::kPerCampaign: return "per_campaign";
    case AccrualCapKind::kBudget: return "budget";
  }
  return "cap";
}

std::string FormulaText(const AccrualLine& line) {
  const AccrualExplanation& why = line.explanation;
  TextBuilder text;
  // "floor(...)" around the product unless it was exact; kFixed never rounds.
  const bool rounded = !why.exact && why.kind != AccrualEffect::Kind::kFixed;
  if (rounded) text.Put(RoundingFunction(why.rounding), "(");
  switch (why.kind) {
    case AccrualEffect::Kind::kPerMoney:
    case AccrualEffect::Kind::kPerTicketPrice:
      if (why.money.has_value()) text.PutMoney(why.money->minor_units(), why.money->currency());
      text.Put(" x ");
      if (why.rate.has_value()) text.PutRate(*why.rate);
      if (why.rate_key.has_value()) text.Put(" (", *why.rate_key, ")");
      break;
    case AccrualEffect::Kind::kPerDistance:
      text.PutGrouped(why.distance_miles);
      text.Put(" mi x ");
      if (why.rate.has_value()) text.PutPercent(*why.rate);
      text.Put(" % (", why.rate_key.has_value() ? absl::string_view(*why.rate_key) : absl::string_view(), ")");
      break;
    case AccrualEffect::Kind::kFixed:
      text.Put("fixed ");
      break;
    case AccrualEffect::Kind::kMultiplier:
      text.PutGrouped(why.base_points.value());
      text.Put(" x ");
      if (why.rate.has_value()) text.PutRate(*why.rate);
      break;
    case AccrualEffect::Kind::kPerUnit:
      text.PutGrouped(why.units);
      text.Put(why.units == 1 ? " unit x " : " units x ");
      text.PutGrouped(why.base_points.value());
      break;
  }
  if (rounded) text.Put(")");
  if (why.kind != AccrualEffect::Kind::kFixed) text.Put(" = ");
  text.PutGrouped(why.product.value());
  if (why.minimum.has_value()) {
    text.Put(" < minimum ");
    text.PutGrouped(why.minimum->value());
  }
  for (int i = 0; i < why.cap_count && i < static_cast<int>(why.caps.size()); ++i) {
    const AccrualCapBite& bite = why.caps[static_cast<size_t>(i)];
    text.Put("; cap ", AccrualCapName(bite.kind), " ");
    text.PutGrouped(bite.limit.value());
    if (!bite.used.IsZero()) {
      text.Put(" (");
      text.PutGrouped(bite.used.value());
      text.Put(" used)");
    }
    text.Put(" bites: ");
    text.PutGrouped(bite.before.value());
    text.Put(" -> ");
    text.PutGrouped(bite.after.value());
    if (bite.kind == AccrualCapKind::kBudget && bite.after.IsZero()) text.Put(", budget used up");
  }
  return text.Take();
}

std::vector<uint32_t> EligibleLines(const ProgramVersion& version, const AccrualCondition& when,
                                    const Activity& activity, const AccrualContext& context) {
  const ActivityView view = ViewOf(activity);
  LocalDay day(version.zone, context.at);
  if (view.purchase == nullptr || !ConditionsHold(when, view, context, day)) return {};
  std::vector<uint32_t> lines;
  int64_t amount = 0;
  for (size_t i = 0; i < view.purchase->lines.size(); ++i) {
    const PurchaseLine& line = view.purchase->lines[i];
    if (!LineEligible(when, line)) continue;
    lines.push_back(static_cast<uint32_t>(i));
    int64_t line_amount = 0;
    LOYALTY_CHECK(!__builtin_mul_overflow(line.quantity, line.unit_price.minor_units(), &line_amount) &&
                  !__builtin_add_overflow(amount, line_amount, &amount));
  }
  if (when.min_eligible_amount.has_value() && amount < when.min_eligible_amount->minor_units()) return {};
  return lines;
}

}  // namespace loyalty
