// Decisions on the membership itself: enrolment, member flags (a co-brand
// card that protects points from lapsing) and closure.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"

namespace loyalty::internal {

Decided DecideEnroll(const DecideContext& context, const Enroll&, Entry entry) {
  if (context.state != nullptr && context.state->enrolled) {
    return absl::AlreadyExistsError(absl::StrCat("member ", context.id.value(), " is already enrolled"));
  }
  entry.body = entries::Enrolled{};
  entry.explanation = "enrolled";
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideSetMemberFlag(const DecideContext& context, const SetMemberFlag& c, Entry entry) {
  const MemberState& member = context.member();
  if (absl::Status s = CheckText("flag", c.flag, true); !s.ok()) return s;
  if (member.HasFlag(c.flag) == c.on) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", context.id.value(), ": flag ", c.flag, c.on ? " is already set" : " is not set"));
  }
  const ProgramVersion& version = context.version();
  entries::FlagChanged body{c.flag, c.on, {}};
  bool was_protected = Protected(version, member);
  std::vector<std::string> flags_after = member.detail().flags;
  if (c.on) {
    flags_after.insert(std::lower_bound(flags_after.begin(), flags_after.end(), c.flag), c.flag);
  } else {
    std::erase(flags_after, c.flag);
  }
  bool now_protected = Protected(version, flags_after, member.detail().status);
  body.renewals = ProtectionRenewals(version, member, was_protected, now_protected, context.at);
  entry.explanation = absl::StrCat(c.on ? "set flag " : "cleared flag ", c.flag);
  if (!body.renewals.empty()) {
    absl::StrAppend(&entry.explanation, now_protected ? ": points no longer lapse (" : ": fresh term for (",
                    body.renewals.size(), " lots)");
  }
  entry.body = std::move(body);
  return std::vector<Entry>{std::move(entry)};
}

Decided DecideCloseMembership(const DecideContext& context, const CloseMembership&, Entry entry) {
  const ProgramVersion& version = context.version();
  Instant until = context.at;
  if (version.expiry.closure_grace_months > 0) {
    until = version.zone.StartOfDay(AddMonths(version.zone.LocalDate(context.at), version.expiry.closure_grace_months));
  }
  entry.explanation = absl::StrCat("membership closed; ", context.member().balance.value(),
                                   " points redeemable until ", until.ToString());
  entry.body = entries::MembershipClosed{until};
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
