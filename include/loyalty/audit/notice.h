// The notice check: days of notice per version change against a minimum,
// retroactive dates, devaluations without grandfathering, shortened validity.
// Part of the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_NOTICE_H_
#define LOYALTY_AUDIT_NOTICE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/store.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty {

enum class Severity { kInfo, kWarning, kViolation };
absl::string_view SeverityName(Severity severity);  // "info", "warning", "violation"

struct Finding {
  Severity severity = Severity::kInfo;
  // "short_notice", "retroactive", "devaluation_without_grandfathering",
  // "reward_withdrawn", "pay_with_points_devalued", "validity_shortened",
  // "inactivity_rule_tightened", "closure_grace_shortened",
  // "expiry_protection_removed".
  std::string code;
  std::string version_before;
  std::string version;
  std::string subject;  // the reward, rule or field concerned
  std::string facts;    // the numbers behind it, in words
};

struct TransitionNotice {
  std::string version_before;
  std::string version;
  Date announced;  // civil dates in the program's zone
  Date effective;
  int64_t days = 0;  // effective - announced, in days (negative: retroactive)
};

struct NoticeOptions {
  int64_t minimum_days = 90;
};

struct NoticeReport {
  std::vector<TransitionNotice> transitions;  // one per version after the first
  std::vector<Finding> findings;              // in version order
};

// Checks every change from one version to the next:
//   short_notice (violation)     days < minimum_days
//   retroactive (violation)      effective before announced
//   devaluation_without_grandfathering (violation)
//                                a reward offered by both costs more in the
//                                new one, which declares neither book_by nor
//                                earned_before (price_lock alone protects
//                                only open quotes and holds, and is listed
//                                in the facts)
//   reward_withdrawn (warning)   a reward of the old version is gone
//   pay_with_points_devalued (violation)
//                                a point pays less at the till
//   validity_shortened (warning) a shorter expiry term for lots earned from
//                                now on (earned lots keep their expiry)
//   inactivity_rule_tightened, closure_grace_shortened,
//   expiry_protection_removed (violation)
//                                rules that shorten the validity of points
//                                already earned
// InvalidArgument if minimum_days is negative.
absl::StatusOr<NoticeReport> CheckNotice(const Program& program, const NoticeOptions& options);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_NOTICE_H_
