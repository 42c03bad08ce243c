// What every reader of a journal checks of each entry it reads, beyond the
// hash chain: the journal is untrusted input, and one validator answers for
// all of them (the engine's open and catch-up, replay, re-rating, the
// reports, verify).
//
// An entry fits when
//   * its member id is a member's (the program's entries are under
//     kProgramMember and publish a version once);
//   * its business time is in range and it links to its member's previous
//     entry (Entry::member_prev);
//   * it fits its member's state (CheckApplicable in ledger.h);
//   * an expiry takes only lots that are due, unless the member's points
//     lapse as a whole (closure, inactivity);
//   * a transfer's two halves follow each other and agree: the receiver gets
//     exactly the points and dates the sender gave;
//   * with the program given: tiers named exist in the version that decided
//     the entry, an inactivity lapse is due under the version in force, an
//     accrual's stamps are on that version's cards (size, reward, voucher
//     lapse), bought points cost its price, an accrual's grants fit
//     what was left of its rules' budgets (AccrualCap::budget) and a
//     transfer sent meets the version's transfer rules.
// Anything else is DataLoss naming the entry, its kind, its member and the
// rule; the state is then as it was before the entry.
//
//   internal::JournalRules rules({.program = &program});
//   MemberState& member = members[entry.member];
//   if (absl::Status fits = rules.AdmitMember(entry, member); !fits.ok()) return fits;
//
// Thread safety: one reader at a time.
#ifndef LOYALTY_SRC_LEDGER_JOURNAL_RULES_H_
#define LOYALTY_SRC_LEDGER_JOURNAL_RULES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "ledger/budget_use.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"

namespace loyalty::internal {

// True for the entries written under the program's reserved id.
inline bool IsProgramEntry(const Entry& entry) { return entry.member.value() == kProgramMember; }

// Version id -> content hash, as published in a journal.
using PublishedVersions = absl::flat_hash_map<std::string, Sha256>;

class JournalRules {
 public:
  struct Options {
    // The program that wrote the journal, for the rules that need its
    // definitions; without it those rules are judged from the journal
    // alone (an expiry of lots not yet due needs 27 days without activity).
    const Program* program = nullptr;
    // Whether entries carry links to their member's previous entry
    // (Store::KeepsMemberLinks).
    bool links = true;
    // The budgets' use before the first entry read, kept up to date with
    // each accrual admitted (a reader starting from a checkpoint passes the
    // use of the checkpoint's members); nullptr: the rules count from zero
    // themselves.
    BudgetUse* budgets = nullptr;
  };

  explicit JournalRules(Options options) : options_(options), own_budgets_(options.program) {}

  // Checks a program entry: a version against the versions published
  // before it, recorded in `published`; a revised estimate for a share in
  // (0, 1], a cohort of 0 (all) or a year 1..9999 and an actor. DataLoss
  // naming the entry otherwise.
  absl::Status AdmitVersion(const Entry& entry, PublishedVersions& published);

  // Checks a member's entry against `member` (its state built from the
  // journal so far; a fresh state for a member not seen yet) and the
  // entries before it, then applies it. DataLoss naming the entry
  // otherwise, with `member` unchanged.
  absl::Status AdmitMember(const Entry& entry, MemberState& member);

  // OK unless the journal read so far ends between a transfer's halves.
  absl::Status Finish() const;

 private:
  // The sending half of a transfer, waiting for its receiving half.
  struct TransferSent {
    uint64_t seq = 0;
    MemberId from;
    MemberId to;
    std::string idempotency_key;
    Points amount;
    std::vector<TransferredLot> lots;  // each draw with its lot's dates
  };

  absl::Status CheckRevision(const Entry& entry, const entries::EstimateRevised& revised) const;
  absl::Status CheckMember(const Entry& entry, const MemberState& member) const;
  absl::Status CheckExpiry(const Entry& entry, const entries::Expired& expired, const MemberState& member) const;
  absl::Status CheckTiers(const Entry& entry, const entries::TierChanged& change) const;
  // Pairs a transfer's receiving half with its sending half; the last check
  // before the entry applies.
  absl::Status PairTransfer(const Entry& entry, const MemberState& member);

  BudgetUse& budgets() { return options_.budgets != nullptr ? *options_.budgets : own_budgets_; }
  const BudgetUse& budgets() const { return options_.budgets != nullptr ? *options_.budgets : own_budgets_; }

  Options options_;
  BudgetUse own_budgets_;
  std::optional<TransferSent> sent_;
};

// The state a journal builds, every entry admitted by JournalRules: what
// the audit's readers fold a journal into.
class JournalProjection {
 public:
  explicit JournalProjection(JournalRules::Options options) : rules_(options) {}

  // Admits the next entry of the journal (JournalRules).
  absl::Status Admit(const Entry& entry);
  // OK unless the journal ends between a transfer's halves.
  absl::Status Finish() const { return rules_.Finish(); }

  // The member's state so far, or nullptr.
  const MemberState* Find(const MemberId& member) const;
  absl::flat_hash_map<MemberId, MemberState>& members() { return members_; }
  PublishedVersions& published() { return published_; }

 private:
  JournalRules rules_;
  absl::flat_hash_map<MemberId, MemberState> members_;
  PublishedVersions published_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_JOURNAL_RULES_H_
