// The in-memory index of idempotency keys.
#include "store/key_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace loyalty::internal {

absl::Status KeyIndex::Add(std::span<const Entry> batch) {
  KeyRecord* command = nullptr;  // the record of the command being added
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0 && batch[i].idempotency_key == batch[i - 1].idempotency_key) {
      ++command->count;
      continue;
    }
    auto [it, inserted] = keys_.try_emplace(batch[i].idempotency_key, KeyRecord{batch[i].seq, 1});
    if (!inserted) {
      Remove(batch.first(i));
      return absl::AlreadyExistsError(
          absl::StrCat("idempotency key \"", batch[i].idempotency_key, "\" is already used"));
    }
    command = &it->second;
  }
  return absl::OkStatus();
}

void KeyIndex::Remove(std::span<const Entry> batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0 && batch[i].idempotency_key == batch[i - 1].idempotency_key) continue;
    keys_.erase(batch[i].idempotency_key);
  }
}

absl::Status KeyIndex::AddNext(uint64_t seq, absl::string_view key) {
  if (!keys_.empty() && key == last_key_) {
    ++keys_.find(last_key_)->second.count;
    return absl::OkStatus();
  }
  if (!keys_.try_emplace(key, KeyRecord{seq, 1}).second) {
    return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", key, "\" is already used"));
  }
  last_key_.assign(key.data(), key.size());
  return absl::OkStatus();
}

absl::Status KeyIndex::AddRecord(absl::string_view key, const KeyRecord& record) {
  last_key_.clear();
  if (!keys_.try_emplace(key, record).second) {
    return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", key, "\" is already used"));
  }
  return absl::OkStatus();
}

std::optional<KeyRecord> KeyIndex::Find(absl::string_view key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<absl::string_view, KeyRecord>> KeyIndex::Sorted() const {
  std::vector<std::pair<absl::string_view, KeyRecord>> sorted(keys_.begin(), keys_.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return sorted;
}

void KeyIndex::Clear() {
  keys_.clear();
  last_key_.clear();
}

}  // namespace loyalty::internal
