// Expiry protection and status changes as commands decide them: which
// lots stop or start lapsing, and the tier_changed entry that goes with a
// new status.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "decide/decide_context.h"

namespace loyalty::internal {

// The lots whose validity changes when protection from expiry begins (they
// stop lapsing) or ends (a fresh term from `at`).
std::vector<LotRenewal> ProtectionRenewals(const ProgramVersion& version, const MemberState& member, bool was_protected,
                                           bool now_protected, Instant at) {
  std::vector<LotRenewal> renewals;
  if (was_protected == now_protected) return renewals;
  for (const Lot& lot : member.lots) {
    if (lot.remaining <= Points(0)) continue;
    if (now_protected && lot.expires_at > at && lot.expires_at != Instant::Max()) {
      renewals.push_back({lot.id, Instant::Max()});
    } else if (!now_protected && lot.expires_at == Instant::Max()) {
      renewals.push_back({lot.id, version.LotExpiry(at)});
    }
  }
  return renewals;
}

// The status `member` has after `decision`.
TierStatus StatusAfter(const TierStatus& status, const TierDecision& decision) {
  TierStatus after = status;
  after.tier = decision.tier;
  after.valid_until = decision.valid_until;
  after.lifetime_tier = decision.lifetime_tier;
  return after;
}

// A tier_changed entry for `decision` (or for a subscription change when
// `paid`), with the lots whose protection from expiry it begins or ends.
Entry TierEntry(const Program& program, const MemberState& member, const TierStatus& before,
                const TierDecision& decision, bool paid, Instant at, Entry entry) {
  const ProgramVersion& version = program.InForceAt(at);
  TierStatus after = before;
  if (paid) {
    after.paid_tier = decision.tier;
    after.paid_until = decision.valid_until;
  } else {
    after = StatusAfter(before, decision);
  }
  entries::TierChanged body;
  body.tier = decision.tier;
  body.valid_until = decision.valid_until;
  body.reason = decision.reason;
  body.paid = paid;
  body.lifetime_tier = paid ? before.lifetime_tier : decision.lifetime_tier;
  if (decision.on_counters) {
    body.period_first = decision.span.first.days_since_epoch();
    body.period_last = decision.span.last.days_since_epoch();
  }
  body.renewals =
      ProtectionRenewals(version, member, Protected(version, member, before), Protected(version, member, after), at);
  entry.explanation = absl::StrCat(paid ? "paid tier " : "status ", decision.tier.empty() ? "none" : decision.tier, " (",
                                   decision.reason, ")");
  if (!decision.tier.empty()) {
    absl::StrAppend(&entry.explanation, decision.valid_until == Instant::Max()
                                            ? ", no end date"
                                            : ", valid through " + LastValidDay(program, decision.valid_until));
  }
  if (!decision.explanation.empty()) absl::StrAppend(&entry.explanation, ": ", decision.explanation);
  if (!body.renewals.empty()) {
    absl::StrAppend(&entry.explanation, Protected(version, member, after) ? "; points no longer lapse (" : "; fresh term for (",
                    body.renewals.size(), " lots)");
  }
  entry.body = std::move(body);
  return entry;
}

std::vector<PendingCounter> Pending(const std::vector<CounterDelta>& counters, int32_t day, bool subtract) {
  std::vector<PendingCounter> pending;
  for (const CounterDelta& delta : counters) {
    pending.push_back({delta.counter, day, subtract ? -delta.amount.value() : delta.amount.value()});
  }
  return pending;
}

Instant NewLotExpiry(const ProgramVersion& version, const MemberState& member, Instant at) {
  return Protected(version, member) ? Instant::Max() : version.LotExpiry(at);
}

// `entry`, followed by the status change `decision` if there is one.
std::vector<Entry> WithTierChange(const Program& program, const MemberState& member,
                                  const std::optional<TierDecision>& decision, Instant at, Entry&& entry) {
  std::vector<Entry> out;
  out.reserve(decision ? 2 : 1);
  if (decision) {
    Entry header = Header(program, entry.member, entry.business_time, entry.recorded_at, entry.idempotency_key,
                          entry.command_digest);
    out.push_back(std::move(entry));
    out.push_back(TierEntry(program, member, member.detail().status, *decision, false, at, std::move(header)));
  } else {
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace loyalty::internal
