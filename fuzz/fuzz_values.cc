// Fuzzes the text parsers of value.h and time.h: money (in currencies with
// 0, 2 and 3 minor digits), rates, points, dates, instants, member ids,
// currency codes and rounding modes. The first byte picks the parser, the
// rest is the text. Whatever parses must print back to text that parses to
// the same value, and the arithmetic on parsed values must report overflow
// rather than wrap.
#include <cstddef>
#include <cstdint>

#include "loyalty/check.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

using namespace loyalty;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const Currency kCurrencies[] = {*Currency::FromCode("EUR"), *Currency::FromCode("JPY"),
                                         *Currency::FromCode("BHD")};
  switch (selector % 8) {
    case 0: {
      const Currency& currency = kCurrencies[(selector / 8) % 3];
      auto money = Money::Parse(text, currency);
      if (!money.ok()) break;
      std::string printed = money->ToString();  // "25.99 EUR"
      auto back = Money::Parse(printed.substr(0, printed.size() - 4), currency);
      LOYALTY_CHECK(back.ok() && *back == *money);
      for (const char* rate : {"0.5", "1", "0.000000000000000001", "999999999999999999"}) {
        for (Rounding rounding : {Rounding::kDown, Rounding::kUp, Rounding::kHalfUp, Rounding::kHalfEven}) {
          (void)ToPoints(*money, *Rate::Parse(rate), rounding);
        }
      }
      (void)Add(*money, *money);
      (void)Subtract(*money, Money(INT64_MIN + 1, currency));
      break;
    }
    case 1: {
      auto rate = Rate::Parse(text);
      if (!rate.ok()) break;
      auto back = Rate::Parse(rate->ToString());
      LOYALTY_CHECK(back.ok() && *back == *rate);
      for (int64_t points : {int64_t{1}, int64_t{12345}, INT64_MAX, INT64_MIN}) {
        for (Rounding rounding : {Rounding::kDown, Rounding::kUp, Rounding::kHalfUp, Rounding::kHalfEven}) {
          (void)Scale(Points(points), *rate, rounding);
          (void)ToMoney(Points(points), *rate, kCurrencies[1], rounding);
          (void)ToPoints(Money(points, kCurrencies[2]), *rate, rounding);
        }
      }
      break;
    }
    case 2: {
      auto points = Points::Parse(text);
      if (!points.ok()) break;
      LOYALTY_CHECK(*Points::Parse(points->ToString()) == *points);
      (void)Add(*points, *points);
      (void)Subtract(*points, *points);
      (void)Subtract(Points(0), *points);
      break;
    }
    case 3: {
      auto date = Date::Parse(text);
      if (!date.ok()) break;
      auto back = Date::Parse(date->ToString());
      LOYALTY_CHECK(back.ok() && *back == *date);
      // Calendar arithmetic within its precondition (years 1400..9999).
      if (date->year() <= 9995) (void)NextMonthDay(EndOfQuarter(AddMonths(*date, 36)), 9, 30);
      if (date->year() >= 1403) (void)RollingMonthsEndingOn(*date, 36);
      (void)CalendarYearOf(*date);
      (void)date->day_of_week();
      break;
    }
    case 4: {
      auto instant = Instant::Parse(text);
      if (!instant.ok()) break;
      auto back = Instant::Parse(instant->ToString());
      LOYALTY_CHECK(back.ok() && *back == *instant);
      static const TimeZone kBerlin = *TimeZone::Load("Europe/Berlin");
      Date local = kBerlin.LocalDate(*instant);
      (void)kBerlin.StartOfDay(local);
      break;
    }
    case 5: {
      auto id = MemberId::Parse(text);
      if (id.ok()) LOYALTY_CHECK(MemberId::Parse(id->value())->value() == id->value());
      break;
    }
    case 6: {
      auto currency = Currency::FromCode(text);
      if (currency.ok()) LOYALTY_CHECK(currency->code() == text);
      break;
    }
    default: {
      auto rounding = ParseRounding(text);
      if (rounding.ok()) LOYALTY_CHECK(RoundingName(*rounding) == text);
      break;
    }
  }
  return 0;
}
