// Member statements: a member's entries between two dates with the running
// balance, and the member's stamp cards and vouchers at the end. Part of
// the audit (loyalty/audit.h).
#ifndef LOYALTY_AUDIT_STATEMENT_H_
#define LOYALTY_AUDIT_STATEMENT_H_

#include <cstdint>
#include <map>
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

// Available (redeemable, in open lots), held and debt.
struct MemberBalance {
  Points available;
  Points held;
  Points debt;
  friend bool operator==(const MemberBalance&, const MemberBalance&) = default;
};

struct StatementLine {
  uint64_t seq = 0;
  Instant business_time;
  std::string kind;         // EntryKindName
  std::string version;      // the program version that decided it
  std::string explanation;  // the entry's own explanation
  BalanceDelta delta;       // DeltaOf(entry)
  MemberBalance balance;    // running, after this entry
};

// A stamp card's voucher issued by the statement's end, and what became of
// it by then: "open", "lapsed" (not redeemed before it lapsed, by `to`, or
// by the member's last entry if `to` is open), "redeemed" or "withdrawn"
// (by a return of the purchase that completed its card).
struct StatementVoucher {
  VoucherId voucher;
  std::string card;
  std::string reward;
  Instant issued_at;
  Instant expires_at;
  std::string state;
  uint64_t closed_by = 0;  // the entry that redeemed or withdrew it; 0 if none
};

struct Statement {
  MemberId member;
  Instant from;
  Instant to;
  MemberBalance opening;  // every entry of the member dated before `from`
  std::vector<StatementLine> lines;
  MemberBalance closing;  // opening plus every line
  // Stamps on each stamp card's current card after the member's entries
  // dated before `to` (negative: owed by returns), and every voucher those
  // entries issued.
  std::map<std::string, int64_t, std::less<>> stamps{};
  std::vector<StatementVoucher> vouchers{};
};

// The member's entries whose business time is in [from, to), in journal
// order, each with the running balance. InvalidArgument if from > to;
// NotFound if the journal has no entry for `member`; OutOfRange on
// overflow; a store's read error as is; DataLoss naming the entry if any
// entry, the member's or another's, does not fit the journal before it
// (checked as the engine's open checks it).
absl::StatusOr<Statement> StatementOf(const Store& store, const MemberId& member, Instant from, Instant to);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_STATEMENT_H_
