// A member's statement: its entries in a period with the running balance.
#include <algorithm>

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

// The vouchers of the member's entry `entry`: issued by its stamps,
// redeemed, or withdrawn by a return.
void TrackVouchers(const Entry& entry, std::vector<StatementVoucher>& vouchers) {
  auto close = [&](VoucherId id, const char* state) {
    for (StatementVoucher& v : vouchers) {
      if (v.voucher == id) {
        v.state = state;
        v.closed_by = entry.seq;
      }
    }
  };
  if (const auto* credited = std::get_if<entries::Credited>(&entry.body)) {
    uint32_t number = 0;
    for (const StampGrant& g : credited->stamps) {
      for (int64_t i = 0; i < g.vouchers; ++i) {
        vouchers.push_back({VoucherId{entry.seq, number++}, g.card, g.reward, entry.business_time,
                            g.voucher_expires_at, "open"});
      }
    }
  } else if (const auto* returned = std::get_if<entries::EarnReversed>(&entry.body)) {
    for (const StampReturn& back : returned->stamps) {
      for (uint32_t number : back.withdrawn) close(VoucherId{returned->credit, number}, "withdrawn");
    }
  } else if (const auto* redeemed = std::get_if<entries::VoucherRedeemed>(&entry.body)) {
    close(redeemed->voucher, "redeemed");
  }
}

}  // namespace

absl::StatusOr<Statement> StatementOf(const Store& store, const MemberId& member, Instant from, Instant to) {
  if (from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: ", from.ToString(), " is after to: ", to.ToString()));
  }
  Statement statement{member, from, to, {}, {}, {}};
  bool found = false;
  Instant last_entry = Instant::Min();
  // Every entry is admitted, the other members' too: the member's own can
  // only be trusted in a journal that holds together.
  internal::JournalProjection journal({.links = store.KeepsMemberLinks()});
  absl::Status status = store.Read(1, [&](const Entry& entry) -> absl::Status {
    if (absl::Status admitted = journal.Admit(entry); !admitted.ok()) return admitted;
    if (entry.member != member) return absl::OkStatus();
    found = true;
    if (entry.business_time >= to) return absl::OkStatus();
    // Program entries (a version published, an estimate) have no member state.
    if (const MemberState* state = journal.Find(member); state != nullptr) {
      statement.stamps = {state->detail().stamps.begin(), state->detail().stamps.end()};
    }
    last_entry = std::max(last_entry, entry.business_time);
    TrackVouchers(entry, statement.vouchers);
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
  // An open `to` has no date to lapse by: the member's last entry is it.
  const Instant end = to != Instant::Max() ? to : last_entry;
  for (StatementVoucher& voucher : statement.vouchers) {
    if (voucher.state == "open" && voucher.expires_at <= end) voucher.state = "lapsed";
  }
  return statement;
}

}  // namespace loyalty
