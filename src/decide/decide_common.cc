// The checks and entry builders that several commands' decisions share:
// field checks, drawing points from lots in spending order, and the texts
// that explain entries.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "decide/decide_context.h"
#include "ledger/debt.h"

namespace loyalty::internal {

Entry DecideContext::Header(const MemberId& member_id) const {
  return internal::Header(program, member_id, at, recorded_at, key, digest);
}

absl::Status Invalid(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", reason));
}

absl::Status CheckText(absl::string_view field, const std::string& text, bool required) {
  if (required && text.empty()) return Invalid(field, "must not be empty");
  if (text.size() > kMaxText) return Invalid(field, absl::StrCat("longer than ", kMaxText, " bytes"));
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view field, Points amount) {
  if (amount <= Points(0)) return Invalid(field, absl::StrCat("must be positive, got ", amount.value()));
  return absl::OkStatus();
}

absl::Status CheckCounters(const std::vector<CounterDelta>& counters) {
  for (size_t i = 0; i < counters.size(); ++i) {
    std::string field = absl::StrCat("counters[", i, "]");
    if (absl::Status s = CheckText(field + ".counter", counters[i].counter, true); !s.ok()) return s;
    if (absl::Status s = CheckPositive(field + ".amount", counters[i].amount); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckTtl(absl::Duration ttl) {
  if (ttl <= absl::ZeroDuration() || ttl > kMaxHoldTtl) return Invalid("ttl", "must be positive and at most 366 days");
  return absl::OkStatus();
}

absl::Status CheckCounterRoom(const MemberState& member, const std::vector<CounterDelta>& counters) {
  for (const CounterDelta& delta : counters) {
    auto it = member.detail().counters.find(delta.counter);
    if (it != member.detail().counters.end() && !Add(it->second, delta.amount).ok()) {
      return absl::OutOfRangeError(absl::StrCat("counters: ", delta.counter, " would overflow"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEnrolledBy(const MemberState& member, const MemberId& id, Instant at) {
  if (at >= member.enrolled_at) return absl::OkStatus();
  return Invalid("at", absl::StrCat(at.ToString(), " is before member ", id.value(), "'s enrolment at ",
                                    member.enrolled_at.ToString()));
}

Points Spendable(const MemberState& member, Instant at) {
  Points total;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > at) total = Points(total.value() + lot.remaining.value());
  }
  return total;
}

absl::StatusOr<std::vector<LotDraw>> Draw(const MemberState& member, const MemberId& id, Points amount, Instant at,
                                          absl::FunctionRef<bool(const Lot&)> eligible) {
  std::vector<LotDraw> draws;
  int64_t needed = amount.value();
  for (size_t index : SpendableLots(member, at)) {
    if (needed == 0) break;
    const Lot& lot = member.lots[index];
    if (!eligible(lot)) continue;
    int64_t take = std::min(needed, lot.remaining.value());
    draws.push_back({lot.id, Points(take)});
    needed -= take;
  }
  if (needed > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("member ", id.value(), ": insufficient points: ", Spendable(member, at).value(),
                     " available, ", amount.value(), " requested"));
  }
  return draws;
}

// Points coming back from `returning` draws settle up to `debt` first, in
// the draws' order (soonest-expiring lots first); returns what goes back to
// the lots and sets `*paid`.
std::vector<LotDraw> SettleDebt(const std::vector<LotDraw>& returning, Points debt, Points* paid) {
  int64_t total = 0;
  for (const LotDraw& draw : returning) total += draw.amount.value();
  *paid = Points(std::min(total, debt.value()));
  return internal::AfterDebt(returning, *paid);
}

std::vector<Entry> LapsedHoldReleases(const Program& program, const MemberId& member_id, const MemberState& member,
                                      Instant at, Instant recorded_at, const std::string& key,
                                      const CommandDigest& digest, uint64_t except) {
  std::vector<std::pair<uint64_t, const Hold*>> lapsed;
  for (const auto& [hold_id, hold] : member.detail().holds) {
    if (hold.expires_at <= at && hold_id != except) lapsed.emplace_back(hold_id, &hold);
  }
  std::sort(lapsed.begin(), lapsed.end());
  std::vector<Entry> out;
  Points debt = member.debt();
  for (const auto& [hold_id, hold] : lapsed) {
    Entry entry = Header(program, member_id, at, recorded_at, key, digest);
    entries::HoldReleased body{hold_id, true, hold->amount, {}, Points(0)};
    body.draws = SettleDebt(hold->draws, debt, &body.debt_paid);
    debt = Points(debt.value() - body.debt_paid.value());
    entry.explanation = absl::StrCat("hold ", hold_id, " lapsed at ", hold->expires_at.ToString(), ": ",
                                     hold->amount.value(), " points back to their lots", DebtText(body.debt_paid));
    entry.body = std::move(body);
    out.push_back(std::move(entry));
  }
  return out;
}

std::string DebtText(Points paid) {
  return paid.IsZero() ? "" : absl::StrCat("; ", paid.value(), " settle debt");
}

absl::Status CheckRoom(const MemberState& member, const MemberId& id, Points incoming) {
  // balance + held stays representable, so that every total can be shown.
  auto total = Add(member.balance, member.held());
  if (!total.ok() || !Add(*total, incoming).ok()) {
    return absl::OutOfRangeError(absl::StrCat("member ", id.value(), ": crediting ", incoming.value(),
                                              " points would overflow the balance"));
  }
  return absl::OkStatus();
}

Entry Header(const Program& program, const MemberId& member, Instant at, Instant recorded_at,
             const std::string& key, const CommandDigest& digest) {
  Entry entry;
  entry.member = member;
  entry.business_time = at;
  entry.recorded_at = recorded_at;
  entry.idempotency_key = key;
  entry.command_digest = digest;
  entry.version = program.InForceAt(at).id;
  return entry;
}

std::string LastValidDay(const Program& program, Instant lapses) {
  if (lapses == Instant::Max()) return "no expiry";
  return program.zone().LocalDate(Instant::FromUnixMicros(lapses.unix_micros() - 1)).ToString();
}

std::string DrawText(const std::vector<LotDraw>& draws) {
  std::string text;
  for (const LotDraw& draw : draws) {
    absl::StrAppend(&text, text.empty() ? "" : ", ", draw.amount.value(), " from lot ", draw.lot.entry,
                    draw.lot.part == 0 ? "" : absl::StrCat("/", draw.lot.part));
  }
  return text;
}

}  // namespace loyalty::internal
