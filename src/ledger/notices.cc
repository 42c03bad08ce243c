// The points about to lapse (loyalty/notices.h), by the rules expiry runs
// apply (ledger/lapse.h).
#include "loyalty/notices.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "ledger/lapse.h"

namespace loyalty {
namespace {

// When the member's whole balance lapses if nothing happens, and why: a
// closed membership's grace, else inactivity; nullopt if never.
std::optional<std::pair<Instant, LapseReason>> WholeBalanceLapse(const ProgramVersion& version,
                                                                 const MemberState& member) {
  if (member.closed) return std::pair(member.detail().redeemable_until, LapseReason::kClosure);
  const int months = version.expiry.inactivity_months;
  if (months <= 0 || internal::Protected(version, member)) return std::nullopt;
  const Date day = AddMonths(version.zone.LocalDate(member.last_activity), months);
  return std::pair(version.zone.StartOfDay(day), LapseReason::kInactivity);
}

}  // namespace

absl::string_view LapseReasonName(LapseReason reason) {
  switch (reason) {
    case LapseReason::kTerm: return "term";
    case LapseReason::kInactivity: return "inactivity";
    case LapseReason::kClosure: return "closure";
  }
  return "term";
}

std::vector<LapsingLot> ExpiringPointsOf(const Program& program, const MemberState& member, Instant as_of,
                                         Instant until) {
  std::vector<LapsingLot> lapsing;
  if (!member.enrolled || until < as_of) return lapsing;
  const auto whole = WholeBalanceLapse(program.InForceAt(as_of), member);
  for (const Lot& lot : member.lots) {
    if (lot.remaining <= Points(0)) continue;
    LapsingLot next{lot.id, lot.remaining, lot.expires_at, LapseReason::kTerm};
    if (whole && whole->first < next.lapses_at) {
      next.lapses_at = whole->first;
      next.reason = whole->second;
    }
    if (next.lapses_at <= until) lapsing.push_back(next);
  }
  std::sort(lapsing.begin(), lapsing.end(), [](const LapsingLot& a, const LapsingLot& b) {
    return a.lapses_at != b.lapses_at ? a.lapses_at < b.lapses_at : a.lot < b.lot;
  });
  return lapsing;
}

}  // namespace loyalty
