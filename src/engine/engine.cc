// Engine, the facade hosts call: each method hands the call to the engine's
// implementation (engine/engine_impl.h), whose state hosts never see.
#include "loyalty/engine.h"

#include "engine/engine_impl.h"

namespace loyalty {

Engine::Engine(std::unique_ptr<internal::EngineImpl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(std::unique_ptr<Store> store, const Clock& clock,
                                                     Program program, EngineOptions options) {
  auto impl = internal::EngineImpl::Open(std::move(store), clock, std::move(program), options);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Engine>(new Engine(*std::move(impl)));
}

std::span<const Entry> Receipt::own() const {
  // A release a command decided on its own (ReleaseHold of a lapsed hold)
  // is its last entry, so the last entry is always its own.
  size_t released = 0;
  while (released + 1 < entries.size()) {
    const auto* release = std::get_if<entries::HoldReleased>(&entries[released].body);
    if (release == nullptr || !release->lapsed) break;
    ++released;
  }
  return std::span<const Entry>(entries).subspan(released);
}

absl::StatusOr<Receipt> Engine::Execute(const Command& command) { return impl_->Execute(command); }

std::vector<absl::StatusOr<Receipt>> Engine::ExecuteBatch(std::span<const Command> commands) {
  return impl_->ExecuteBatch(commands);
}

absl::StatusOr<Receipt> Engine::RunExpiry(const std::string& key, Instant as_of) {
  return impl_->RunExpiry(key, as_of);
}

absl::StatusOr<Receipt> Engine::ClosePeriod(const std::string& key, Instant as_of) {
  return impl_->ClosePeriod(key, as_of);
}

absl::StatusOr<Receipt> Engine::ReviseEstimate(const EstimateRevision& revision) {
  return impl_->ReviseEstimate(revision);
}

absl::StatusOr<TierStanding> Engine::TierOf(const MemberId& member, Instant at) const {
  return impl_->TierOf(member, at);
}

absl::StatusOr<Balance> Engine::BalanceOf(const MemberId& member) const { return impl_->BalanceOf(member); }

absl::StatusOr<Balance> Engine::BalanceAsOf(const MemberId& member, Instant at) const {
  return impl_->BalanceAsOf(member, at);
}

absl::StatusOr<std::vector<Lot>> Engine::OpenLots(const MemberId& member) const { return impl_->OpenLots(member); }

absl::StatusOr<std::vector<Entry>> Engine::History(const MemberId& member) const { return impl_->History(member); }

absl::StatusOr<MemberState> Engine::Snapshot(const MemberId& member) const { return impl_->Snapshot(member); }

Sha256 Engine::StateDigest() const { return impl_->StateDigest(); }
std::vector<PendingTransfer> Engine::PendingTransfers() const { return impl_->PendingTransfers(); }
absl::StatusOr<Points> Engine::BudgetUsed(absl::string_view rule) const { return impl_->BudgetUsed(rule); }
absl::StatusOr<std::vector<LapsingLot>> Engine::ExpiringPoints(const MemberId& member, int within_days) const {
  return impl_->ExpiringPoints(member, within_days);
}

absl::Status Engine::SaveCheckpoint() { return impl_->SaveCheckpoint(); }

const Store& Engine::store() const { return impl_->store(); }

const Program& Engine::program() const { return impl_->program(); }

}  // namespace loyalty
