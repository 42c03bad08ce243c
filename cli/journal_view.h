// A Store that forwards to a journal owned elsewhere, so that an engine can
// be closed and opened again over the same journal (a scenario publishing a
// new program version mid-timeline).
#ifndef LOYALTY_CLI_JOURNAL_VIEW_H_
#define LOYALTY_CLI_JOURNAL_VIEW_H_

#include "loyalty/store.h"

namespace loyalty::cli {

// Forwards every call to `journal`, which must outlive the view.
class JournalView final : public Store {
 public:
  explicit JournalView(Store& journal) : journal_(journal) {}
  absl::Status Append(std::span<Entry> batch) override { return journal_.Append(batch); }
  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    return journal_.Read(from, visit);
  }
  absl::StatusOr<Entry> Get(uint64_t seq) const override { return journal_.Get(seq); }
  std::optional<KeyRecord> FindKey(absl::string_view key) const override { return journal_.FindKey(key); }
  uint64_t LastSeq() const override { return journal_.LastSeq(); }
  Sha256 HeadHash() const override { return journal_.HeadHash(); }
  absl::Status SaveCheckpoint(const CheckpointInfo& info,
                              absl::FunctionRef<bool(std::string* part)> next_part) override {
    return journal_.SaveCheckpoint(info, next_part);
  }
  absl::StatusOr<std::vector<CheckpointInfo>> Checkpoints() const override { return journal_.Checkpoints(); }
  absl::Status ReadCheckpoint(uint64_t seq,
                              absl::FunctionRef<absl::Status(absl::string_view part)> visit) const override {
    return journal_.ReadCheckpoint(seq, visit);
  }
  absl::Status ReadKeyIndex(
      uint64_t* through,
      absl::FunctionRef<absl::Status(absl::string_view key, const KeyRecord& record)> visit) const override {
    return journal_.ReadKeyIndex(through, visit);
  }

 private:
  Store& journal_;
};

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_JOURNAL_VIEW_H_
