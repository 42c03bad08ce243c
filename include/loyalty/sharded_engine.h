// A program sharded by member (docs/scaling.md): this host's engines, one
// per logical shard it owns, each over that shard's own journal, and the
// routing of commands to them by the member's shard (loyalty/shard_map.h).
//
//   auto map = LoadShardMapFile("shards.json");
//   auto host = ShardedEngine::Open(*map, [&](uint32_t shard) { return OpenShardStore(*map, shard); },
//                                   clock, program, {.owned = ShardRange(0, 63)});
//   auto receipt = (*host)->Execute(Credit{...});   // FailedPrecondition if another host owns the member's shard
//
// Each shard's journal has its own chain, head and idempotency keys (a key
// is unique within the member's shard), and each engine starts from its
// shard's latest checkpoint. An append is a transaction on one database.
//
// A transfer between members of two shards runs as three commands, each an
// append to one journal (command.h): SendTransfer under the transfer's key
// on the sender's shard, ReceiveTransfer under the same key on the
// receiver's, SettleTransfer under the key + "/settled" on the sender's.
// The receiver's shard may be another host's: the second command is then
// forwarded to it (ShardedEngineOptions::forward).
// After a crash between them, RecoverTransfers completes what was sent:
// it receives and settles, or settles as returned what the receiver's
// shard refuses. A retry of the Transfer does the same for its transfer.
// A program whose rules have campaign budgets (AccrualCap::budget) cannot
// be sharded over several journals: Open refuses it.
// Thread safety: every method may be called from any thread.
#ifndef LOYALTY_SHARDED_ENGINE_H_
#define LOYALTY_SHARDED_ENGINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "loyalty/command.h"
#include "loyalty/engine.h"
#include "loyalty/shard_map.h"
#include "loyalty/store.h"

namespace loyalty {

// What ShardedEngine::RecoverTransfers did with the transfers pending on
// the shards this host owns.
struct TransferRecovery {
  size_t delivered = 0;  // received by the other shard and settled
  size_t returned = 0;   // refused by the other shard: the points are back with the sender
  size_t pending = 0;    // left pending: the other shard is not owned here, or an append failed
  absl::Status first_error;  // why the first one left pending is
};

struct ShardedEngineOptions {
  std::vector<uint32_t> owned;  // the logical shards this host serves; empty: every shard of the map
  EngineOptions engine;         // for each shard's engine
  // How this host has the receiving half of a transfer (a ReceiveTransfer)
  // executed on a shard it does not own: by the host that owns `shard`,
  // through the embedding application's own RPC, whose ShardedEngine::
  // Execute it calls. It must return that call's status unchanged, and
  // Unavailable (or DeadlineExceeded) when it cannot tell whether the
  // command ran: only the other statuses return the points to the sender.
  // Empty: a transfer to a shard not owned here is refused.
  std::function<absl::StatusOr<Receipt>(uint32_t shard, const Command& command)> forward{};
};

class ShardedEngine {
 public:
  // The journal store of `shard`.
  using StoreOpener = std::function<absl::StatusOr<std::unique_ptr<Store>>(uint32_t shard)>;

  // Opens an engine for each owned shard over the journal `open_store`
  // gives for it (OpenShardStore, loyalty/store.h, for the PostgreSQL
  // schema of the shard in the database the map names); the program's
  // versions are published in each. The shards open on several threads at
  // once, so `open_store` must be safe to call from any thread.
  // InvalidArgument for an owned shard past the map or named twice;
  // otherwise the error of the lowest shard that failed, its message
  // prefixed "shard N: "; no engine stays open then.
  static absl::StatusOr<std::unique_ptr<ShardedEngine>> Open(ShardMap map, const StoreOpener& open_store,
                                                             const Clock& clock, const Program& program,
                                                             ShardedEngineOptions options = {});

  // The engine of `member`'s shard; FailedPrecondition naming the member
  // and the shard if this host does not own it, so that a load balancer
  // can route the command to the host that does.
  absl::StatusOr<Engine*> EngineOf(const MemberId& member) const;
  // The engine of `shard`; nullptr if this host does not own it.
  Engine* EngineOfShard(uint32_t shard) const;

  // Engine::Execute on the engine of the command's member. A Transfer
  // between members of two shards needs this host to own the sender's
  // shard, and the receiver's or a `forward` to its owner (otherwise
  // FailedPrecondition naming the shard, and nothing is written), and a key
  // of at most kMaxSendTransferKey bytes; its receipt lists the entries of
  // both journals: the sending entry, the receiving entry, the settlement.
  // If the receiver's shard refuses it, the points go back to the sender
  // and the refusal is returned, its message prefixed "transfer K
  // returned: " (a retry answers FailedPrecondition with that reason). If
  // an append fails midway, the error is returned and the transfer stays
  // pending until a retry of it or RecoverTransfers completes it.
  absl::StatusOr<Receipt> Execute(const Command& command);
  // Each command as Execute would route it; the commands of one shard go
  // to its engine as one ExecuteBatch, in their order, and transfers
  // between shards run after them, one by one. The results are in the
  // order of `commands`.
  std::vector<absl::StatusOr<Receipt>> ExecuteBatch(std::span<const Command> commands);
  // Completes every transfer that a member of an owned shard sent to
  // another shard and that is not settled (Engine::PendingTransfers), as a
  // retry of each would. Run it after opening, on the host that runs the
  // transfers of those shards. Visits every member of every owned shard.
  TransferRecovery RecoverTransfers();
  // Engine::BalanceOf on the member's shard (errors as EngineOf).
  absl::StatusOr<Balance> BalanceOf(const MemberId& member) const;

  const ShardMap& map() const { return map_; }
  // The shards this host owns, ascending.
  const std::vector<uint32_t>& owned() const { return owned_; }

 private:
  explicit ShardedEngine(ShardMap map) : map_(std::move(map)) {}
  // A transfer's end: received and settled, or settled as returned.
  struct Settlement {
    bool returned = false;
    absl::Status refusal;         // the receiver's shard's, if returned
    std::vector<Entry> entries;   // the receiving entry (if received) and the settlement
  };

  // The engine of the command's member, or the routing error; nullptr for
  // a transfer between two shards.
  absl::StatusOr<Engine*> Route(const Command& command) const;
  absl::StatusOr<Receipt> TransferAcross(const Transfer& transfer);
  // The receiving half, on the receiver's shard here or forwarded.
  absl::StatusOr<Receipt> Receive(const ReceiveTransfer& command);
  // Receives and settles `pending`, sent from a member of `sender`'s
  // shard; if it was settled already, that settlement.
  absl::StatusOr<Settlement> Complete(Engine& sender, const PendingTransfer& pending);
  // The settlement of a transfer no longer pending, read from the journal.
  absl::StatusOr<Settlement> SettledAlready(const Engine& sender, const PendingTransfer& pending) const;

  ShardMap map_;
  std::vector<uint32_t> owned_;
  std::vector<std::unique_ptr<Engine>> engines_;  // by shard; null where not owned
  std::function<absl::StatusOr<Receipt>(uint32_t, const Command&)> forward_;  // ShardedEngineOptions::forward
  // One transfer is completed by one thread at a time: locks by the
  // sending entry's seq, so that a retry and a recovery pass cannot
  // settle it two ways.
  std::array<std::mutex, 64> transfer_locks_;
};

}  // namespace loyalty

#endif  // LOYALTY_SHARDED_ENGINE_H_
