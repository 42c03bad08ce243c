// The decision on an activity (Accrue): the accrual rules of the version in
// force at its time, with the member's rule usage on that local day and
// month for the caps, and the status the qualifying counters may lift.
#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"
#include "loyalty/accrual.h"

namespace loyalty::internal {
namespace {

// What the member already received under `rule` on local day `day` and in
// month `month` (year * 12 + month - 1), in total, and how often; and what
// every member received under it (`budgets`).
RuleUsage UsageOf(const MemberState& member, absl::string_view rule, int32_t day, int32_t month,
                  BudgetLookup budgets) {
  RuleUsage usage;
  usage.budget = budgets(rule);
  auto it = member.detail().rule_use.find(rule);
  if (it == member.detail().rule_use.end()) return usage;
  const RuleUse& use = it->second;
  usage.day = use.day == day ? use.day_points : Points(0);
  usage.month = use.month == month ? use.month_points : Points(0);
  usage.campaign = use.total;
  usage.uses = use.uses;
  return usage;
}

// "accrued N points on <source> under <version>, valid through <day>;
// <rule> -> <balance>: <formula>; ...".
std::string AccrualText(const Program& program, const ProgramVersion& version, const entries::Credited& body,
                        const AccrualResult& result) {
  std::string text = absl::StrCat("accrued ", body.amount.value(), " points on ", body.source, " under ", version.id);
  if (body.amount > Points(0)) absl::StrAppend(&text, ", valid through ", LastValidDay(program, body.expires_at));
  for (const AccrualLine& line : result.lines) {
    absl::StrAppend(&text, "; ", line.rule_id, " -> ", line.balance, ": ", FormulaText(line));
  }
  absl::StrAppend(&text, DebtText(body.debt_paid));
  return text;
}

// AlreadyExists if the member was credited for activity `id` at `partner`
// before, under any idempotency key: once, even after its lines were
// returned.
absl::Status CheckNotCredited(const MemberId& member_id, const MemberState& member, const std::string& partner,
                              const std::string& id) {
  auto it = member.detail().activities.find(ActivityFingerprint(partner, id));
  if (it == member.detail().activities.end()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat("member ", member_id.value(), ": activity \"", id, "\"",
                                               partner.empty() ? "" : absl::StrCat(" at partner ", partner),
                                               " was already credited by entry ", it->second));
}

// The quantity of each purchase line, for returns by unit; none when every
// line is one unit (so such an accrual's entry keeps the older form).
std::vector<int64_t> LineUnits(const Activity& activity) {
  const auto* purchase = std::get_if<Purchase>(&activity.detail);
  if (purchase == nullptr) return {};
  std::vector<int64_t> units;
  for (const PurchaseLine& line : purchase->lines) units.push_back(line.quantity);
  if (std::all_of(units.begin(), units.end(), [](int64_t u) { return u == 1; })) units.clear();
  return units;
}

}  // namespace

Decided DecideAccrue(const DecideContext& context, const Accrue& command, Entry entry) {
  const MemberState& member = context.member();
  const Activity& activity = command.activity;
  if (absl::Status s = CheckText("activity.id", activity.id, true); !s.ok()) return s;
  if (absl::Status s = CheckNotCredited(context.id, member, entry.partner, activity.id); !s.ok()) return s;
  const ProgramVersion& version = context.version();
  const Date day = version.zone.LocalDate(context.at);
  const int32_t month = day.year() * 12 + day.month() - 1;
  auto usage = [&](absl::string_view rule) {
    return UsageOf(member, rule, day.days_since_epoch(), month, context.budgets);
  };
  const std::string tier = CurrentTier(version.tiers, member.detail().status);
  const Tier* tier_rules = version.tiers.Find(tier);
  AccrualContext accrual{context.at, tier, !member.has_accrued, usage,
                         tier_rules == nullptr ? std::nullopt : tier_rules->benefits.earn_bonus};
  auto result = EvaluateAccrual(version, activity, accrual);
  if (!result.ok()) return result.status();
  if (absl::Status s = CheckRoom(member, context.id, result->redeemable); !s.ok()) return s;
  if (absl::Status s = CheckCounterRoom(member, result->counters); !s.ok()) return s;

  auto upgrade = UpgradeOnCounters(context.program, member, context.at,
                                   Pending(result->counters, day.days_since_epoch(), false));
  entries::Credited body;
  body.amount = result->redeemable;
  body.debt_paid = std::min(body.amount, member.debt());
  // A status reached by this very accrual protects its points too.
  body.expires_at = upgrade && Protected(version, member, StatusAfter(member.detail().status, *upgrade))
                        ? Instant::Max()
                        : NewLotExpiry(version, member, context.at);
  body.source = absl::StrCat(ActivityTypeName(activity), " ", activity.id);
  body.counters = result->counters;
  body.activity = activity.id;
  body.line_points = result->per_line;
  body.line_units = LineUnits(activity);
  body.unattributed = result->unattributed;
  for (const AccrualLine& line : result->lines) body.grants.push_back({line.rule_id, line.granted});
  body.local_day = day.days_since_epoch();
  if (absl::Status s = CollectStamps(version, member, activity, accrual, body); !s.ok()) return s;
  entry.explanation = AccrualText(context.program, version, body, *result) + StampsText(context.program, member, body);
  entry.body = std::move(body);
  return WithTierChange(context.program, member, upgrade, context.at, std::move(entry));
}

}  // namespace loyalty::internal
