// ReconcileTransfers: the halves of the transfers between shards, read from
// every shard's verified journal, paired by sender and key.
#include <map>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/debt.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/transfers.h"
#include "store/chain_check.h"

namespace loyalty {
namespace {

// A transfer sent, as its sending entry and what became of it.
struct Sent {
  size_t shard = 0;
  uint64_t seq = 0;
  MemberId to;
  Points amount;
  std::vector<TransferredLot> lots;
  bool settled = false;
  bool returned = false;
  int received = 0;
};

// A receiving entry, paired once every journal has been read.
struct Received {
  size_t shard = 0;
  uint64_t seq = 0;
  MemberId to;
  Points amount;
  Points debt_paid;
  std::vector<TransferredLot> lots;  // after `debt_paid` of them settled the receiver's debt
};

class Pairing {
 public:
  void Add(size_t shard, const Entry& entry, const entries::TransferredOut& out) {
    sent_[{entry.member, entry.idempotency_key}] = Sent{shard, entry.seq, out.to, out.amount, out.lots};
    by_seq_[{shard, entry.seq}] = {entry.member, entry.idempotency_key};
  }
  void Add(size_t shard, const Entry& entry, const entries::TransferredIn& in) {
    received_.push_back(
        {{in.from, entry.idempotency_key}, Received{shard, entry.seq, entry.member, in.amount, in.debt_paid, in.lots}});
  }
  // A settlement on `shard`: the journal's rules have matched it to its
  // sending entry there.
  void Add(size_t shard, const entries::TransferSettled& settled) {
    Sent& sent = sent_.at(by_seq_.at({shard, settled.transfer}));
    sent.settled = true;
    sent.returned = !settled.returned.IsZero();
  }

  TransferReconciliation Finish() {
    TransferReconciliation result;
    for (auto& [id, in] : received_) Receive(id, in, result);
    for (const auto& [id, sent] : sent_) Account(id, sent, result);
    return result;
  }

 private:
  using TransferId = std::pair<MemberId, std::string>;  // sender, key

  void Receive(const TransferId& id, const Received& in, TransferReconciliation& result) {
    auto it = sent_.find(id);
    const std::string where = absl::StrCat("shard ", in.shard, " entry ", in.seq, " (transfer ", id.second, " from ",
                                           id.first.value(), ")");
    if (it == sent_.end()) {
      result.faults.push_back(absl::StrCat(where, ": receives ", in.amount.value(), " points that no shard sent"));
      return;
    }
    Sent& sent = it->second;
    if (in.to != sent.to || in.amount != sent.amount || in.lots != internal::AfterDebt(sent.lots, in.debt_paid)) {
      result.faults.push_back(absl::StrCat(where, ": does not receive what shard ", sent.shard, " entry ", sent.seq,
                                           " sent"));
      return;
    }
    if (++sent.received > 1) result.faults.push_back(absl::StrCat(where, ": receives the transfer again"));
    if (!AddTo(result.received, in.amount)) result.faults.push_back(absl::StrCat(where, ": the total overflows"));
  }

  void Account(const TransferId& id, const Sent& sent, TransferReconciliation& result) {
    const std::string where = absl::StrCat("shard ", sent.shard, " entry ", sent.seq, " (transfer ", id.second, " from ",
                                           id.first.value(), ")");
    ++result.transfers;
    if (!sent.settled) ++result.pending;
    bool fits = AddTo(result.sent, sent.amount);
    if (sent.returned) {
      fits = fits && AddTo(result.returned, sent.amount);
      if (sent.received > 0) {
        result.faults.push_back(absl::StrCat(where, ": returned to the sender and received: ", sent.amount.value(),
                                             " points created"));
      }
    } else if (sent.received == 0) {
      if (sent.settled) result.faults.push_back(absl::StrCat(where, ": settled as delivered, but no shard received it"));
      fits = fits && AddTo(result.in_flight, sent.amount);
    }
    if (!fits) result.faults.push_back(absl::StrCat(where, ": the totals overflow"));
  }

  static bool AddTo(Points& total, Points amount) {
    auto sum = loyalty::Add(total, amount);
    if (!sum.ok()) return false;
    total = *sum;
    return true;
  }

  std::map<TransferId, Sent> sent_;
  std::map<std::pair<size_t, uint64_t>, TransferId> by_seq_;
  std::vector<std::pair<TransferId, Received>> received_;
};

// Reads shard `shard`'s journal into `pairing`, verifying it.
absl::Status ReadShard(size_t shard, const Store& store, const internal::Chain& chain, Pairing& pairing) {
  internal::JournalProjection journal({.links = store.KeepsMemberLinks()});
  absl::Status admitted;
  internal::ChainCheck check = internal::CheckChain(store, chain, [&](const Entry& entry) {
    if (!admitted.ok()) return;
    if (admitted = journal.Admit(entry); !admitted.ok()) return;
    if (const auto* out = std::get_if<entries::TransferredOut>(&entry.body); out != nullptr && out->across) {
      pairing.Add(shard, entry, *out);
    } else if (const auto* in = std::get_if<entries::TransferredIn>(&entry.body); in != nullptr && in->across) {
      pairing.Add(shard, entry, *in);
    } else if (const auto* settled = std::get_if<entries::TransferSettled>(&entry.body)) {
      pairing.Add(shard, *settled);
    }
  });
  if (admitted.ok() && check.fault != internal::ChainFault::kNone) admitted = absl::DataLossError(check.detail);
  if (admitted.ok()) admitted = journal.Finish();
  if (admitted.ok()) return admitted;
  return absl::DataLossError(absl::StrCat("shard ", shard, ": ", admitted.message()));
}

}  // namespace

absl::StatusOr<TransferReconciliation> ReconcileTransfers(std::span<const Store* const> shards,
                                                          const std::optional<std::string>& journal_key) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  Pairing pairing;
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    if (absl::Status read = ReadShard(shard, *shards[shard], *chain, pairing); !read.ok()) return read;
  }
  return pairing.Finish();
}

}  // namespace loyalty
