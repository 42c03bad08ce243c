// Re-rating: the journal's recorded commands decided again under another
// program history with the engine's own Decide, and the outcome compared
// member by member and command by command with what was recorded.
#include <algorithm>
#include <span>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/str_cat.h"
#include "store/chain_pipeline.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/rerate.h"
#include "loyalty/command.h"
#include "core/overloaded.h"
#include "journal/state_digest.h"

namespace loyalty {
namespace {

using Members = absl::flat_hash_map<MemberId, MemberState>;

// The amount an entry is about, and the reward it priced.
struct EntryFacts {
  Points points;
  std::string reward;
};

EntryFacts FactsOf(const EntryBody& body) {
  return std::visit(
      internal::Overloaded{
          [](const entries::Credited& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::Debited& b) { return EntryFacts{b.amount, b.price.reward}; },
          [](const entries::HoldPlaced& b) { return EntryFacts{b.amount, b.price.reward}; },
          [](const entries::HoldCaptured& b) { return EntryFacts{b.amount, b.price.reward}; },
          [](const entries::HoldReleased& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::Quoted& b) { return EntryFacts{b.amount, b.price.reward}; },
          [](const entries::EarnReversed& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::DebitReversed& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::Expired& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::Adjusted& b) { return EntryFacts{b.delta, ""}; },
          [](const entries::TransferredOut& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::TransferredIn& b) { return EntryFacts{b.amount, ""}; },
          [](const entries::TransferSettled& b) { return EntryFacts{b.returned, ""}; },
          [](const auto&) { return EntryFacts{}; },
      },
      body);
}

MemberOutcome OutcomeOf(const MemberState& member) {
  MemberOutcome outcome{member.balance, member.held(), member.debt(), 0, member.detail().status.tier, member.detail().status.paid_tier};
  for (const Lot& lot : member.lots) outcome.open_lots += lot.remaining.IsZero() ? 0 : 1;
  return outcome;
}

// Rewrites the entry references of `command` (journal seqs) to the seqs the
// re-rating wrote in their place; FailedPrecondition if it wrote none.
absl::Status FollowReferences(Command& command, const absl::flat_hash_map<uint64_t, uint64_t>& rerated_seq) {
  auto follow = [&](uint64_t& seq, absl::string_view field) -> absl::Status {
    if (seq == 0) return absl::OkStatus();  // no reference (a reward without quote)
    auto it = rerated_seq.find(seq);
    if (it == rerated_seq.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ": entry ", seq, " was not written when re-rated"));
    }
    seq = it->second;
    return absl::OkStatus();
  };
  return std::visit(internal::Overloaded{
                        [&](CaptureHold& c) { return follow(c.hold, "hold"); },
                        [&](ReleaseHold& c) { return follow(c.hold, "hold"); },
                        [&](ReverseEarn& c) { return follow(c.credit, "credit"); },
                        [&](ReverseDebit& c) { return follow(c.debit, "debit"); },
                        [&](ReturnLines& c) { return follow(c.credit, "credit"); },
                        [&](RedeemReward& c) { return follow(c.quote, "quote"); },
                        [&](HoldReward& c) { return follow(c.quote, "quote"); },
                        [&](SettleTransfer& c) { return follow(c.transfer, "transfer"); },
                        [](auto&) { return absl::OkStatus(); },
                    },
                    command);
}

class Rerater {
 public:
  Rerater(const Program& program, bool links) : program_(program), recorded_({.links = links}), budgets_(&program) {}

  // Re-rates one command's recorded entries (adjacent, one key).
  absl::Status Group(std::span<const Entry> recorded) {
    for (const Entry& entry : recorded) {
      if (absl::Status admitted = recorded_.Admit(entry); !admitted.ok()) return admitted;
    }
    const Entry& first = recorded.front();
    if (internal::IsProgramEntry(first)) return absl::OkStatus();  // published versions, revised estimates
    auto command = RecordedCommandOf(first);
    if (absl::IsNotFound(command.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "journal entry ", first.seq, " (", EntryKindName(first.body), " of ", first.member.value(),
          ") records no command: journals written before entry format 3 cannot be re-rated"));
    }
    if (!command.ok()) return command.status();
    ++result_.commands;
    uint64_t seq = std::max(next_seq_, first.seq);
    if (auto* run = std::get_if<PeriodRun>(&*command)) {
      RunOverMembers(*run, first, seq);
      return absl::OkStatus();
    }
    Command& member_command = std::get<Command>(*command);
    auto lookup = [&](const MemberId& id) -> const MemberState* {
      auto it = rerated_.find(id);
      return it == rerated_.end() ? nullptr : &it->second;
    };
    auto used = [&](absl::string_view rule) { return budgets_.Used(rule); };
    absl::Status followed = FollowReferences(member_command, rerated_seq_);
    absl::StatusOr<std::vector<Entry>> decided =
        followed.ok() ? Decide(program_, lookup, member_command, first.recorded_at, used) : followed;
    if (!decided.ok()) {
      ++result_.failed;
      Compare(first, nullptr, decided.status());
      return absl::OkStatus();
    }
    for (size_t i = 0; i < decided->size(); ++i) {
      Entry& entry = (*decided)[i];
      entry.seq = seq++;
      if (i < recorded.size()) rerated_seq_[recorded[i].seq] = entry.seq;
      ApplyToMember(rerated_[entry.member], entry);
      budgets_.Add(entry);
    }
    next_seq_ = seq;
    result_.entries_decided += decided->size();
    Compare(first, &decided->front(), absl::OkStatus());
    return absl::OkStatus();
  }

  absl::StatusOr<Rerating> Finish(uint64_t entries) && {
    if (absl::Status finished = recorded_.Finish(); !finished.ok()) return finished;
    const Members& recorded_members = recorded_.members();
    result_.entries = entries;
    absl::btree_map<MemberId, const MemberState*> rerated;
    for (const auto& [id, state] : rerated_) rerated.emplace(id, &state);
    absl::btree_map<MemberId, const MemberState*> everyone = rerated;
    for (const auto& [id, state] : recorded_members) everyone.emplace(id, nullptr);
    const MemberState none;
    Points recorded_total, rerated_total;
    for (const auto& [id, unused] : everyone) {
      auto r = recorded_members.find(id);
      auto n = rerated_.find(id);
      MemberOutcome before = OutcomeOf(r == recorded_members.end() ? none : r->second);
      MemberOutcome after = OutcomeOf(n == rerated_.end() ? none : n->second);
      auto recorded_sum = Add(recorded_total, before.available);
      auto rerated_sum = Add(rerated_total, after.available);
      if (!recorded_sum.ok() || !rerated_sum.ok()) {
        return absl::OutOfRangeError("the members' points add up to more than 2^63 - 1");
      }
      recorded_total = *recorded_sum;
      rerated_total = *rerated_sum;
      if (before != after) result_.members_changed.push_back({id, std::move(before), std::move(after)});
    }
    result_.members = static_cast<int64_t>(everyone.size());
    result_.recorded_available = recorded_total;
    result_.rerated_available = rerated_total;
    absl::flat_hash_map<std::string, Sha256> published;
    for (const auto& version : program_.versions()) {
      if (version->content_hash != Sha256{}) published[version->id] = version->content_hash;
    }
    result_.state_digest = internal::StateDigest(rerated, published);
    result_.states = std::move(rerated_);
    return std::move(result_);
  }

 private:
  // A run over every member as the engine runs it: members in id order.
  void RunOverMembers(const PeriodRun& run, const Entry& first, uint64_t seq) {
    std::vector<const MemberId*> ids;
    ids.reserve(rerated_.size());
    for (const auto& [id, state] : rerated_) ids.push_back(&id);
    std::sort(ids.begin(), ids.end(), [](const MemberId* a, const MemberId* b) { return *a < *b; });
    for (const MemberId* id : ids) {
      MemberState& member = rerated_.at(*id);
      std::vector<Entry> due =
          run.kind == PeriodRun::Kind::kExpiry
              ? DecideExpiry(program_, *id, member, run.as_of, run.idempotency_key, first.command_digest,
                             first.recorded_at)
              : DecideTierReview(program_, *id, member, run.as_of, run.idempotency_key, first.command_digest,
                                 first.recorded_at);
      for (Entry& entry : due) {
        entry.seq = seq++;
        ApplyToMember(member, entry);
      }
      result_.entries_decided += due.size();
    }
    next_seq_ = seq;
  }

  void Compare(const Entry& recorded, const Entry* rerated, const absl::Status& error) {
    EntryFacts before = FactsOf(recorded.body);
    absl::string_view before_kind = EntryKindName(recorded.body);
    if (rerated != nullptr) {
      EntryFacts after = FactsOf(rerated->body);
      absl::string_view after_kind = EntryKindName(rerated->body);
      if (after_kind == before_kind && after.points == before.points) return;
      result_.commands_changed.push_back({recorded.seq, recorded.member, recorded.idempotency_key,
                                          std::move(before.reward), std::string(before_kind), before.points,
                                          std::string(after_kind), after.points, absl::OkStatus()});
      return;
    }
    result_.commands_changed.push_back({recorded.seq, recorded.member, recorded.idempotency_key,
                                        std::move(before.reward), std::string(before_kind), before.points, "",
                                        Points(0), error});
  }

  const Program& program_;
  internal::JournalProjection recorded_;  // the journal as recorded
  Members rerated_;
  internal::BudgetUse budgets_;  // the re-rated journal's use of the budgets
  absl::flat_hash_map<uint64_t, uint64_t> rerated_seq_;  // journal seq -> re-rated seq
  uint64_t next_seq_ = 1;
  Rerating result_;
};

}  // namespace

absl::StatusOr<Rerating> Rerate(const Store& journal, const Program& program,
                                const std::optional<std::string>& journal_key) {
  auto chain = internal::Chain::For(journal_key);
  if (!chain.ok()) return chain.status();
  Rerater rerater(program, journal.KeepsMemberLinks());
  std::vector<Entry> group;  // a command's entries carried over from the previous run
  absl::Status status;
  auto flush = [&] {
    if (!group.empty() && status.ok()) status = rerater.Group(group);
    group.clear();
  };
  // The entries of one command are adjacent and share its key: a command
  // whole within a run is re-rated in place; one at a run's end may go on
  // in the next, so its entries are copied until it is whole.
  internal::ChainCheck check = internal::CheckChainPipelined(journal, *chain, [&](std::span<const Entry> run) {
    size_t i = 0;
    if (!group.empty()) {
      while (i < run.size() && run[i].idempotency_key == group.front().idempotency_key) group.push_back(run[i++]);
      if (i == run.size()) return;
      flush();
    }
    while (i < run.size() && status.ok()) {
      size_t end = i + 1;
      while (end < run.size() && run[end].idempotency_key == run[i].idempotency_key) ++end;
      if (end == run.size()) {
        group.assign(run.begin() + i, run.end());
        return;
      }
      status = rerater.Group(run.subspan(i, end - i));
      i = end;
    }
  });
  flush();
  // Entries re-rated came before any fault the chain check found.
  if (!status.ok()) return status;
  if (check.fault != internal::ChainFault::kNone) return internal::ChainCheckStatus(check);
  return std::move(rerater).Finish(check.entries);
}

absl::StatusOr<Program> ProgramWithout(const Program& program, absl::string_view version_id) {
  if (program.Find(version_id) == nullptr) {
    return absl::NotFoundError(absl::StrCat("version ", version_id, " is not in the program"));
  }
  if (program.versions().size() == 1) {
    return absl::InvalidArgumentError(absl::StrCat("version ", version_id, " is the program's only version"));
  }
  std::vector<ProgramVersion> versions;
  for (const auto& version : program.versions()) {
    if (version->id != version_id) versions.push_back(*version);
  }
  return Program::FromVersions(std::move(versions));
}

}  // namespace loyalty
