// Exact value types: points, money in minor units with its ISO-4217 currency,
// decimal rates, rounding modes and the member id.
//
// Nothing here uses binary floating point. Arithmetic that can overflow
// returns an error instead of wrapping; every conversion that loses digits
// takes an explicit rounding mode.
//
//   auto eur = Currency::FromCode("EUR");                 // exponent 2
//   auto basket = Money::Parse("25.99", *eur);            // 2599 minor units
//   auto rate = Rate::Parse("0.5");                       // 1 point per EUR 2
//   auto pts = ToPoints(*basket, *rate, Rounding::kDown); // 12 points
//
// Thread safety: all types are immutable values; share them freely.
#ifndef LOYALTY_VALUE_H_
#define LOYALTY_VALUE_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loyalty {

// A SHA-256 digest: of a journal entry and its predecessor, of a command,
// of a program version's definition.
using Sha256 = std::array<uint8_t, 32>;
// Lowercase hex, 64 characters.
std::string ToHex(const Sha256& hash);

// How a division that does not come out even is rounded.
enum class Rounding {
  kDown,      // toward zero
  kUp,        // away from zero
  kHalfUp,    // to nearest, ties away from zero
  kHalfEven,  // to nearest, ties to the even neighbour (banker's rounding)
};

// "down", "up", "half_up", "half_even"; InvalidArgument for anything else.
absl::StatusOr<Rounding> ParseRounding(absl::string_view text);
absl::string_view RoundingName(Rounding rounding);

// A signed amount of points (or miles). Checked: Add and Subtract report
// overflow as OutOfRange and never wrap.
class Points {
 public:
  constexpr Points() = default;
  constexpr explicit Points(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }
  constexpr bool IsZero() const { return value_ == 0; }
  constexpr bool IsNegative() const { return value_ < 0; }

  friend constexpr auto operator<=>(Points, Points) = default;

  // Parses a decimal integer ("90000", "-15"); InvalidArgument names the text.
  static absl::StatusOr<Points> Parse(absl::string_view text);
  std::string ToString() const { return std::to_string(value_); }

 private:
  int64_t value_ = 0;
};

// a + b, or OutOfRange on overflow.
inline absl::StatusOr<Points> Add(Points a, Points b) {
  int64_t sum;
  if (__builtin_add_overflow(a.value(), b.value(), &sum)) {
    return absl::OutOfRangeError("points overflow: " + a.ToString() + " + " + b.ToString());
  }
  return Points(sum);
}

// a - b, or OutOfRange on overflow.
inline absl::StatusOr<Points> Subtract(Points a, Points b) {
  int64_t difference;
  if (__builtin_sub_overflow(a.value(), b.value(), &difference)) {
    return absl::OutOfRangeError("points overflow: " + a.ToString() + " - " + b.ToString());
  }
  return Points(difference);
}

// An ISO-4217 currency: its three-letter code and the number of digits of its
// minor unit (EUR 2, JPY 0, BHD 3).
class Currency {
 public:
  // NotFound-style InvalidArgument for a code that is not in the ISO-4217
  // table this library carries.
  static absl::StatusOr<Currency> FromCode(absl::string_view code);

  absl::string_view code() const { return absl::string_view(code_.data(), 3); }
  int exponent() const { return exponent_; }
  friend bool operator==(const Currency&, const Currency&) = default;

 private:
  Currency(std::array<char, 3> code, int8_t exponent) : code_(code), exponent_(exponent) {}
  std::array<char, 3> code_;
  int8_t exponent_;
};

// An amount of money in integer minor units of its currency.
class Money {
 public:
  Money(int64_t minor_units, Currency currency) : minor_units_(minor_units), currency_(currency) {}

  // Parses "25.99" in the given currency. At most currency.exponent()
  // fraction digits are accepted (more would need rounding, which parsing
  // never does); InvalidArgument names the text and the reason.
  static absl::StatusOr<Money> Parse(absl::string_view amount, Currency currency);

  int64_t minor_units() const { return minor_units_; }
  const Currency& currency() const { return currency_; }
  friend bool operator==(const Money&, const Money&) = default;

  // "25.99 EUR".
  std::string ToString() const;

 private:
  int64_t minor_units_;
  Currency currency_;
};

// a + b: InvalidArgument if the currencies differ, OutOfRange on overflow.
absl::StatusOr<Money> Add(const Money& a, const Money& b);
// a - b: InvalidArgument if the currencies differ, OutOfRange on overflow.
absl::StatusOr<Money> Subtract(const Money& a, const Money& b);

// An exact non-negative decimal: mantissa / 10^scale, with at most 18
// significant digits and at most 18 fraction digits.
class Rate {
 public:
  static constexpr int kMaxScale = 18;

  // Parses plain decimal text: "0.5", "1.25", "0.01", "3". Signs, exponents,
  // grouping and decimal commas are rejected with InvalidArgument naming the
  // text ("1,5" is not a decimal).
  static absl::StatusOr<Rate> Parse(absl::string_view text);
  // mantissa / 10^scale; InvalidArgument if negative or scale out of range.
  static absl::StatusOr<Rate> FromParts(int64_t mantissa, int scale);

  int64_t mantissa() const { return mantissa_; }
  int scale() const { return scale_; }
  // Canonical text, trailing zeros removed: "0.5", "1.25", "3".
  std::string ToString() const;

  // Equal in value (0.50 == 0.5).
  friend bool operator==(const Rate& a, const Rate& b);

 private:
  Rate(int64_t mantissa, int scale) : mantissa_(mantissa), scale_(scale) {}
  int64_t mantissa_;
  int scale_;
};

// Whether `rate` is a share in (0, 1]: an expected redemption rate.
bool IsShare(const Rate& rate);

// money (in major units) x rate, rounded as asked: the points earned on a
// basket. OutOfRange if the result does not fit in 64 bits.
absl::StatusOr<Points> ToPoints(const Money& money, const Rate& rate, Rounding rounding);
// points x rate, rounded as asked: a multiplier or percentage of a base.
absl::StatusOr<Points> Scale(Points points, const Rate& rate, Rounding rounding);
// points x rate (major units per point), rounded to the currency's minor
// unit as asked: the money value of points paid at the till.
absl::StatusOr<Money> ToMoney(Points points, const Rate& rate_per_point, Currency currency,
                              Rounding rounding);

// A 128-bit integer for intermediate products that can exceed 64 bits.
__extension__ typedef __int128 Int128;

// 10^exponent. Precondition: 0 <= exponent <= 38 (what an Int128 holds).
Int128 PowerOfTen(int exponent);

// numerator / denominator rounded as asked. Precondition: denominator > 0.
Int128 DivideRounded(Int128 numerator, Int128 denominator, Rounding rounding);

// The pseudonymous id under which the host application knows a member:
// 1 to 64 printable ASCII characters, no spaces.
class MemberId {
 public:
  MemberId() = default;
  // InvalidArgument naming the text if it is not a valid id.
  static absl::StatusOr<MemberId> Parse(absl::string_view text);
  // Precondition (checked): text is a valid id. For ids already validated.
  static MemberId FromValid(absl::string_view text);

  const std::string& value() const { return value_; }
  friend auto operator<=>(const MemberId&, const MemberId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const MemberId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  explicit MemberId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// numerator / denominator, exactly. Invariant: denominator > 0.
struct Fraction {
  Int128 numerator = 0;
  Int128 denominator = 1;

  // The value rounded to an integer as asked.
  Int128 Rounded(Rounding rounding) const { return DivideRounded(numerator, denominator, rounding); }
  // Decimal text with `digits` (0..18) fraction digits, rounded as asked:
  // "1885714.29".
  std::string ToDecimal(int digits, Rounding rounding = Rounding::kHalfEven) const;
};

}  // namespace loyalty

#endif  // LOYALTY_VALUE_H_
