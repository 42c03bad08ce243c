// The program the journal fuzz targets (fuzz_journal_reader,
// fuzz_checkpoint) build their journals under: purchases earn points (one
// rule from a campaign budget), a spend counter and stamps on a card, a voucher to redeem, points for sale,
// expiry, and a one-tier ladder.
#ifndef LOYALTY_FUZZ_FUZZ_PROGRAM_H_
#define LOYALTY_FUZZ_FUZZ_PROGRAM_H_

#include "loyalty/io.h"
#include "loyalty/program.h"

namespace loyalty::fuzz {

inline constexpr char kProgram[] = R"({"versions": [
 {"id": "fuzz-1", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2023-11-01T00:00:00Z", "effective_from": "2024-01-01T00:00:00Z",
  "counters": ["spend"],
  "accrual": [{"id": "base", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "1", "rounding": "down"}},
              {"id": "spend", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "1", "rounding": "down", "balance": "spend"}},
              {"id": "launch", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "fixed", "fixed": 5}, "cap": {"budget": 8}}],
  "redemption": {"catalog": [{"id": "voucher", "price": 100}]},
  "stamp_cards": [{"id": "food-card", "when": {"include_categories": ["food"]}, "stamps": 2, "reward": "voucher",
                   "voucher_days": 30}],
  "point_sales": {"price_per_point": "0.01", "minimum": 100},
  "expiry": {"months": 24, "round": "end_of_month"},
  "tiers": {"period": "rolling_12_months", "validity_months": 12,
            "ladder": [{"id": "silver", "qualify": [{"spend": 50}]}]}}]})";

// kProgram, parsed once.
inline const Program& TheProgram() {
  static const Program* program = new Program(*ParseProgram(kProgram));
  return *program;
}

}  // namespace loyalty::fuzz

#endif  // LOYALTY_FUZZ_FUZZ_PROGRAM_H_
