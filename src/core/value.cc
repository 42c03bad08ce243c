// Parsing, formatting and exact mixed arithmetic of the value types.
#include "loyalty/value.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/divider.h"
#include "loyalty/check.h"

namespace loyalty {
namespace {

struct CurrencyInfo {
  const char* code;
  int8_t exponent;
};

// ISO-4217 active codes with their minor-unit digits (the standard's list;
// codes whose minor unit is "N.A." such as XAU are left out).
constexpr CurrencyInfo kCurrencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2},
    {"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2},
    {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BRL", 2}, {"BSD", 2},
    {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHF", 2},
    {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2},
    {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2},
    {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2},
    {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2},
    {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2},
    {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2},
    {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2},
    {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2},
    {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2},
    {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2},
    {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2},
    {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2},
    {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2},
    {"UGX", 0}, {"USD", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XOF", 0},
    {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWL", 2},
};

constexpr Int128 Pow10(int n) {
  Int128 result = 1;
  for (int i = 0; i < n; ++i) result *= 10;
  return result;
}

// `value` as 64 bits, or OutOfRange "<what()> does not fit in 64 bits".
// `what` is called only on that failure path, so that a successful
// conversion builds no text.
template <typename What>
absl::StatusOr<int64_t> Narrow(Int128 value, What what) {
  if (value > std::numeric_limits<int64_t>::max() || value < std::numeric_limits<int64_t>::min()) {
    return absl::OutOfRangeError(absl::StrCat(what(), " does not fit in 64 bits"));
  }
  return static_cast<int64_t>(value);
}

// Parses "[-]digits[.digits]" into an integer scaled by 10^max_fraction.
// `allow_sign` controls whether a leading '-' is accepted.
absl::StatusOr<Int128> ParseScaled(absl::string_view text, int max_fraction, bool allow_sign,
                                     absl::string_view what) {
  auto bad = [&](absl::string_view reason) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not ", what, ": ", reason));
  };
  absl::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && rest.front() == '-' && allow_sign) {
    negative = true;
    rest.remove_prefix(1);
  }
  size_t dot = rest.find('.');
  absl::string_view whole = rest.substr(0, dot);
  absl::string_view fraction = dot == absl::string_view::npos ? "" : rest.substr(dot + 1);
  if (whole.empty()) return bad("no digits before the decimal point");
  if (dot != absl::string_view::npos && fraction.empty()) return bad("no digits after the decimal point");
  for (absl::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return bad(absl::StrCat("unexpected character '", absl::string_view(&c, 1), "'"));
      }
    }
  }
  if (static_cast<int>(fraction.size()) > max_fraction) {
    return bad(absl::StrCat("more than ", max_fraction, " digits after the decimal point"));
  }
  absl::string_view significant = whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
  if (significant.size() + fraction.size() > 19) return bad("too many digits");
  Int128 value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  for (char c : fraction) value = value * 10 + (c - '0');
  value *= Pow10(max_fraction - static_cast<int>(fraction.size()));
  return negative ? -value : value;
}

// Formats `value` / 10^scale with exactly `scale` fraction digits.
std::string FormatScaled(Int128 value, int scale) {
  bool negative = value < 0;
  __extension__ typedef unsigned __int128 UInt128;
  UInt128 magnitude = negative ? -static_cast<UInt128>(value) : static_cast<UInt128>(value);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  }
  return negative ? "-" + digits : digits;
}

}  // namespace

absl::StatusOr<Rounding> ParseRounding(absl::string_view text) {
  if (text == "down") return Rounding::kDown;
  if (text == "up") return Rounding::kUp;
  if (text == "half_up") return Rounding::kHalfUp;
  if (text == "half_even") return Rounding::kHalfEven;
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\" is not a rounding mode (down, up, half_up, half_even)"));
}

absl::string_view RoundingName(Rounding rounding) {
  switch (rounding) {
    case Rounding::kDown: return "down";
    case Rounding::kUp: return "up";
    case Rounding::kHalfUp: return "half_up";
    case Rounding::kHalfEven: return "half_even";
  }
  return "?";
}

Int128 DivideRounded(Int128 numerator, Int128 denominator, Rounding rounding) {
  LOYALTY_CHECK(denominator > 0);
  Int128 quotient = numerator / denominator;  // truncates toward zero
  Int128 remainder = numerator % denominator;
  if (remainder == 0) return quotient;
  Int128 away = numerator < 0 ? -1 : 1;
  Int128 twice = (remainder < 0 ? -remainder : remainder) * 2;
  switch (rounding) {
    case Rounding::kDown: return quotient;
    case Rounding::kUp: return quotient + away;
    case Rounding::kHalfUp: return twice >= denominator ? quotient + away : quotient;
    case Rounding::kHalfEven:
      if (twice > denominator) return quotient + away;
      if (twice < denominator) return quotient;
      return quotient % 2 == 0 ? quotient : quotient + away;
  }
  return quotient;
}

absl::StatusOr<Points> Points::Parse(absl::string_view text) {
  auto scaled = ParseScaled(text, 0, /*allow_sign=*/true, "a whole number of points");
  if (!scaled.ok()) return scaled.status();
  auto narrow = Narrow(*scaled, [&] { return absl::StrCat("points \"", text, "\""); });
  if (!narrow.ok()) return absl::InvalidArgumentError(narrow.status().message());
  return Points(*narrow);
}

absl::StatusOr<Currency> Currency::FromCode(absl::string_view code) {
  for (const CurrencyInfo& info : kCurrencies) {
    if (code == info.code) return Currency({info.code[0], info.code[1], info.code[2]}, info.exponent);
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", code, "\" is not an ISO-4217 currency code"));
}

absl::StatusOr<Money> Money::Parse(absl::string_view amount, Currency currency) {
  auto scaled = ParseScaled(amount, currency.exponent(), /*allow_sign=*/true,
                            absl::StrCat("an amount of ", currency.code()));
  if (!scaled.ok()) return scaled.status();
  auto narrow = Narrow(*scaled, [&] { return absl::StrCat("amount \"", amount, "\""); });
  if (!narrow.ok()) return absl::InvalidArgumentError(narrow.status().message());
  return Money(*narrow, currency);
}

std::string Money::ToString() const {
  return absl::StrCat(FormatScaled(minor_units_, currency_.exponent()), " ", currency_.code());
}

namespace {
absl::Status SameCurrency(const Money& a, const Money& b) {
  if (a.currency() == b.currency()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("currency mismatch: ", a.currency().code(), " and ", b.currency().code()));
}
}  // namespace

absl::StatusOr<Money> Add(const Money& a, const Money& b) {
  if (absl::Status same = SameCurrency(a, b); !same.ok()) return same;
  int64_t sum;
  if (__builtin_add_overflow(a.minor_units(), b.minor_units(), &sum)) {
    return absl::OutOfRangeError(absl::StrCat("money overflow: ", a.ToString(), " + ", b.ToString()));
  }
  return Money(sum, a.currency());
}

absl::StatusOr<Money> Subtract(const Money& a, const Money& b) {
  if (absl::Status same = SameCurrency(a, b); !same.ok()) return same;
  int64_t difference;
  if (__builtin_sub_overflow(a.minor_units(), b.minor_units(), &difference)) {
    return absl::OutOfRangeError(absl::StrCat("money overflow: ", a.ToString(), " - ", b.ToString()));
  }
  return Money(difference, a.currency());
}

absl::StatusOr<Rate> Rate::Parse(absl::string_view text) {
  auto scaled = ParseScaled(text, kMaxScale, /*allow_sign=*/false, "a decimal");
  if (!scaled.ok()) return scaled.status();
  // Drop trailing zeros so that the mantissa fits in 64 bits.
  Int128 mantissa = *scaled;
  int scale = kMaxScale;
  while (scale > 0 && mantissa % 10 == 0) {
    mantissa /= 10;
    --scale;
  }
  if (mantissa >= Pow10(18)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a decimal: more than 18 significant digits"));
  }
  return Rate(static_cast<int64_t>(mantissa), scale);
}

absl::StatusOr<Rate> Rate::FromParts(int64_t mantissa, int scale) {
  if (mantissa < 0) return absl::InvalidArgumentError(absl::StrCat("rate ", mantissa, " is negative"));
  if (scale < 0 || scale > kMaxScale) {
    return absl::InvalidArgumentError(absl::StrCat("rate scale ", scale, " is not in 0..", kMaxScale));
  }
  return Rate(mantissa, scale);
}

bool IsShare(const Rate& rate) { return rate.mantissa() > 0 && rate.mantissa() <= PowerOfTen(rate.scale()); }

Int128 PowerOfTen(int exponent) {
  LOYALTY_CHECK(exponent >= 0 && exponent <= 38);
  return Pow10(exponent);
}

std::string Rate::ToString() const {
  std::string text = FormatScaled(mantissa_, scale_);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

bool operator==(const Rate& a, const Rate& b) {
  int scale = std::max(a.scale_, b.scale_);
  return static_cast<Int128>(a.mantissa_) * Pow10(scale - a.scale_) ==
         static_cast<Int128>(b.mantissa_) * Pow10(scale - b.scale_);
}

absl::StatusOr<Points> ToPoints(const Money& money, const Rate& rate, Rounding rounding) {
  // |minor| < 2^63 and mantissa < 2^63, so the product fits in 127 bits.
  Int128 product = static_cast<Int128>(money.minor_units()) * rate.mantissa();
  Int128 result = DivideRounded(product, Pow10(money.currency().exponent() + rate.scale()), rounding);
  auto narrow = Narrow(result, [&] { return absl::StrCat("points for ", money.ToString(), " x ", rate.ToString()); });
  if (!narrow.ok()) return narrow.status();
  return Points(*narrow);
}

absl::StatusOr<Points> Scale(Points points, const Rate& rate, Rounding rounding) {
  Int128 product = static_cast<Int128>(points.value()) * rate.mantissa();
  Int128 result = DivideRounded(product, Pow10(rate.scale()), rounding);
  auto narrow = Narrow(result, [&] { return absl::StrCat("points ", points.ToString(), " x ", rate.ToString()); });
  if (!narrow.ok()) return narrow.status();
  return Points(*narrow);
}

absl::StatusOr<Money> ToMoney(Points points, const Rate& rate_per_point, Currency currency,
                              Rounding rounding) {
  Int128 product = static_cast<Int128>(points.value()) * rate_per_point.mantissa();
  int shift = currency.exponent() - rate_per_point.scale();
  Int128 result;
  if (shift < 0) {
    result = DivideRounded(product, Pow10(-shift), rounding);
  } else if (__builtin_mul_overflow(product, Pow10(shift), &result)) {
    return absl::OutOfRangeError(absl::StrCat("money for ", points.ToString(), " points overflows"));
  }
  auto narrow = Narrow(result, [&] {
    return absl::StrCat("money for ", points.ToString(), " points x ", rate_per_point.ToString());
  });
  if (!narrow.ok()) return narrow.status();
  return Money(*narrow, currency);
}

absl::StatusOr<MemberId> MemberId::Parse(absl::string_view text) {
  if (text.empty() || text.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("member id \"", text, "\" must have 1 to 64 characters"));
  }
  for (char c : text) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(
          "member id \"", text, "\" has a character that is not printable ASCII or is a space"));
    }
  }
  return MemberId(std::string(text));
}

MemberId MemberId::FromValid(absl::string_view text) {
  auto id = Parse(text);
  LOYALTY_CHECK(id.ok());
  return *std::move(id);
}

std::string Fraction::ToDecimal(int digits, Rounding rounding) const {
  LOYALTY_CHECK(digits >= 0 && digits <= 18 && denominator > 0);
  Int128 scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  Int128 scaled = DivideRounded(numerator * scale, denominator, rounding);
  bool negative = scaled < 0;
  internal::Uint128 magnitude = negative ? -static_cast<internal::Uint128>(scaled) : scaled;
  std::string text;
  do {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude > 0);
  if (digits > 0) {
    if (text.size() <= static_cast<size_t>(digits)) text.insert(0, static_cast<size_t>(digits) + 1 - text.size(), '0');
    text.insert(text.end() - digits, '.');
  }
  if (negative) text.insert(text.begin(), '-');
  return text;
}

std::string ToHex(const Sha256& hash) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

}  // namespace loyalty
