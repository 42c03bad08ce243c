// Interned version ids (VersionRef): one process-wide table, since every
// lot names the version it was earned under and millions of lots share a
// few ids.
#include <atomic>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "loyalty/check.h"
#include "loyalty/ledger.h"

namespace loyalty {

namespace {

// The interned ids: index -> text in chunks that never move, so that
// reading one needs no lock; text -> index under a mutex for interning.
constexpr size_t kVersionChunk = 4096;
constexpr size_t kVersionChunks = 4096;
struct VersionChunk {
  std::atomic<const std::string*> texts[kVersionChunk];
};
std::atomic<VersionChunk*> version_chunks[kVersionChunks];

const std::string* VersionAt(uint32_t index) {
  VersionChunk* chunk = version_chunks[index / kVersionChunk].load(std::memory_order_acquire);
  LOYALTY_CHECK(chunk != nullptr);
  const std::string* text = chunk->texts[index % kVersionChunk].load(std::memory_order_acquire);
  LOYALTY_CHECK(text != nullptr);
  return text;
}

}  // namespace

const std::string& VersionRef::operator*() const {
  static const std::string* const kEmpty = new std::string();
  return index_ == 0 ? *kEmpty : *VersionAt(index_);
}

VersionRef InternVersion(absl::string_view version) {
  if (version.empty()) return VersionRef();
  // Versions are few and never change, so a thread's last answer is
  // almost always the next one.
  thread_local uint32_t last = 0;
  if (last != 0 && *VersionAt(last) == version) return VersionRef(last);
  static std::mutex mutex;
  static auto* indexes = new absl::flat_hash_map<std::string, uint32_t>();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = indexes->try_emplace(version, static_cast<uint32_t>(indexes->size() + 1));
  if (inserted) {
    const uint32_t index = it->second;
    LOYALTY_CHECK(index < kVersionChunk * kVersionChunks);
    std::atomic<VersionChunk*>& slot = version_chunks[index / kVersionChunk];
    if (slot.load(std::memory_order_relaxed) == nullptr) slot.store(new VersionChunk{}, std::memory_order_release);
    slot.load(std::memory_order_relaxed)->texts[index % kVersionChunk].store(new std::string(version),
                                                                        std::memory_order_release);
  }
  last = it->second;
  return VersionRef(last);
}

}  // namespace loyalty
