// The program-wide use of campaign budgets (budget_use.h).
#include "ledger/budget_use.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace loyalty::internal {

BudgetUse::BudgetUse(const Program* program) {
  if (program == nullptr) return;
  for (const auto& version : program->versions()) {
    for (const AccrualRule& rule : version->accrual) {
      if (rule.cap.budget.has_value()) used_.try_emplace(rule.id, 0);
    }
  }
}

Points BudgetUse::Used(absl::string_view rule) const {
  auto it = used_.find(rule);
  if (it == used_.end()) return Points(0);
  return Points(static_cast<int64_t>(std::min<Int128>(it->second, std::numeric_limits<int64_t>::max())));
}

void BudgetUse::AddUses(const MemberState& member, int sign) {
  if (used_.empty()) return;
  for (const auto& [rule, use] : member.detail().rule_use) {
    auto it = used_.find(rule);
    if (it != used_.end()) it->second += sign * static_cast<Int128>(use.total.value());
  }
}

void BudgetUse::Add(const MemberState& member) { AddUses(member, 1); }
void BudgetUse::Remove(const MemberState& member) { AddUses(member, -1); }

void BudgetUse::Add(const Entry& entry) {
  const auto* credited = std::get_if<entries::Credited>(&entry.body);
  if (used_.empty() || credited == nullptr || credited->activity.empty()) return;
  for (const RuleGrant& grant : credited->grants) {
    auto it = used_.find(grant.rule);
    if (it != used_.end()) it->second += grant.granted.value();
  }
}

std::string BudgetUse::Overspent(const ProgramVersion& version, const entries::Credited& credited) const {
  if (used_.empty() || credited.activity.empty()) return "";
  for (const RuleGrant& grant : credited.grants) {
    if (grant.granted.IsZero()) continue;
    auto rule = std::find_if(version.accrual.begin(), version.accrual.end(),
                             [&](const AccrualRule& r) { return r.id == grant.rule; });
    if (rule == version.accrual.end() || !rule->cap.budget.has_value()) continue;
    auto counted = used_.find(grant.rule);
    const Int128 used = counted == used_.end() ? 0 : counted->second;
    if (used + grant.granted.value() > rule->cap.budget->value()) {
      return absl::StrCat("rule ", grant.rule, " grants ", grant.granted.value(), " points with ",
                          static_cast<int64_t>(std::min<Int128>(used, std::numeric_limits<int64_t>::max())),
                          " of its budget of ", rule->cap.budget->value(), " under version ", version.id,
                          " already granted");
    }
  }
  return "";
}

}  // namespace loyalty::internal
