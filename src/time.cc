// Calendar arithmetic (Boost.Date_Time), time-zone conversion (Abseil) and
// the text forms of instants and dates.
#include "loyalty/time.h"

#include <boost/date_time/gregorian/gregorian_types.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "loyalty/check.h"

namespace loyalty {
namespace {

namespace greg = boost::gregorian;

const greg::date kEpoch(1970, 1, 1);

greg::date ToBoost(Date date) { return kEpoch + greg::date_duration(date.days_since_epoch()); }
Date FromBoost(greg::date date) {
  return Date::FromDaysSinceEpoch(static_cast<int32_t>((date - kEpoch).days()));
}

int LastDayOfMonth(int year, int month) {
  return greg::gregorian_calendar::end_of_month_day(static_cast<unsigned short>(year),
                                                    static_cast<unsigned short>(month));
}

// Precondition: the day exists.
Date Ymd(int year, int month, int day) {
  return FromBoost(greg::date(static_cast<unsigned short>(year), static_cast<unsigned short>(month),
                              static_cast<unsigned short>(day)));
}

}  // namespace

absl::StatusOr<Instant> Instant::Parse(absl::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an RFC 3339 instant (2011-01-03T00:00:00Z): ", error));
  }
  if (time < absl::FromCivil(absl::CivilSecond(1400, 1, 1), absl::UTCTimeZone()) ||
      time >= absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone())) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is outside the years 1400 to 9999"));
  }
  return Instant::FromAbsl(time);
}

std::string Instant::ToString() const {
  if (*this == Max()) return "never";
  if (*this == Min()) return "always";
  const char* format = micros_ % 1'000'000 == 0 ? "%Y-%m-%d%ET%H:%M:%SZ" : "%Y-%m-%d%ET%H:%M:%E6SZ";
  return absl::FormatTime(format, ToAbsl(), absl::UTCTimeZone());
}

absl::StatusOr<Date> Date::FromYmd(int year, int month, int day) {
  if (year < 1400 || year > 9999) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%04d-%02d-%02d is not a date between the years 1400 and 9999", year, month, day));
  }
  if (month < 1 || month > 12) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%04d-%02d-%02d is not a date: month %d is not in 1..12", year, month, day, month));
  }
  if (day < 1 || day > LastDayOfMonth(year, month)) {
    return absl::InvalidArgumentError(absl::StrFormat("%04d-%02d-%02d is not a date: %04d-%02d has days 1..%d", year,
                                                      month, day, year, month, LastDayOfMonth(year, month)));
  }
  return Ymd(year, month, day);
}

absl::StatusOr<Date> Date::Parse(absl::string_view text) {
  int year = 0, month = 0, day = 0;
  bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-';
  for (size_t i = 0; shape && i < text.size(); ++i) {
    if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) shape = false;
  }
  if (!shape) return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a date (YYYY-MM-DD)"));
  auto number = [&](size_t at, size_t length) {
    int value = 0;
    for (size_t i = at; i < at + length; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  year = number(0, 4);
  month = number(5, 2);
  day = number(8, 2);
  auto date = FromYmd(year, month, day);
  if (!date.ok()) return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": ", date.status().message()));
  return date;
}

int Date::year() const { return ToBoost(*this).year(); }
int Date::month() const { return ToBoost(*this).month(); }
int Date::day() const { return ToBoost(*this).day(); }
int Date::day_of_week() const { return ToBoost(*this).day_of_week(); }

std::string Date::ToString() const {
  greg::date d = ToBoost(*this);
  int fields[] = {d.year(), d.month(), d.day()};
  std::string text = "0000-00-00";
  for (int i = 3; i >= 0; --i, fields[0] /= 10) text[static_cast<size_t>(i)] = static_cast<char>('0' + fields[0] % 10);
  text[5] = static_cast<char>('0' + fields[1] / 10);
  text[6] = static_cast<char>('0' + fields[1] % 10);
  text[8] = static_cast<char>('0' + fields[2] / 10);
  text[9] = static_cast<char>('0' + fields[2] % 10);
  return text;
}

Date AddMonths(Date date, int months) {
  greg::date d = ToBoost(date);
  int index = d.year() * 12 + (d.month() - 1) + months;  // months since year 0
  int year = index / 12;
  int month = index % 12 + 1;
  LOYALTY_CHECK(year >= 1400 && year <= 9999);  // the calendar's range (precondition)
  int day = std::min<int>(d.day(), LastDayOfMonth(year, month));
  return Ymd(year, month, day);
}

Date EndOfMonth(Date date) {
  greg::date d = ToBoost(date);
  return FromBoost(d.end_of_month());
}

Date EndOfQuarter(Date date) {
  greg::date d = ToBoost(date);
  int last_month = ((d.month() - 1) / 3 + 1) * 3;
  return Ymd(d.year(), last_month, LastDayOfMonth(d.year(), last_month));
}

Date EndOfYear(Date date) { return Ymd(date.year(), 12, 31); }

Date NextMonthDay(Date date, int month, int day) {
  LOYALTY_CHECK(month >= 1 && month <= 12 && day >= 1 && day <= LastDayOfMonth(2001, month));
  Date candidate = Ymd(date.year(), month, day);
  if (candidate >= date) return candidate;
  LOYALTY_CHECK(date.year() < 9999);  // the calendar's range (precondition)
  return Ymd(date.year() + 1, month, day);
}

Period CalendarYearOf(Date date) { return {Ymd(date.year(), 1, 1), Ymd(date.year(), 12, 31)}; }

Period CalendarQuarterOf(Date date) {
  int first_month = (date.month() - 1) / 3 * 3 + 1;
  return {Ymd(date.year(), first_month, 1), EndOfQuarter(date)};
}

Period RollingMonthsEndingOn(Date last, int months) {
  return {AddMonths(last, -months).AddDays(1), last};
}

Period MembershipYearOf(Date anniversary, Date date) {
  LOYALTY_CHECK(date >= anniversary);
  int years = date.year() - anniversary.year();
  if (AddMonths(anniversary, 12 * years) > date) --years;
  return {AddMonths(anniversary, 12 * years), AddMonths(anniversary, 12 * (years + 1)).AddDays(-1)};
}

absl::StatusOr<TimeZone> TimeZone::Load(absl::string_view name) {
  absl::TimeZone zone;
  if (name.empty() || !absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" is not an IANA time zone known to this system"));
  }
  return TimeZone(std::string(name), zone);
}

TimeZone TimeZone::Utc() { return TimeZone("UTC", absl::UTCTimeZone()); }

Date TimeZone::LocalDate(Instant instant) const {
  absl::CivilDay day = absl::ToCivilDay(instant.ToAbsl(), zone_);
  return Date::FromDaysSinceEpoch(static_cast<int32_t>(day - absl::CivilDay(1970, 1, 1)));
}

Instant TimeZone::StartOfDay(Date date) const {
  absl::CivilDay day = absl::CivilDay(1970, 1, 1) + date.days_since_epoch();
  // For a skipped midnight, `pre` is mapped across the gap; `trans` is the
  // instant the day actually begins.
  absl::TimeZone::TimeInfo info = zone_.At(absl::CivilSecond(day));
  return Instant::FromAbsl(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre);
}

}  // namespace loyalty
