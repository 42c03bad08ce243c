// Protection from expiry and the lapse of a whole balance for inactivity:
// see lapse.h.
#include "ledger/lapse.h"

#include <algorithm>


namespace loyalty::internal {

bool Protected(const ProgramVersion& version, const std::vector<std::string>& sorted_flags, const TierStatus& status) {
  for (const std::string& flag : version.expiry.protected_by_flags) {
    if (std::binary_search(sorted_flags.begin(), sorted_flags.end(), flag)) return true;
  }
  const Tier* tier = version.tiers.Find(CurrentTier(version.tiers, status));
  return tier != nullptr && tier->benefits.protects_from_expiry;
}
bool Protected(const ProgramVersion& version, const MemberState& member, const TierStatus& status) {
  return Protected(version, member.detail().flags, status);
}
bool Protected(const ProgramVersion& version, const MemberState& member) {
  return Protected(version, member.detail().flags, member.detail().status);
}

bool LapsesForInactivity(const ProgramVersion& version, const MemberState& member, Instant as_of) {
  return version.expiry.inactivity_months > 0 && !Protected(version, member) &&
         AddMonths(version.zone.LocalDate(member.last_activity), version.expiry.inactivity_months) <=
             version.zone.LocalDate(as_of);
}

}  // namespace loyalty::internal
