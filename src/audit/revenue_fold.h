// The fold behind the revenue report (loyalty/audit/revenue.h): per earning
// cohort, what the journal's entries allocated, issued, redeemed and let
// expire before the period's start and before its end, read entry by entry
// with the member's state before the entry applies. Internal to the audit.
#ifndef LOYALTY_SRC_AUDIT_REVENUE_FOLD_H_
#define LOYALTY_SRC_AUDIT_REVENUE_FOLD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "loyalty/audit/revenue.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty::internal {

// Checked sums, by cohort, as of one instant.
struct CohortTotals {
  Int128 allocated = 0;  // minor units
  Int128 issued = 0;     // points into lots, less points taken back or moved out
  Int128 redeemed = 0;
  Int128 expired = 0;
};

// Entries of the period grouped into one general-ledger pair.
struct PostingKey {
  int32_t day = 0;  // Date::days_since_epoch, program zone
  int cohort = 0;
  std::string partner;
  bool funded = false;    // by a partner or a named source, not a sale
  bool reversal = false;  // an allocation taken back
  friend auto operator<=>(const PostingKey&, const PostingKey&) = default;
};
struct Posting {
  Int128 amount = 0;  // minor units
  std::vector<uint64_t> seqs;
};

struct CohortFold {
  CohortTotals before_from, before_to;
  Int128 deferred = 0, reversed = 0, redeemed_in_period = 0;  // in the period
  std::vector<uint64_t> period_seqs;  // redemptions and expiries in the period
};

// What a credit allocated, for the share its reversals take back (the
// points reversed so far are its lot's `reversed`).
struct CreditAllocation {
  int64_t amount = 0;  // minor units
  int32_t cohort = 0;
  bool funded = false;  // by a partner or a named source
};

// A revised estimate as the fold met it.
struct Revision {
  EstimateChange change;
  Instant effective;
};

class RevenueFold {
 public:
  RevenueFold(const Program& program, const RevenueOptions& options) : program_(program), options_(options) {}

  // Folds `entry` (verified, its member's state `member` before it
  // applies; nullptr if unknown). FailedPrecondition or OutOfRange naming
  // the entry; DataLoss if its recorded command does not decode.
  absl::Status Add(const Entry& entry, const MemberState* member);

  // The expected redemption rate of cohort `cohort` in force at `at`, by
  // the versions' sections and the revisions folded so far.
  Rate RateAt(int cohort, Instant at) const;

  const std::map<int, CohortFold>& cohorts() const { return cohorts_; }
  const std::map<PostingKey, Posting>& postings() const { return postings_; }
  const std::vector<Revision>& revisions() const { return revisions_; }
  const std::map<std::string, std::pair<Int128, Int128>>& partners() const { return partners_; }
  Int128 not_deferred() const { return not_deferred_; }

 private:
  int CohortOf(Instant at) const;
  // Adds `delta` to `field` of the cohort, as of each bound the entry is before.
  void Move(const Entry& entry, int cohort, Int128 CohortTotals::*field, Int128 delta);
  void MoveDraws(const Entry& entry, const MemberState* member, const std::vector<LotDraw>& draws,
                 Int128 CohortTotals::*field, int sign);
  void MoveLots(const Entry& entry, const std::vector<TransferredLot>& lots);
  void MoveHoldRelease(const Entry& entry, const MemberState* member, const entries::HoldReleased& release);
  absl::Status Allocate(const Entry& entry, const entries::Credited& credit);
  absl::Status TakeBack(const Entry& entry, const entries::EarnReversed& reversal, const Lot* lot);
  void Post(const Entry& entry, int cohort, Int128 amount, bool funded, bool reversal);
  absl::StatusOr<Int128> AllocationOf(const Entry& entry, const entries::Credited& credit, int cohort,
                                      bool& funded);
  // The activity the credit's recorded Accrue carries; none if unrecorded.
  absl::StatusOr<std::optional<Activity>> ActivityOf(const Entry& entry);

  const Program& program_;
  const RevenueOptions& options_;
  std::map<int, CohortFold> cohorts_;
  absl::flat_hash_map<uint64_t, CreditAllocation> credits_;
  std::map<PostingKey, Posting> postings_;
  std::vector<Revision> revisions_;
  std::map<std::string, std::pair<Int128, Int128>> partners_;  // points issued, amount deferred
  Int128 not_deferred_ = 0;
  // The last lapsed release that recorded its command, for a credit whose
  // command released lapsed holds first (the record is on the first entry).
  std::optional<Entry> recorded_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_AUDIT_REVENUE_FOLD_H_
