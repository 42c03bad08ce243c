// The first-cut program: validation and the lot validity term.
#include "loyalty/program.h"

#include <atomic>

#include "absl/strings/str_cat.h"

namespace loyalty {
namespace {
std::atomic<uint64_t> next_program_id{1};
}  // namespace

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
  return Program(std::string(version_id), *std::move(zone), expiry, next_program_id.fetch_add(1));
}

Instant Program::LotExpiry(Instant earned_at) const {
  if (expiry_.months == 0) return Instant::Max();
  // Credits come in runs on the same local day; remember the last day's
  // answer per thread (keyed by this program's id, shared only by copies
  // with the same content).
  struct Cached {
    uint64_t program = 0;
    Instant day_start, day_end, lapses;
  };
  thread_local Cached cached;
  if (cached.program == id_ && cached.day_start <= earned_at && earned_at < cached.day_end) return cached.lapses;
  Date day = zone_.LocalDate(earned_at);
  Instant lapses = LotExpiryOf(day);
  cached = {id_, zone_.StartOfDay(day), zone_.StartOfDay(day.AddDays(1)), lapses};
  return lapses;
}

Instant Program::LotExpiryOf(Date earned_on) const {
  Date last_valid = AddMonths(earned_on, expiry_.months);
  switch (expiry_.round) {
    case ExpiryTerm::Round::kNone: last_valid = last_valid.AddDays(-1); break;
    case ExpiryTerm::Round::kEndOfMonth: last_valid = EndOfMonth(last_valid); break;
    case ExpiryTerm::Round::kEndOfQuarter: last_valid = EndOfQuarter(last_valid); break;
    case ExpiryTerm::Round::kEndOfYear: last_valid = EndOfYear(last_valid); break;
  }
  return zone_.StartOfDay(last_valid.AddDays(1));
}

}  // namespace loyalty
