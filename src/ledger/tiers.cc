// Status tiers (loyalty/tiers.h): periods, counter totals, qualification,
// validity, the period-close review, upgrades, revocation and standing.
#include "loyalty/tiers.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "loyalty/check.h"

namespace loyalty {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kInt64Max : std::numeric_limits<int64_t>::min();
  return sum;
}

std::string SpanText(const Period& span) { return absl::StrCat(span.first.ToString(), "..", span.last.ToString()); }

// The local date of enrolment, which only membership years need (a time
// zone conversion per member is worth saving in a review of millions).
Date EnrolledOn(const Program& program, const MemberState& member) {
  if (program.InForceAt(member.enrolled_at).tiers.period != TierLadder::Period::kMembershipYear &&
      program.versions().back()->tiers.period != TierLadder::Period::kMembershipYear) {
    return Date();
  }
  return program.zone().LocalDate(member.enrolled_at);
}

// The days of `periods` consecutive periods ending with `last`.
Period SpanOf(const TierLadder& ladder, Date enrolled, const Period& last, int periods) {
  Period span = last;
  Period period = last;
  for (int i = 1; i < periods; ++i) {
    period = PreviousPeriod(ladder, enrolled, period);
    span.first = period.first;
  }
  return span;
}

// The first requirement of `qualification` met over `span`, as text, or
// nullopt. `all_time` sums every day instead.
std::optional<std::string> Meets(const TierQualification& qualification, const MemberState& member,
                                 const Period& span, std::span<const PendingCounter> pending) {
  for (const TierRequirement& requirement : qualification.any_of) {
    bool met = !requirement.minimums.empty();
    std::string text;
    for (const auto& [counter, minimum] : requirement.minimums) {
      int64_t have = CounterTotal(member, counter, span, pending);
      if (have < minimum.value()) {
        met = false;
        break;
      }
      absl::StrAppend(&text, text.empty() ? "" : " and ", counter, " ", have, " >= ", minimum.value());
    }
    if (met) return text;
  }
  return std::nullopt;
}

const Period kAllTime{Date::FromDaysSinceEpoch(std::numeric_limits<int32_t>::min()),
                      Date::FromDaysSinceEpoch(std::numeric_limits<int32_t>::max())};

// The next tier down from rank `rank` that can be held without invitation
// or payment, or -1.
int SoftLandingRank(const TierLadder& ladder, int rank) {
  for (int r = rank - 1; r >= 0; --r) {
    const Tier& tier = ladder.tiers[static_cast<size_t>(r)];
    if (!tier.invitation_only && !tier.paid) return r;
  }
  return -1;
}

const std::string& IdAt(const TierLadder& ladder, int rank) {
  static const std::string kNone;
  return rank < 0 ? kNone : ladder.tiers[static_cast<size_t>(rank)].id;
}


// Applies the lifetime floor to a decision (or to the current status).
void ApplyLifetime(const TierLadder& ladder, const TierQualifying& lifetime, TierDecision& decision) {
  int floor = std::max(ladder.RankOf(lifetime.tier), ladder.RankOf(decision.lifetime_tier));
  decision.lifetime_tier = IdAt(ladder, floor);
  if (floor > ladder.RankOf(decision.tier)) {
    decision.tier = decision.lifetime_tier;
    decision.valid_until = Instant::Max();
    decision.reason = "lifetime";
    decision.on_counters = false;
    decision.span = Period{};
    decision.explanation = lifetime.explanation.empty()
                               ? absl::StrCat(decision.tier, " for life")
                               : absl::StrCat(lifetime.explanation, " over the whole membership: for life");
  }
}

bool SameStatus(const TierStatus& status, const TierDecision& decision) {
  return status.tier == decision.tier && status.valid_until == decision.valid_until &&
         status.lifetime_tier == decision.lifetime_tier;
}

TierDecision FromStatus(const TierStatus& status) {
  TierDecision d;
  d.tier = status.tier;
  d.valid_until = status.valid_until;
  d.reason = status.reason;
  d.lifetime_tier = status.lifetime_tier;
  d.span = {Date::FromDaysSinceEpoch(status.period_first), Date::FromDaysSinceEpoch(status.period_last)};
  d.on_counters = status.period_first != 0 || status.period_last != 0;
  return d;
}

TierTarget TargetFor(const Tier& tier, const TierLadder& ladder, const MemberState& member, Date enrolled,
                     const Period& period) {
  TierTarget target;
  target.tier = tier.id;
  target.span = SpanOf(ladder, enrolled, period, tier.qualification.periods);
  for (const TierRequirement& requirement : tier.qualification.any_of) {
    std::vector<TierGap> gaps;
    bool met = !requirement.minimums.empty();
    for (const auto& [counter, minimum] : requirement.minimums) {
      int64_t have = CounterTotal(member, counter, target.span, {});
      int64_t missing = std::max<int64_t>(0, minimum.value() - have);
      met = met && missing == 0;
      gaps.push_back({counter, Points(have), minimum, Points(missing)});
    }
    target.met = target.met || met;
    target.any_of.push_back(std::move(gaps));
  }
  return target;
}

}  // namespace

Period QualificationPeriodOf(const TierLadder& ladder, Date enrolled, Date date) {
  switch (ladder.period) {
    case TierLadder::Period::kCalendarYear:
      return CalendarYearOf(date);
    case TierLadder::Period::kRolling12Months:
      return RollingMonthsEndingOn(date, 12);
    case TierLadder::Period::kMembershipYear: {
      int years = date.year() - enrolled.year();
      while (AddMonths(enrolled, 12 * years) > date) --years;
      while (AddMonths(enrolled, 12 * (years + 1)) <= date) ++years;
      return {AddMonths(enrolled, 12 * years), AddMonths(enrolled, 12 * (years + 1)).AddDays(-1)};
    }
  }
  LOYALTY_CHECK(false);
  return {};
}

Period PreviousPeriod(const TierLadder& ladder, Date enrolled, const Period& period) {
  return QualificationPeriodOf(ladder, enrolled, period.first.AddDays(-1));
}

int64_t CounterTotal(const MemberState& member, absl::string_view counter, const Period& span,
                     std::span<const PendingCounter> pending) {
  int64_t total = 0;
  if (auto days = member.detail().counter_days.find(counter); days != member.detail().counter_days.end()) {
    for (auto it = days->second.lower_bound(span.first.days_since_epoch());
         it != days->second.end() && it->first <= span.last.days_since_epoch(); ++it) {
      total = SaturatingAdd(total, it->second.value());
    }
  }
  for (const PendingCounter& change : pending) {
    if (change.counter == counter && span.Contains(Date::FromDaysSinceEpoch(change.day))) {
      total = SaturatingAdd(total, change.amount);
    }
  }
  return total;
}

const TierLadder& ThresholdsFor(const Program& program, Date period_first, Instant at) {
  const TierLadder& now = program.InForceAt(at).tiers;
  if (now.thresholds_apply_immediately) return now;
  const TierLadder& then = program.InForceAt(program.zone().StartOfDay(period_first)).tiers;
  return then.tiers.empty() ? now : then;
}

TierQualifying QualifyingTier(const Program& program, const MemberState& member, Date enrolled,
                              const Period& last_period, Instant at, std::span<const PendingCounter> pending) {
  const TierLadder& ladder = program.InForceAt(at).tiers;
  const TierLadder& thresholds = ThresholdsFor(program, last_period.first, at);
  // Highest first; ranks are those of the ladder in force.
  for (int rank = static_cast<int>(ladder.tiers.size()) - 1; rank >= 0; --rank) {
    const Tier& current = ladder.tiers[static_cast<size_t>(rank)];
    const Tier* tier = thresholds.Find(current.id);
    if (tier == nullptr || tier->invitation_only || tier->paid) continue;
    Period span = SpanOf(ladder, enrolled, last_period, tier->qualification.periods);
    if (auto met = Meets(tier->qualification, member, span, pending)) {
      return {tier->id, span, absl::StrCat(tier->id, ": ", *met, " over ", SpanText(span))};
    }
  }
  return {};
}

TierQualifying LifetimeTier(const Program& program, const MemberState& member, Instant at,
                            std::span<const PendingCounter> pending) {
  const TierLadder& ladder = program.InForceAt(at).tiers;
  for (auto tier = ladder.tiers.rbegin(); tier != ladder.tiers.rend(); ++tier) {
    if (!tier->lifetime) continue;
    if (auto met = Meets(*tier->lifetime, member, kAllTime, pending)) {
      return {tier->id, Period{}, absl::StrCat(tier->id, ": ", *met)};
    }
  }
  return {};
}

Instant StatusValidUntil(const TierLadder& ladder, const TimeZone& zone, const Period& period, Date earned_on) {
  if (ladder.months_after_period > 0) {
    return zone.StartOfDay(EndOfMonth(AddMonths(period.last, ladder.months_after_period)).AddDays(1));
  }
  if (ladder.validity_months > 0) return zone.StartOfDay(AddMonths(earned_on, ladder.validity_months));
  return Instant::Max();
}

std::optional<TierDecision> ReviewStatus(const Program& program, const MemberState& member, Instant as_of) {
  const ProgramVersion& version = program.InForceAt(as_of);
  const TierLadder& ladder = version.tiers;
  if (ladder.tiers.empty()) return std::nullopt;
  const TierStatus& status = member.detail().status;
  const Date enrolled = EnrolledOn(program, member);
  const Date today = version.zone.LocalDate(as_of);
  // The last period closed by as_of: the one before the period of today
  // (for a rolling period, the one that ended yesterday).
  const Period closed = ladder.period == TierLadder::Period::kRolling12Months
                            ? QualificationPeriodOf(ladder, enrolled, today.AddDays(-1))
                            : PreviousPeriod(ladder, enrolled, QualificationPeriodOf(ladder, enrolled, today));
  TierQualifying earned = QualifyingTier(program, member, enrolled, closed, as_of, {});
  const Instant earned_until = StatusValidUntil(ladder, version.zone, closed, today);
  const int earned_rank = earned_until > as_of ? ladder.RankOf(earned.tier) : -1;

  TierDecision next = FromStatus(status);
  const int rank = ladder.RankOf(status.tier);
  const bool improves = earned_rank > rank || (earned_rank == rank && earned_rank >= 0 && earned_until > status.valid_until);
  if (improves) {
    next = TierDecision{earned.tier, earned_until, earned_rank > rank ? "qualified" : "retained", status.lifetime_tier,
                        earned.span, true, earned.explanation};
  } else if (rank >= 0 && status.valid_until <= as_of) {
    // The status lapsed without being earned again.
    auto to_earned = [&](absl::string_view reason) {
      if (earned_rank >= 0) {
        next = TierDecision{earned.tier, earned_until, std::string(reason), status.lifetime_tier, earned.span, true,
                            absl::StrCat(status.tier, " lapsed; ", earned.explanation)};
      } else {
        next = TierDecision{"", Instant::Max(), "expired", status.lifetime_tier, Period{}, false,
                            absl::StrCat(status.tier, " lapsed at ", status.valid_until.ToString(),
                                         "; no tier earned over ", SpanText(closed))};
      }
    };
    switch (ladder.downgrade) {
      case TierLadder::Downgrade::kToEarned:
        to_earned("downgraded");
        break;
      case TierLadder::Downgrade::kGrace:
        if (!status.in_grace && ladder.grace_months > 0) {
          Instant until = version.zone.StartOfDay(
              AddMonths(version.zone.LocalDate(status.valid_until), ladder.grace_months));
          if (until > as_of) {
            next = TierDecision{status.tier, until, "grace", status.lifetime_tier, Period{}, false,
                                absl::StrCat(status.tier, " lapsed; ", ladder.grace_months, " months of grace")};
            break;
          }
        }
        to_earned("downgraded");
        break;
      case TierLadder::Downgrade::kOneTier: {
        // One tier down, valid a year longer than the lapsed status, and
        // again for a review that comes later than that.
        int landing = SoftLandingRank(ladder, rank);
        Instant until = status.valid_until;
        while (landing >= 0) {
          until = version.zone.StartOfDay(AddMonths(version.zone.LocalDate(until), 12));
          if (until > as_of) break;
          landing = SoftLandingRank(ladder, landing);
        }
        if (earned_rank >= landing) {
          to_earned("soft_landing");
        } else {
          next = TierDecision{IdAt(ladder, landing), until, "soft_landing", status.lifetime_tier, Period{}, false,
                              absl::StrCat(status.tier, " lapsed at ", status.valid_until.ToString(),
                                           "; one tier down to ", IdAt(ladder, landing), " (soft landing)")};
        }
        break;
      }
    }
  }
  ApplyLifetime(ladder, LifetimeTier(program, member, as_of, {}), next);
  if (SameStatus(status, next)) return std::nullopt;
  return next;
}

std::optional<TierDecision> UpgradeOnCounters(const Program& program, const MemberState& member, Instant at,
                                              std::span<const PendingCounter> pending) {
  const ProgramVersion& version = program.InForceAt(at);
  const TierLadder& ladder = version.tiers;
  if (ladder.tiers.empty() || pending.empty()) return std::nullopt;
  const Date enrolled = EnrolledOn(program, member);
  const Date today = version.zone.LocalDate(at);
  const Period current = QualificationPeriodOf(ladder, enrolled, today);
  TierQualifying earned = QualifyingTier(program, member, enrolled, current, at, pending);
  TierDecision next = FromStatus(member.detail().status);
  if (ladder.RankOf(earned.tier) > ladder.RankOf(member.detail().status.tier)) {
    next = TierDecision{earned.tier, StatusValidUntil(ladder, version.zone, current, today), "qualified",
                        member.detail().status.lifetime_tier, earned.span, true, earned.explanation};
  }
  ApplyLifetime(ladder, LifetimeTier(program, member, at, pending), next);
  if (SameStatus(member.detail().status, next)) return std::nullopt;
  return next;
}

std::optional<TierDecision> ReviewAfterReversal(const Program& program, const MemberState& member, Instant at,
                                                std::span<const PendingCounter> pending) {
  const ProgramVersion& version = program.InForceAt(at);
  const TierLadder& ladder = version.tiers;
  const TierStatus& status = member.detail().status;
  const bool on_counters = status.period_first != 0 || status.period_last != 0;
  if (ladder.tiers.empty() || !on_counters || status.tier.empty()) return std::nullopt;
  const Period span{Date::FromDaysSinceEpoch(status.period_first), Date::FromDaysSinceEpoch(status.period_last)};
  bool touches = std::any_of(pending.begin(), pending.end(), [&](const PendingCounter& change) {
    return change.amount < 0 && span.Contains(Date::FromDaysSinceEpoch(change.day));
  });
  const Tier* held = ladder.Find(status.tier);
  if (!touches || held == nullptr) return std::nullopt;
  if (Meets(held->qualification, member, span, pending)) return std::nullopt;

  TierDecision next = FromStatus(status);
  if (ladder.on_reversal == TierLadder::OnReversal::kKeep) {
    next.reason = "kept";
    next.explanation = absl::StrCat("a reversal lowered the counters of ", SpanText(span), " below ", status.tier,
                                    "; the program keeps status on reversal");
    return next;
  }
  // Revoke: the best tier the counters of the same periods still support.
  const Date enrolled = EnrolledOn(program, member);
  const Period last = QualificationPeriodOf(ladder, enrolled, span.last);
  TierQualifying still = QualifyingTier(program, member, enrolled, last, at, pending);
  if (ladder.RankOf(still.tier) >= 0) {
    next = TierDecision{still.tier, StatusValidUntil(ladder, version.zone, last, span.last), "revoked",
                        status.lifetime_tier, still.span, true,
                        absl::StrCat(status.tier, " revoked after a reversal; ", still.explanation)};
  } else {
    next = TierDecision{"", Instant::Max(), "revoked", status.lifetime_tier, Period{}, false,
                        absl::StrCat(status.tier, " revoked after a reversal: the counters of ", SpanText(span),
                                     " no longer reach any tier")};
  }
  ApplyLifetime(ladder, LifetimeTier(program, member, at, pending), next);
  return next;
}

TierStanding StandingOf(const Program& program, const MemberState& member, Instant at) {
  const ProgramVersion& version = program.InForceAt(at);
  const TierLadder& ladder = version.tiers;
  const TierStatus& status = member.detail().status;
  TierStanding standing;
  standing.tier = CurrentTier(ladder, status);
  standing.valid_until = status.valid_until;
  standing.reason = status.reason;
  standing.lifetime_tier = status.lifetime_tier;
  standing.paid_tier = status.paid_tier;
  standing.paid_until = status.paid_until;
  if (ladder.tiers.empty() || !member.enrolled) return standing;
  const int rank = ladder.RankOf(standing.tier);
  if (const Tier* tier = ladder.Find(standing.tier)) {
    standing.name = tier->name;
    standing.benefits = tier->benefits;
  }
  const Date enrolled = EnrolledOn(program, member);
  const Period current = QualificationPeriodOf(ladder, enrolled, version.zone.LocalDate(at));
  const TierLadder& thresholds = ThresholdsFor(program, current.first, at);
  auto target = [&](int r) -> std::optional<TierTarget> {
    const Tier* tier = thresholds.Find(IdAt(ladder, r));
    if (tier == nullptr || tier->qualification.any_of.empty() || tier->invitation_only || tier->paid) {
      return std::nullopt;
    }
    return TargetFor(*tier, ladder, member, enrolled, current);
  };
  if (rank >= 0) standing.keep = target(rank);
  for (int r = rank + 1; r < static_cast<int>(ladder.tiers.size()) && !standing.next; ++r) standing.next = target(r);
  return standing;
}

}  // namespace loyalty
