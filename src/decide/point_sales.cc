// Points bought for money (PurchasePoints) at the version's price, within
// its minimum, step and yearly limit, and the refund of the unused ones
// (RefundPoints) at the price they were bought for.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {
namespace {

// The price of `points` under `version`; InvalidArgument if it is below
// one minor unit.
absl::StatusOr<Money> PriceOf(const ProgramVersion& version, const PointSales& sales, Points points) {
  absl::StatusOr<Money> price = sales.PriceOf(points, version.currency);
  if (price.ok() && price->minor_units() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("points: ", points.value(), " points cost less than the smallest unit of ",
                                                   version.currency.code()));
  }
  return price;
}

// The points the member bought in local year `year`, less refunds.
int64_t BoughtIn(const MemberState& member, int year) {
  int64_t bought = 0;
  for (const auto& [seq, purchase] : member.detail().purchases) {
    if (Date::FromDaysSinceEpoch(purchase.local_day).year() == year) {
      bought += purchase.points.value() - purchase.refunded.value();
    }
  }
  return bought;
}

// The minimum, the step and the yearly limit of `sales` for buying `points`.
absl::Status CheckQuantity(const DecideContext& context, const PointSales& sales, Points points, int year) {
  if (points < sales.minimum) {
    return Invalid("points", absl::StrCat(points.value(), " is below the minimum of ", sales.minimum.value()));
  }
  if (points.value() % sales.step.value() != 0) {
    return Invalid("points", absl::StrCat(points.value(), " is not a multiple of ", sales.step.value()));
  }
  if (!sales.yearly_limit) return absl::OkStatus();
  const int64_t bought = BoughtIn(context.member(), year);
  if (points.value() > sales.yearly_limit->value() - bought) {
    return absl::FailedPreconditionError(absl::StrCat(
        "member ", context.id.value(), ": buying ", points.value(), " points would make ", bought + points.value(),
        " bought in ", year, ", over the limit of ", sales.yearly_limit->value(), " a year"));
  }
  return absl::OkStatus();
}

}  // namespace

Decided DecidePurchasePoints(const DecideContext& context, const PurchasePoints& c, Entry entry) {
  const MemberState& member = context.member();
  const ProgramVersion& version = context.version();
  if (!version.point_sales) {
    return absl::FailedPreconditionError(absl::StrCat("version ", version.id, " does not sell points"));
  }
  if (absl::Status s = CheckPositive("points", c.points); !s.ok()) return s;
  const Date day = version.zone.LocalDate(context.at);
  if (absl::Status s = CheckQuantity(context, *version.point_sales, c.points, day.year()); !s.ok()) return s;
  absl::StatusOr<Money> price = PriceOf(version, *version.point_sales, c.points);
  if (!price.ok()) return price.status();
  if (c.price && c.price->currency() != price->currency()) {
    return Invalid("price", absl::StrCat(c.price->currency().code(), " is not the program currency ",
                                         price->currency().code()));
  }
  if (c.price && *c.price != *price) {
    return absl::FailedPreconditionError(absl::StrCat("price: the member was shown ", c.price->ToString(), "; ",
                                                      c.points.value(), " points cost ", price->ToString(),
                                                      " under version ", version.id));
  }
  if (absl::Status s = CheckRoom(member, context.id, c.points); !s.ok()) return s;
  entries::Credited body;
  body.amount = c.points;
  body.debt_paid = std::min(c.points, member.debt());
  body.expires_at = NewLotExpiry(version, member, context.at);
  body.source = "points bought";
  body.local_day = day.days_since_epoch();
  body.price = *price;
  entry.explanation = absl::StrCat("bought ", c.points.value(), " points for ", price->ToString(), " under ",
                                   version.id, ", valid through ", LastValidDay(context.program, body.expires_at),
                                   DebtText(body.debt_paid));
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideRefundPoints(const DecideContext& context, const RefundPoints& c, Entry entry) {
  const MemberState& member = context.member();
  const std::string& id = context.id.value();
  auto it = member.detail().purchases.find(c.purchase);
  const Lot* lot = member.FindLot(LotId{c.purchase, 0});
  if (it == member.detail().purchases.end() || lot == nullptr) {
    return absl::NotFoundError(absl::StrCat("member ", id, ": no purchase of points ", c.purchase));
  }
  if (lot->expires_at <= context.at && lot->remaining > Points(0)) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id, ": the points bought by entry ", c.purchase,
                                                      " lapsed after ", LastValidDay(context.program, lot->expires_at)));
  }
  const Points unused = RefundablePoints(*lot);
  if (unused.IsZero()) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id, ": the ", it->second.points.value(),
                                                      " points bought by entry ", c.purchase,
                                                      " are spent or refunded: none is left to refund"));
  }
  entries::EarnReversed body{c.purchase, unused, unused, Points(0), {}, {}, it->second.local_day};
  body.refund = RefundOf(it->second, *lot, unused);
  entry.explanation = absl::StrCat("refunded ", unused.value(), " unused of the ", it->second.points.value(),
                                   " points bought by entry ", c.purchase, " for ", it->second.price.ToString(),
                                   ": ", body.refund->ToString(), " paid back");
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
