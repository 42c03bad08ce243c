// Decisions on catalog rewards and award-chart prices: a quote, a
// redemption and a hold of a reward, priced now or at a quote's price, with
// the grandfathering the version in force promises (price_lock,
// earned_before) and the tier's redemption discount.
#include "absl/strings/str_cat.h"
#include "decide/commands.h"
#include "loyalty/redemption.h"

namespace loyalty::internal {
namespace {

// Spendable points at `at` in lots earned before the version's
// earned_before date (none if it declares none).
Points ProtectedPoints(const ProgramVersion& version, const MemberState& member, Instant at) {
  if (!version.grandfathering.earned_before) return Points(0);
  int64_t total = 0;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > at && lot.earned_at < *version.grandfathering.earned_before) total += lot.remaining.value();
  }
  return Points(total);
}

// Takes the redemption discount of the member's tier off a fresh price
// (off each share of an earned_before split), rounded down.
absl::Status ApplyTierDiscount(const ProgramVersion& version, const MemberState& member, PriceQuote& quote) {
  const std::string tier = CurrentTier(version.tiers, member.detail().status);
  const Tier* rules = version.tiers.Find(tier);
  if (rules == nullptr || rules->benefits.redemption_discount.mantissa() == 0) return absl::OkStatus();
  const Rate& share = rules->benefits.redemption_discount;
  auto off = [&](Points& part) -> absl::StatusOr<Points> {
    auto waived = Scale(part, share, Rounding::kDown);
    if (!waived.ok()) return waived.status();
    part = Points(part.value() - waived->value());
    return *waived;
  };
  Points waived;
  if (quote.price.grandfathering == "earned_before") {
    auto a = off(quote.price.old_points);
    if (!a.ok()) return a.status();
    auto b = off(quote.price.new_points);
    if (!b.ok()) return b.status();
    waived = Points(a->value() + b->value());
    quote.amount = Points(quote.price.old_points.value() + quote.price.new_points.value());
  } else {
    auto a = off(quote.amount);
    if (!a.ok()) return a.status();
    waived = *a;
  }
  quote.price.tier = tier;
  quote.price.discount = waived;
  absl::StrAppend(&quote.explanation, ", ", waived.value(), " off for ", tier, " (", share.ToString(), ")");
  return absl::OkStatus();
}

// The price of `reward` now, or the price of quote `quote_id` if it still
// stands: under the version that made it, or under a newer version that
// locks the prices of quotes made before it took effect.
absl::StatusOr<PriceQuote> ResolvePrice(const Program& program, const MemberState& member, const MemberId& id,
                                        const std::string& reward, uint64_t quote_id, Instant at) {
  if (reward.empty()) return Invalid("reward", "must not be empty");
  const ProgramVersion& now = program.InForceAt(at);
  if (quote_id == 0) {
    auto priced = PriceReward(program, reward, at, ProtectedPoints(now, member, at));
    if (!priced.ok()) return priced;
    if (absl::Status s = ApplyTierDiscount(now, member, *priced); !s.ok()) return s;
    return priced;
  }
  auto it = member.detail().quotes.find(quote_id);
  if (it == member.detail().quotes.end()) {
    return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open quote ", quote_id));
  }
  const Quote& quote = it->second;
  if (quote.price.reward != reward) {
    return Invalid("reward", absl::StrCat("quote ", quote_id, " is for ", quote.price.reward, ", not ", reward));
  }
  if (at >= quote.expires_at) {
    return absl::FailedPreconditionError(absl::StrCat("member ", id.value(), ": quote ", quote_id, " lapsed at ",
                                                      quote.expires_at.ToString()));
  }
  PriceQuote priced{quote.amount, quote.price, absl::StrCat("quote ", quote_id, ": ", quote.amount.value(), " points")};
  if (&program.InForceAt(quote.quoted_at) == &now) return priced;
  if (!now.grandfathering.price_lock || quote.quoted_at >= now.effective_from) {
    return absl::FailedPreconditionError(absl::StrCat(
        "member ", id.value(), ": quote ", quote_id, " was priced under ", quote.price.version, "; ", now.id,
        " (in force since ", now.effective_from.ToString(), ") does not lock earlier prices: quote again"));
  }
  priced.price.grandfathering = "price_lock";
  absl::StrAppend(&priced.explanation, ", price locked under ", now.id);
  return priced;
}

// The lots that pay `quote`: for an earned_before split, the old share
// from lots earned before the cut-off and the new share from the others.
absl::StatusOr<std::vector<LotDraw>> DrawForPrice(const Program& program, const MemberState& member,
                                                  const MemberId& id, const PriceQuote& quote, Instant at) {
  if (quote.price.grandfathering != "earned_before") return Draw(member, id, quote.amount, at);
  const ProgramVersion* version = program.Find(quote.price.version);
  LOYALTY_CHECK(version != nullptr && version->grandfathering.earned_before.has_value());
  const Instant cutoff = *version->grandfathering.earned_before;
  auto old_draws = Draw(member, id, quote.price.old_points, at, [&](const Lot& lot) { return lot.earned_at < cutoff; });
  if (!old_draws.ok()) return old_draws.status();
  auto new_draws = Draw(member, id, quote.price.new_points, at, [&](const Lot& lot) { return lot.earned_at >= cutoff; });
  if (!new_draws.ok()) return new_draws.status();
  old_draws->insert(old_draws->end(), new_draws->begin(), new_draws->end());
  return old_draws;
}

}  // namespace

Decided DecideQuoteReward(const DecideContext& context, const QuoteReward& c, Entry entry) {
  if (absl::Status s = CheckTtl(c.ttl); !s.ok()) return s;
  auto priced = ResolvePrice(context.program, context.member(), context.id, c.reward, 0, context.at);
  if (!priced.ok()) return priced.status();
  Instant expires_at = Instant::FromAbsl(context.at.ToAbsl() + c.ttl);
  entry.explanation = absl::StrCat("quoted ", priced->explanation, ", valid until ", expires_at.ToString());
  entry.body = entries::Quoted{priced->amount, expires_at, priced->price};
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideRedeemReward(const DecideContext& context, const RedeemReward& c, Entry entry) {
  auto priced = ResolvePrice(context.program, context.member(), context.id, c.reward, c.quote, context.at);
  if (!priced.ok()) return priced.status();
  auto draws = DrawForPrice(context.program, context.member(), context.id, *priced, context.at);
  if (!draws.ok()) return draws.status();
  entry.explanation = absl::StrCat("redeemed ", priced->explanation, ": ", DrawText(*draws));
  entry.body = entries::Debited{priced->amount, *std::move(draws), priced->price, c.quote, std::nullopt};
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideHoldReward(const DecideContext& context, const HoldReward& c, Entry entry) {
  if (absl::Status s = CheckTtl(c.ttl); !s.ok()) return s;
  auto priced = ResolvePrice(context.program, context.member(), context.id, c.reward, c.quote, context.at);
  if (!priced.ok()) return priced.status();
  auto draws = DrawForPrice(context.program, context.member(), context.id, *priced, context.at);
  if (!draws.ok()) return draws.status();
  Instant expires_at = Instant::FromAbsl(context.at.ToAbsl() + c.ttl);
  entry.explanation = absl::StrCat("hold for ", priced->explanation, " until ", expires_at.ToString(), ": ",
                                   DrawText(*draws));
  entry.body = entries::HoldPlaced{priced->amount, expires_at, *std::move(draws), priced->price, c.quote};
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
