// MemoryStore: the journal in a vector, for tests, scenarios and benchmarks.
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "chain.h"
#include "loyalty/check.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

class MemoryStore final : public Store {
 public:
  absl::Status Append(std::span<Entry> batch) override {
    absl::MutexLock lock(&mutex_);
    if (absl::Status keys = keys_.CheckNew(batch); !keys.ok()) return keys;
    Sha256 previous = head_;
    for (Entry& entry : batch) {
      LOYALTY_CHECK(entry.seq == entries_.size() + 1 + (&entry - batch.data()));
      entry.hash = internal::EncodeAndHash(previous, entry, &scratch_);
      previous = entry.hash;
    }
    entries_.insert(entries_.end(), batch.begin(), batch.end());
    keys_.Add(batch);
    head_ = previous;
    return absl::OkStatus();
  }

  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    for (uint64_t seq = std::max<uint64_t>(from, 1);; ++seq) {
      Entry entry;
      {
        absl::MutexLock lock(&mutex_);
        if (seq > entries_.size()) return absl::OkStatus();
        entry = entries_[seq - 1];
      }
      if (absl::Status status = visit(entry); !status.ok()) return status;
    }
  }

  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    absl::MutexLock lock(&mutex_);
    if (seq == 0 || seq > entries_.size()) return absl::NotFoundError(absl::StrCat("no journal entry ", seq));
    return entries_[seq - 1];
  }

  std::optional<KeyRecord> FindKey(absl::string_view key) const override {
    absl::MutexLock lock(&mutex_);
    return keys_.Find(key);
  }

  uint64_t LastSeq() const override {
    absl::MutexLock lock(&mutex_);
    return entries_.size();
  }

  Sha256 HeadHash() const override {
    absl::MutexLock lock(&mutex_);
    return head_;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<Entry> entries_;
  internal::KeyIndex keys_;
  Sha256 head_{};
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace loyalty
