// The program: the rule set that decides commands. This first cut holds one
// version with the parts the core ledger needs (its id, its time zone and
// the validity term of the lots it credits); versioned rule sets with
// accrual, redemption and grandfathering build on it.
//
//   auto program = Program::Create("mm-2010", "Europe/Berlin",
//                                  ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
//   Instant lapses = program->LotExpiry(earned_at);
//
// Thread safety: immutable after creation.
#ifndef LOYALTY_PROGRAM_H_
#define LOYALTY_PROGRAM_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "loyalty/time.h"

namespace loyalty {

// How long a credited lot stays redeemable: `months` after the civil date it
// was earned, then moved to the end of that month, quarter or year. Points
// lapse at the start of the next day in the program's zone. months == 0
// means the points never expire.
struct ExpiryTerm {
  enum class Round { kNone, kEndOfMonth, kEndOfQuarter, kEndOfYear };
  int months = 0;
  Round round = Round::kNone;
};

class Program {
 public:
  // InvalidArgument if the version id is empty or longer than 64
  // characters, the zone is unknown, or months is negative or above 1200.
  static absl::StatusOr<Program> Create(absl::string_view version_id, absl::string_view time_zone,
                                        ExpiryTerm expiry);

  const std::string& version_id() const { return version_id_; }
  const TimeZone& zone() const { return zone_; }
  const ExpiryTerm& expiry() const { return expiry_; }

  // The instant at which points earned at `earned_at` lapse, or Instant::Max()
  // if they never do. Earned 12 Dec 2016, 36 months, end of quarter: last
  // valid day 31 Dec 2019, lapse at 2020-01-01 00:00 local time.
  Instant LotExpiry(Instant earned_at) const;

 private:
  Program(std::string version_id, TimeZone zone, ExpiryTerm expiry, uint64_t id)
      : version_id_(std::move(version_id)), zone_(std::move(zone)), expiry_(expiry), id_(id) {}
  Instant LotExpiryOf(Date earned_on) const;
  std::string version_id_;
  TimeZone zone_;
  ExpiryTerm expiry_;
  uint64_t id_;  // distinct per Create, for LotExpiry's cache
};

}  // namespace loyalty

#endif  // LOYALTY_PROGRAM_H_
