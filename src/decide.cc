// Decide: validation of each command against the members' state, and the
// entries it produces. Pure: no clock, no I/O, no mutation.
#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "chain.h"
#include "encoding.h"
#include "loyalty/check.h"
#include "loyalty/command.h"

namespace loyalty {
namespace {

using internal::Writer;

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

constexpr size_t kMaxKey = 128;
constexpr size_t kMaxText = 256;
constexpr absl::Duration kMaxHoldTtl = absl::Hours(24 * 366);

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

// Points available to spend at `at`: lots not yet lapsed.
Points Spendable(const MemberState& member, Instant at) {
  Points total;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > at) total = Points(total.value() + lot.remaining.value());
  }
  return total;
}

// The draws that take `amount` from the member's lots in spending order,
// or FailedPrecondition if the valid lots do not hold enough.
absl::StatusOr<std::vector<LotDraw>> Draw(const MemberState& member, const MemberId& id,
                                          Points amount, Instant at) {
  std::vector<LotDraw> draws;
  int64_t needed = amount.value();
  for (size_t index : SpendableLots(member, at)) {
    if (needed == 0) break;
    const Lot& lot = member.lots[index];
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
  std::vector<LotDraw> restored;
  int64_t owed = debt.value();
  int64_t settled = 0;
  for (const LotDraw& draw : returning) {
    int64_t pay = std::min(owed - settled, draw.amount.value());
    settled += pay;
    if (draw.amount.value() > pay) restored.push_back({draw.lot, Points(draw.amount.value() - pay)});
  }
  *paid = Points(settled);
  return restored;
}

std::string DebtText(Points paid) {
  return paid.IsZero() ? "" : absl::StrCat("; ", paid.value(), " settle debt");
}

absl::Status CheckRoom(const MemberState& member, const MemberId& id, Points incoming) {
  // balance + held stays representable, so that every total can be shown.
  auto total = Add(member.balance, member.held);
  if (!total.ok() || !Add(*total, incoming).ok()) {
    return absl::OutOfRangeError(absl::StrCat("member ", id.value(), ": crediting ", incoming.value(),
                                              " points would overflow the balance"));
  }
  return absl::OkStatus();
}

// Business times must lie where calendar arithmetic is defined with room
// for long validity terms.
absl::Status CheckTime(absl::string_view field, Instant at) {
  static const Instant kFirst = Instant::FromUnixMicros(-2208988800LL * 1000000);  // 1900-01-01
  static const Instant kLast = Instant::FromUnixMicros(221845392000LL * 1000000);  // 9000-01-01
  if (at < kFirst || at >= kLast) {
    return Invalid(field, absl::StrCat(at.ToString(), " is outside 1900-01-01 to 9000-01-01"));
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

// The last local day on which points lapsing at `lapses` are still valid.
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

// Writes the canonical form of a command for its digest.
void Encode(Writer& w, const Command& command) {
  auto text = [&](const std::string& s) { w.Bytes(s); };
  auto points = [&](Points p) { w.Signed(p.value()); };
  auto counters = [&](const std::vector<CounterDelta>& list) {
    w.Unsigned(list.size());
    for (const CounterDelta& c : list) {
      text(c.counter);
      points(c.amount);
    }
  };
  auto instant = [&](const std::optional<Instant>& at) {
    w.Unsigned(at.has_value());
    if (at) w.Signed(at->unix_micros());
  };
  w.Unsigned(command.index());
  text(MemberOf(command).value());
  instant(AtOf(command));
  std::visit(Overloaded{
                 [&](const Enroll&) {},
                 [&](const Credit& c) {
                   points(c.amount);
                   text(c.source);
                   instant(c.expires_at);
                   counters(c.counters);
                 },
                 [&](const Redeem& c) {
                   points(c.amount);
                   text(c.reason);
                 },
                 [&](const PlaceHold& c) {
                   points(c.amount);
                   w.Signed(absl::ToInt64Microseconds(c.ttl));
                   text(c.reason);
                 },
                 [&](const CaptureHold& c) { w.Unsigned(c.hold); },
                 [&](const ReleaseHold& c) { w.Unsigned(c.hold); },
                 [&](const ReverseEarn& c) {
                   w.Unsigned(c.credit);
                   points(c.amount);
                   counters(c.counters);
                 },
                 [&](const ReverseDebit& c) { w.Unsigned(c.debit); },
                 [&](const Adjust& c) {
                   points(c.delta);
                   text(c.reason);
                   text(c.actor);
                 },
                 [&](const Transfer& c) {
                   text(c.to.value());
                   points(c.amount);
                 },
             },
             command);
}

}  // namespace

const MemberId& MemberOf(const Command& command) {
  return std::visit([](const auto& c) -> const MemberId& { return c.member; }, command);
}
const std::string& IdempotencyKeyOf(const Command& command) {
  return std::visit([](const auto& c) -> const std::string& { return c.idempotency_key; }, command);
}
std::optional<Instant> AtOf(const Command& command) {
  return std::visit([](const auto& c) { return c.at; }, command);
}

CommandDigest DigestOf(const Command& command) {
  std::string bytes;
  Writer w(&bytes);
  Encode(w, command);
  Sha256 full = internal::Sha256Of(bytes);
  CommandDigest digest;
  std::copy_n(full.begin(), digest.size(), digest.begin());
  return digest;
}

absl::StatusOr<std::vector<Entry>> Decide(const Program& program, MemberLookup members,
                                          const Command& command, Instant recorded_at) {
  const std::string& key = IdempotencyKeyOf(command);
  if (key.empty() || key.size() > kMaxKey) {
    return Invalid("idempotency_key", absl::StrCat("must have 1 to ", kMaxKey, " bytes"));
  }
  const MemberId& id = MemberOf(command);
  if (id.value().empty()) return Invalid("member", "must not be empty");
  const Instant at = AtOf(command).value_or(recorded_at);
  if (absl::Status s = CheckTime("at", at); !s.ok()) return s;
  const CommandDigest digest = DigestOf(command);
  const MemberState* member = members(id);

  if (std::holds_alternative<Enroll>(command)) {
    if (member != nullptr && member->enrolled) {
      return absl::AlreadyExistsError(absl::StrCat("member ", id.value(), " is already enrolled"));
    }
    Entry entry = Header(program, id, at, recorded_at, key, digest);
    entry.body = entries::Enrolled{};
    entry.explanation = "enrolled";
    return std::vector<Entry>{std::move(entry)};
  }
  if (member == nullptr || !member->enrolled) {
    return absl::NotFoundError(absl::StrCat("member ", id.value(), " is not enrolled"));
  }
  Entry entry = Header(program, id, at, recorded_at, key, digest);

  auto decided = std::visit(
      Overloaded{
          [&](const Enroll&) -> absl::StatusOr<std::vector<Entry>> {
            LOYALTY_CHECK(false);
            return absl::InternalError("unreachable");
          },
          [&](const Credit& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("source", c.source, false); !s.ok()) return s;
            if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
            if (absl::Status s = CheckRoom(*member, id, c.amount); !s.ok()) return s;
            for (const CounterDelta& delta : c.counters) {
              auto it = member->counters.find(delta.counter);
              if (it != member->counters.end() && !Add(it->second, delta.amount).ok()) {
                return absl::OutOfRangeError(absl::StrCat("counters: ", delta.counter, " would overflow"));
              }
            }
            Instant expires_at = c.expires_at.value_or(program.LotExpiry(at));
            if (expires_at <= at) return Invalid("expires_at", "must be after the credit's time");
            entries::Credited body{c.amount, std::min(c.amount, member->debt), expires_at, c.source,
                                   c.counters};
            entry.explanation = absl::StrCat("credit of ", c.amount.value(), " points",
                                             c.source.empty() ? "" : " from " + c.source,
                                             ", valid through ", LastValidDay(program, expires_at));
            absl::StrAppend(&entry.explanation, DebtText(body.debt_paid));
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const Redeem& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            entry.explanation = absl::StrCat("redeemed ", c.amount.value(), " points",
                                             c.reason.empty() ? "" : " for " + c.reason, ": ",
                                             DrawText(*draws));
            entry.body = entries::Debited{c.amount, *std::move(draws)};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const PlaceHold& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckText("reason", c.reason, false); !s.ok()) return s;
            if (c.ttl <= absl::ZeroDuration() || c.ttl > kMaxHoldTtl) {
              return Invalid("ttl", "must be positive and at most 366 days");
            }
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            Instant expires_at = Instant::FromAbsl(at.ToAbsl() + c.ttl);
            entry.explanation = absl::StrCat("hold of ", c.amount.value(), " points until ",
                                             expires_at.ToString(), c.reason.empty() ? "" : " for " + c.reason,
                                             ": ", DrawText(*draws));
            entry.body = entries::HoldPlaced{c.amount, expires_at, *std::move(draws)};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const CaptureHold& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->holds.find(c.hold);
            if (it == member->holds.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open hold ", c.hold));
            }
            if (at >= it->second.expires_at) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "member ", id.value(), ": hold ", c.hold, " lapsed at ", it->second.expires_at.ToString()));
            }
            entry.explanation = absl::StrCat("captured hold ", c.hold, ": ", it->second.amount.value(), " points");
            entry.body = entries::HoldCaptured{c.hold, it->second.amount, it->second.draws};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const ReleaseHold& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->holds.find(c.hold);
            if (it == member->holds.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no open hold ", c.hold));
            }
            entries::HoldReleased body{c.hold, false, it->second.amount, {}, Points(0)};
            body.draws = SettleDebt(it->second.draws, member->debt, &body.debt_paid);
            entry.explanation = absl::StrCat("released hold ", c.hold, ": ", it->second.amount.value(),
                                             " points back to their lots", DebtText(body.debt_paid));
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const ReverseEarn& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (absl::Status s = CheckCounters(c.counters); !s.ok()) return s;
            const Lot* lot = member->FindLot(LotId{c.credit, 0});
            if (lot == nullptr || lot->origin != Lot::Origin::kCredit) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no credit ", c.credit));
            }
            Points reversible(lot->earned.value() - lot->reversed.value());
            if (c.amount > reversible) {
              return absl::FailedPreconditionError(
                  absl::StrCat("member ", id.value(), ": reversing ", c.amount.value(), " of credit ", c.credit,
                               " exceeds the ", reversible.value(), " points not yet reversed"));
            }
            for (const CounterDelta& delta : c.counters) {
              auto it = member->counters.find(delta.counter);
              if (it == member->counters.end() || it->second < delta.amount) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "member ", id.value(), ": counter ", delta.counter, " is below ", delta.amount.value()));
              }
            }
            Points from_lot = std::min(c.amount, lot->remaining);
            Points debt(c.amount.value() - from_lot.value());
            if (!Add(member->debt, debt).ok()) return absl::OutOfRangeError("debt would overflow");
            entry.explanation = absl::StrCat("reversed ", c.amount.value(), " points of credit ", c.credit, ": ",
                                             from_lot.value(), " from its lot");
            if (!debt.IsZero()) {
              absl::StrAppend(&entry.explanation, ", ", debt.value(), " already spent become debt");
            }
            entry.body = entries::EarnReversed{c.credit, c.amount, from_lot, debt, c.counters};
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const ReverseDebit& c) -> absl::StatusOr<std::vector<Entry>> {
            auto it = member->debits.find(c.debit);
            if (it == member->debits.end()) {
              return absl::NotFoundError(absl::StrCat("member ", id.value(), ": no debit ", c.debit));
            }
            if (it->second.reversed) {
              return absl::FailedPreconditionError(
                  absl::StrCat("member ", id.value(), ": debit ", c.debit, " is already reversed"));
            }
            entries::DebitReversed body{c.debit, it->second.amount, {}, Points(0)};
            body.draws = SettleDebt(it->second.draws, member->debt, &body.debt_paid);
            entry.explanation = absl::StrCat("reversed debit ", c.debit, ": ", DrawText(body.draws),
                                             " restored with their original expiry", DebtText(body.debt_paid));
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const Adjust& c) -> absl::StatusOr<std::vector<Entry>> {
            if (c.delta.IsZero()) return Invalid("delta", "must not be zero");
            if (c.delta == Points(INT64_MIN)) return Invalid("delta", "out of range");
            if (absl::Status s = CheckText("reason", c.reason, true); !s.ok()) return s;
            if (absl::Status s = CheckText("actor", c.actor, true); !s.ok()) return s;
            entries::Adjusted body{c.delta, c.reason, c.actor, Instant::Max(), Points(0), {}};
            if (c.delta.IsNegative()) {
              auto draws = Draw(*member, id, Points(-c.delta.value()), at);
              if (!draws.ok()) return draws.status();
              body.draws = *std::move(draws);
            } else {
              if (absl::Status s = CheckRoom(*member, id, c.delta); !s.ok()) return s;
              body.expires_at = program.LotExpiry(at);
              body.debt_paid = std::min(c.delta, member->debt);
            }
            entry.explanation = absl::StrCat("adjusted by ", c.delta.value(), " points by ", c.actor, ": ", c.reason);
            entry.body = std::move(body);
            return std::vector<Entry>{std::move(entry)};
          },
          [&](const Transfer& c) -> absl::StatusOr<std::vector<Entry>> {
            if (absl::Status s = CheckPositive("amount", c.amount); !s.ok()) return s;
            if (c.to == id) return Invalid("to", "must differ from the sending member");
            const MemberState* receiver = members(c.to);
            if (receiver == nullptr || !receiver->enrolled) {
              return absl::NotFoundError(absl::StrCat("member ", c.to.value(), " is not enrolled"));
            }
            if (absl::Status s = CheckRoom(*receiver, c.to, c.amount); !s.ok()) return s;
            auto draws = Draw(*member, id, c.amount, at);
            if (!draws.ok()) return draws.status();
            // The receiver's debt is settled first; the rest arrives as lots
            // with the dates they had.
            entries::TransferredIn in{id, c.amount, Points(0), {}};
            for (const LotDraw& draw : SettleDebt(*draws, receiver->debt, &in.debt_paid)) {
              const Lot* lot = member->FindLot(draw.lot);
              in.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
            }
            Entry in_entry = Header(program, c.to, at, recorded_at, key, digest);
            in_entry.explanation = absl::StrCat("received ", c.amount.value(), " points from ", id.value());
            in_entry.body = std::move(in);
            entry.explanation = absl::StrCat("sent ", c.amount.value(), " points to ", c.to.value(), ": ",
                                             DrawText(*draws));
            entry.body = entries::TransferredOut{c.to, c.amount, *std::move(draws)};
            return std::vector<Entry>{std::move(entry), std::move(in_entry)};
          },
      },
      command);
  return decided;
}

std::vector<Entry> DecideExpiry(const Program& program, const MemberId& member_id,
                                const MemberState& member, Instant as_of, const std::string& key,
                                const CommandDigest& digest, Instant recorded_at) {
  std::vector<Entry> out;
  // Lapsed holds first: their points go back to their lots, which may
  // themselves be due to expire below.
  absl::flat_hash_map<LotId, int64_t> returned;
  std::vector<std::pair<uint64_t, const Hold*>> lapsed;
  for (const auto& [hold_id, hold] : member.holds) {
    if (hold.expires_at <= as_of) lapsed.emplace_back(hold_id, &hold);
  }
  std::sort(lapsed.begin(), lapsed.end());
  Points debt = member.debt;
  for (const auto& [hold_id, hold] : lapsed) {
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entries::HoldReleased body{hold_id, true, hold->amount, {}, Points(0)};
    body.draws = SettleDebt(hold->draws, debt, &body.debt_paid);
    debt = Points(debt.value() - body.debt_paid.value());
    entry.explanation = absl::StrCat("hold ", hold_id, " lapsed at ", hold->expires_at.ToString(), ": ",
                                     hold->amount.value(), " points back to their lots", DebtText(body.debt_paid));
    for (const LotDraw& draw : body.draws) returned[draw.lot] += draw.amount.value();
    entry.body = std::move(body);
    out.push_back(std::move(entry));
  }
  entries::Expired expired;
  int64_t total = 0;
  for (const Lot& lot : member.lots) {
    if (lot.expires_at > as_of) continue;
    auto it = returned.find(lot.id);
    int64_t amount = lot.remaining.value() + (it == returned.end() ? 0 : it->second);
    if (amount == 0) continue;
    expired.draws.push_back({lot.id, Points(amount)});
    total += amount;
  }
  if (total > 0) {
    expired.amount = Points(total);
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entry.explanation = absl::StrCat("expired ", total, " points as of ", as_of.ToString(), ": ",
                                     DrawText(expired.draws));
    entry.body = std::move(expired);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace loyalty
