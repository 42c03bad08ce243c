// Internal: reading and verifying a journal on two threads, the reading
// and hashing overlapped with the caller's work on the entries.
#ifndef LOYALTY_SRC_STORE_CHAIN_PIPELINE_H_
#define LOYALTY_SRC_STORE_CHAIN_PIPELINE_H_

#include <memory>
#include <optional>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "store/chain_check.h"

namespace loyalty::internal {

// How CheckChainPipelined, ReadPipelined and LinkCheck split their work.
struct PipelineOptions {
  size_t block_entries = 1024;  // entries handed over at a time (> 0)
  size_t blocks = 4;            // blocks in flight (>= 2): bounds the memory
  // Journals with fewer entries (by LastSeq) are checked on the calling
  // thread, as CheckChain does: a thread costs more than it saves there.
  uint64_t inline_below = 8192;
  // Which thread checks a block's links: the reading one when the calling
  // one has blocks waiting, else the calling one (the default); or always
  // the one named (for tests).
  enum class Linker { kWhicheverHasTime, kReadingThread, kCallingThread };
  Linker linker = Linker::kWhicheverHasTime;
};

// CheckChain with the reading, decoding and hash checking on a second
// thread, overlapped with `verified`, which runs on the calling thread and
// is given the verified entries in runs of consecutive ones (up to a block
// at a time, so that it may look ahead, e.g. to prefetch). The result, and
// the entries `verified` is given and their order, are exactly CheckChain's;
// every call is made before this returns. For callers that do real work
// with each entry of long journals (replay, re-rating). The store is read
// from the second thread (store.h allows it); `verified` must not expect
// to run inside the store's read.
ChainCheck CheckChainPipelined(const Store& store, const Chain& chain,
                               absl::FunctionRef<void(std::span<const Entry>)> verified,
                               const PipelineOptions& options = {});

// Store::Read(from, ...) with the reading and decoding on a second thread,
// overlapped with `visit`, which runs on the calling thread and is given
// the entries in runs of consecutive ones, in order (up to a block at a
// time). Returns the first error of `visit` (no more entries are then
// given) or else of the read, after every call of `visit`; the entries
// given before an error are exactly those Read would have visited. For
// callers that do real work with each entry of long journals (an engine's
// open). Reads of fewer than options.inline_below entries stay on the
// calling thread. The store is read from the second thread (store.h allows
// it).
absl::Status ReadPipelined(const Store& store, uint64_t from,
                           absl::FunctionRef<absl::Status(std::span<const Entry>)> visit,
                           const PipelineOptions& options = {});

// The links of stored journal rows, checked on a second thread while the
// calling one goes on reading: each row's stored hash must be the chain's
// hash of its predecessor's stored hash and its bytes. For a store's
// verified open, whose rows are not decoded into entries. The rows are
// copied in blocks of options.block_entries; the thread starts with the
// first full block, so a journal of fewer rows is checked on the calling
// thread by Finish. One thread calls Add and Finish.
class LinkCheck {
 public:
  // `previous`: the stored hash before the first row to be added.
  LinkCheck(const Chain& chain, const Sha256& previous, const PipelineOptions& options = {});
  ~LinkCheck();  // waits for the checking thread, as Finish
  LinkCheck(const LinkCheck&) = delete;
  LinkCheck& operator=(const LinkCheck&) = delete;

  // Queues the row after the last one added: its `seq` (> 0), stored
  // `bytes` (copied) and stored `hash`. False, queuing nothing, once a row
  // added before is known not to verify: reading on is then pointless.
  bool Add(uint64_t seq, absl::string_view bytes, const Sha256& hash);
  // Waits until every row added is checked. The seq of the first row that
  // does not verify (the rows after it are not checked), if any.
  std::optional<uint64_t> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_STORE_CHAIN_PIPELINE_H_
