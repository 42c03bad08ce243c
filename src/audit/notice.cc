// The notice check: each change from one program version to the next,
// against the promise that a change never lowers the value or shortens the
// validity of points already earned unless it says so, with enough notice.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "loyalty/audit/notice.h"

namespace loyalty {

namespace {

// Rewards a version offers, by id, with their prices.
std::vector<std::pair<std::string, Points>> RewardsOf(const ProgramVersion& version) {
  std::vector<std::pair<std::string, Points>> rewards;
  for (const AwardChartRow& row : version.redemption.award_chart) rewards.emplace_back(AwardRewardId(row), row.price);
  for (const CatalogItem& item : version.redemption.catalog) rewards.emplace_back(item.id, item.price);
  return rewards;
}

// "+16.67 %" for the rise from `before` to `after` (exact, half-even);
// "was free" when there was no price to compare with.
std::string PercentRise(Points before, Points after) {
  if (before.value() <= 0) return "was free";
  Fraction rise{static_cast<Int128>(after.value() - before.value()) * 100, before.value()};
  return absl::StrCat(after >= before ? "+" : "", rise.ToDecimal(2), " %");
}

std::string TermText(const ExpiryTerm& term) {
  if (term.months == 0) return "never expire";
  return absl::StrCat(term.months, " months");
}

// a < b for rates, exactly.
bool RateBelow(const Rate& a, const Rate& b) {
  int scale = std::max(a.scale(), b.scale());
  Int128 x = a.mantissa(), y = b.mantissa();
  for (int i = a.scale(); i < scale; ++i) x *= 10;
  for (int i = b.scale(); i < scale; ++i) y *= 10;
  return x < y;
}

}  // namespace

absl::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kViolation: return "violation";
  }
  return "info";
}

absl::StatusOr<NoticeReport> CheckNotice(const Program& program, const NoticeOptions& options) {
  if (options.minimum_days < 0) {
    return absl::InvalidArgumentError(absl::StrCat("minimum_days: ", options.minimum_days, " is negative"));
  }
  NoticeReport report;
  const auto& versions = program.versions();
  const TimeZone& zone = program.zone();
  for (size_t i = 1; i < versions.size(); ++i) {
    const ProgramVersion& old_version = *versions[i - 1];
    const ProgramVersion& version = *versions[i];
    auto finding = [&](Severity severity, std::string code, std::string subject, std::string facts) {
      report.findings.push_back(
          Finding{severity, std::move(code), old_version.id, version.id, std::move(subject), std::move(facts)});
    };
    TransitionNotice notice{old_version.id, version.id, zone.LocalDate(version.announced_at),
                            zone.LocalDate(version.effective_from), 0};
    notice.days = notice.effective.days_since_epoch() - notice.announced.days_since_epoch();
    report.transitions.push_back(notice);
    const std::string dates = absl::StrCat("announced ", notice.announced.ToString(), ", effective ",
                                           notice.effective.ToString());
    if (version.effective_from < version.announced_at) {
      finding(Severity::kViolation, "retroactive", "effective_from",
              absl::StrCat(dates, ": in force before it was announced"));
    } else if (notice.days < options.minimum_days) {
      finding(Severity::kViolation, "short_notice", "effective_from",
              absl::StrCat(dates, ": ", notice.days, " days of notice, below the minimum of ", options.minimum_days));
    }

    // Rewards: dearer without grandfathering of earned points, or gone.
    const Grandfathering& promise = version.grandfathering;
    const bool protects_earned = promise.book_by.has_value() || promise.earned_before.has_value();
    std::vector<std::pair<std::string, Points>> now = RewardsOf(version);
    for (const auto& [reward, old_price] : RewardsOf(old_version)) {
      const std::string& id = reward;  // clang 14 cannot capture a structured binding
      auto it = std::find_if(now.begin(), now.end(), [&](const auto& r) { return r.first == id; });
      if (it == now.end()) {
        finding(Severity::kWarning, "reward_withdrawn", reward,
                absl::StrCat("offered for ", old_price.value(), " points under ", old_version.id, ", not under ",
                             version.id));
        continue;
      }
      if (it->second <= old_price || protects_earned) continue;
      finding(Severity::kViolation, "devaluation_without_grandfathering", reward,
              absl::StrCat(old_price.value(), " -> ", it->second.value(), " points (", PercentRise(old_price, it->second),
                           "); no book_by or earned_before declared",
                           promise.price_lock ? "; price_lock keeps only open quotes and holds" : ""));
    }
    if (old_version.redemption.pay_with_points && version.redemption.pay_with_points &&
        RateBelow(version.redemption.pay_with_points->value_per_point,
                  old_version.redemption.pay_with_points->value_per_point)) {
      finding(Severity::kViolation, "pay_with_points_devalued", "redemption.pay_with_points.value_per_point",
              absl::StrCat(old_version.redemption.pay_with_points->value_per_point.ToString(), " -> ",
                           version.redemption.pay_with_points->value_per_point.ToString(), " per point"));
    }

    // Validity.
    const ExpiryTerm& before = old_version.expiry;
    const ExpiryTerm& after = version.expiry;
    if (after.months != 0 && (before.months == 0 || after.months < before.months)) {
      finding(Severity::kWarning, "validity_shortened", "expiry.months",
              absl::StrCat("points earned from ", notice.effective.ToString(), " ", TermText(after), " instead of ",
                           TermText(before), "; lots already earned keep their expiry"));
    }
    if (after.inactivity_months != 0 && (before.inactivity_months == 0 || after.inactivity_months < before.inactivity_months)) {
      finding(Severity::kViolation, "inactivity_rule_tightened", "expiry.inactivity_months",
              absl::StrCat("every point lapses after ", after.inactivity_months, " months without activity (was ",
                           before.inactivity_months == 0 ? std::string("no such rule")
                                                         : absl::StrCat(before.inactivity_months, " months"),
                           "); this shortens the validity of points already earned"));
    }
    if (after.closure_grace_months < before.closure_grace_months) {
      finding(Severity::kViolation, "closure_grace_shortened", "expiry.closure_grace_months",
              absl::StrCat(before.closure_grace_months, " -> ", after.closure_grace_months,
                           " months to redeem after a membership closes"));
    }
    std::vector<std::string> removed;
    for (const std::string& flag : before.protected_by_flags) {
      if (std::find(after.protected_by_flags.begin(), after.protected_by_flags.end(), flag) ==
          after.protected_by_flags.end()) {
        removed.push_back(flag);
      }
    }
    if (!removed.empty()) {
      finding(Severity::kViolation, "expiry_protection_removed", "expiry.protected_by_flags",
              absl::StrCat("flags no longer protecting points from expiry: ", absl::StrJoin(removed, ", ")));
    }
  }
  return report;
}

}  // namespace loyalty
