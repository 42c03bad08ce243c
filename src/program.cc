// The first-cut program: validation and the lot validity term.
#include "loyalty/program.h"

#include "absl/strings/str_cat.h"

namespace loyalty {

absl::StatusOr<Program> Program::Create(absl::string_view version_id, absl::string_view time_zone,
                                        ExpiryTerm expiry) {
  if (version_id.empty() || version_id.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("program version id \"", version_id, "\" must have 1 to 64 characters"));
  }
  if (expiry.months < 0 || expiry.months > 1200) {
    return absl::InvalidArgumentError(
        absl::StrCat("expiry months ", expiry.months, " is not in 0..1200"));
  }
  auto zone = TimeZone::Load(time_zone);
  if (!zone.ok()) return zone.status();
  return Program(std::string(version_id), *std::move(zone), expiry);
}

Instant Program::LotExpiry(Instant earned_at) const {
  if (expiry_.months == 0) return Instant::Max();
  Date last_valid = AddMonths(zone_.LocalDate(earned_at), expiry_.months);
  switch (expiry_.round) {
    case ExpiryTerm::Round::kNone: last_valid = last_valid.AddDays(-1); break;
    case ExpiryTerm::Round::kEndOfMonth: last_valid = EndOfMonth(last_valid); break;
    case ExpiryTerm::Round::kEndOfQuarter: last_valid = EndOfQuarter(last_valid); break;
    case ExpiryTerm::Round::kEndOfYear: last_valid = EndOfYear(last_valid); break;
  }
  return zone_.StartOfDay(last_valid.AddDays(1));
}

}  // namespace loyalty
