// MemoryStore: the journal in memory, for tests, scenarios and benchmarks.
// It keeps each entry's canonical bytes (computed anyway for the chain) back
// to back in large chunks: no allocation per entry, and few page faults.
#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include <mutex>
#include "journal/chain.h"
#include "store/key_index.h"
#include "journal/entry_codec.h"
#include "journal/huge_page_allocator.h"
#include "loyalty/check.h"
#include "core/spinning_mutex.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

// Bytes appended back to back in chunks that never move. A chunk is 2 MiB
// (more for a larger entry), from HugePageAllocator so that the kernel can
// back it with huge pages: touching fresh memory a 4 KiB page fault at a
// time costs about as much as encoding and hashing the entries written
// into it.
class ByteArena {
 public:
  ByteArena() = default;
  ByteArena(const ByteArena&) = delete;
  ByteArena& operator=(const ByteArena&) = delete;
  ~ByteArena() {
    for (const Chunk& chunk : chunks_) internal::HugePageAllocator<char>().deallocate(chunk.bytes, chunk.size);
  }

  // A copy of `bytes` that stays valid as long as the arena.
  absl::string_view Add(absl::string_view bytes) {
    if (chunks_.empty() || chunks_.back().size - used_ < bytes.size()) {
      const size_t size = (std::max(kChunk, bytes.size()) + kChunk - 1) / kChunk * kChunk;
      chunks_.push_back({internal::HugePageAllocator<char>().allocate(size), size});
      used_ = 0;
    }
    char* copy = chunks_.back().bytes + used_;
    std::memcpy(copy, bytes.data(), bytes.size());
    used_ += bytes.size();
    return absl::string_view(copy, bytes.size());
  }

 private:
  static constexpr size_t kChunk = size_t{2} << 20;
  struct Chunk {
    char* bytes;
    size_t size;
  };
  std::vector<Chunk> chunks_;
  size_t used_ = 0;  // in the last chunk
};

class MemoryStore final : public Store {
 public:
  MemoryStore() = default;
  explicit MemoryStore(internal::Chain chain) : chain_(std::move(chain)) {}

  absl::Status Append(std::span<Entry> batch) override {
    std::lock_guard<SpinningMutex> lock(mutex_);
    if (absl::Status keys = keys_.Add(batch); !keys.ok()) return keys;
    Sha256 previous = head_;
    for (Entry& entry : batch) {
      LOYALTY_CHECK(entry.seq == entries_.size() + 1);
      entry.hash = chain_.EncodeAndHash(previous, entry, &scratch_);
      previous = entry.hash;
      entries_.push_back({bytes_.Add(scratch_), entry.hash, entry.member_prev});
    }
    head_ = previous;
    return absl::OkStatus();
  }

  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    return ReadStored(from, [&](const Entry& entry, absl::string_view) { return visit(entry); });
  }

  absl::Status ReadStored(
      uint64_t from, absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const override {
    // The entries are located a run at a time under the lock, and visited
    // without it: an entry never changes once appended, and neither the
    // deque nor the arena moves it.
    constexpr size_t kRun = 256;
    const Stored* run[kRun];
    for (uint64_t seq = std::max<uint64_t>(from, 1);;) {
      size_t found = 0;
      {
        std::lock_guard<SpinningMutex> lock(mutex_);
        for (; found < kRun && seq + found <= entries_.size(); ++found) run[found] = &entries_[seq + found - 1];
      }
      if (found == 0) return absl::OkStatus();
      for (size_t i = 0; i < found; ++i) {
        if (absl::Status status = visit(Decoded(*run[i]), run[i]->bytes); !status.ok()) return status;
      }
      seq += found;
    }
  }

  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    std::lock_guard<SpinningMutex> lock(mutex_);
    if (seq == 0 || seq > entries_.size()) return absl::NotFoundError(absl::StrCat("no journal entry ", seq));
    return Decoded(entries_[seq - 1]);
  }

  std::optional<KeyRecord> FindKey(absl::string_view key) const override {
    std::lock_guard<SpinningMutex> lock(mutex_);
    return keys_.Find(key);
  }

  uint64_t LastSeq() const override {
    std::lock_guard<SpinningMutex> lock(mutex_);
    return entries_.size();
  }

  Sha256 HeadHash() const override {
    std::lock_guard<SpinningMutex> lock(mutex_);
    return head_;
  }

  std::optional<Sha256> KeyCheck() const override { return chain_.KeyCheck(); }

 private:
  mutable SpinningMutex mutex_;
  struct Stored {
    absl::string_view bytes;  // in bytes_
    Sha256 hash;
    uint64_t member_prev;
  };
  // The entry `stored` holds.
  static Entry Decoded(const Stored& stored) {
    auto entry = internal::DecodeEntry(stored.bytes);
    LOYALTY_CHECK(entry.ok());  // these bytes were encoded by this process
    entry->hash = stored.hash;
    entry->member_prev = stored.member_prev;
    return *std::move(entry);
  }

  ByteArena bytes_;
  std::deque<Stored> entries_;  // a deque: growing never copies old entries
  std::string scratch_;         // the entry being encoded
  internal::KeyIndex keys_;
  Sha256 head_{};
  internal::Chain chain_;  // plain SHA-256 unless keyed
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

absl::StatusOr<std::unique_ptr<Store>> NewKeyedMemoryStore(const std::string& journal_key) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  return std::unique_ptr<Store>(std::make_unique<MemoryStore>(*std::move(chain)));
}

}  // namespace loyalty
