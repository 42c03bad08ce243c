// Decisions that credit raw points: a credit with its source (and
// qualifying counters, which may lift the member's status) and a manual
// adjustment up or down.
#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {

Decided DecideCredit(const DecideContext& context, const Credit& c, Entry entry) {
  const MemberState& member = context.member();
  if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
  if (absl::Status s = CheckText("source", c.source, false); !s.ok()) return s;
  if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
  if (absl::Status s = CheckRoom(member, context.id, c.amount); !s.ok()) return s;
  if (absl::Status s = CheckCounterRoom(member, c.counters); !s.ok()) return s;
  const ProgramVersion& version = context.version();
  const int32_t day = version.zone.LocalDate(context.at).days_since_epoch();
  auto upgrade = UpgradeOnCounters(context.program, member, context.at, Pending(c.counters, day, false));
  // A status reached by this very credit protects its points too.
  Instant protected_expiry = upgrade && Protected(version, member, StatusAfter(member.detail().status, *upgrade))
                                 ? Instant::Max()
                                 : NewLotExpiry(version, member, context.at);
  Instant expires_at = c.expires_at.value_or(protected_expiry);
  if (expires_at <= context.at) return Invalid("expires_at", "must be after the credit's time");

  entries::Credited body;
  body.amount = c.amount;
  body.debt_paid = std::min(c.amount, member.debt());
  body.expires_at = expires_at;
  body.source = c.source;
  body.counters = c.counters;
  body.local_day = day;
  entry.explanation = absl::StrCat("credit of ", c.amount.value(), " points", c.source.empty() ? "" : " from ",
                                   c.source, ", valid through ", LastValidDay(context.program, expires_at),
                                   DebtText(body.debt_paid));
  entry.body = std::move(body);
  return WithTierChange(context.program, member, upgrade, context.at, std::move(entry));
}

Decided DecideAdjust(const DecideContext& context, const Adjust& c, Entry entry) {
  const MemberState& member = context.member();
  if (c.delta.IsZero()) return Invalid("delta", "must not be zero");
  if (c.delta == Points(INT64_MIN)) return Invalid("delta", "out of range");
  if (absl::Status s = CheckText("reason", c.reason, true); !s.ok()) return s;
  if (absl::Status s = CheckText("actor", c.actor, true); !s.ok()) return s;
  entries::Adjusted body{c.delta, c.reason, c.actor, Instant::Max(), Points(0), {}};
  if (c.delta.IsNegative()) {
    auto draws = Draw(member, context.id, Points(-c.delta.value()), context.at);
    if (!draws.ok()) return draws.status();
    body.draws = *std::move(draws);
  } else {
    if (absl::Status s = CheckRoom(member, context.id, c.delta); !s.ok()) return s;
    body.expires_at = NewLotExpiry(context.version(), member, context.at);
    body.debt_paid = std::min(c.delta, member.debt());
  }
  entry.explanation = absl::StrCat("adjusted by ", c.delta.value(), " points by ", c.actor, ": ", c.reason);
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
