// Store::BeginAppend's default: an appender that collects the pieces and
// appends them with one Store::Append at Commit, for stores that write a
// batch in one go (memory, PostgreSQL, and stores wrapping another).
#include <iterator>
#include <vector>

#include "loyalty/check.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

class CollectingAppender final : public Store::Appender {
 public:
  explicit CollectingAppender(Store& store) : store_(store) {}

  void Add(std::span<Entry> entries) override { pieces_.push_back(entries); }

  absl::Status Commit() override {
    LOYALTY_CHECK(!committed_);
    committed_ = true;
    if (pieces_.empty()) return absl::OkStatus();
    if (pieces_.size() == 1) return store_.Append(pieces_.front());
    // Append takes one contiguous batch: gather the pieces, append, and
    // give each entry back with the hash the store set.
    std::vector<Entry> batch;
    for (std::span<Entry> piece : pieces_) std::move(piece.begin(), piece.end(), std::back_inserter(batch));
    absl::Status appended = store_.Append(batch);
    auto next = batch.begin();
    for (std::span<Entry> piece : pieces_) {
      for (Entry& entry : piece) entry = std::move(*next++);
    }
    return appended;
  }

 private:
  Store& store_;
  std::vector<std::span<Entry>> pieces_;
  bool committed_ = false;
};

}  // namespace

std::unique_ptr<Store::Appender> Store::BeginAppend() { return std::make_unique<CollectingAppender>(*this); }

}  // namespace loyalty
