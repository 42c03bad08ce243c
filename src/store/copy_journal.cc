// CopyJournal: a journal copied entry by entry into another store, with
// its checkpoints, to move a logical shard to another database.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "journal/chain.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

constexpr size_t kCopyBatch = 8192;

// FailedPrecondition unless the entries of `to` are a prefix of `from`'s.
absl::Status CheckPrefix(const Store& from, const Store& to) {
  const uint64_t copied = to.LastSeq();
  if (copied == 0) return absl::OkStatus();
  if (copied > from.LastSeq()) {
    return absl::FailedPreconditionError(absl::StrCat("the target journal holds ", copied,
                                                      " entries, more than the source's ", from.LastSeq(),
                                                      ": it is another journal"));
  }
  absl::StatusOr<Entry> at = from.Get(copied);
  if (!at.ok()) return at.status();
  if (at->hash != to.HeadHash()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the target journal's entry ", copied, " is not the source's: it is another journal"));
  }
  return absl::OkStatus();
}

// Saves into `to` each checkpoint of `from` up to its head that it lacks.
absl::Status CopyCheckpoints(const Store& from, Store& to) {
  absl::StatusOr<std::vector<CheckpointInfo>> have = to.Checkpoints();
  if (!have.ok()) return have.status();
  absl::StatusOr<std::vector<CheckpointInfo>> source = from.Checkpoints();
  if (!source.ok()) return source.status();
  for (const CheckpointInfo& info : *source) {
    const bool copied = std::any_of(have->begin(), have->end(), [&](const CheckpointInfo& c) { return c == info; });
    if (copied || info.seq > to.LastSeq()) continue;
    std::vector<std::string> parts;
    absl::Status read = from.ReadCheckpoint(info.seq, [&](absl::string_view part) {
      parts.emplace_back(part);
      return absl::OkStatus();
    });
    if (!read.ok()) return read;
    size_t next = 0;
    absl::Status saved = to.SaveCheckpoint(info, [&](std::string* part) {
      if (next == parts.size()) return false;
      *part = std::move(parts[next++]);
      return true;
    });
    // A target that keeps no checkpoints rebuilds its state at its first open.
    if (absl::IsUnimplemented(saved)) return absl::OkStatus();
    if (!saved.ok()) return saved;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> CopyJournal(const Store& from, Store& to) {
  if (from.KeyCheck().has_value() || to.KeyCheck().has_value()) {
    return absl::UnimplementedError("a keyed journal is not copied: its chain needs the key");
  }
  if (absl::Status prefix = CheckPrefix(from, to); !prefix.ok()) return prefix;
  const uint64_t start = to.LastSeq();
  // Each link is checked before its batch is appended, so that the copy
  // never holds an entry the source's chain does not vouch for.
  Sha256 previous = to.HeadHash();
  std::string bytes;
  std::vector<Entry> batch;
  auto flush = [&]() -> absl::Status {
    if (to.LastSeq() + 1 != batch.front().seq) {
      return absl::FailedPreconditionError(absl::StrCat("the target journal was appended to during the copy",
                                                        " (it ends at entry ", to.LastSeq(), ", not ",
                                                        batch.front().seq - 1, ")"));
    }
    absl::Status appended = to.Append(std::span<Entry>(batch));
    batch.clear();
    return appended;
  };
  absl::Status read = from.Read(start + 1, [&](const Entry& entry) -> absl::Status {
    if (internal::EncodeAndHash(previous, entry, &bytes) != entry.hash) {
      return absl::DataLossError(absl::StrCat("source journal: entry ", entry.seq,
                                              ": modified (its hash does not match its content and predecessor)"));
    }
    previous = entry.hash;
    batch.push_back(entry);
    return batch.size() < kCopyBatch ? absl::OkStatus() : flush();
  });
  if (read.ok() && !batch.empty()) read = flush();
  if (!read.ok()) return read;
  if (absl::Status checkpoints = CopyCheckpoints(from, to); !checkpoints.ok()) return checkpoints;
  return to.LastSeq() - start;
}

}  // namespace loyalty
