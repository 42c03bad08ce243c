// Unit tests of the exact value types: Points, Currency, Money, Rate, the
// conversions between them with every rounding mode, and MemberId.
#include "loyalty/value.h"

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace loyalty {

// Readable values in failure messages (found by argument-dependent lookup).
void PrintTo(const Points& points, std::ostream* os) { *os << points.ToString(); }
void PrintTo(const Currency& currency, std::ostream* os) { *os << currency.code(); }
void PrintTo(const Money& money, std::ostream* os) { *os << money.ToString(); }
void PrintTo(const Rate& rate, std::ostream* os) {
  *os << rate.ToString() << " (" << rate.mantissa() << "e-" << rate.scale() << ")";
}
void PrintTo(const MemberId& id, std::ostream* os) { *os << '"' << id.value() << '"'; }
void PrintTo(Rounding rounding, std::ostream* os) { *os << RoundingName(rounding); }

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Currency Cur(absl::string_view code) {
  auto currency = Currency::FromCode(code);
  EXPECT_TRUE(currency.ok()) << currency.status();
  return *currency;
}

Money Eur(absl::string_view amount) {
  auto money = Money::Parse(amount, Cur("EUR"));
  EXPECT_TRUE(money.ok()) << money.status();
  return *money;
}

Rate R(absl::string_view text) {
  auto rate = Rate::Parse(text);
  EXPECT_TRUE(rate.ok()) << rate.status();
  return *rate;
}

// The points, or a sentinel that no expectation uses, so a failure shows.
int64_t PointsOf(const absl::StatusOr<Points>& points) {
  EXPECT_TRUE(points.ok()) << points.status();
  return points.ok() ? points->value() : -999999;
}

// Expects `status` to be `code` with `text` somewhere in its message.
template <typename T>
void ExpectError(const absl::StatusOr<T>& result, absl::StatusCode code, absl::string_view text) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), text))
      << "message \"" << result.status().message() << "\" does not contain \"" << text << "\"";
}

// ---------------------------------------------------------------- Points

TEST(PointsTest, AddWithinRange) {
  auto sum = Add(Points(500), Points(-120));
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->value(), 380);
  auto at_max = Add(Points(kMax - 1), Points(1));
  ASSERT_TRUE(at_max.ok());
  EXPECT_EQ(at_max->value(), kMax);
  auto at_min = Add(Points(kMin + 1), Points(-1));
  ASSERT_TRUE(at_min.ok());
  EXPECT_EQ(at_min->value(), kMin);
}

TEST(PointsTest, AddOverflowIsOutOfRange) {
  EXPECT_EQ(Add(Points(kMax), Points(1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Add(Points(kMin), Points(-1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Add(Points(kMax), Points(kMax)).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(PointsTest, SubtractWithinRange) {
  auto difference = Subtract(Points(100), Points(250));
  ASSERT_TRUE(difference.ok());
  EXPECT_EQ(difference->value(), -150);
  // -1 - (2^63 - 1) = -2^63, exactly INT64_MIN.
  auto at_min = Subtract(Points(-1), Points(kMax));
  ASSERT_TRUE(at_min.ok());
  EXPECT_EQ(at_min->value(), kMin);
}

TEST(PointsTest, SubtractOverflowIsOutOfRange) {
  EXPECT_EQ(Subtract(Points(kMin), Points(1)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Subtract(Points(kMax), Points(-1)).status().code(), absl::StatusCode::kOutOfRange);
  // 0 - (-2^63) = 2^63, one more than INT64_MAX.
  EXPECT_EQ(Subtract(Points(0), Points(kMin)).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(PointsTest, ParseGood) {
  EXPECT_EQ(PointsOf(Points::Parse("90000")), 90000);
  EXPECT_EQ(PointsOf(Points::Parse("-15")), -15);
  EXPECT_EQ(PointsOf(Points::Parse("0")), 0);
  EXPECT_EQ(PointsOf(Points::Parse("007")), 7);
  EXPECT_EQ(PointsOf(Points::Parse("9223372036854775807")), kMax);
  EXPECT_EQ(PointsOf(Points::Parse("-9223372036854775808")), kMin);
}

TEST(PointsTest, ParseBadNamesTheText) {
  for (absl::string_view bad : {"", "abc", "12a", "1.5", "1.0", "+5", "--1", "1 000", "1,000", "-",
                                " 5", "5 "}) {
    SCOPED_TRACE(bad);
    ExpectError(Points::Parse(bad), absl::StatusCode::kInvalidArgument,
                absl::StrCat("\"", bad, "\""));
  }
}

TEST(PointsTest, ParseOverflowFailsNamingTheText) {
  // 2^63 does not fit; whichever code is used, the text must be named.
  for (absl::string_view bad : {"9223372036854775808", "-9223372036854775809",
                                "99999999999999999999999"}) {
    SCOPED_TRACE(bad);
    auto parsed = Points::Parse(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), bad)) << parsed.status();
  }
}

TEST(PointsTest, ToStringAndPredicates) {
  EXPECT_EQ(Points(-15).ToString(), "-15");
  EXPECT_EQ(Points(90000).ToString(), "90000");
  EXPECT_TRUE(Points(0).IsZero());
  EXPECT_FALSE(Points(1).IsZero());
  EXPECT_TRUE(Points(-1).IsNegative());
  EXPECT_FALSE(Points(0).IsNegative());
  EXPECT_LT(Points(-1), Points(0));
}

// ---------------------------------------------------------------- Currency

TEST(CurrencyTest, KnownCodesAndExponents) {
  EXPECT_EQ(Cur("EUR").exponent(), 2);
  EXPECT_EQ(Cur("EUR").code(), "EUR");
  EXPECT_EQ(Cur("JPY").exponent(), 0);
  EXPECT_EQ(Cur("JPY").code(), "JPY");
  EXPECT_EQ(Cur("BHD").exponent(), 3);
  EXPECT_EQ(Cur("USD").exponent(), 2);
  EXPECT_EQ(Cur("EUR"), Cur("EUR"));
  EXPECT_FALSE(Cur("EUR") == Cur("USD"));
}

TEST(CurrencyTest, UnknownCodesRejected) {
  for (absl::string_view bad : {"XYZ", "eur", "Eur", "", "EU", "EURO", "EUR "}) {
    SCOPED_TRACE(bad);
    ExpectError(Currency::FromCode(bad), absl::StatusCode::kInvalidArgument,
                absl::StrCat("\"", bad, "\""));
  }
}

// ---------------------------------------------------------------- Money

TEST(MoneyTest, ParseGood) {
  EXPECT_EQ(Eur("25.99").minor_units(), 2599);
  EXPECT_EQ(Eur("25.9").minor_units(), 2590);  // one fraction digit is scaled: 25.90
  EXPECT_EQ(Eur("25").minor_units(), 2500);
  EXPECT_EQ(Eur("0.05").minor_units(), 5);
  EXPECT_EQ(Eur("-0.05").minor_units(), -5);
  EXPECT_EQ(Eur("25.99").currency(), Cur("EUR"));

  auto yen = Money::Parse("100", Cur("JPY"));
  ASSERT_TRUE(yen.ok()) << yen.status();
  EXPECT_EQ(yen->minor_units(), 100);

  auto dinar = Money::Parse("1.234", Cur("BHD"));
  ASSERT_TRUE(dinar.ok()) << dinar.status();
  EXPECT_EQ(dinar->minor_units(), 1234);
}

TEST(MoneyTest, ParseRejectsTooManyFractionDigits) {
  ExpectError(Money::Parse("25.999", Cur("EUR")), absl::StatusCode::kInvalidArgument, "25.999");
  ExpectError(Money::Parse("100.5", Cur("JPY")), absl::StatusCode::kInvalidArgument, "100.5");
  ExpectError(Money::Parse("1.2345", Cur("BHD")), absl::StatusCode::kInvalidArgument, "1.2345");
}

TEST(MoneyTest, ParseRejectsMalformedText) {
  for (absl::string_view bad : {"1,5", "", ".5", "5.", "1e3", "--1", "+1", "abc", "1.2.3", "-",
                                "€5", " 5"}) {
    SCOPED_TRACE(bad);
    ExpectError(Money::Parse(bad, Cur("EUR")), absl::StatusCode::kInvalidArgument,
                absl::StrCat("\"", bad, "\""));
  }
}

TEST(MoneyTest, AddAndSubtract) {
  auto sum = Add(Eur("25.99"), Eur("0.05"));
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, Money(2604, Cur("EUR")));
  auto difference = Subtract(Eur("0.05"), Eur("25.99"));
  ASSERT_TRUE(difference.ok()) << difference.status();
  EXPECT_EQ(*difference, Money(-2594, Cur("EUR")));
}

TEST(MoneyTest, CurrencyMismatchIsInvalidArgument) {
  Money eur(100, Cur("EUR"));
  Money usd(100, Cur("USD"));  // same exponent, still a different currency
  Money jpy(100, Cur("JPY"));
  EXPECT_EQ(Add(eur, usd).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Add(eur, jpy).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Subtract(eur, usd).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Subtract(jpy, eur).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoneyTest, OverflowIsOutOfRange) {
  Currency eur = Cur("EUR");
  EXPECT_EQ(Add(Money(kMax, eur), Money(1, eur)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Add(Money(kMin, eur), Money(-1, eur)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Subtract(Money(kMin, eur), Money(1, eur)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Subtract(Money(0, eur), Money(kMin, eur)).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(MoneyTest, ToString) {
  EXPECT_EQ(Money(2599, Cur("EUR")).ToString(), "25.99 EUR");
  EXPECT_EQ(Money(-5, Cur("EUR")).ToString(), "-0.05 EUR");
  EXPECT_EQ(Money(0, Cur("EUR")).ToString(), "0.00 EUR");
  EXPECT_EQ(Money(2500, Cur("EUR")).ToString(), "25.00 EUR");
  EXPECT_EQ(Money(100, Cur("JPY")).ToString(), "100 JPY");
  EXPECT_EQ(Money(-100, Cur("JPY")).ToString(), "-100 JPY");
  EXPECT_EQ(Money(5, Cur("BHD")).ToString(), "0.005 BHD");
  EXPECT_EQ(Money(kMin, Cur("EUR")).ToString(), "-92233720368547758.08 EUR");
}

// ---------------------------------------------------------------- Rate

TEST(RateTest, ParseGood) {
  Rate half = R("0.5");
  EXPECT_EQ(half.mantissa(), 5);
  EXPECT_EQ(half.scale(), 1);
  Rate one_quarter = R("1.25");
  EXPECT_EQ(one_quarter.mantissa(), 125);
  EXPECT_EQ(one_quarter.scale(), 2);
  Rate cent = R("0.01");
  EXPECT_EQ(cent.mantissa(), 1);
  EXPECT_EQ(cent.scale(), 2);
  Rate three = R("3");
  EXPECT_EQ(three.mantissa(), 3);
  EXPECT_EQ(three.scale(), 0);
  EXPECT_EQ(R("0.50"), R("0.5"));
  EXPECT_EQ(R("3.000"), R("3"));
  Rate tiny = R("0.000000000000000001");  // 18 fraction digits: the limit
  EXPECT_EQ(tiny.mantissa(), 1);
  EXPECT_EQ(tiny.scale(), 18);
}

TEST(RateTest, EqualityIsByValue) {
  EXPECT_TRUE(R("0.5") == R("0.50"));
  EXPECT_FALSE(R("0.5") == R("0.05"));
  EXPECT_FALSE(R("1") == R("10"));
  auto a = Rate::FromParts(50, 2);
  auto b = Rate::FromParts(5, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a == *b);
}

TEST(RateTest, ParseRejectsNamingTheText) {
  ExpectError(Rate::Parse("1,5"), absl::StatusCode::kInvalidArgument, "1,5");
  for (absl::string_view bad : {"-1", "", "1.", ".5", "abc", "+1", "1e3", "0x10", "1.2.3", " 1"}) {
    SCOPED_TRACE(bad);
    ExpectError(Rate::Parse(bad), absl::StatusCode::kInvalidArgument,
                absl::StrCat("\"", bad, "\""));
  }
}

TEST(RateTest, ParseRejectsTooManyDigits) {
  for (absl::string_view bad : {
           "0.1234567890123456789",  // 19 fraction digits, one over kMaxScale
           "12345678901234567890",   // 20 significant digits
           "9999999999999999999",    // 19 digits, above INT64_MAX
       }) {
    SCOPED_TRACE(bad);
    ExpectError(Rate::Parse(bad), absl::StatusCode::kInvalidArgument, bad);
  }
}

TEST(RateTest, ParseRejectsMoreThan18SignificantDigits) {
  // The class comment promises "at most 18 significant digits"; both of
  // these have 19 (and would fit in an int64 mantissa).
  for (absl::string_view bad : {"1234567890123456789", "1.123456789012345678"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Rate::Parse(bad).ok());
  }
}

TEST(RateTest, FromParts) {
  auto rate = Rate::FromParts(125, 2);
  ASSERT_TRUE(rate.ok());
  EXPECT_EQ(*rate, R("1.25"));
  EXPECT_EQ(Rate::FromParts(-1, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rate::FromParts(1, -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Rate::FromParts(1, 19).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Rate::FromParts(1, 18).ok());
}

TEST(RateTest, ToStringIsCanonical) {
  EXPECT_EQ(R("0.5").ToString(), "0.5");
  EXPECT_EQ(R("0.50").ToString(), "0.5");
  EXPECT_EQ(R("1.25").ToString(), "1.25");
  EXPECT_EQ(R("0.01").ToString(), "0.01");
  EXPECT_EQ(R("3").ToString(), "3");
  EXPECT_EQ(R("3.00").ToString(), "3");
  EXPECT_EQ(R("0").ToString(), "0");
  EXPECT_EQ(R("10").ToString(), "10");  // integer zeros are not trailing fraction zeros
  EXPECT_EQ(R("0.000000000000000001").ToString(), "0.000000000000000001");
  EXPECT_EQ(Rate::FromParts(500, 3)->ToString(), "0.5");
  EXPECT_EQ(Rate::FromParts(300, 2)->ToString(), "3");
  EXPECT_EQ(Rate::FromParts(0, 5)->ToString(), "0");
  EXPECT_EQ(Rate::FromParts(1000, 0)->ToString(), "1000");
}

// ---------------------------------------------------------------- Rounding

TEST(RoundingTest, ParseAndNameRoundTrip) {
  for (Rounding rounding :
       {Rounding::kDown, Rounding::kUp, Rounding::kHalfUp, Rounding::kHalfEven}) {
    auto parsed = ParseRounding(RoundingName(rounding));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, rounding);
  }
  EXPECT_EQ(RoundingName(Rounding::kDown), "down");
  EXPECT_EQ(RoundingName(Rounding::kUp), "up");
  EXPECT_EQ(RoundingName(Rounding::kHalfUp), "half_up");
  EXPECT_EQ(RoundingName(Rounding::kHalfEven), "half_even");
}

TEST(RoundingTest, ParseRejectsOthers) {
  for (absl::string_view bad : {"", "HALF_UP", "half-up", "nearest", "down "}) {
    SCOPED_TRACE(bad);
    ExpectError(ParseRounding(bad), absl::StatusCode::kInvalidArgument,
                absl::StrCat("\"", bad, "\""));
  }
}

// numerator / denominator through DivideRounded, narrowed for printing.
int64_t Div(int64_t numerator, int64_t denominator, Rounding rounding) {
  return static_cast<int64_t>(DivideRounded(numerator, denominator, rounding));
}

TEST(DivideRoundedTest, Exact) {
  for (Rounding rounding :
       {Rounding::kDown, Rounding::kUp, Rounding::kHalfUp, Rounding::kHalfEven}) {
    EXPECT_EQ(Div(6, 3, rounding), 2);
    EXPECT_EQ(Div(-6, 3, rounding), -2);
    EXPECT_EQ(Div(0, 7, rounding), 0);
  }
}

TEST(DivideRoundedTest, Ties) {
  // 5/2 = 2.5
  EXPECT_EQ(Div(5, 2, Rounding::kDown), 2);
  EXPECT_EQ(Div(5, 2, Rounding::kUp), 3);
  EXPECT_EQ(Div(5, 2, Rounding::kHalfUp), 3);
  EXPECT_EQ(Div(5, 2, Rounding::kHalfEven), 2);
  // 7/2 = 3.5: the even neighbour is 4.
  EXPECT_EQ(Div(7, 2, Rounding::kHalfEven), 4);
  EXPECT_EQ(Div(7, 2, Rounding::kHalfUp), 4);
  // 1/2 = 0.5 -> 0; 3/2 = 1.5 -> 2.
  EXPECT_EQ(Div(1, 2, Rounding::kHalfEven), 0);
  EXPECT_EQ(Div(3, 2, Rounding::kHalfEven), 2);
  // 25/10 = 2.5 with a larger denominator.
  EXPECT_EQ(Div(25, 10, Rounding::kHalfEven), 2);
  EXPECT_EQ(Div(35, 10, Rounding::kHalfEven), 4);
  EXPECT_EQ(Div(25, 10, Rounding::kHalfUp), 3);
}

TEST(DivideRoundedTest, NegativeTiesAreSymmetric) {
  // -5/2 = -2.5
  EXPECT_EQ(Div(-5, 2, Rounding::kDown), -2);
  EXPECT_EQ(Div(-5, 2, Rounding::kUp), -3);
  EXPECT_EQ(Div(-5, 2, Rounding::kHalfUp), -3);
  EXPECT_EQ(Div(-5, 2, Rounding::kHalfEven), -2);
  // -7/2 = -3.5 -> -4; -3/2 = -1.5 -> -2; -1/2 = -0.5 -> 0.
  EXPECT_EQ(Div(-7, 2, Rounding::kHalfEven), -4);
  EXPECT_EQ(Div(-3, 2, Rounding::kHalfEven), -2);
  EXPECT_EQ(Div(-1, 2, Rounding::kHalfEven), 0);
}

TEST(DivideRoundedTest, NonTies) {
  // 7/3 = 2.33...
  EXPECT_EQ(Div(7, 3, Rounding::kDown), 2);
  EXPECT_EQ(Div(7, 3, Rounding::kUp), 3);
  EXPECT_EQ(Div(7, 3, Rounding::kHalfUp), 2);
  EXPECT_EQ(Div(7, 3, Rounding::kHalfEven), 2);
  // 8/3 = 2.67...
  EXPECT_EQ(Div(8, 3, Rounding::kDown), 2);
  EXPECT_EQ(Div(8, 3, Rounding::kUp), 3);
  EXPECT_EQ(Div(8, 3, Rounding::kHalfUp), 3);
  EXPECT_EQ(Div(8, 3, Rounding::kHalfEven), 3);
  // -8/3 = -2.67...
  EXPECT_EQ(Div(-8, 3, Rounding::kDown), -2);
  EXPECT_EQ(Div(-8, 3, Rounding::kUp), -3);
  EXPECT_EQ(Div(-8, 3, Rounding::kHalfUp), -3);
  EXPECT_EQ(Div(-8, 3, Rounding::kHalfEven), -3);
}

TEST(DivideRoundedTest, BeyondSixtyFourBits) {
  // (INT64_MAX * 10 + 5) / 10 = INT64_MAX + 0.5; INT64_MAX is odd, so
  // half_even goes to INT64_MAX + 1 = 2^63.
  Int128 numerator = static_cast<Int128>(kMax) * 10 + 5;
  EXPECT_TRUE(DivideRounded(numerator, 10, Rounding::kHalfEven) == static_cast<Int128>(kMax) + 1);
  EXPECT_TRUE(DivideRounded(numerator, 10, Rounding::kDown) == static_cast<Int128>(kMax));
  EXPECT_TRUE(DivideRounded(-numerator, 10, Rounding::kHalfUp) == -static_cast<Int128>(kMax) - 1);
}

// ---------------------------------------------------------------- ToPoints

TEST(ToPointsTest, EurTimesHalfAllModes) {
  // 25.99 x 0.5 = 12.995
  Money basket = Eur("25.99");
  Rate half = R("0.5");
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kDown)), 12);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kUp)), 13);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kHalfUp)), 13);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kHalfEven)), 13);
}

TEST(ToPointsTest, TieRoundsToEvenOnlyWithHalfEven) {
  // 25.00 x 0.5 = 12.5
  Money basket = Eur("25.00");
  Rate half = R("0.5");
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kDown)), 12);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kUp)), 13);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kHalfUp)), 13);
  EXPECT_EQ(PointsOf(ToPoints(basket, half, Rounding::kHalfEven)), 12);
  // 27.00 x 0.5 = 13.5 -> 14, the even neighbour.
  EXPECT_EQ(PointsOf(ToPoints(Eur("27.00"), half, Rounding::kHalfEven)), 14);
  EXPECT_EQ(PointsOf(ToPoints(Eur("27.00"), half, Rounding::kDown)), 13);
}

TEST(ToPointsTest, NegativeAmountsRoundSymmetrically) {
  Rate half = R("0.5");
  // -25.99 x 0.5 = -12.995
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.99"), half, Rounding::kDown)), -12);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.99"), half, Rounding::kUp)), -13);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.99"), half, Rounding::kHalfUp)), -13);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.99"), half, Rounding::kHalfEven)), -13);
  // -25.00 x 0.5 = -12.5
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.00"), half, Rounding::kDown)), -12);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.00"), half, Rounding::kUp)), -13);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.00"), half, Rounding::kHalfUp)), -13);
  EXPECT_EQ(PointsOf(ToPoints(Eur("-25.00"), half, Rounding::kHalfEven)), -12);
  // -27.00 x 0.5 = -13.5 -> -14
  EXPECT_EQ(PointsOf(ToPoints(Eur("-27.00"), half, Rounding::kHalfEven)), -14);
}

TEST(ToPointsTest, OtherRatesAndCurrencies) {
  // 25.99 x 1.25 = 32.4875
  EXPECT_EQ(PointsOf(ToPoints(Eur("25.99"), R("1.25"), Rounding::kDown)), 32);
  EXPECT_EQ(PointsOf(ToPoints(Eur("25.99"), R("1.25"), Rounding::kHalfUp)), 32);
  EXPECT_EQ(PointsOf(ToPoints(Eur("25.99"), R("1.25"), Rounding::kUp)), 33);
  // 25.99 x 3 = 77.97
  EXPECT_EQ(PointsOf(ToPoints(Eur("25.99"), R("3"), Rounding::kHalfEven)), 78);
  // JPY 1234 x 0.01 = 12.34
  Money yen(1234, Cur("JPY"));
  EXPECT_EQ(PointsOf(ToPoints(yen, R("0.01"), Rounding::kDown)), 12);
  EXPECT_EQ(PointsOf(ToPoints(yen, R("0.01"), Rounding::kUp)), 13);
  // BHD 1.235 x 2 = 2.47
  Money dinar(1235, Cur("BHD"));
  EXPECT_EQ(PointsOf(ToPoints(dinar, R("2"), Rounding::kHalfUp)), 2);
  EXPECT_EQ(PointsOf(ToPoints(dinar, R("2"), Rounding::kUp)), 3);
}

TEST(ToPointsTest, OverflowIsOutOfRange) {
  Rate ten = R("10");
  // JPY has no minor unit: INT64_MAX yen x 10 points does not fit.
  EXPECT_EQ(ToPoints(Money(kMax, Cur("JPY")), ten, Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ToPoints(Money(kMin, Cur("JPY")), ten, Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  // EUR: INT64_MAX cents = INT64_MAX / 100 euros; x 1000 = INT64_MAX x 10.
  EXPECT_EQ(ToPoints(Money(kMax, Cur("EUR")), R("1000"), Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  // ... but x 10 is INT64_MAX / 10 = 922337203685477580.7, which fits.
  EXPECT_EQ(PointsOf(ToPoints(Money(kMax, Cur("EUR")), ten, Rounding::kDown)),
            922337203685477580);
  EXPECT_EQ(PointsOf(ToPoints(Money(kMax, Cur("EUR")), ten, Rounding::kUp)), 922337203685477581);
}

// ---------------------------------------------------------------- Scale

TEST(ScaleTest, Multipliers) {
  EXPECT_EQ(PointsOf(Scale(Points(1000), R("1.25"), Rounding::kDown)), 1250);
  EXPECT_EQ(PointsOf(Scale(Points(1000), R("2"), Rounding::kDown)), 2000);
  // 3 x 0.5 = 1.5 and 5 x 0.5 = 2.5: half_even gives 2 for both.
  EXPECT_EQ(PointsOf(Scale(Points(3), R("0.5"), Rounding::kHalfEven)), 2);
  EXPECT_EQ(PointsOf(Scale(Points(5), R("0.5"), Rounding::kHalfEven)), 2);
  EXPECT_EQ(PointsOf(Scale(Points(5), R("0.5"), Rounding::kHalfUp)), 3);
  EXPECT_EQ(PointsOf(Scale(Points(5), R("0.5"), Rounding::kDown)), 2);
  EXPECT_EQ(PointsOf(Scale(Points(5), R("0.5"), Rounding::kUp)), 3);
  // 333 x 0.1 = 33.3
  EXPECT_EQ(PointsOf(Scale(Points(333), R("0.1"), Rounding::kUp)), 34);
  EXPECT_EQ(PointsOf(Scale(Points(333), R("0.1"), Rounding::kHalfUp)), 33);
  // -5 x 0.5 = -2.5
  EXPECT_EQ(PointsOf(Scale(Points(-5), R("0.5"), Rounding::kHalfEven)), -2);
  EXPECT_EQ(PointsOf(Scale(Points(-5), R("0.5"), Rounding::kUp)), -3);
}

TEST(ScaleTest, OverflowIsOutOfRange) {
  EXPECT_EQ(Scale(Points(kMax), R("2"), Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Scale(Points(kMin), R("1.5"), Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(PointsOf(Scale(Points(kMax), R("1"), Rounding::kDown)), kMax);
}

// ---------------------------------------------------------------- ToMoney

TEST(ToMoneyTest, PointsToEuros) {
  // 1234 points x EUR 0.01 = EUR 12.34
  auto money = ToMoney(Points(1234), R("0.01"), Cur("EUR"), Rounding::kDown);
  ASSERT_TRUE(money.ok()) << money.status();
  EXPECT_EQ(*money, Money(1234, Cur("EUR")));
  EXPECT_EQ(money->ToString(), "12.34 EUR");
}

TEST(ToMoneyTest, RoundsToTheMinorUnit) {
  // 1235 points x EUR 0.005 = EUR 6.175 -> 617.5 cents
  Currency eur = Cur("EUR");
  EXPECT_EQ(ToMoney(Points(1235), R("0.005"), eur, Rounding::kDown)->minor_units(), 617);
  EXPECT_EQ(ToMoney(Points(1235), R("0.005"), eur, Rounding::kUp)->minor_units(), 618);
  EXPECT_EQ(ToMoney(Points(1235), R("0.005"), eur, Rounding::kHalfUp)->minor_units(), 618);
  EXPECT_EQ(ToMoney(Points(1235), R("0.005"), eur, Rounding::kHalfEven)->minor_units(), 618);
  // 1233 x 0.005 = 6.165 -> 616.5 cents: half_even keeps 616.
  EXPECT_EQ(ToMoney(Points(1233), R("0.005"), eur, Rounding::kHalfEven)->minor_units(), 616);
}

TEST(ToMoneyTest, YenWithFractionalRate) {
  Currency jpy = Cur("JPY");
  // 1235 x 0.5 = 617.5 yen
  EXPECT_EQ(ToMoney(Points(1235), R("0.5"), jpy, Rounding::kDown)->minor_units(), 617);
  EXPECT_EQ(ToMoney(Points(1235), R("0.5"), jpy, Rounding::kUp)->minor_units(), 618);
  EXPECT_EQ(ToMoney(Points(1235), R("0.5"), jpy, Rounding::kHalfUp)->minor_units(), 618);
  EXPECT_EQ(ToMoney(Points(1235), R("0.5"), jpy, Rounding::kHalfEven)->minor_units(), 618);
  // 1233 x 0.5 = 616.5 -> 616 (even)
  EXPECT_EQ(ToMoney(Points(1233), R("0.5"), jpy, Rounding::kHalfEven)->minor_units(), 616);
  // 100 x 0.37 = 37 yen exactly
  EXPECT_EQ(ToMoney(Points(100), R("0.37"), jpy, Rounding::kUp)->minor_units(), 37);
  // 7 x 0.37 = 2.59 yen
  EXPECT_EQ(ToMoney(Points(7), R("0.37"), jpy, Rounding::kDown)->minor_units(), 2);
  EXPECT_EQ(ToMoney(Points(7), R("0.37"), jpy, Rounding::kHalfUp)->minor_units(), 3);
  EXPECT_EQ(ToMoney(Points(1235), R("0.5"), jpy, Rounding::kDown)->ToString(), "617 JPY");
}

TEST(ToMoneyTest, CurrencyWithMoreDigitsThanTheRate) {
  // 1234 x BHD 0.01 = BHD 12.34 = 12340 fils
  auto money = ToMoney(Points(1234), R("0.01"), Cur("BHD"), Rounding::kDown);
  ASSERT_TRUE(money.ok()) << money.status();
  EXPECT_EQ(money->minor_units(), 12340);
  EXPECT_EQ(money->ToString(), "12.340 BHD");
}

TEST(ToMoneyTest, OverflowIsOutOfRange) {
  // INT64_MAX points x EUR 1 = INT64_MAX x 100 cents.
  EXPECT_EQ(ToMoney(Points(kMax), R("1"), Cur("EUR"), Rounding::kDown).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ToMoney(Points(kMin), R("1"), Cur("JPY"), Rounding::kDown)->minor_units(), kMin);
}

// ---------------------------------------------------------------- MemberId

TEST(MemberIdTest, Valid) {
  auto id = MemberId::Parse("M-1");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->value(), "M-1");
  EXPECT_TRUE(MemberId::Parse(std::string(64, 'a')).ok());
  EXPECT_TRUE(MemberId::Parse("!").ok());
  EXPECT_TRUE(MemberId::Parse("~").ok());
  EXPECT_EQ(MemberId::FromValid("abc"), *MemberId::Parse("abc"));
  EXPECT_LT(*MemberId::Parse("a"), *MemberId::Parse("b"));
}

TEST(MemberIdTest, Invalid) {
  const std::string too_long(65, 'a');
  for (absl::string_view bad :
       {absl::string_view(""), absl::string_view(too_long), absl::string_view("M 1"),
        absl::string_view(" M1"), absl::string_view("M\xC3\xA9"), absl::string_view("M\t1"),
        absl::string_view("M\x7F"), absl::string_view("M\n"), absl::string_view("M\0" "1", 3)}) {
    SCOPED_TRACE(bad);
    auto id = MemberId::Parse(bad);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << bad.size();
  }
}

}  // namespace
}  // namespace loyalty
