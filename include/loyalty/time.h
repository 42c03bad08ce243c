// Time: instants in UTC, civil dates in a program's IANA time zone, the
// calendar arithmetic that expiry and qualification periods need, and an
// injectable clock.
//
//   auto berlin = TimeZone::Load("Europe/Berlin");
//   auto at = Instant::Parse("2010-12-31T23:30:00Z");
//   Date day = berlin->LocalDate(*at);                  // 2011-01-01
//   Date expiry = EndOfQuarter(AddMonths(day, 36));     // 2014-03-31
//   Instant lapses = berlin->StartOfDay(expiry.AddDays(1));
//
// Calendar arithmetic is done with Boost.Date_Time's Gregorian calendar; time
// zones with Abseil's IANA database reader (it reads /usr/share/zoneinfo).
// Thread safety: values are immutable; Clock implementations are thread-safe.
#ifndef LOYALTY_TIME_H_
#define LOYALTY_TIME_H_

#include <atomic>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace loyalty {

// A point in time, UTC, with microsecond resolution.
class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant FromUnixMicros(int64_t micros) { return Instant(micros); }
  static Instant FromAbsl(absl::Time time) { return Instant(absl::ToUnixMicros(time)); }
  // The sentinels "never" (after every instant) and "always" (before).
  static constexpr Instant Max() { return Instant(std::numeric_limits<int64_t>::max()); }
  static constexpr Instant Min() { return Instant(std::numeric_limits<int64_t>::min()); }

  // Parses RFC 3339 ("2011-01-03T00:00:00Z", "2011-01-03T01:00:00+01:00");
  // InvalidArgument naming the text otherwise.
  static absl::StatusOr<Instant> Parse(absl::string_view text);

  constexpr int64_t unix_micros() const { return micros_; }
  absl::Time ToAbsl() const { return absl::FromUnixMicros(micros_); }
  // RFC 3339 in UTC ("2011-01-03T00:00:00Z"); "never" for Max().
  std::string ToString() const;

  friend constexpr auto operator<=>(Instant, Instant) = default;

 private:
  constexpr explicit Instant(int64_t micros) : micros_(micros) {}
  int64_t micros_ = 0;
};

// A day of the Gregorian calendar, years 1400 to 9999, with no time zone.
class Date {
 public:
  constexpr Date() = default;
  // InvalidArgument for a day that does not exist (2011-02-29) or a year out
  // of range.
  static absl::StatusOr<Date> FromYmd(int year, int month, int day);
  // Parses "2011-01-03"; InvalidArgument naming the text otherwise.
  static absl::StatusOr<Date> Parse(absl::string_view text);
  static constexpr Date FromDaysSinceEpoch(int32_t days) { return Date(days); }

  int year() const;
  int month() const;  // 1..12
  int day() const;    // 1..31
  // 0 = Sunday .. 6 = Saturday.
  int day_of_week() const;
  constexpr int32_t days_since_epoch() const { return days_; }
  constexpr Date AddDays(int32_t days) const { return Date(days_ + days); }
  std::string ToString() const;  // "2011-01-03"

  friend constexpr auto operator<=>(Date, Date) = default;

 private:
  constexpr explicit Date(int32_t days) : days_(days) {}
  int32_t days_ = 0;  // days since 1970-01-01
};

// Calendar arithmetic. Precondition (checked: a crash, never a wrapped or
// thrown result): every date given and returned lies in the years 1400 to
// 9999. Decide keeps to it by refusing business times outside 1900..9000.
//
// The date `months` months after (or before, if negative) `date`, the day
// clamped to the end of a shorter month: 31 Jan + 1 month = 28 or 29 Feb.
Date AddMonths(Date date, int months);
Date EndOfMonth(Date date);
Date EndOfQuarter(Date date);  // 31 Mar, 30 Jun, 30 Sep or 31 Dec
Date EndOfYear(Date date);
// The first date on or after `date` that falls on month/day (30 September).
// Precondition: month/day exists in every year (29 February does not).
Date NextMonthDay(Date date, int month, int day);

// A closed range of days [first, last].
struct Period {
  Date first;
  Date last;
  bool Contains(Date date) const { return first <= date && date <= last; }
  friend bool operator==(const Period&, const Period&) = default;
};
Period CalendarYearOf(Date date);
Period CalendarQuarterOf(Date date);
// The `months` months that end on `last`: (AddMonths(last, -months), last].
Period RollingMonthsEndingOn(Date last, int months);
// The membership year that contains `date` for a member who enrolled on
// `anniversary`: from an anniversary to the day before the next.
// Precondition: date >= anniversary.
Period MembershipYearOf(Date anniversary, Date date);

// An IANA time zone ("Europe/Berlin") in which a program's civil dates live.
class TimeZone {
 public:
  // InvalidArgument naming the zone if it is not in the IANA database.
  static absl::StatusOr<TimeZone> Load(absl::string_view name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // The civil date at `instant` in this zone.
  Date LocalDate(Instant instant) const;
  // The first instant of `date` in this zone (after a DST gap if midnight
  // does not exist that day).
  Instant StartOfDay(Date date) const;

 private:
  TimeZone(std::string name, absl::TimeZone zone) : name_(std::move(name)), zone_(zone) {}
  std::string name_;
  absl::TimeZone zone_;
};

// The source of "now". Inject it; never read the system clock elsewhere.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  Instant Now() const override { return Instant::FromAbsl(absl::Now()); }
};

// A clock that stands still until told to move; for tests and scenarios.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Instant start) : micros_(start.unix_micros()) {}
  Instant Now() const override { return Instant::FromUnixMicros(micros_.load()); }
  void Set(Instant now) { micros_.store(now.unix_micros()); }
  void Advance(absl::Duration by) { micros_.fetch_add(absl::ToInt64Microseconds(by)); }

 private:
  std::atomic<int64_t> micros_;
};

// InvalidArgument naming `field` unless `at` lies in 1900-01-01 ..
// 9000-01-01 (UTC), where calendar arithmetic has room for long validity
// terms. Decide applies it to every command's business time, and a journal's
// reader to every entry's.
absl::Status CheckBusinessTime(absl::string_view field, Instant at);
// The bounds of that range: 1900-01-01 (allowed) and 9000-01-01 (not).
Instant FirstBusinessTime();
Instant EndOfBusinessTime();

}  // namespace loyalty

#endif  // LOYALTY_TIME_H_
