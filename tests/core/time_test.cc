// Unit tests of instants, civil dates, calendar arithmetic, time zones, the
// fake clock, and the program's lot expiry built from them.
#include "loyalty/time.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "loyalty/program.h"

namespace loyalty {

// Readable values in failure messages (found by argument-dependent lookup).
void PrintTo(const Instant& instant, std::ostream* os) {
  *os << instant.ToString() << " (" << instant.unix_micros() << " us)";
}
void PrintTo(const Date& date, std::ostream* os) { *os << date.ToString(); }
void PrintTo(const Period& period, std::ostream* os) {
  *os << "[" << period.first.ToString() << ", " << period.last.ToString() << "]";
}

namespace {

Instant I(absl::string_view text) {
  auto instant = Instant::Parse(text);
  EXPECT_TRUE(instant.ok()) << instant.status();
  return instant.ok() ? *instant : Instant::Min();
}

Date D(absl::string_view text) {
  auto date = Date::Parse(text);
  EXPECT_TRUE(date.ok()) << date.status();
  return date.ok() ? *date : Date();
}

Date Ymd(int year, int month, int day) {
  auto date = Date::FromYmd(year, month, day);
  EXPECT_TRUE(date.ok()) << date.status();
  return date.ok() ? *date : Date();
}

TimeZone Zone(absl::string_view name) {
  auto zone = TimeZone::Load(name);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return zone.ok() ? *zone : TimeZone::Utc();
}

void ExpectRejectedNaming(const absl::Status& status, absl::string_view text) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), text))
      << "message \"" << status.message() << "\" does not name \"" << text << "\"";
}

// 2011-01-01T00:00:00Z is 1293840000 s after the epoch (41 years, 10 of
// them leap: 41 * 365 + 10 = 14975 days); 2011-01-03 is two days later.
constexpr int64_t kJan3Of2011Micros = (1293840000LL + 2 * 86400) * 1'000'000;

// ---------------------------------------------------------------- Instant

TEST(InstantTest, ParseUtc) {
  Instant at = I("2011-01-03T00:00:00Z");
  EXPECT_EQ(at.unix_micros(), kJan3Of2011Micros);
  EXPECT_EQ(at.ToString(), "2011-01-03T00:00:00Z");
  EXPECT_EQ(I("1970-01-01T00:00:00Z").unix_micros(), 0);
}

TEST(InstantTest, ParseOffsets) {
  EXPECT_EQ(I("2011-01-03T01:00:00+01:00").unix_micros(), kJan3Of2011Micros);
  EXPECT_EQ(I("2011-01-02T19:00:00-05:00").unix_micros(), kJan3Of2011Micros);
  EXPECT_EQ(I("2011-01-03T05:30:00+05:30").unix_micros(), kJan3Of2011Micros);
  EXPECT_EQ(I("2011-01-03T00:00:00+00:00").unix_micros(), kJan3Of2011Micros);
  // Printed back in UTC.
  EXPECT_EQ(I("2011-01-03T01:00:00+01:00").ToString(), "2011-01-03T00:00:00Z");
  EXPECT_EQ(I("2010-12-31T23:30:00-01:00").ToString(), "2011-01-01T00:30:00Z");
}

TEST(InstantTest, FractionalSeconds) {
  Instant half = I("2011-01-03T00:00:00.5Z");
  EXPECT_EQ(half.unix_micros(), kJan3Of2011Micros + 500'000);
  EXPECT_EQ(half.ToString(), "2011-01-03T00:00:00.500000Z");
  Instant micro = I("2011-01-03T00:00:00.000001Z");
  EXPECT_EQ(micro.unix_micros(), kJan3Of2011Micros + 1);
  EXPECT_EQ(micro.ToString(), "2011-01-03T00:00:00.000001Z");
}

TEST(InstantTest, SentinelsPrintAsWords) {
  EXPECT_EQ(Instant::Max().ToString(), "never");
  EXPECT_EQ(Instant::Min().ToString(), "always");
  EXPECT_LT(Instant::Min(), I("1400-01-01T00:00:00Z"));
  EXPECT_GT(Instant::Max(), I("9999-12-31T23:59:59Z"));
}

TEST(InstantTest, RoundTripsThroughAbsl) {
  Instant at = I("2011-01-03T00:00:00.25Z");
  EXPECT_EQ(Instant::FromAbsl(at.ToAbsl()), at);
  EXPECT_EQ(Instant::FromUnixMicros(kJan3Of2011Micros), I("2011-01-03T00:00:00Z"));
}

TEST(InstantTest, BadTextRejectedNamingIt) {
  for (absl::string_view bad : {"", "yesterday", "2011-01-03", "2011-01-03T00:00:00",
                                "2011-13-01T00:00:00Z", "2011-02-30T00:00:00Z",
                                "2011-01-03T25:00:00Z", "2011-01-03T00:00:00ZZ",
                                "2011-01-03T00:00Z", "03/01/2011 00:00:00"}) {
    SCOPED_TRACE(bad);
    auto parsed = Instant::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << parsed->ToString();
    ExpectRejectedNaming(parsed.status(), absl::StrCat("\"", bad, "\""));
  }
}

TEST(InstantTest, YearsOutside1400To9999Rejected) {
  for (absl::string_view bad : {"1399-12-31T23:59:59Z", "1400-01-01T00:30:00+01:00",
                                "9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z",
                                "0001-01-01T00:00:00Z"}) {
    SCOPED_TRACE(bad);
    ExpectRejectedNaming(Instant::Parse(bad).status(), bad);
  }
}

TEST(InstantTest, YearsAtTheEdgesAccepted) {
  EXPECT_EQ(I("1400-01-01T00:00:00Z").ToString(), "1400-01-01T00:00:00Z");
  EXPECT_EQ(I("1400-01-01T01:00:00+01:00").ToString(), "1400-01-01T00:00:00Z");
  EXPECT_EQ(I("9999-12-31T23:59:59Z").ToString(), "9999-12-31T23:59:59Z");
}

TEST(InstantTest, LastMicrosecondOfYear9999Accepted) {
  // Still in the year 9999, so inside "the years 1400 to 9999".
  auto last = Instant::Parse("9999-12-31T23:59:59.999999Z");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->ToString(), "9999-12-31T23:59:59.999999Z");
}

// ---------------------------------------------------------------- Date

TEST(DateTest, FromYmdValidatesTheDay) {
  EXPECT_FALSE(Date::FromYmd(2011, 2, 29).ok());
  EXPECT_EQ(Date::FromYmd(2011, 2, 29).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Date::FromYmd(2012, 2, 29).ok());
  EXPECT_TRUE(Date::FromYmd(2000, 2, 29).ok());   // divisible by 400: leap
  EXPECT_FALSE(Date::FromYmd(1900, 2, 29).ok());  // divisible by 100 only: not leap
  EXPECT_FALSE(Date::FromYmd(2011, 4, 31).ok());
  EXPECT_FALSE(Date::FromYmd(2011, 13, 1).ok());
  EXPECT_FALSE(Date::FromYmd(2011, 0, 1).ok());
  EXPECT_FALSE(Date::FromYmd(2011, 1, 0).ok());
  EXPECT_FALSE(Date::FromYmd(2011, 1, 32).ok());
  EXPECT_FALSE(Date::FromYmd(1399, 12, 31).ok());
  EXPECT_FALSE(Date::FromYmd(10000, 1, 1).ok());
  EXPECT_TRUE(Date::FromYmd(1400, 1, 1).ok());
  EXPECT_TRUE(Date::FromYmd(9999, 12, 31).ok());
}

TEST(DateTest, ParseGood) {
  Date date = D("2011-01-03");
  EXPECT_EQ(date, Ymd(2011, 1, 3));
  EXPECT_EQ(date.days_since_epoch(), 14977);  // 14975 days to 2011-01-01, + 2
  EXPECT_EQ(date.ToString(), "2011-01-03");
  EXPECT_EQ(D("2012-02-29").ToString(), "2012-02-29");
  EXPECT_EQ(D("1970-01-01").days_since_epoch(), 0);
  EXPECT_EQ(D("1969-12-31").days_since_epoch(), -1);
  EXPECT_EQ(Date::FromDaysSinceEpoch(14977), date);
}

TEST(DateTest, ParseBadNamesTheText) {
  for (absl::string_view bad : {"2011-1-3", "2011-02-29", "", "20110103", "2011/01/03",
                                "2011-01-03T00:00:00Z", "2011-01-3 ", "1399-12-31", "2011-00-10",
                                "2011-01-+3"}) {
    SCOPED_TRACE(bad);
    ExpectRejectedNaming(Date::Parse(bad).status(), absl::StrCat("\"", bad, "\""));
  }
}

TEST(DateTest, Fields) {
  Date leap = D("2012-02-29");
  EXPECT_EQ(leap.year(), 2012);
  EXPECT_EQ(leap.month(), 2);
  EXPECT_EQ(leap.day(), 29);
  // 2012-01-01 was a Sunday; 29 Feb is 59 days later, 59 = 8 * 7 + 3:
  // three days after a Sunday, a Wednesday.
  EXPECT_EQ(leap.day_of_week(), 3);
  EXPECT_EQ(D("2011-01-01").day_of_week(), 6);  // Saturday
  EXPECT_EQ(D("2011-01-02").day_of_week(), 0);  // Sunday
  EXPECT_EQ(D("2011-01-03").day_of_week(), 1);  // Monday
  EXPECT_EQ(D("1970-01-01").day_of_week(), 4);  // Thursday
  Date far = D("9999-12-31");
  EXPECT_EQ(far.year(), 9999);
  EXPECT_EQ(far.month(), 12);
  EXPECT_EQ(far.day(), 31);
}

TEST(DateTest, AddDaysAndOrder) {
  EXPECT_EQ(D("2011-02-28").AddDays(1), D("2011-03-01"));
  EXPECT_EQ(D("2012-02-28").AddDays(1), D("2012-02-29"));
  EXPECT_EQ(D("2011-01-01").AddDays(-1), D("2010-12-31"));
  EXPECT_LT(D("2010-12-31"), D("2011-01-01"));
}

// ---------------------------------------------------------------- Calendar

TEST(CalendarTest, AddMonthsClampsToTheEndOfShorterMonths) {
  EXPECT_EQ(AddMonths(D("2011-01-31"), 1), D("2011-02-28"));
  EXPECT_EQ(AddMonths(D("2012-01-31"), 1), D("2012-02-29"));
  EXPECT_EQ(AddMonths(D("2012-02-29"), 12), D("2013-02-28"));
  EXPECT_EQ(AddMonths(D("2012-02-29"), 48), D("2016-02-29"));
  EXPECT_EQ(AddMonths(D("2011-05-31"), 1), D("2011-06-30"));
  EXPECT_EQ(AddMonths(D("2016-12-12"), 36), D("2019-12-12"));
  EXPECT_EQ(AddMonths(D("2011-12-15"), 1), D("2012-01-15"));
  EXPECT_EQ(AddMonths(D("2011-06-15"), 0), D("2011-06-15"));
}

TEST(CalendarTest, AddMonthsNegative) {
  EXPECT_EQ(AddMonths(D("2011-03-31"), -1), D("2011-02-28"));
  EXPECT_EQ(AddMonths(D("2012-03-31"), -1), D("2012-02-29"));
  EXPECT_EQ(AddMonths(D("2011-03-31"), -12), D("2010-03-31"));
  EXPECT_EQ(AddMonths(D("2011-01-15"), -1), D("2010-12-15"));
  // 2012-03 - 13 months = 2011-02; 31 clamps to 28.
  EXPECT_EQ(AddMonths(D("2012-03-31"), -13), D("2011-02-28"));
  // 2011-01 - 24 = 2009-01, - 1 more = 2008-12.
  EXPECT_EQ(AddMonths(D("2011-01-15"), -25), D("2008-12-15"));
}

TEST(CalendarTest, EndOfMonthQuarterYear) {
  EXPECT_EQ(EndOfMonth(D("2011-02-10")), D("2011-02-28"));
  EXPECT_EQ(EndOfMonth(D("2012-02-10")), D("2012-02-29"));
  EXPECT_EQ(EndOfMonth(D("2011-04-30")), D("2011-04-30"));
  EXPECT_EQ(EndOfMonth(D("2011-12-01")), D("2011-12-31"));

  EXPECT_EQ(EndOfQuarter(D("2011-01-01")), D("2011-03-31"));
  EXPECT_EQ(EndOfQuarter(D("2011-03-31")), D("2011-03-31"));
  EXPECT_EQ(EndOfQuarter(D("2011-04-01")), D("2011-06-30"));
  EXPECT_EQ(EndOfQuarter(D("2011-05-15")), D("2011-06-30"));
  EXPECT_EQ(EndOfQuarter(D("2011-09-30")), D("2011-09-30"));
  EXPECT_EQ(EndOfQuarter(D("2011-10-01")), D("2011-12-31"));
  EXPECT_EQ(EndOfQuarter(D("2019-12-12")), D("2019-12-31"));

  EXPECT_EQ(EndOfYear(D("2011-05-15")), D("2011-12-31"));
  EXPECT_EQ(EndOfYear(D("2011-01-01")), D("2011-12-31"));
  EXPECT_EQ(EndOfYear(D("2011-12-31")), D("2011-12-31"));
}

TEST(CalendarTest, NextMonthDay) {
  EXPECT_EQ(NextMonthDay(D("2011-01-01"), 9, 30), D("2011-09-30"));
  EXPECT_EQ(NextMonthDay(D("2011-09-29"), 9, 30), D("2011-09-30"));
  EXPECT_EQ(NextMonthDay(D("2011-09-30"), 9, 30), D("2011-09-30"));  // on the day: that day
  EXPECT_EQ(NextMonthDay(D("2011-10-01"), 9, 30), D("2012-09-30"));
  EXPECT_EQ(NextMonthDay(D("2011-12-31"), 9, 30), D("2012-09-30"));
}

TEST(CalendarTest, CalendarYearAndQuarter) {
  EXPECT_EQ(CalendarYearOf(D("2011-05-15")), (Period{D("2011-01-01"), D("2011-12-31")}));
  EXPECT_EQ(CalendarYearOf(D("2012-12-31")), (Period{D("2012-01-01"), D("2012-12-31")}));
  EXPECT_EQ(CalendarQuarterOf(D("2011-01-01")), (Period{D("2011-01-01"), D("2011-03-31")}));
  EXPECT_EQ(CalendarQuarterOf(D("2011-05-15")), (Period{D("2011-04-01"), D("2011-06-30")}));
  EXPECT_EQ(CalendarQuarterOf(D("2011-09-30")), (Period{D("2011-07-01"), D("2011-09-30")}));
  EXPECT_EQ(CalendarQuarterOf(D("2011-12-31")), (Period{D("2011-10-01"), D("2011-12-31")}));
}

TEST(CalendarTest, PeriodContainsIsClosed) {
  Period q2{D("2011-04-01"), D("2011-06-30")};
  EXPECT_TRUE(q2.Contains(D("2011-04-01")));
  EXPECT_TRUE(q2.Contains(D("2011-06-30")));
  EXPECT_FALSE(q2.Contains(D("2011-03-31")));
  EXPECT_FALSE(q2.Contains(D("2011-07-01")));
}

TEST(CalendarTest, RollingMonths) {
  EXPECT_EQ(RollingMonthsEndingOn(D("2011-03-31"), 12), (Period{D("2010-04-01"), D("2011-03-31")}));
  // (2010-12-15, 2011-03-15]
  EXPECT_EQ(RollingMonthsEndingOn(D("2011-03-15"), 3), (Period{D("2010-12-16"), D("2011-03-15")}));
  EXPECT_EQ(RollingMonthsEndingOn(D("2012-12-31"), 1), (Period{D("2012-12-01"), D("2012-12-31")}));
}

TEST(CalendarTest, MembershipYearOrdinaryAnniversary) {
  Date enrolled = D("2011-01-03");
  EXPECT_EQ(MembershipYearOf(enrolled, D("2011-01-03")), (Period{D("2011-01-03"), D("2012-01-02")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2011-06-01")), (Period{D("2011-01-03"), D("2012-01-02")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2012-01-02")), (Period{D("2011-01-03"), D("2012-01-02")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2012-01-03")), (Period{D("2012-01-03"), D("2013-01-02")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2015-01-01")), (Period{D("2014-01-03"), D("2015-01-02")}));
}

TEST(CalendarTest, MembershipYearLeapDayAnniversary) {
  // In years without 29 February the anniversary falls on the 28th (the
  // same clamping as AddMonths).
  Date enrolled = D("2012-02-29");
  EXPECT_EQ(MembershipYearOf(enrolled, D("2012-02-29")), (Period{D("2012-02-29"), D("2013-02-27")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2013-02-27")), (Period{D("2012-02-29"), D("2013-02-27")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2013-02-28")), (Period{D("2013-02-28"), D("2014-02-27")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2013-03-01")), (Period{D("2013-02-28"), D("2014-02-27")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2015-02-27")), (Period{D("2014-02-28"), D("2015-02-27")}));
  // The year before a leap anniversary runs to 28 February inclusive.
  EXPECT_EQ(MembershipYearOf(enrolled, D("2016-02-28")), (Period{D("2015-02-28"), D("2016-02-28")}));
  EXPECT_EQ(MembershipYearOf(enrolled, D("2016-02-29")), (Period{D("2016-02-29"), D("2017-02-27")}));
}

TEST(CalendarTest, MembershipYearsTileTheCalendar) {
  // Every day from the anniversary on lies in exactly one year, and each
  // year starts the day after the previous one ends.
  Date enrolled = D("2012-02-29");
  Period year = MembershipYearOf(enrolled, enrolled);
  for (Date day = enrolled; day <= D("2021-01-01"); day = day.AddDays(1)) {
    if (!year.Contains(day)) {
      ASSERT_EQ(day, year.last.AddDays(1)) << day.ToString();
      year = MembershipYearOf(enrolled, day);
      ASSERT_EQ(year.first, day) << day.ToString();
    }
    ASSERT_EQ(MembershipYearOf(enrolled, day), year) << day.ToString();
  }
}

// ---------------------------------------------------------------- TimeZone

TEST(TimeZoneTest, Load) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status();
  EXPECT_EQ(berlin->name(), "Europe/Berlin");
  EXPECT_EQ(TimeZone::Utc().name(), "UTC");
  ExpectRejectedNaming(TimeZone::Load("Mars/Olympus").status(), "Mars/Olympus");
  EXPECT_EQ(TimeZone::Load("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TimeZoneTest, LocalDateAroundNewYear) {
  Instant at = I("2010-12-31T23:30:00Z");
  EXPECT_EQ(Zone("Europe/Berlin").LocalDate(at), D("2011-01-01"));   // 00:30 CET
  EXPECT_EQ(TimeZone::Utc().LocalDate(at), D("2010-12-31"));
  EXPECT_EQ(Zone("America/New_York").LocalDate(at), D("2010-12-31"));  // 18:30 EST
  EXPECT_EQ(Zone("Europe/Berlin").LocalDate(I("2010-12-31T22:59:59Z")), D("2010-12-31"));
  EXPECT_EQ(Zone("Europe/Berlin").LocalDate(I("2010-12-31T23:00:00Z")), D("2011-01-01"));
}

TEST(TimeZoneTest, StartOfDayOrdinaryDays) {
  EXPECT_EQ(TimeZone::Utc().StartOfDay(D("2011-01-03")), I("2011-01-03T00:00:00Z"));
  TimeZone berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin.StartOfDay(D("2011-01-03")), I("2011-01-02T23:00:00Z"));  // CET, +1
  EXPECT_EQ(berlin.StartOfDay(D("2011-07-01")), I("2011-06-30T22:00:00Z"));  // CEST, +2
}

TEST(TimeZoneTest, StartOfDayAcrossBerlinDst) {
  TimeZone berlin = Zone("Europe/Berlin");
  // Clocks go forward at 02:00 on 27 March 2011; midnight is still CET.
  EXPECT_EQ(berlin.StartOfDay(D("2011-03-27")), I("2011-03-26T23:00:00Z"));
  EXPECT_EQ(berlin.StartOfDay(D("2011-03-28")), I("2011-03-27T22:00:00Z"));
  // Clocks go back at 03:00 on 30 October 2011; midnight is still CEST.
  EXPECT_EQ(berlin.StartOfDay(D("2011-10-30")), I("2011-10-29T22:00:00Z"));
  EXPECT_EQ(berlin.StartOfDay(D("2011-10-31")), I("2011-10-30T23:00:00Z"));
}

TEST(TimeZoneTest, StartOfDayWithSkippedMidnight) {
  // Brazil's DST began at 00:00 on 4 November 2018: 00:00 -03 became
  // 01:00 -02, so the day begins at 01:00 local = 03:00 UTC.
  TimeZone sao_paulo = Zone("America/Sao_Paulo");
  EXPECT_EQ(sao_paulo.StartOfDay(D("2018-11-04")), I("2018-11-04T03:00:00Z"));
  EXPECT_EQ(sao_paulo.StartOfDay(D("2018-11-03")), I("2018-11-03T03:00:00Z"));  // -03
  EXPECT_EQ(sao_paulo.StartOfDay(D("2018-11-05")), I("2018-11-05T02:00:00Z"));  // -02
  EXPECT_EQ(sao_paulo.LocalDate(I("2018-11-04T02:59:59Z")), D("2018-11-03"));
  EXPECT_EQ(sao_paulo.LocalDate(I("2018-11-04T03:00:00Z")), D("2018-11-04"));
  // The start of a day is always on that day, and a second earlier is not.
  Instant start = sao_paulo.StartOfDay(D("2018-11-04"));
  EXPECT_EQ(sao_paulo.LocalDate(start), D("2018-11-04"));
  EXPECT_EQ(sao_paulo.LocalDate(Instant::FromUnixMicros(start.unix_micros() - 1)),
            D("2018-11-03"));
}

// LocalDate remembers the UTC offset between a zone's transitions (per
// thread); these compare it with Abseil's own conversion, uncached.
Date AbseilLocalDate(absl::TimeZone zone, Instant instant);
Date AbseilLocalDate(absl::string_view zone_name, Instant instant) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(std::string(zone_name), &zone));
  return AbseilLocalDate(zone, instant);
}
Date AbseilLocalDate(absl::TimeZone zone, Instant instant) {
  absl::CivilDay day = absl::ToCivilDay(instant.ToAbsl(), zone);
  return Date::FromDaysSinceEpoch(static_cast<int32_t>(day - absl::CivilDay(1970, 1, 1)));
}

// Zones with daylight saving time both ways round the year, a half-hour
// one, a skipped day (Apia left out 30 December 2011), a skipped midnight,
// and none.
constexpr absl::string_view kZones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                        "Pacific/Apia",  "America/Sao_Paulo", "Asia/Kolkata", "UTC"};

TEST(TimeZoneTest, LocalDateMatchesAbseilAroundEveryTransition) {
  for (absl::string_view name : kZones) {
    absl::TimeZone zone;
    ASSERT_TRUE(absl::LoadTimeZone(std::string(name), &zone));
    TimeZone cached = Zone(name);
    absl::Time t = absl::FromCivil(absl::CivilSecond(2009, 1, 1), absl::UTCTimeZone());
    const absl::Time last = absl::FromCivil(absl::CivilSecond(2020, 1, 1), absl::UTCTimeZone());
    absl::TimeZone::CivilTransition transition;
    while (t < last && zone.NextTransition(t, &transition)) {
      t = zone.At(transition.to).trans;
      for (int64_t step : {-3'600'000'001LL, -1'000'001LL, -1'000'000LL, -1LL, 0LL, 1LL, 999'999LL, 3'600'000'000LL}) {
        Instant at = Instant::FromUnixMicros(absl::ToUnixMicros(t) + step);
        ASSERT_EQ(cached.LocalDate(at), AbseilLocalDate(zone, at)) << name << " at " << at.ToString();
      }
    }
  }
}

TEST(TimeZoneTest, LocalDateMatchesAbseilEveryQuarterHour) {
  // Zones and instants interleaved, so that the remembered spans are
  // replaced all the time.
  std::vector<std::pair<TimeZone, absl::TimeZone>> zones;
  for (absl::string_view name : kZones) {
    zones.emplace_back(Zone(name), absl::TimeZone());
    ASSERT_TRUE(absl::LoadTimeZone(std::string(name), &zones.back().second));
  }
  const int64_t first = I("2010-10-01T00:00:00Z").unix_micros();
  const int64_t quarter_hour = int64_t{15} * 60 * 1'000'000;
  for (int64_t i = 0; i < 4 * 24 * 800; ++i) {
    for (const auto& [zone, reference] : zones) {
      Instant at = Instant::FromUnixMicros(first + i * quarter_hour + (i % 7) * 131);
      Instant far = Instant::FromUnixMicros(at.unix_micros() + 4 * 24 * 1096 * quarter_hour);  // 3 years on
      ASSERT_EQ(zone.LocalDate(at), AbseilLocalDate(reference, at)) << zone.name() << " at " << at.ToString();
      ASSERT_EQ(zone.LocalDate(far), AbseilLocalDate(reference, far)) << zone.name() << " at " << far.ToString();
    }
  }
}

TEST(TimeZoneTest, LocalDateMatchesAbseilBeyondTheListedTransitions) {
  // Abseil lists a zone's transitions up to about 2037; its rules go on
  // (Berlin and New York still change in 2040). Kolkata has not changed
  // since 1945, UTC never.
  for (absl::string_view name : {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"}) {
    absl::TimeZone reference;
    ASSERT_TRUE(absl::LoadTimeZone(std::string(name), &reference));
    TimeZone zone = Zone(name);
    const int64_t first = I("2036-01-01T00:00:00Z").unix_micros();
    const int64_t hour = int64_t{3600} * 1'000'000;
    for (int64_t i = 0; i < 24 * 366 * 5; ++i) {
      Instant at = Instant::FromUnixMicros(first + i * hour - (i % 2));
      ASSERT_EQ(zone.LocalDate(at), AbseilLocalDate(reference, at)) << name << " at " << at.ToString();
    }
    for (int64_t i = 24 * 366 * 5; i > 0; i -= 7) {  // backwards, into the listed ones
      Instant at = Instant::FromUnixMicros(first + i * hour);
      ASSERT_EQ(zone.LocalDate(at), AbseilLocalDate(reference, at)) << name << " at " << at.ToString();
    }
  }
}

TEST(TimeZoneTest, LocalDateAtTheBoundariesOfDaysAndPeriods) {
  // Every day's first instant is on that day, the one before on the day
  // before: quarter and year ends (expiry, tier periods) included.
  for (absl::string_view name : kZones) {
    TimeZone zone = Zone(name);
    for (Date day = D("2011-01-01"); day <= D("2013-01-01"); day = day.AddDays(1)) {
      // Apia went from 29 to 31 December 2011.
      const bool apia = name == "Pacific/Apia";
      if (apia && day == D("2011-12-30")) continue;
      const Date previous = apia && day == D("2011-12-31") ? D("2011-12-29") : day.AddDays(-1);
      Instant start = zone.StartOfDay(day);
      ASSERT_EQ(zone.LocalDate(start), day) << name;
      ASSERT_EQ(zone.LocalDate(Instant::FromUnixMicros(start.unix_micros() - 1)), previous) << name;
    }
  }
  TimeZone berlin = Zone("Europe/Berlin");
  EXPECT_EQ(berlin.LocalDate(I("2011-03-31T21:59:59.999999Z")), D("2011-03-31"));  // end of Q1, CEST
  EXPECT_EQ(berlin.LocalDate(I("2011-03-31T22:00:00Z")), D("2011-04-01"));
  EXPECT_EQ(berlin.LocalDate(I("2011-12-31T22:59:59.999999Z")), D("2011-12-31"));  // end of year, CET
  EXPECT_EQ(berlin.LocalDate(I("2011-12-31T23:00:00Z")), D("2012-01-01"));
}

TEST(TimeZoneTest, LocalDateFarFromTodayMatchesAbseil) {
  for (absl::string_view name : kZones) {
    for (Instant at : {I("1400-01-01T00:00:00Z"), I("1893-03-31T23:00:00Z"), I("1900-01-01T00:00:00Z"),
                       I("1969-12-31T23:59:59.999999Z"), I("2100-06-30T22:30:00Z"), I("9999-12-31T23:59:59Z"),
                       Instant::FromUnixMicros(-1), Instant::Min(), Instant::Max()}) {
      EXPECT_EQ(Zone(name).LocalDate(at), AbseilLocalDate(name, at)) << name << " at " << at.unix_micros();
    }
  }
}

// ---------------------------------------------------------------- Clock

TEST(FakeClockTest, SetAndAdvance) {
  FakeClock clock(I("2011-01-03T00:00:00Z"));
  EXPECT_EQ(clock.Now(), I("2011-01-03T00:00:00Z"));
  EXPECT_EQ(clock.Now(), I("2011-01-03T00:00:00Z"));  // it stands still
  clock.Advance(absl::Hours(25) + absl::Microseconds(7));
  EXPECT_EQ(clock.Now(), I("2011-01-04T01:00:00.000007Z"));
  clock.Advance(absl::Seconds(-1));
  EXPECT_EQ(clock.Now(), I("2011-01-04T00:59:59.000007Z"));
  clock.Set(I("2010-06-01T12:00:00Z"));
  EXPECT_EQ(clock.Now(), I("2010-06-01T12:00:00Z"));
  const Clock& as_clock = clock;
  EXPECT_EQ(as_clock.Now(), I("2010-06-01T12:00:00Z"));
}

// ---------------------------------------------------------------- Program

Program MakeProgram(int months, ExpiryTerm::Round round) {
  auto program = Program::Create("mm-2010", "Europe/Berlin", ExpiryTerm{months, round});
  EXPECT_TRUE(program.ok()) << program.status();
  return *program;
}

TEST(ProgramTest, Create) {
  Program program = MakeProgram(36, ExpiryTerm::Round::kEndOfQuarter);
  EXPECT_EQ(program.version_id(), "mm-2010");
  EXPECT_EQ(program.zone().name(), "Europe/Berlin");
  EXPECT_EQ(program.InForceAt(Instant::Min()).expiry.months, 36);
  EXPECT_EQ(program.InForceAt(Instant::Min()).expiry.round, ExpiryTerm::Round::kEndOfQuarter);
}

TEST(ProgramTest, CreateRejectsBadArguments) {
  ExpectRejectedNaming(
      Program::Create("mm-2010", "Mars/Olympus", ExpiryTerm{36, ExpiryTerm::Round::kNone}).status(),
      "Mars/Olympus");
  EXPECT_EQ(Program::Create("mm-2010", "Europe/Berlin", ExpiryTerm{-1, ExpiryTerm::Round::kNone})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Program::Create("mm-2010", "Europe/Berlin", ExpiryTerm{1201, ExpiryTerm::Round::kNone})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      Program::Create("mm-2010", "Europe/Berlin", ExpiryTerm{1200, ExpiryTerm::Round::kNone}).ok());
  EXPECT_EQ(Program::Create("", "Europe/Berlin", ExpiryTerm{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Program::Create(std::string(65, 'v'), "Europe/Berlin", ExpiryTerm{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Program::Create(std::string(64, 'v'), "Europe/Berlin", ExpiryTerm{}).ok());
}

TEST(ProgramTest, LotExpiryEndOfQuarter) {
  // Earned 2016-12-12 (Berlin), + 36 months = 2019-12-12, end of quarter
  // 2019-12-31; lapses at the start of 2020-01-01 CET = 2019-12-31T23:00Z.
  Program program = MakeProgram(36, ExpiryTerm::Round::kEndOfQuarter);
  EXPECT_EQ(program.LotExpiry(I("2016-12-12T10:00:00Z")), I("2019-12-31T23:00:00Z"));
}

TEST(ProgramTest, LotExpiryUsesTheLocalDate) {
  // 2016-12-31T23:30Z is 2017-01-01 00:30 in Berlin: + 36 months =
  // 2020-01-01, quarter ends 2020-03-31; 2020-04-01 starts in CEST (+2),
  // since DST began on 29 March 2020: 2020-03-31T22:00Z.
  Program program = MakeProgram(36, ExpiryTerm::Round::kEndOfQuarter);
  EXPECT_EQ(program.LotExpiry(I("2016-12-31T23:30:00Z")), I("2020-03-31T22:00:00Z"));
}

TEST(ProgramTest, LotExpiryEachRounding) {
  Instant earned = I("2016-11-12T10:00:00Z");  // + 36 months = 2019-11-12
  // No rounding: last valid day 2019-11-11, lapse at the start of 11-12.
  EXPECT_EQ(MakeProgram(36, ExpiryTerm::Round::kNone).LotExpiry(earned), I("2019-11-11T23:00:00Z"));
  // End of month 2019-11-30: lapse at the start of 12-01.
  EXPECT_EQ(MakeProgram(36, ExpiryTerm::Round::kEndOfMonth).LotExpiry(earned),
            I("2019-11-30T23:00:00Z"));
  EXPECT_EQ(MakeProgram(36, ExpiryTerm::Round::kEndOfQuarter).LotExpiry(earned),
            I("2019-12-31T23:00:00Z"));
  EXPECT_EQ(MakeProgram(36, ExpiryTerm::Round::kEndOfYear).LotExpiry(earned),
            I("2019-12-31T23:00:00Z"));
  // Summer: 2016-06-15 + 12 = 2017-06-15, end of month 06-30; 2017-07-01
  // starts at 00:00 CEST = 2017-06-30T22:00Z.
  EXPECT_EQ(MakeProgram(12, ExpiryTerm::Round::kEndOfMonth).LotExpiry(I("2016-06-15T10:00:00Z")),
            I("2017-06-30T22:00:00Z"));
  // End of year: 2016-03-01 + 12 = 2017-03-01 -> 2017-12-31.
  EXPECT_EQ(MakeProgram(12, ExpiryTerm::Round::kEndOfYear).LotExpiry(I("2016-03-01T10:00:00Z")),
            I("2017-12-31T23:00:00Z"));
}

TEST(ProgramTest, ZeroMonthsNeverExpire) {
  Program program = MakeProgram(0, ExpiryTerm::Round::kEndOfQuarter);
  EXPECT_EQ(program.LotExpiry(I("2016-12-12T10:00:00Z")), Instant::Max());
  EXPECT_EQ(MakeProgram(0, ExpiryTerm::Round::kNone).LotExpiry(I("2016-12-12T10:00:00Z")),
            Instant::Max());
}

}  // namespace
}  // namespace loyalty
