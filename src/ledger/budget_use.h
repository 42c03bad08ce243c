// Campaign budgets' use (AccrualCap::budget): what each accrual rule with a
// budget granted to every member together, the sum of the members'
// RuleUse::total. Decide reads it; the journal's readers check each accrual
// against it and add the accrual's grants after it applies.
//
//   BudgetUse budgets(&program);
//   members.ForEach([&](const MemberId&, const MemberState& m) { budgets.Add(m); });
//   auto used = [&](absl::string_view rule) { return budgets.Used(rule); };
//   auto decided = Decide(program, lookup, command, now, used);
//   ... append, apply ...; for (const Entry& e : *decided) budgets.Add(e);
//
// Only the rule ids that have a budget in some version of the program are
// counted; the sums are exact (128 bits).
// Thread safety: thread-compatible; the engine guards its own.
#ifndef LOYALTY_SRC_LEDGER_BUDGET_USE_H_
#define LOYALTY_SRC_LEDGER_BUDGET_USE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/value.h"

namespace loyalty::internal {

class BudgetUse {
 public:
  // Counts the rules with a budget in any version of `program`; none
  // without a program.
  explicit BudgetUse(const Program* program);

  // No rule of the program has a budget: nothing is counted.
  bool empty() const { return used_.empty(); }

  // Whether `rule` has a budget in some version: its use is counted.
  bool Counts(absl::string_view rule) const { return used_.contains(rule); }

  // What `rule` granted to every member so far; 0 for a rule without a
  // budget. At most the largest Points (a budget is never larger).
  Points Used(absl::string_view rule) const;

  // Adds (or removes) a member's use of the budgeted rules, from its state.
  void Add(const MemberState& member);
  void Remove(const MemberState& member);
  // Adds an accrual's grants (a Credited entry of an activity, as Apply
  // records them in RuleUse); any other entry adds nothing.
  void Add(const Entry& entry);

  // "" if every grant of `credited`, an accrual decided under `version`,
  // fits what is left of its rule's budget in that version (a grant of 0
  // always fits); else why not, naming the rule.
  std::string Overspent(const ProgramVersion& version, const entries::Credited& credited) const;

 private:
  void AddUses(const MemberState& member, int sign);

  absl::flat_hash_map<std::string, Int128> used_;  // by rule id
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_BUDGET_USE_H_
