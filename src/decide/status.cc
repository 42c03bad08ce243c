// Decisions on a member's status tier by command: a tier granted by hand,
// a paid tier subscribed to, and its cancellation. Each produces one
// tier_changed entry, with the lots whose protection from expiry it begins
// or ends.
#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {

Decided DecideGrantTier(const DecideContext& context, const GrantTier& c, Entry entry) {
  const MemberState& member = context.member();
  const ProgramVersion& version = context.version();
  const Tier* tier = version.tiers.Find(c.tier);
  if (tier == nullptr) {
    return absl::NotFoundError(absl::StrCat("tier: ", c.tier.empty() ? "(empty)" : c.tier,
                                            " is not on the ladder of version ", version.id));
  }
  if (tier->paid) return Invalid("tier", absl::StrCat(c.tier, " is a paid tier: subscribe to it"));
  if (absl::Status s = CheckText("reason", c.reason, true); !s.ok()) return s;
  if (absl::Status s = CheckText("actor", c.actor, true); !s.ok()) return s;
  // Without a date, the validity a qualification today would give.
  const Date today = version.zone.LocalDate(context.at);
  Instant until = c.valid_until.value_or(StatusValidUntil(
      version.tiers, version.zone,
      QualificationPeriodOf(version.tiers, version.zone.LocalDate(member.enrolled_at), today), today));
  if (until <= context.at) return Invalid("valid_until", "must be after the grant's time");
  const std::string& lifetime = member.detail().status.lifetime_tier;
  if (version.tiers.RankOf(lifetime) > version.tiers.RankOf(c.tier)) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", context.id.value(), " holds ", lifetime, " for life, above ", c.tier));
  }
  TierDecision decision{c.tier, until, "manual", lifetime, Period{}, false,
                        absl::StrCat("granted by ", c.actor, ": ", c.reason)};
  return std::vector<Entry>{
      TierEntry(context.program, member, member.detail().status, decision, false, context.at, std::move(entry))};
}

Decided DecideSubscribeTier(const DecideContext& context, const SubscribeTier& c, Entry entry) {
  const MemberState& member = context.member();
  const ProgramVersion& version = context.version();
  const Tier* tier = version.tiers.Find(c.tier);
  if (tier == nullptr || !tier->paid) {
    return Invalid("tier", absl::StrCat(c.tier.empty() ? "(empty)" : c.tier, " is not a paid tier of version ",
                                        version.id));
  }
  if (c.paid_until <= context.at) return Invalid("paid_until", "must be after the subscription's time");
  if (absl::Status s = CheckBusinessTime("paid_until", c.paid_until); !s.ok()) return s;
  TierDecision decision{c.tier, c.paid_until, "paid", "", Period{}, false,
                        absl::StrCat("subscribed until ", c.paid_until.ToString())};
  return std::vector<Entry>{
      TierEntry(context.program, member, member.detail().status, decision, true, context.at, std::move(entry))};
}

Decided DecideCancelTierSubscription(const DecideContext& context, const CancelTierSubscription&, Entry entry) {
  const MemberState& member = context.member();
  if (member.detail().status.paid_tier.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("member ", context.id.value(), " has no paid tier"));
  }
  TierDecision decision{"", context.at, "cancelled", "", Period{}, false,
                        absl::StrCat(member.detail().status.paid_tier, " cancelled")};
  return std::vector<Entry>{
      TierEntry(context.program, member, member.detail().status, decision, true, context.at, std::move(entry))};
}

}  // namespace loyalty::internal
