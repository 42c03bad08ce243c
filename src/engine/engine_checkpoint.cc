// The engine's checkpoints of its projection: saved into the store (on
// request, on a journal's first open, at a clean shutdown) and loaded at
// open, so that an open applies only the entries after the latest one.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "engine/engine_impl.h"
#include "engine/shard_locks.h"
#include "journal/projection_codec.h"

namespace loyalty::internal {

absl::Status EngineImpl::SaveCheckpoint() {
  ShardLocks all(*this);
  std::lock_guard<SpinningMutex> journal(journal_mutex_);
  if (!lost_.ok()) return lost_;
  if (!keeps_checkpoints_) return absl::UnimplementedError("this store keeps no checkpoints");
  const JournalHead head = store_->Head();
  // The parts are gathered first: the store takes them one at a time, while
  // the projection cannot change (every lock is held).
  std::vector<std::string> parts;
  Sha256Stream hash;
  {
    std::lock_guard<std::mutex> lock(published_mutex_);
    EncodeProjection(MembersInIdOrderLocked(), published_, [&](absl::string_view part) {
      hash.Update(part);
      parts.emplace_back(part);
    });
  }
  const CheckpointInfo info{head.seq, head.hash, hash.Finish(), parts.size()};
  size_t next = 0;
  absl::Status saved = store_->SaveCheckpoint(info, [&](std::string* part) {
    if (next == parts.size()) return false;
    *part = std::move(parts[next++]);
    return true;
  });
  // A store without checkpoints, or opened read-only, stays so.
  if (absl::IsUnimplemented(saved) || absl::IsFailedPrecondition(saved)) keeps_checkpoints_ = false;
  if (!saved.ok()) return saved;
  checkpoint_seq_ = head.seq;
  PruneCheckpoints();
  return saved;
}

void EngineImpl::PruneCheckpoints() {
  const size_t kept = std::max<size_t>(1, options_.checkpoints_kept);
  absl::StatusOr<std::vector<CheckpointInfo>> checkpoints = store_->Checkpoints();
  if (!checkpoints.ok() || checkpoints->size() <= kept) return;
  // A checkpoint left behind by a failure here is deleted after the next.
  for (size_t i = 0; i + kept < checkpoints->size(); ++i) {
    store_->DeleteCheckpoint((*checkpoints)[i].seq).IgnoreError();
  }
}

bool EngineImpl::CheckpointDue(uint64_t every) {
  if (!keeps_checkpoints_ || store_->LastSeq() - checkpoint_seq_ < every) return false;
  if (!store_->Shared()) return true;
  // Another engine sharing the journal may have saved one since, past the
  // entries this one has read: read up to the head first.
  if (!CatchUp().ok()) return false;
  absl::StatusOr<std::vector<CheckpointInfo>> checkpoints = store_->Checkpoints();
  if (checkpoints.ok() && !checkpoints->empty() && checkpoints->back().seq > checkpoint_seq_) {
    checkpoint_seq_ = checkpoints->back().seq;
  }
  return store_->LastSeq() - checkpoint_seq_ >= every;
}

void EngineImpl::CheckpointIfDue() {
  const uint64_t every = options_.checkpoint_every;
  if (every == 0 || !CheckpointDue(every)) return;
  SaveCheckpoint().IgnoreError();
}

EngineImpl::~EngineImpl() {
  if (!opened_ || !CheckpointDue(1)) return;
  // A failure leaves the previous checkpoint, from which the next open
  // applies more entries: nothing is lost.
  SaveCheckpoint().IgnoreError();
}

absl::StatusOr<uint64_t> EngineImpl::LoadCheckpointLocked() {
  absl::StatusOr<std::vector<CheckpointInfo>> checkpoints = store_->Checkpoints();
  if (!checkpoints.ok()) return checkpoints.status();
  if (checkpoints->empty()) return 0;
  const CheckpointInfo& latest = checkpoints->back();
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("checkpoint at entry ", latest.seq, ": ", why));
  };
  const uint64_t last = store_->LastSeq();
  if (latest.seq > last) {
    return damaged(absl::StrCat("it lies past the journal's last entry ", last, " (a journal cut back?)"));
  }
  absl::StatusOr<Entry> at = store_->Get(latest.seq);
  if (!at.ok()) return damaged(at.status().message());
  if (at->hash != latest.head_hash) return damaged("entry's chain hash differs: it is of another journal");
  ProjectionDecoder decoder([&](const MemberId& id, MemberState&& state) {
    ShardOf(id).members.FindOrAdd(id) = std::move(state);
    return absl::OkStatus();
  });
  absl::Status read = store_->ReadCheckpoint(latest.seq, [&](absl::string_view part) { return decoder.Part(part); });
  // A checkpoint of an older format is not read: the open starts from the
  // first entry and leaves a checkpoint of today's format.
  if (absl::IsFailedPrecondition(read)) return 0;
  if (read.ok()) read = decoder.Finish();
  if (read.ok() && decoder.Digest() != latest.digest) read = absl::DataLossError("its content does not match its digest");
  if (!read.ok()) return damaged(read.message());
  {
    std::lock_guard<std::mutex> lock(published_mutex_);
    published_ = decoder.published();
  }
  std::lock_guard<SpinningMutex> journal(journal_mutex_);
  checkpoint_seq_ = latest.seq;
  return latest.seq;
}

}  // namespace loyalty::internal
