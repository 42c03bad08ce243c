// The transfer rules of a version (transfer_rules.h).
#include "ledger/transfer_rules.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace loyalty::internal {
namespace {

// The points `member` sent in the calendar year of `at` in `zone`.
Int128 SentInYear(const MemberState& member, const TimeZone& zone, Instant at) {
  const int year = zone.LocalDate(at).year();
  const Instant first = zone.StartOfDay(*Date::FromYmd(year, 1, 1));
  auto next_year = Date::FromYmd(year + 1, 1, 1);
  const Instant end = next_year.ok() ? zone.StartOfDay(*next_year) : Instant::Max();
  Int128 sent = 0;
  const auto& by_time = member.detail().sent;
  for (auto it = by_time.lower_bound(first.unix_micros()); it != by_time.end() && it->first < end.unix_micros(); ++it) {
    sent += it->second.value();
  }
  return sent;
}

}  // namespace

std::string TransferRefusal(const ProgramVersion& version, const MemberId& id, const MemberState& member, Instant at,
                            Points amount, bool* below_minimum) {
  if (below_minimum != nullptr) *below_minimum = false;
  if (!version.transfers) return "";
  const TransferRules& rules = *version.transfers;
  if (!rules.allowed) {
    return absl::StrCat("version ", version.id, " does not allow transfers between members (transfers.allowed)");
  }
  if (amount < rules.minimum) {
    if (below_minimum != nullptr) *below_minimum = true;
    return absl::StrCat(amount.value(), " is below the minimum of ", rules.minimum.value(),
                        " points a transfer of version ", version.id, " (transfers.minimum)");
  }
  if (!rules.yearly_limit) return "";
  const Int128 sent = SentInYear(member, version.zone, at);
  if (sent + amount.value() <= rules.yearly_limit->value()) return "";
  const auto shown = static_cast<int64_t>(std::min<Int128>(sent, std::numeric_limits<int64_t>::max()));
  return absl::StrCat("member ", id.value(), " sent ", shown, " points in ",
                      version.zone.LocalDate(at).year(), "; ", amount.value(), " more would pass the yearly limit of ",
                      rules.yearly_limit->value(), " of version ", version.id, " (transfers.yearly_limit)");
}

}  // namespace loyalty::internal
