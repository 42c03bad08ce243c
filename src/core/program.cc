// Program versions: validation of a history (including the tier names its
// rules use), the version in force, lot expiry and reward prices.
#include "loyalty/program.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "loyalty/accrual.h"
#include "loyalty/check.h"

namespace loyalty {

absl::string_view ActivityTypeName(const Activity& activity) {
  static constexpr absl::string_view kNames[] = {"purchase", "flight", "custom"};
  return kNames[activity.detail.index()];
}

std::string AwardRewardId(const AwardChartRow& row) {
  return absl::StrCat("award:", row.from_region, "-", row.to_region, ":", row.cabin, ":",
                      row.round_trip ? "round_trip" : "one_way");
}

Instant ProgramVersion::LotExpiry(Instant earned_at) const {
  if (expiry.months == 0) return Instant::Max();
  // Credits come in runs on the same local day; remember the last day's
  // answer per thread, keyed by everything the answer depends on.
  struct Cached {
    const ProgramVersion* version = nullptr;
    ExpiryTerm term;
    std::string zone;
    Instant day_start, day_end, lapses;
  };
  thread_local Cached cached;
  if (cached.version == this && cached.term.months == expiry.months && cached.term.round == expiry.round &&
      cached.term.fixed_month == expiry.fixed_month && cached.term.fixed_day == expiry.fixed_day &&
      cached.zone == zone.name() && cached.day_start <= earned_at && earned_at < cached.day_end) {
    return cached.lapses;
  }
  Date day = zone.LocalDate(earned_at);
  Date last_valid = AddMonths(day, expiry.months);
  switch (expiry.round) {
    case ExpiryTerm::Round::kNone: last_valid = last_valid.AddDays(-1); break;
    case ExpiryTerm::Round::kEndOfMonth: last_valid = EndOfMonth(last_valid); break;
    case ExpiryTerm::Round::kEndOfQuarter: last_valid = EndOfQuarter(last_valid); break;
    case ExpiryTerm::Round::kEndOfYear: last_valid = EndOfYear(last_valid); break;
    case ExpiryTerm::Round::kFixedDay:
      last_valid = NextMonthDay(last_valid, expiry.fixed_month, expiry.fixed_day);
      break;
  }
  Instant lapses = zone.StartOfDay(last_valid.AddDays(1));
  cached = {this, expiry, zone.name(), zone.StartOfDay(day), zone.StartOfDay(day.AddDays(1)), lapses};
  return lapses;
}

absl::StatusOr<Money> PointSales::PriceOf(Points points, const Currency& currency) const {
  Int128 minor = 0;
  if (points.IsNegative() ||
      __builtin_mul_overflow(static_cast<Int128>(points.value()) * price_per_point.mantissa(),
                             PowerOfTen(currency.exponent()), &minor)) {
    return absl::OutOfRangeError("points: the price does not fit");
  }
  const Int128 price = DivideRounded(minor, PowerOfTen(price_per_point.scale()), Rounding::kHalfUp);
  if (price > INT64_MAX) return absl::OutOfRangeError("points: the price does not fit");
  return Money(static_cast<int64_t>(price), currency);
}

absl::StatusOr<Points> ProgramVersion::PriceOf(absl::string_view reward) const {
  for (const CatalogItem& item : redemption.catalog) {
    if (item.id == reward) return item.price;
  }
  for (const AwardChartRow& row : redemption.award_chart) {
    if (AwardRewardId(row) == reward) return row.price;
  }
  return absl::NotFoundError(absl::StrCat("reward \"", reward, "\" is not offered by version ", id));
}

int TierLadder::RankOf(absl::string_view tier) const {
  if (tier.empty()) return -1;
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].id == tier) return static_cast<int>(i);
  }
  return -1;
}

const Tier* TierLadder::Find(absl::string_view tier) const {
  int rank = RankOf(tier);
  return rank < 0 ? nullptr : &tiers[static_cast<size_t>(rank)];
}

absl::Status CheckTierName(const TierLadder& ladder, absl::string_view tier) {
  if (ladder.RankOf(tier) >= 0) return absl::OkStatus();
  if (ladder.tiers.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown tier \"", tier, "\"; the version declares no tiers"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown tier \"", tier, "\"; the version's tiers are: ",
      absl::StrJoin(ladder.tiers, ", ", [](std::string* out, const Tier& t) { absl::StrAppend(out, t.id); })));
}

std::optional<Money> ProgramVersion::CashOf(absl::string_view reward) const {
  for (const CatalogItem& item : redemption.catalog) {
    if (item.id == reward) return item.cash;
  }
  return std::nullopt;
}

namespace {

absl::Status CheckExpiry(const ExpiryTerm& expiry, absl::string_view where) {
  if (expiry.months < 0 || expiry.months > 1200) {
    return absl::InvalidArgumentError(absl::StrCat(where, "expiry months ", expiry.months, " is not in 0..1200"));
  }
  if (expiry.round == ExpiryTerm::Round::kFixedDay &&
      (expiry.fixed_month < 1 || expiry.fixed_month > 12 || expiry.fixed_day < 1 ||
       !Date::FromYmd(2001, expiry.fixed_month, expiry.fixed_day).ok())) {
    return absl::InvalidArgumentError(absl::StrCat(where, "expiry fixed day ", expiry.fixed_month, "-",
                                                   expiry.fixed_day, " does not exist in every year"));
  }
  return absl::OkStatus();
}

// The ladder's ids are non-empty and unique, so that a name means one tier.
absl::Status CheckLadderIds(const TierLadder& ladder) {
  for (size_t i = 0; i < ladder.tiers.size(); ++i) {
    const std::string& id = ladder.tiers[i].id;
    std::string field = absl::StrCat("tiers.tiers[", i, "].id: ");
    if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, "a tier needs an id"));
    if (int first = ladder.RankOf(id); first != static_cast<int>(i)) {
      return absl::InvalidArgumentError(absl::StrCat(field, "\"", id, "\" is also the id of tiers.tiers[", first, "]"));
    }
  }
  return absl::OkStatus();
}

// Every field of `version` that names a tier names one of its own ladder: a
// rule cannot count on a tier that only another version declares, and a
// typo is refused instead of a rule that never fires. The first wrong name
// in version order, with the field's path.
absl::Status CheckTierNames(const ProgramVersion& version) {
  if (absl::Status s = CheckLadderIds(version.tiers); !s.ok()) return s;
  auto check = [&](const std::string& field, absl::string_view tier) {
    absl::Status s = CheckTierName(version.tiers, tier);
    return s.ok() ? s : absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
  };
  for (size_t i = 0; i < version.accrual.size(); ++i) {
    const AccrualRule& rule = version.accrual[i];
    const std::string where = absl::StrCat("accrual[", i, "] (rule \"", rule.id, "\")");
    for (size_t j = 0; j < rule.when.member_tiers.size(); ++j) {
      const std::string field = absl::StrCat(where, ".when.member_tiers[", j, "]");
      if (absl::Status s = check(field, rule.when.member_tiers[j]); !s.ok()) return s;
    }
    for (const auto& [tier, rate] : rule.effect.tier_rates) {
      if (absl::Status s = check(absl::StrCat(where, ".effect.tier_rates[\"", tier, "\"]"), tier); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Program> Program::Create(absl::string_view version_id, absl::string_view time_zone,
                                        ExpiryTerm expiry) {
  auto zone = TimeZone::Load(time_zone);
  if (!zone.ok()) return zone.status();
  ProgramVersion version;
  version.id = std::string(version_id);
  version.name = version.id;
  version.zone = *std::move(zone);
  version.expiry = expiry;
  std::vector<ProgramVersion> versions;
  versions.push_back(std::move(version));
  return FromVersions(std::move(versions));
}

namespace {

// A version's transfer rules as the JSON reader would accept them: a
// minimum of at least 1, a yearly limit not below it, a fee of 0 or more.
absl::Status CheckTransferRules(const std::optional<TransferRules>& rules, absl::string_view where) {
  if (!rules) return absl::OkStatus();
  if (rules->minimum < Points(1) || rules->fee < Points(0) ||
      (rules->yearly_limit && *rules->yearly_limit < rules->minimum)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, "transfers: the minimum must be at least 1, the yearly limit not below it and the fee not negative"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Program> Program::FromVersions(std::vector<ProgramVersion> versions) {
  if (versions.empty()) return absl::InvalidArgumentError("versions: a program needs at least one version");
  absl::flat_hash_set<std::string> ids;
  std::vector<std::shared_ptr<const ProgramVersion>> history;
  for (size_t i = 0; i < versions.size(); ++i) {
    const ProgramVersion& v = versions[i];
    std::string where = absl::StrCat("versions[", i, "] (", v.id, "): ");
    if (v.id.empty() || v.id.size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(where, "id must have 1 to 64 characters"));
    }
    if (!ids.insert(v.id).second) return absl::InvalidArgumentError(absl::StrCat(where, "id is used twice"));
    if (v.announced_at > v.effective_from) {
      return absl::InvalidArgumentError(absl::StrCat(where, "effective_from ", v.effective_from.ToString(),
                                                     " is before announced_at ", v.announced_at.ToString()));
    }
    if (i > 0) {
      const ProgramVersion& before = *history.back();
      if (v.effective_from <= before.effective_from) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "effective_from must be after that of ", before.id));
      }
      if (v.zone.name() != before.zone.name()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "time zone differs from that of ", before.id));
      }
      if (v.currency != before.currency) {
        return absl::InvalidArgumentError(absl::StrCat(where, "currency differs from that of ", before.id));
      }
    }
    if (absl::Status s = CheckExpiry(v.expiry, where); !s.ok()) return s;
    if (absl::Status s = CheckAccrualRules(v); !s.ok()) return absl::Status(s.code(), absl::StrCat(where, s.message()));
    if (absl::Status s = CheckTierNames(v); !s.ok()) return absl::Status(s.code(), absl::StrCat(where, s.message()));
    if (absl::Status s = CheckTransferRules(v.transfers, where); !s.ok()) return s;
    history.push_back(std::make_shared<const ProgramVersion>(std::move(versions[i])));
  }
  return Program(std::move(history));
}

const ProgramVersion& Program::InForceAt(Instant at) const {
  auto after = std::upper_bound(versions_.begin(), versions_.end(), at,
                                [](Instant t, const auto& version) { return t < version->effective_from; });
  return after == versions_.begin() ? *versions_.front() : **(after - 1);
}

const ProgramVersion* Program::Find(absl::string_view version_id) const {
  for (const auto& version : versions_) {
    if (version->id == version_id) return version.get();
  }
  return nullptr;
}

const ProgramVersion* Program::Previous(const ProgramVersion& version) const {
  for (size_t i = 1; i < versions_.size(); ++i) {
    if (versions_[i].get() == &version) return versions_[i - 1].get();
  }
  return nullptr;
}

}  // namespace loyalty
