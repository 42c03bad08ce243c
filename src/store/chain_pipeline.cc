// Reading a journal on two threads: ReadPipelined, LinkCheck (a store's
// rows' links checked on a second thread), and CheckChainPipelined, the
// chain check on two threads. In CheckChainPipelined a second thread reads
// the journal (WalkChain: seqs, order, truncation) and copies the entries
// with their stored bytes into blocks; each block's links are checked
// (hash of the predecessor's stored hash and the entry's bytes equal to
// its stored hash) by whichever thread has time: the reading one when the
// calling one has blocks waiting, else the calling one, which then calls
// `verified` with the block's entries that verify. The calling thread
// takes the blocks in journal order, so the first bad entry is found first
// whoever hashes it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <pthread.h>
#include <thread>
#include <vector>

#include "store/chain_pipeline.h"
#include "loyalty/check.h"

namespace loyalty::internal {

namespace {

// Up to `entries.size()` consecutive entries in their places, in journal
// order. When `linked`, nothing is left to check: the reading thread
// checked their links (and a bad link ended the block and the walk), or
// they come from ReadPipelined, which checks none; otherwise `bytes` holds their stored
// bytes back to back (entry i's end at ends[i]) for the calling thread to
// check them.
struct Block {
  std::vector<Entry> entries;  // sized once; the first `size` are in use
  size_t size = 0;
  bool linked = false;
  Sha256 previous{};         // stored hash of the entry before the first
  std::string bytes;         // if !linked
  std::vector<size_t> ends;  // if !linked
};

// The blocks passed between the reading thread (which fills free blocks)
// and the calling thread (which empties full ones and gives them back).
// A block given back keeps its entries and buffers, so that copying the
// next entries over them reuses their memory: no allocation per entry
// once the blocks are warm. Thread-safe.
class BlockQueue {
 public:
  BlockQueue(size_t blocks, size_t block_entries) : blocks_(blocks) {
    for (Block& block : blocks_) {
      block.entries.resize(block_entries);
      block.ends.resize(block_entries);
      free_.push_back(&block);
    }
    free_count_ = free_.size();
  }

  // Reading side: waits for a free block; nullptr once Cancel was called.
  // `*waiting` is set to the number of full blocks the calling side has
  // not taken yet.
  Block* TakeFree(size_t* waiting) {
    Await([&] { return free_count_.load(std::memory_order_acquire) > 0 || over_.load(std::memory_order_acquire); });
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !free_.empty() || cancelled_; });
    if (cancelled_) return nullptr;
    Block* block = free_.back();
    free_.pop_back();
    free_count_.store(free_.size(), std::memory_order_release);
    *waiting = full_.size();
    return block;
  }
  // Reading side: `block` is full (or the last one).
  void PutFull(Block* block) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(block);
      full_count_.store(full_.size(), std::memory_order_release);
    }
    changed_.notify_all();
  }
  // Reading side: no more blocks will come.
  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_ = true;
      over_.store(true, std::memory_order_release);
    }
    changed_.notify_all();
  }

  // Calling side: the next full block, in order, waiting for it; nullptr
  // once every block is taken and Finish was called.
  Block* TakeFull() {
    Await([&] { return full_count_.load(std::memory_order_acquire) > 0 || over_.load(std::memory_order_acquire); });
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return !full_.empty() || finished_; });
    if (full_.empty()) return nullptr;
    Block* block = full_.front();
    full_.pop_front();
    full_count_.store(full_.size(), std::memory_order_release);
    return block;
  }
  // Calling side: `block` was used and may be filled again.
  void PutFree(Block* block) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(block);
      free_count_.store(free_.size(), std::memory_order_release);
    }
    changed_.notify_all();
  }
  // Calling side: no more blocks are wanted (a bad link was found).
  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      over_.store(true, std::memory_order_release);
    }
    changed_.notify_all();
  }

 private:
  // Polls `ready` for up to kSpin before the caller sleeps on `changed_`:
  // a block takes tens of microseconds to fill or to use, while sleeping
  // and being woken is a futex round trip (several microseconds on this
  // virtual machine, more when the other vCPU has gone idle), as for
  // SpinningMutex. Bounded, so a thread that must wait long (the other
  // side is slower) sleeps after 50 us.
  template <typename Ready>
  static void Await(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 64 == 63 && std::chrono::steady_clock::now() > deadline) return;
    }
  }
  static constexpr auto kSpin = std::chrono::microseconds(50);

  std::deque<Block> blocks_;  // never resized: the pointers below stay valid
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Block*> free_;
  std::deque<Block*> full_;
  bool finished_ = false;
  bool cancelled_ = false;
  // Mirrors of the above, written under mutex_, polled without it by Await.
  std::atomic<size_t> free_count_{0};
  std::atomic<size_t> full_count_{0};
  std::atomic<bool> over_{false};  // finished_ || cancelled_
};

// The index of the first entry of `block` (not linked) whose link does not
// verify; block.size if all do.
size_t FirstBadLink(const Block& block, const Chain& chain) {
  Sha256 previous = block.previous;
  for (size_t i = 0; i < block.size; ++i) {
    const size_t begin = i == 0 ? 0 : block.ends[i - 1];
    const absl::string_view stored(block.bytes.data() + begin, block.ends[i] - begin);
    if (chain.Hash(previous, stored) != block.entries[i].hash) return i;
    previous = block.entries[i].hash;
  }
  return block.size;
}

// The reading thread's side: WalkChain into blocks.
ChainCheck FillBlocks(const Store& store, const Chain& chain, PipelineOptions::Linker linker, BlockQueue& queue) {
  Block* block = nullptr;
  Sha256 previous{};  // the last entry's stored hash
  // Starts a block after `previous`; false if cancelled.
  auto start = [&] {
    size_t waiting = 0;
    block = queue.TakeFree(&waiting);
    if (block == nullptr) return false;
    block->size = 0;
    block->previous = previous;
    // Check this block's links here if the calling thread has work waiting.
    block->linked = linker == PipelineOptions::Linker::kReadingThread ||
                    (linker == PipelineOptions::Linker::kWhicheverHasTime && waiting > 0);
    block->bytes.clear();
    return true;
  };
  ChainCheck check = WalkChain(store, chain, [&](const Entry& entry, absl::string_view stored) {
    if (block != nullptr && block->size == block->entries.size()) {
      queue.PutFull(block);
      block = nullptr;
    }
    if (block == nullptr && !start()) return false;  // cancelled: the calling thread reports
    if (block->linked) {
      if (chain.Hash(previous, stored) != entry.hash) return false;
    } else {
      block->bytes.append(stored.data(), stored.size());
      block->ends[block->size] = block->bytes.size();
    }
    block->entries[block->size++] = entry;
    previous = entry.hash;
    return true;
  });
  if (block != nullptr) queue.PutFull(block);
  queue.Finish();
  return check;
}

}  // namespace

absl::Status ReadPipelined(const Store& store, uint64_t from,
                           absl::FunctionRef<absl::Status(std::span<const Entry>)> visit,
                           const PipelineOptions& options) {
  LOYALTY_CHECK(options.block_entries > 0 && options.blocks >= 2);
  const uint64_t last = store.LastSeq();
  if (last < from || last - from < options.inline_below) {
    return store.Read(from, [&](const Entry& entry) { return visit(std::span<const Entry>(&entry, 1)); });
  }
  BlockQueue queue(options.blocks, options.block_entries);
  absl::Status read;  // the reading thread's, read after the join
  std::thread reader([&] {
    pthread_setname_np(pthread_self(), "loyalty-read");  // for profilers
    Block* block = nullptr;
    read = store.Read(from, [&](const Entry& entry) -> absl::Status {
      if (block != nullptr && block->size == block->entries.size()) {
        queue.PutFull(block);
        block = nullptr;
      }
      if (block == nullptr) {
        size_t waiting = 0;
        block = queue.TakeFree(&waiting);
        if (block == nullptr) return absl::CancelledError("the reader of the journal stopped");
        block->size = 0;
        block->linked = true;  // nothing for the calling thread to check
      }
      block->entries[block->size++] = entry;
      return absl::OkStatus();
    });
    if (block != nullptr) queue.PutFull(block);
    queue.Finish();
  });
  absl::Status visited;
  while (visited.ok()) {
    Block* block = queue.TakeFull();
    if (block == nullptr) break;
    visited = visit(std::span<const Entry>(block->entries.data(), block->size));
    queue.PutFree(block);
  }
  if (!visited.ok()) queue.Cancel();
  reader.join();
  return visited.ok() ? read : visited;
}

ChainCheck CheckChainPipelined(const Store& store, const Chain& chain,
                               absl::FunctionRef<void(std::span<const Entry>)> verified,
                               const PipelineOptions& options) {
  LOYALTY_CHECK(options.block_entries > 0 && options.blocks >= 2);
  if (store.LastSeq() < options.inline_below) {
    return CheckChain(store, chain, [&](const Entry& entry) { verified(std::span<const Entry>(&entry, 1)); });
  }
  BlockQueue queue(options.blocks, options.block_entries);
  ChainCheck walked;  // the reading thread's, read after the join
  std::thread reader([&] {
    pthread_setname_np(pthread_self(), "loyalty-chain");  // for profilers
    walked = FillBlocks(store, chain, options.linker, queue);
  });
  std::optional<ChainCheck> modified;  // a bad link found here
  while (!modified) {
    Block* block = queue.TakeFull();
    if (block == nullptr) break;
    const size_t good = block->linked ? block->size : FirstBadLink(*block, chain);  // the entries that verify
    if (good < block->size) {
      // As WalkChain reports it: the entries before verified.
      const uint64_t seq = block->entries[good].seq;
      const Sha256& previous = good == 0 ? block->previous : block->entries[good - 1].hash;
      modified = ChainCheck{ChainFault::kModified, seq - 1, previous, seq, ModifiedDetail(seq)};
    }
    if (good > 0) verified(std::span<const Entry>(block->entries.data(), good));
    queue.PutFree(block);
  }
  if (modified) queue.Cancel();
  reader.join();
  return modified ? *std::move(modified) : walked;
}

// LinkCheck's roles are the other way round: the calling thread fills the
// blocks (only each entry's seq and hash are set), the checking thread
// takes them in order and checks their links.
struct LinkCheck::State {
  State(const Chain& chain, const Sha256& previous, const PipelineOptions& options)
      : chain(chain), previous(previous), queue(options.blocks, options.block_entries) {}

  // The checking thread: blocks in order until a bad link, then only
  // drains them.
  void CheckBlocks() {
    while (Block* full = queue.TakeFull()) {
      if (!bad.load(std::memory_order_relaxed)) {
        if (size_t good = FirstBadLink(*full, chain); good < full->size) {
          bad.store(full->entries[good].seq, std::memory_order_release);
          queue.Cancel();
        }
      }
      queue.PutFree(full);
    }
  }

  const Chain chain;
  Sha256 previous;          // the stored hash of the last row added
  BlockQueue queue;
  Block* block = nullptr;   // being filled
  std::thread checker;      // started with the first full block
  std::atomic<uint64_t> bad{0};  // the seq of the first bad link, 0 if none found
  bool finished = false;
};

LinkCheck::LinkCheck(const Chain& chain, const Sha256& previous, const PipelineOptions& options)
    : state_(std::make_unique<State>(chain, previous, options)) {
  LOYALTY_CHECK(options.block_entries > 0 && options.blocks >= 2);
}

LinkCheck::~LinkCheck() { (void)Finish(); }

bool LinkCheck::Add(uint64_t seq, absl::string_view bytes, const Sha256& hash) {
  State& s = *state_;
  LOYALTY_CHECK(!s.finished && seq != 0);
  if (s.bad.load(std::memory_order_acquire) != 0) return false;
  if (s.block == nullptr) {
    size_t waiting = 0;
    s.block = s.queue.TakeFree(&waiting);
    if (s.block == nullptr) return false;  // cancelled: a bad link was found
    s.block->size = 0;
    s.block->linked = false;
    s.block->previous = s.previous;
    s.block->bytes.clear();
  }
  Block& block = *s.block;
  block.bytes.append(bytes.data(), bytes.size());
  block.ends[block.size] = block.bytes.size();
  block.entries[block.size].seq = seq;
  block.entries[block.size].hash = hash;
  ++block.size;
  s.previous = hash;
  if (block.size == block.entries.size()) {
    if (!s.checker.joinable()) {
      s.checker = std::thread([&s] {
        pthread_setname_np(pthread_self(), "loyalty-links");  // for profilers
        s.CheckBlocks();
      });
    }
    s.queue.PutFull(s.block);
    s.block = nullptr;
  }
  return true;
}

std::optional<uint64_t> LinkCheck::Finish() {
  State& s = *state_;
  if (!s.finished) {
    s.finished = true;
    if (s.block != nullptr && !s.checker.joinable()) {
      // Fewer rows than a block: checked here.
      if (size_t good = FirstBadLink(*s.block, s.chain); good < s.block->size) s.bad = s.block->entries[good].seq;
    } else if (s.block != nullptr) {
      s.queue.PutFull(s.block);
    }
    s.block = nullptr;
    s.queue.Finish();
    if (s.checker.joinable()) s.checker.join();
  }
  const uint64_t bad = s.bad.load(std::memory_order_acquire);
  return bad == 0 ? std::nullopt : std::optional<uint64_t>(bad);
}

}  // namespace loyalty::internal
