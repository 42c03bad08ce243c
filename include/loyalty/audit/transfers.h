// The transfers between shards, paired over every shard's journal: the
// audit that no point was created or lost between them. Part of the audit
// (loyalty/audit.h).
//
//   std::vector<const Store*> shards = ...;  // one journal per logical shard
//   auto reconciled = ReconcileTransfers(shards);
//   // reconciled->sent == received + returned + in_flight, and ok()
#ifndef LOYALTY_AUDIT_TRANSFERS_H_
#define LOYALTY_AUDIT_TRANSFERS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/store.h"
#include "loyalty/value.h"

namespace loyalty {

// Each transfer sent across shards (a TransferredOut across, found by its
// sender and idempotency key) is received by one TransferredIn across of
// the same key, sender, receiver and lots, or returned by a TransferSettled
// of its sending entry, or neither yet (in flight); never both.
struct TransferReconciliation {
  size_t transfers = 0;  // sent
  size_t pending = 0;    // sent and not settled on the sender's shard
  Points sent;
  Points received;
  Points returned;
  Points in_flight;  // sent, neither received nor returned
  // What does not pair, one line each, naming the shard (its place in the
  // list given), the entry and the transfer's key.
  std::vector<std::string> faults;

  bool ok() const { return faults.empty(); }
};

// Reads every journal of `shards` (a sharded program's logical shards, in
// any order), each verified on its own as the other audits verify a
// journal: its chain (with `journal_key` for keyed journals) and every
// entry against the ones before it. DataLoss naming the shard and the
// entry if one does not verify; otherwise the pairing, whose faults are
// the result.
absl::StatusOr<TransferReconciliation> ReconcileTransfers(
    std::span<const Store* const> shards, const std::optional<std::string>& journal_key = std::nullopt);

}  // namespace loyalty

#endif  // LOYALTY_AUDIT_TRANSFERS_H_
