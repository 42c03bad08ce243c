// A member's statement: its entries in a period with the running balance.
#include "absl/strings/str_cat.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/statement.h"

namespace loyalty {

namespace {

// balance + delta, or OutOfRange.
absl::Status AddDelta(MemberBalance& balance, const BalanceDelta& delta) {
  auto available = Add(balance.available, delta.available);
  auto held = Add(balance.held, delta.held);
  auto debt = Add(balance.debt, delta.debt);
  if (!available.ok()) return available.status();
  if (!held.ok()) return held.status();
  if (!debt.ok()) return debt.status();
  balance = MemberBalance{*available, *held, *debt};
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Statement> StatementOf(const Store& store, const MemberId& member, Instant from, Instant to) {
  if (from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: ", from.ToString(), " is after to: ", to.ToString()));
  }
  Statement statement{member, from, to, {}, {}, {}};
  bool found = false;
  // Every entry is admitted, the other members' too: the member's own can
  // only be trusted in a journal that holds together.
  internal::JournalProjection journal({.links = store.KeepsMemberLinks()});
  absl::Status status = store.Read(1, [&](const Entry& entry) -> absl::Status {
    if (absl::Status admitted = journal.Admit(entry); !admitted.ok()) return admitted;
    if (entry.member != member) return absl::OkStatus();
    found = true;
    if (entry.business_time >= to) return absl::OkStatus();
    BalanceDelta delta = DeltaOf(entry.body);
    if (entry.business_time < from) return AddDelta(statement.opening, delta);
    StatementLine line{entry.seq, entry.business_time, std::string(EntryKindName(entry.body)), entry.version,
                       entry.explanation, delta, statement.lines.empty() ? MemberBalance{} : statement.lines.back().balance};
    statement.lines.push_back(std::move(line));
    return absl::OkStatus();
  });
  if (status.ok()) status = journal.Finish();
  if (!status.ok()) return status;
  if (!found) return absl::NotFoundError(absl::StrCat("member: the journal has no entry for ", member.value()));
  // Running balances, once the opening is known (entries before `from` may
  // come later in the journal than entries inside the period).
  MemberBalance running = statement.opening;
  for (StatementLine& line : statement.lines) {
    if (absl::Status added = AddDelta(running, line.delta); !added.ok()) return added;
    line.balance = running;
  }
  statement.closing = running;
  return statement;
}

}  // namespace loyalty
