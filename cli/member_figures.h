// A member's figures as `loyalty run` shows them and a step's `expect`
// names them: the balance, the tier, the qualifying counters of all time
// and those of the qualification period in force, the stamp cards and the
// unused vouchers (docs/json-output.md, "Member figures").
//
//   MemberFigures figures = FiguresOf(program, state, step.at);
//   Json json = ToJson(figures);  // {"available": 887000, ..., "period_counters": {"status_miles": 0}}
#ifndef LOYALTY_CLI_MEMBER_FIGURES_H_
#define LOYALTY_CLI_MEMBER_FIGURES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/audit.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"
#include "nlohmann/json.hpp"

namespace loyalty::cli {

// A voucher not yet redeemed: "7/0", its card and reward, its last valid
// local day, and whether it lapsed by the figures' time.
struct VoucherFigure {
  std::string voucher;
  std::string card;
  std::string reward;
  Date valid_through;
  bool lapsed = false;
};

struct MemberFigures {
  MemberBalance balance;
  std::string tier;                                      // the status tier; "" for none
  std::map<std::string, Points, std::less<>> counters;  // qualifying, all time
  // The qualification period in force at the figures' time, and each
  // counter summed over it (CounterTotal); nullopt and empty if the
  // version in force has no status ladder.
  std::optional<Period> period{};
  std::map<std::string, Points, std::less<>> period_counters{};
  // Stamps on each stamp card's current card, and the unused vouchers.
  std::map<std::string, int64_t, std::less<>> stamps{};
  std::vector<VoucherFigure> vouchers{};
};

// The figures of `state` at `at`, the period's under the version of
// `program` in force then.
MemberFigures FiguresOf(const Program& program, const MemberState& state, Instant at);

// {"available", "held", "debt", "tier" (null for none), "counters",
// "period": {"first", "last"} or null, "period_counters" (null without a
// period), "stamps": {card: count}, "vouchers": [{"voucher": "7/0", "card",
// "reward", "valid_through", "lapsed"}]}.
nlohmann::ordered_json ToJson(const MemberFigures& figures);

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_MEMBER_FIGURES_H_
