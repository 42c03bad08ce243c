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
  // One conversion from the day number (each of year(), month(), day()
  // would do its own).
  greg::date::ymd_type ymd = ToBoost(*this).year_month_day();
  int fields[] = {ymd.year, ymd.month, ymd.day};
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

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// The civil date at `time` in `zone`, as Abseil computes it: the reference
// for the arithmetic below.
Date ZoneLocalDate(absl::Time time, absl::TimeZone zone) {
  absl::CivilDay day = absl::ToCivilDay(time, zone);
  return Date::FromDaysSinceEpoch(static_cast<int32_t>(day - absl::CivilDay(1970, 1, 1)));
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// A stretch of instants [begin, end) between two transitions of a zone,
// over which its UTC offset stays the same, so that the local date of an
// instant in it is plain arithmetic. A zone's offset changes only at its
// transitions (twice a year where there is daylight saving time), while
// Abseil's look-up of the offset costs about 100 ns. A span not `known`
// stands for instants whose offset Abseil does not bound by transitions
// (see SpanAround), so that asking again is spared.
struct OffsetSpan {
  absl::TimeZone zone;
  int64_t begin = 0, end = 0;  // unix micros
  int64_t offset = 0;          // micros east of UTC
  bool known = false;
  bool Holds(absl::TimeZone z, int64_t micros) const { return zone == z && begin <= micros && micros < end; }
  Date LocalDate(int64_t micros) const {
    return Date::FromDaysSinceEpoch(static_cast<int32_t>(FloorDiv(micros + offset, kMicrosPerDay)));
  }
};

// Instants whose local date the spans give: years 1400 to 9999 (those of
// Instant::Parse), with room for any offset.
constexpr int64_t kFirstInSpans = -17'987'443'200 * kMicrosPerSecond;  // 1400-01-01T00:00:00Z
constexpr int64_t kEndOfSpans = 253'402'300'800 * kMicrosPerSecond;    // 10000-01-01T00:00:00Z
bool InSpanRange(int64_t micros) { return kFirstInSpans <= micros && micros < kEndOfSpans; }

// The span of `zone` around `micros` (in range). Not known where Abseil
// enumerates no transition on one side: a zone that no longer changes its
// offset, or one whose rules go on beyond the transitions Abseil lists
// (about 2037); then for all instants on that side, as the enumeration
// only ends once. Not known either, for this instant alone, if the bounds
// do not check out (the offset at both ends must be the one at `micros`).
OffsetSpan SpanAround(absl::TimeZone zone, int64_t micros) {
  const absl::Time time = absl::FromUnixMicros(micros);
  absl::TimeZone::CivilTransition before, after;
  const bool bounded_before = zone.PrevTransition(time + absl::Microseconds(1), &before);
  const bool bounded_after = zone.NextTransition(time, &after);
  if (!bounded_before || !bounded_after) {
    return {zone, bounded_before ? micros : kFirstInSpans, bounded_after ? micros + 1 : kEndOfSpans};
  }
  // The instant of a transition is where its civil time `to` begins.
  const absl::Time begin = zone.At(before.to).trans;
  const absl::Time end = zone.At(after.to).trans;
  const int offset = zone.At(time).offset;
  if (!(begin <= time && time < end) || zone.At(begin).offset != offset ||
      zone.At(end - absl::Microseconds(1)).offset != offset) {
    return {zone, micros, micros + 1};
  }
  return {zone, absl::ToUnixMicros(begin), absl::ToUnixMicros(end), offset * kMicrosPerSecond, true};
}

// The spans this thread looked up last, for a few zones or instants far
// apart (a credit asks for the day it happens and the day its points
// lapse), replaced round robin.
class RecentSpans {
 public:
  // The span of `zone` holding `micros` (in range), looked up if it is
  // not among the recent ones.
  const OffsetSpan& Find(absl::TimeZone zone, int64_t micros) {
    for (const OffsetSpan& span : spans_) {
      if (span.Holds(zone, micros)) return span;
    }
    OffsetSpan& slot = spans_[next_];
    next_ = (next_ + 1) % kSpans;
    slot = SpanAround(zone, micros);
    return slot;
  }

 private:
  static constexpr size_t kSpans = 4;
  OffsetSpan spans_[kSpans];  // empty spans (begin == end) hold nothing
  size_t next_ = 0;
};

}  // namespace

Date TimeZone::LocalDate(Instant instant) const {
  const int64_t micros = instant.unix_micros();
  if (InSpanRange(micros)) {
    thread_local RecentSpans recent;
    if (const OffsetSpan& span = recent.Find(zone_, micros); span.known) return span.LocalDate(micros);
  }
  return ZoneLocalDate(instant.ToAbsl(), zone_);
}

Instant TimeZone::StartOfDay(Date date) const {
  absl::CivilDay day = absl::CivilDay(1970, 1, 1) + date.days_since_epoch();
  // For a skipped midnight, `pre` is mapped across the gap; `trans` is the
  // instant the day actually begins.
  absl::TimeZone::TimeInfo info = zone_.At(absl::CivilSecond(day));
  return Instant::FromAbsl(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre);
}

Instant FirstBusinessTime() { return Instant::FromUnixMicros(-2208988800LL * 1000000); }  // 1900-01-01
Instant EndOfBusinessTime() { return Instant::FromUnixMicros(221845392000LL * 1000000); }  // 9000-01-01

absl::Status CheckBusinessTime(absl::string_view field, Instant at) {
  if (at < FirstBusinessTime() || at >= EndOfBusinessTime()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", at.ToString(), " is outside 1900-01-01 to 9000-01-01"));
  }
  return absl::OkStatus();
}

}  // namespace loyalty
