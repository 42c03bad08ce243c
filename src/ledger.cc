// Apply: how each kind of entry changes a member's lots, holds, debits,
// debt and counters. Every arithmetic step is checked; a failure means the
// entry was not decided against this state, which is a broken invariant.
#include "loyalty/ledger.h"

#include <algorithm>
#include <memory>

#include "absl/container/node_hash_set.h"
#include "absl/strings/escaping.h"
#include <mutex>
#include "loyalty/check.h"
#include "overloaded.h"

namespace loyalty {
namespace {

Points Plus(Points a, Points b) {
  auto sum = Add(a, b);
  LOYALTY_CHECK(sum.ok());
  return *sum;
}

Points Minus(Points a, Points b) {
  auto difference = Subtract(a, b);
  LOYALTY_CHECK(difference.ok());
  return *difference;
}

using internal::Overloaded;

Points SumOf(const std::vector<LotDraw>& draws) {
  Points total;
  for (const LotDraw& draw : draws) total = Plus(total, draw.amount);
  return total;
}

void TakeFromLots(MemberState& member, const std::vector<LotDraw>& draws, Points expected_total) {
  LOYALTY_CHECK(SumOf(draws) == expected_total);
  for (const LotDraw& draw : draws) {
    Lot* lot = member.FindLot(draw.lot);
    LOYALTY_CHECK(lot != nullptr);
    LOYALTY_CHECK(draw.amount > Points(0) && draw.amount <= lot->remaining);
    lot->remaining = Minus(lot->remaining, draw.amount);
  }
  member.balance = Minus(member.balance, expected_total);
}

void GiveBackToLots(MemberState& member, const std::vector<LotDraw>& draws, Points expected_total) {
  LOYALTY_CHECK(SumOf(draws) == expected_total);
  for (const LotDraw& draw : draws) {
    Lot* lot = member.FindLot(draw.lot);
    LOYALTY_CHECK(lot != nullptr);
    lot->remaining = Plus(lot->remaining, draw.amount);
    LOYALTY_CHECK(lot->remaining <= lot->earned);
  }
  member.balance = Plus(member.balance, expected_total);
}

void AddLot(MemberState& member, const Entry& entry, uint32_t part, Lot::Origin origin,
            Points earned, Points remaining, Instant earned_at, Instant expires_at) {
  Lot lot;
  lot.id = LotId{entry.seq, part};
  LOYALTY_CHECK(member.lots.empty() || member.lots.back().id < lot.id);
  lot.origin = origin;
  lot.earned = earned;
  lot.remaining = remaining;
  lot.earned_at = earned_at;
  lot.expires_at = expires_at;
  lot.version = InternVersion(entry.version);
  member.lots.push_back(lot);
  member.balance = Plus(member.balance, remaining);
}

void PayDebt(MemberState& member, Points paid) {
  LOYALTY_CHECK(paid >= Points(0) && paid <= member.debt);
  member.debt = Minus(member.debt, paid);
}

// Adds (or subtracts) `counters` to the all-time totals and to `local_day`.
void AddCounters(MemberState& member, const std::vector<CounterDelta>& counters, int32_t local_day, bool subtract) {
  auto add = [&](Points& value, Points amount) {
    value = subtract ? Minus(value, amount) : Plus(value, amount);
    LOYALTY_CHECK(value >= Points(0));
  };
  for (const CounterDelta& delta : counters) {
    add(member.counters[delta.counter], delta.amount);
    auto& days = member.counter_days[delta.counter];
    Points& day = days[local_day];
    add(day, delta.amount);
    if (day.IsZero()) days.erase(local_day);
  }
}

void RecordGrants(MemberState& member, const std::vector<RuleGrant>& grants, int32_t local_day) {
  Date day = Date::FromDaysSinceEpoch(local_day);
  int32_t month = day.year() * 12 + day.month() - 1;
  for (const RuleGrant& grant : grants) {
    RuleUse& use = member.rule_use[grant.rule];
    if (use.day != local_day) {
      use.day = local_day;
      use.day_points = Points(0);
    }
    if (use.month != month) {
      use.month = month;
      use.month_points = Points(0);
    }
    use.day_points = Plus(use.day_points, grant.granted);
    use.month_points = Plus(use.month_points, grant.granted);
    use.total = Plus(use.total, grant.granted);
    ++use.uses;
  }
}

}  // namespace

absl::string_view EntryKindName(const EntryBody& body) {
  static constexpr absl::string_view kNames[] = {
      "enrolled",      "credited",     "debited",        "hold_placed",
      "hold_captured", "hold_released", "earn_reversed", "debit_reversed",
      "expired",       "adjusted",     "transferred_out", "transferred_in", "quoted", "version_published", "flag_changed",
      "membership_closed", "tier_changed"};
  static_assert(std::size(kNames) == std::variant_size_v<EntryBody>);
  return kNames[body.index()];
}

BalanceDelta DeltaOf(const EntryBody& body) {
  using namespace entries;
  auto negate = [](Points p) { return Points(-p.value()); };
  return std::visit(
      Overloaded{
          [](const Enrolled&) { return BalanceDelta{}; },
          [&](const Credited& e) {
            return BalanceDelta{Minus(e.amount, e.debt_paid), Points(0), negate(e.debt_paid)};
          },
          [&](const Debited& e) { return BalanceDelta{negate(e.amount), Points(0), Points(0)}; },
          [&](const HoldPlaced& e) { return BalanceDelta{negate(e.amount), e.amount, Points(0)}; },
          [&](const HoldCaptured& e) { return BalanceDelta{Points(0), negate(e.amount), Points(0)}; },
          [&](const HoldReleased& e) {
            return BalanceDelta{Minus(e.amount, e.debt_paid), negate(e.amount), negate(e.debt_paid)};
          },
          [&](const EarnReversed& e) { return BalanceDelta{negate(e.from_lot), Points(0), e.debt_added}; },
          [&](const DebitReversed& e) {
            return BalanceDelta{Minus(e.amount, e.debt_paid), Points(0), negate(e.debt_paid)};
          },
          [&](const Expired& e) { return BalanceDelta{negate(e.amount), Points(0), Points(0)}; },
          [&](const Adjusted& e) {
            if (e.delta.IsNegative()) return BalanceDelta{e.delta, Points(0), Points(0)};
            return BalanceDelta{Minus(e.delta, e.debt_paid), Points(0), negate(e.debt_paid)};
          },
          [&](const TransferredOut& e) { return BalanceDelta{negate(e.amount), Points(0), Points(0)}; },
          [&](const TransferredIn& e) {
            return BalanceDelta{Minus(e.amount, e.debt_paid), Points(0), negate(e.debt_paid)};
          },
          [](const Quoted&) { return BalanceDelta{}; },
          [](const VersionPublished&) { return BalanceDelta{}; },
          [](const FlagChanged&) { return BalanceDelta{}; },
          [](const MembershipClosed&) { return BalanceDelta{}; },
          [](const TierChanged&) { return BalanceDelta{}; },
      },
      body);
}

bool MemberState::HasFlag(absl::string_view flag) const {
  return std::binary_search(flags.begin(), flags.end(), flag);
}

const Lot* MemberState::FindLot(LotId id) const {
  auto it = std::lower_bound(lots.begin(), lots.end(), id,
                             [](const Lot& lot, LotId wanted) { return lot.id < wanted; });
  return it != lots.end() && it->id == id ? &*it : nullptr;
}

Lot* MemberState::FindLot(LotId id) {
  return const_cast<Lot*>(static_cast<const MemberState*>(this)->FindLot(id));
}

std::vector<size_t> SpendableLots(const MemberState& member, Instant at) {
  std::vector<size_t> order;
  for (size_t i = 0; i < member.lots.size(); ++i) {
    const Lot& lot = member.lots[i];
    if (lot.remaining > Points(0) && lot.expires_at > at) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Lot& x = member.lots[a];
    const Lot& y = member.lots[b];
    if (x.expires_at != y.expires_at) return x.expires_at < y.expires_at;
    if (x.earned_at != y.earned_at) return x.earned_at < y.earned_at;
    return x.id < y.id;
  });
  return order;
}

void ApplyToMember(MemberState& member, const Entry& entry) {
  using namespace entries;
  LOYALTY_CHECK(entry.seq != 0);
  LOYALTY_CHECK(member.enrolled != std::holds_alternative<Enrolled>(entry.body));
  std::visit(
      Overloaded{
          [&](const Enrolled&) {
            member.enrolled = true;
            member.enrolled_at = entry.business_time;
            member.last_activity = entry.business_time;
          },
          [&](const Credited& e) {
            LOYALTY_CHECK(e.amount >= Points(0) && e.debt_paid <= e.amount);
            LOYALTY_CHECK(e.amount > Points(0) || !e.activity.empty());
            PayDebt(member, e.debt_paid);
            if (e.amount > Points(0)) {
              AddLot(member, entry, 0, Lot::Origin::kCredit, e.amount, Minus(e.amount, e.debt_paid),
                     entry.business_time, e.expires_at);
            }
            AddCounters(member, e.counters, e.local_day, /*subtract=*/false);
            if (!e.activity.empty()) {
              member.has_accrued = true;
              member.last_activity = std::max(member.last_activity, entry.business_time);
              member.accruals[entry.seq] = AccrualRecord{
                  e.line_points, e.unattributed, std::vector<bool>(e.line_points.size()), e.counters, e.local_day};
              RecordGrants(member, e.grants, e.local_day);
            }
          },
          [&](const Debited& e) {
            TakeFromLots(member, e.draws, e.amount);
            member.debits[entry.seq] = DebitRecord{e.amount, e.draws, false};
            if (e.quote != 0) LOYALTY_CHECK(member.quotes.erase(e.quote) == 1);
          },
          [&](const HoldPlaced& e) {
            TakeFromLots(member, e.draws, e.amount);
            member.held = Plus(member.held, e.amount);
            member.holds[entry.seq] = Hold{e.amount, e.expires_at, e.draws, e.price, entry.business_time};
            if (e.quote != 0) LOYALTY_CHECK(member.quotes.erase(e.quote) == 1);
          },
          [&](const HoldCaptured& e) {
            auto it = member.holds.find(e.hold);
            LOYALTY_CHECK(it != member.holds.end() && it->second.amount == e.amount &&
                          it->second.draws == e.draws);
            member.held = Minus(member.held, e.amount);
            member.holds.erase(it);
            member.debits[entry.seq] = DebitRecord{e.amount, e.draws, false};
          },
          [&](const HoldReleased& e) {
            auto it = member.holds.find(e.hold);
            LOYALTY_CHECK(it != member.holds.end() && it->second.amount == e.amount);
            member.held = Minus(member.held, e.amount);
            member.holds.erase(it);
            PayDebt(member, e.debt_paid);
            GiveBackToLots(member, e.draws, Minus(e.amount, e.debt_paid));
          },
          [&](const EarnReversed& e) {
            Lot* lot = member.FindLot(LotId{e.credit, 0});
            // An accrual that earned nothing has no lot; returning its lines
            // reverses no points.
            LOYALTY_CHECK(lot != nullptr ? lot->origin == Lot::Origin::kCredit : e.amount.IsZero());
            if (!e.lines.empty()) {
              auto accrual = member.accruals.find(e.credit);
              LOYALTY_CHECK(accrual != member.accruals.end());
              for (uint32_t line : e.lines) {
                LOYALTY_CHECK(line < accrual->second.returned.size() && !accrual->second.returned[line]);
                accrual->second.returned[line] = true;
              }
            }
            LOYALTY_CHECK(Plus(e.from_lot, e.debt_added) == e.amount);
            if (lot != nullptr) {
              lot->reversed = Plus(lot->reversed, e.amount);
              LOYALTY_CHECK(lot->reversed <= lot->earned && e.from_lot <= lot->remaining);
              lot->remaining = Minus(lot->remaining, e.from_lot);
            }
            member.balance = Minus(member.balance, e.from_lot);
            member.debt = Plus(member.debt, e.debt_added);
            AddCounters(member, e.counters, e.counter_day, /*subtract=*/true);
          },
          [&](const DebitReversed& e) {
            auto it = member.debits.find(e.debit);
            LOYALTY_CHECK(it != member.debits.end() && !it->second.reversed && it->second.amount == e.amount);
            it->second.reversed = true;
            PayDebt(member, e.debt_paid);
            GiveBackToLots(member, e.draws, Minus(e.amount, e.debt_paid));
          },
          [&](const Expired& e) { TakeFromLots(member, e.draws, e.amount); },
          [&](const Adjusted& e) {
            LOYALTY_CHECK(!e.delta.IsZero());
            if (e.delta.IsNegative()) {
              TakeFromLots(member, e.draws, Points(-e.delta.value()));
            } else {
              PayDebt(member, e.debt_paid);
              AddLot(member, entry, 0, Lot::Origin::kAdjustment, e.delta, Minus(e.delta, e.debt_paid),
                     entry.business_time, e.expires_at);
            }
          },
          [&](const TransferredOut& e) { TakeFromLots(member, e.draws, e.amount); },
          [&](const VersionPublished&) { LOYALTY_CHECK(false); },  // not a member's entry
          [&](const FlagChanged& e) {
            auto it = std::lower_bound(member.flags.begin(), member.flags.end(), e.flag);
            bool present = it != member.flags.end() && *it == e.flag;
            LOYALTY_CHECK(present != e.on);
            if (e.on) member.flags.insert(it, e.flag);
            else member.flags.erase(it);
            for (const LotRenewal& renewal : e.renewals) {
              Lot* lot = member.FindLot(renewal.lot);
              LOYALTY_CHECK(lot != nullptr);
              lot->expires_at = renewal.expires_at;
            }
          },
          [&](const MembershipClosed& e) {
            LOYALTY_CHECK(!member.closed);
            member.closed = true;
            member.redeemable_until = e.redeemable_until;
          },
          [&](const TierChanged& e) {
            TierStatus& status = member.status;
            if (e.paid) {
              status.paid_tier = e.tier;
              status.paid_until = e.valid_until;
            } else {
              status.tier = e.tier;
              status.valid_until = e.valid_until;
              status.reason = e.reason;
              status.period_first = e.period_first;
              status.period_last = e.period_last;
              status.in_grace = e.reason == "grace";
              status.lifetime_tier = e.lifetime_tier;
            }
            for (const LotRenewal& renewal : e.renewals) {
              Lot* lot = member.FindLot(renewal.lot);
              LOYALTY_CHECK(lot != nullptr);
              lot->expires_at = renewal.expires_at;
            }
          },
          [&](const Quoted& e) {
            member.quotes[entry.seq] = Quote{e.amount, e.expires_at, e.price, entry.business_time};
          },
          [&](const TransferredIn& e) {
            Points total = e.debt_paid;
            PayDebt(member, e.debt_paid);
            for (uint32_t part = 0; part < e.lots.size(); ++part) {
              const TransferredLot& lot = e.lots[part];
              LOYALTY_CHECK(lot.amount > Points(0));
              AddLot(member, entry, part, Lot::Origin::kTransfer, lot.amount, lot.amount,
                     lot.earned_at, lot.expires_at);
              total = Plus(total, lot.amount);
            }
            LOYALTY_CHECK(total == e.amount);
          },
      },
      entry.body);
  LOYALTY_CHECK(member.balance >= Points(0) && member.held >= Points(0) && member.debt >= Points(0));
  member.history.push_back(entry.seq);
}

std::string ToHex(const Sha256& hash) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

const std::string* InternVersion(absl::string_view version) {
  // Versions are few and never change, so a thread's last answer is
  // almost always the next one.
  thread_local const std::string* last = nullptr;
  if (last != nullptr && *last == version) return last;
  static std::mutex mutex;
  static auto* interned = new absl::node_hash_set<std::string>();
  std::lock_guard<std::mutex> lock(mutex);
  last = &*interned->emplace(version).first;
  return last;
}

}  // namespace loyalty
