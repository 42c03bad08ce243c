// Points coming back to a member who owes points settle the debt first: the
// one rule of that order, shared by Decide, Apply and the journal's reader.
#ifndef LOYALTY_SRC_LEDGER_DEBT_H_
#define LOYALTY_SRC_LEDGER_DEBT_H_

#include <algorithm>
#include <cstdint>
#include <vector>

#include "loyalty/value.h"

namespace loyalty::internal {

// What is left of `items` (draws or lots, anything with a positive
// `amount`) when `paid` of them settle a debt first, in their order: the
// first items give their points to the debt, the next ones keep the rest.
template <typename Item>
std::vector<Item> AfterDebt(const std::vector<Item>& items, Points paid) {
  std::vector<Item> kept;
  int64_t owed = paid.value();
  for (const Item& item : items) {
    const int64_t pay = std::min(owed, item.amount.value());
    owed -= pay;
    if (item.amount.value() > pay) {
      kept.push_back(item);
      kept.back().amount = Points(item.amount.value() - pay);
    }
  }
  return kept;
}

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_DEBT_H_
