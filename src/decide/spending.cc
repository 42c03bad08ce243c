// Decisions that spend raw points, soonest-expiring lots first: a
// redemption, paying at the till, and holds (placed, captured, released).
#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {

Decided DecideRedeem(const DecideContext& context, const Redeem& c, Entry entry) {
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
  auto draws = Draw(context.member(), context.id, c.amount, context.at);
  if (!draws.ok()) return draws.status();
  entry.explanation = absl::StrCat("redeemed ", c.amount.value(), " points", c.reason.empty() ? "" : " for " + c.reason,
                                   ": ", DrawText(*draws));
  entry.body = entries::Debited{c.amount, *std::move(draws), RewardPrice{}, 0, std::nullopt};
  return std::vector<Entry>{std::move(entry)};
}

Decided DecidePayWithPoints(const DecideContext& context, const PayWithPointsAtTill& c, Entry entry) {
  const ProgramVersion& version = context.version();
  if (!version.redemption.pay_with_points) {
    return absl::FailedPreconditionError(absl::StrCat("version ", version.id, " offers no paying with points"));
  }
  const PayWithPoints& terms = *version.redemption.pay_with_points;
  if (absl::Status s = CheckPositive("points", c.points); !s.ok()) return s;
  if (c.points < terms.minimum_points) {
    return Invalid("points", absl::StrCat(c.points.value(), " is below the minimum of ", terms.minimum_points.value()));
  }
  if (terms.step_points > Points(0) && c.points.value() % terms.step_points.value() != 0) {
    return Invalid("points", absl::StrCat(c.points.value(), " is not a multiple of ", terms.step_points.value()));
  }
  auto value = ToMoney(c.points, terms.value_per_point, version.currency, Rounding::kDown);
  if (!value.ok()) return value.status();
  auto draws = Draw(context.member(), context.id, c.points, context.at);
  if (!draws.ok()) return draws.status();

  entry.explanation = absl::StrCat("paid ", value->ToString(), " with ", c.points.value(), " points at ",
                                   terms.value_per_point.ToString(), " ", version.currency.code(), " per point under ",
                                   version.id, ": ", DrawText(*draws));
  RewardPrice price{"pay_with_points", version.id, "", Points(0), Points(0), std::nullopt, "", Points(0)};
  entry.body = entries::Debited{c.points, *std::move(draws), std::move(price), 0, *value};
  return std::vector<Entry>{std::move(entry)};
}

Decided DecidePlaceHold(const DecideContext& context, const PlaceHold& c, Entry entry) {
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
  if (absl::Status s = CheckTtl(c.ttl); !s.ok()) return s;
  auto draws = Draw(context.member(), context.id, c.amount, context.at);
  if (!draws.ok()) return draws.status();
  Instant expires_at = Instant::FromAbsl(context.at.ToAbsl() + c.ttl);
  entry.explanation = absl::StrCat("hold of ", c.amount.value(), " points until ", expires_at.ToString(),
                                   c.reason.empty() ? "" : " for " + c.reason, ": ", DrawText(*draws));
  entry.body = entries::HoldPlaced{c.amount, expires_at, *std::move(draws), RewardPrice{}, 0};
  return std::vector<Entry>{std::move(entry)};
}

// A hold of a reward placed under an earlier version is captured at its
// price only if the version in force now locks earlier prices.
Decided DecideCaptureHold(const DecideContext& context, const CaptureHold& c, Entry entry) {
  const std::string& id = context.id.value();
  auto it = context.member().detail().holds.find(c.hold);
  if (it == context.member().detail().holds.end()) {
    return absl::NotFoundError(absl::StrCat("member ", id, ": no open hold ", c.hold));
  }
  const Hold& hold = it->second;
  if (context.at >= hold.expires_at) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", id, ": hold ", c.hold, " lapsed at ", hold.expires_at.ToString()));
  }
  RewardPrice price = hold.price;
  const ProgramVersion& now = context.version();
  if (!price.reward.empty() && &context.program.InForceAt(hold.placed_at) != &now) {
    if (!now.grandfathering.price_lock || hold.placed_at >= now.effective_from) {
      return absl::FailedPreconditionError(absl::StrCat("member ", id, ": hold ", c.hold, " was priced under ",
                                                        price.version, "; ", now.id,
                                                        " does not lock earlier prices: release it and hold again"));
    }
    price.grandfathering = "price_lock";
  }
  entry.explanation = absl::StrCat("captured hold ", c.hold, ": ", hold.amount.value(), " points",
                                   price.reward.empty() ? "" : " for " + price.reward,
                                   price.grandfathering == "price_lock" ? ", price locked under " + now.id : "");
  entry.body = entries::HoldCaptured{c.hold, hold.amount, hold.draws, price};
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideReleaseHold(const DecideContext& context, const ReleaseHold& c, Entry entry) {
  const MemberState& member = context.member();
  auto it = member.detail().holds.find(c.hold);
  if (it == member.detail().holds.end()) {
    return absl::NotFoundError(absl::StrCat("member ", context.id.value(), ": no open hold ", c.hold));
  }
  // A hold released after its time-to-live had already lapsed: the entry
  // says so, as the one an expiry run would have written.
  const bool lapsed = context.at >= it->second.expires_at;
  entries::HoldReleased body{c.hold, lapsed, it->second.amount, {}, Points(0)};
  body.draws = SettleDebt(it->second.draws, member.debt(), &body.debt_paid);
  entry.explanation = absl::StrCat("released hold ", c.hold,
                                   lapsed ? absl::StrCat(" (lapsed at ", it->second.expires_at.ToString(), ")") : "",
                                   ": ", it->second.amount.value(), " points back to their lots",
                                   DebtText(body.debt_paid));
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
