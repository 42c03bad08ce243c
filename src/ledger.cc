// Apply: how each kind of entry changes a member's lots, holds, debits,
// debt and counters. Every arithmetic step is checked; a failure means the
// entry was not decided against this state, which is a broken invariant.
#include "loyalty/ledger.h"

#include <algorithm>
#include <memory>

#include <atomic>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
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
  LOYALTY_CHECK(paid >= Points(0) && paid <= member.debt());
  if (!paid.IsZero()) member.mutable_detail().debt = Minus(member.debt(), paid);
}

// Adds (or subtracts) `counters` to the all-time totals and to `local_day`.
void AddCounters(MemberState& member, const std::vector<CounterDelta>& counters, int32_t local_day, bool subtract) {
  auto add = [&](Points& value, Points amount) {
    value = subtract ? Minus(value, amount) : Plus(value, amount);
    LOYALTY_CHECK(value >= Points(0));
  };
  for (const CounterDelta& delta : counters) {
    MemberDetail& detail = member.mutable_detail();
    add(detail.counters[delta.counter], delta.amount);
    auto& days = detail.counter_days[delta.counter];
    Points& day = days[local_day];
    add(day, delta.amount);
    if (day.IsZero()) days.erase(local_day);
  }
}

void RecordGrants(MemberState& member, const std::vector<RuleGrant>& grants, int32_t local_day) {
  Date day = Date::FromDaysSinceEpoch(local_day);
  int32_t month = day.year() * 12 + day.month() - 1;
  for (const RuleGrant& grant : grants) {
    RuleUse& use = member.mutable_detail().rule_use[grant.rule];
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

MemberState::MemberState(const MemberState& other)
    : last_seq(other.last_seq),
      enrolled(other.enrolled),
      has_accrued(other.has_accrued),
      closed(other.closed),
      enrolled_at(other.enrolled_at),
      last_activity(other.last_activity),
      lots(other.lots),
      balance(other.balance),
      detail_(other.detail_ != nullptr ? std::make_unique<MemberDetail>(*other.detail_) : nullptr) {}

MemberState& MemberState::operator=(const MemberState& other) {
  if (this != &other) *this = MemberState(other);
  return *this;
}

const MemberDetail& MemberState::detail() const {
  static const MemberDetail* const kNone = new MemberDetail();
  return detail_ != nullptr ? *detail_ : *kNone;
}

MemberDetail& MemberState::mutable_detail() {
  if (detail_ == nullptr) detail_ = std::make_unique<MemberDetail>();
  return *detail_;
}

bool MemberState::HasFlag(absl::string_view flag) const {
  const std::vector<std::string>& flags = detail().flags;
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
              member.mutable_detail().accruals[entry.seq] = AccrualRecord{
                  e.line_points, e.unattributed, std::vector<bool>(e.line_points.size()), e.counters, e.local_day};
              RecordGrants(member, e.grants, e.local_day);
            }
          },
          [&](const Debited& e) {
            TakeFromLots(member, e.draws, e.amount);
            MemberDetail& detail = member.mutable_detail();
            detail.debits[entry.seq] = DebitRecord{e.amount, e.draws, false};
            if (e.quote != 0) LOYALTY_CHECK(detail.quotes.erase(e.quote) == 1);
          },
          [&](const HoldPlaced& e) {
            TakeFromLots(member, e.draws, e.amount);
            MemberDetail& detail = member.mutable_detail();
            detail.held = Plus(detail.held, e.amount);
            detail.holds[entry.seq] = Hold{e.amount, e.expires_at, e.draws, e.price, entry.business_time};
            if (e.quote != 0) LOYALTY_CHECK(detail.quotes.erase(e.quote) == 1);
          },
          [&](const HoldCaptured& e) {
            MemberDetail& detail = member.mutable_detail();
            auto it = detail.holds.find(e.hold);
            LOYALTY_CHECK(it != detail.holds.end() && it->second.amount == e.amount && it->second.draws == e.draws);
            detail.held = Minus(detail.held, e.amount);
            detail.holds.erase(it);
            detail.debits[entry.seq] = DebitRecord{e.amount, e.draws, false};
          },
          [&](const HoldReleased& e) {
            MemberDetail& detail = member.mutable_detail();
            auto it = detail.holds.find(e.hold);
            LOYALTY_CHECK(it != detail.holds.end() && it->second.amount == e.amount);
            detail.held = Minus(detail.held, e.amount);
            detail.holds.erase(it);
            PayDebt(member, e.debt_paid);
            GiveBackToLots(member, e.draws, Minus(e.amount, e.debt_paid));
          },
          [&](const EarnReversed& e) {
            Lot* lot = member.FindLot(LotId{e.credit, 0});
            // An accrual that earned nothing has no lot; returning its lines
            // reverses no points.
            LOYALTY_CHECK(lot != nullptr ? lot->origin == Lot::Origin::kCredit : e.amount.IsZero());
            if (!e.lines.empty()) {
              auto& accruals = member.mutable_detail().accruals;
              auto accrual = accruals.find(e.credit);
              LOYALTY_CHECK(accrual != accruals.end());
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
            if (!e.debt_added.IsZero()) member.mutable_detail().debt = Plus(member.debt(), e.debt_added);
            AddCounters(member, e.counters, e.counter_day, /*subtract=*/true);
          },
          [&](const DebitReversed& e) {
            auto& debits = member.mutable_detail().debits;
            auto it = debits.find(e.debit);
            LOYALTY_CHECK(it != debits.end() && !it->second.reversed && it->second.amount == e.amount);
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
            std::vector<std::string>& flags = member.mutable_detail().flags;
            auto it = std::lower_bound(flags.begin(), flags.end(), e.flag);
            bool present = it != flags.end() && *it == e.flag;
            LOYALTY_CHECK(present != e.on);
            if (e.on) flags.insert(it, e.flag);
            else flags.erase(it);
            for (const LotRenewal& renewal : e.renewals) {
              Lot* lot = member.FindLot(renewal.lot);
              LOYALTY_CHECK(lot != nullptr);
              lot->expires_at = renewal.expires_at;
            }
          },
          [&](const MembershipClosed& e) {
            LOYALTY_CHECK(!member.closed);
            member.closed = true;
            member.mutable_detail().redeemable_until = e.redeemable_until;
          },
          [&](const TierChanged& e) {
            TierStatus& status = member.mutable_detail().status;
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
            member.mutable_detail().quotes[entry.seq] = Quote{e.amount, e.expires_at, e.price, entry.business_time};
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
  LOYALTY_CHECK(member.balance >= Points(0) && member.held() >= Points(0) && member.debt() >= Points(0));
  LOYALTY_CHECK(entry.seq <= MemberState::kMaxSeq);
  member.last_seq = entry.seq;
}

std::string ToHex(const Sha256& hash) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

namespace {

// The interned ids: index -> text in chunks that never move, so that
// reading one needs no lock; text -> index under a mutex for interning.
constexpr size_t kVersionChunk = 4096;
constexpr size_t kVersionChunks = 4096;
struct VersionChunk {
  std::atomic<const std::string*> texts[kVersionChunk];
};
std::atomic<VersionChunk*> version_chunks[kVersionChunks];

const std::string* VersionAt(uint32_t index) {
  VersionChunk* chunk = version_chunks[index / kVersionChunk].load(std::memory_order_acquire);
  LOYALTY_CHECK(chunk != nullptr);
  const std::string* text = chunk->texts[index % kVersionChunk].load(std::memory_order_acquire);
  LOYALTY_CHECK(text != nullptr);
  return text;
}

}  // namespace

const std::string& VersionRef::operator*() const {
  static const std::string* const kEmpty = new std::string();
  return index_ == 0 ? *kEmpty : *VersionAt(index_);
}

VersionRef InternVersion(absl::string_view version) {
  if (version.empty()) return VersionRef();
  // Versions are few and never change, so a thread's last answer is
  // almost always the next one.
  thread_local uint32_t last = 0;
  if (last != 0 && *VersionAt(last) == version) return VersionRef(last);
  static std::mutex mutex;
  static auto* indexes = new absl::flat_hash_map<std::string, uint32_t>();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = indexes->try_emplace(version, static_cast<uint32_t>(indexes->size() + 1));
  if (inserted) {
    const uint32_t index = it->second;
    LOYALTY_CHECK(index < kVersionChunk * kVersionChunks);
    std::atomic<VersionChunk*>& slot = version_chunks[index / kVersionChunk];
    if (slot.load(std::memory_order_relaxed) == nullptr) slot.store(new VersionChunk{}, std::memory_order_release);
    slot.load(std::memory_order_relaxed)->texts[index % kVersionChunk].store(new std::string(version),
                                                                        std::memory_order_release);
  }
  last = it->second;
  return VersionRef(last);
}

}  // namespace loyalty

// ---------------------------------------------------------------- CheckApplicable
//
// Mirrors the checks of ApplyToMember, in the same order, on the state
// before the entry, accumulating what the entry changes without changing
// anything. Kept apart from ApplyToMember so that the hot path stays as it is.

namespace loyalty {
namespace {

class Fit {
 public:
  explicit Fit(const MemberState& member)
      : member_(member), balance_(member.balance.value()), held_(member.held().value()), debt_(member.debt().value()) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool Fail(std::string reason) {
    if (error_.empty()) error_ = std::move(reason);
    return false;
  }
  bool Require(bool condition, absl::string_view reason) { return condition || Fail(std::string(reason)); }

  // *total += delta (or -=), without overflow.
  bool AddTo(int64_t& total, int64_t delta, absl::string_view what) {
    return Require(!__builtin_add_overflow(total, delta, &total), absl::StrCat(what, " overflows"));
  }
  bool SubtractFrom(int64_t& total, int64_t delta, absl::string_view what) {
    return Require(!__builtin_sub_overflow(total, delta, &total), absl::StrCat(what, " overflows"));
  }

  bool Sum(const std::vector<LotDraw>& draws, Points expected) {
    int64_t sum = 0;
    for (const LotDraw& draw : draws) {
      if (!AddTo(sum, draw.amount.value(), "the sum of the draws")) return false;
    }
    return Require(sum == expected.value(),
                   absl::StrCat("draws sum to ", sum, ", not to the entry's ", expected.value()));
  }

  // TakeFromLots: each lot exists and holds what is drawn from it.
  bool Take(const std::vector<LotDraw>& draws, Points expected) {
    if (!Sum(draws, expected)) return false;
    for (const LotDraw& draw : draws) {
      const Lot* lot = member_.FindLot(draw.lot);
      if (!Require(lot != nullptr, absl::StrCat("no lot ", LotText(draw.lot)))) return false;
      int64_t& remaining = Remaining(*lot);
      if (!Require(draw.amount > Points(0) && draw.amount.value() <= remaining,
                   absl::StrCat("draws ", draw.amount.value(), " from lot ", LotText(draw.lot), ", which has ",
                                remaining))) {
        return false;
      }
      remaining -= draw.amount.value();
    }
    return SubtractFrom(balance_, expected.value(), "the balance");
  }

  // GiveBackToLots: each lot exists and gets back no more than it earned.
  bool GiveBack(const std::vector<LotDraw>& draws, Points expected) {
    if (!Sum(draws, expected)) return false;
    for (const LotDraw& draw : draws) {
      const Lot* lot = member_.FindLot(draw.lot);
      if (!Require(lot != nullptr, absl::StrCat("no lot ", LotText(draw.lot)))) return false;
      int64_t& remaining = Remaining(*lot);
      if (!Require(draw.amount > Points(0) && !__builtin_add_overflow(remaining, draw.amount.value(), &remaining) &&
                       remaining <= lot->earned.value(),
                   absl::StrCat("gives ", draw.amount.value(), " back to lot ", LotText(draw.lot),
                                " beyond the ", lot->earned.value(), " it earned"))) {
        return false;
      }
    }
    return AddTo(balance_, expected.value(), "the balance");
  }

  bool PayDebt(Points paid) {
    return Require(paid >= Points(0) && paid.value() <= debt_,
                   absl::StrCat("pays ", paid.value(), " of a debt of ", debt_)) &&
           SubtractFrom(debt_, paid.value(), "the debt");
  }

  bool AddLot(const Entry& entry, uint32_t part, Points remaining) {
    LotId id{entry.seq, part};
    return Require(member_.lots.empty() || member_.lots.back().id < id,
                   absl::StrCat("lot ", LotText(id), " is not newer than the member's last lot")) &&
           AddTo(balance_, remaining.value(), "the balance");
  }

  // AddCounters: totals and the day's bucket stay non-negative.
  bool Counters(const std::vector<CounterDelta>& counters, int32_t day, bool subtract) {
    for (const CounterDelta& delta : counters) {
      auto [bucket, new_bucket] = days_.try_emplace({delta.counter, day}, 0);
      if (new_bucket) {
        auto days = member_.detail().counter_days.find(delta.counter);
        if (days != member_.detail().counter_days.end()) {
          auto found = days->second.find(day);
          if (found != days->second.end()) bucket->second = found->second.value();
        }
      }
      bool day_fits = subtract ? SubtractFrom(bucket->second, delta.amount.value(), "counter " + delta.counter)
                               : AddTo(bucket->second, delta.amount.value(), "counter " + delta.counter);
      if (!day_fits || !Require(bucket->second >= 0, absl::StrCat("counter ", delta.counter, " of day ", day,
                                                                  " would be negative"))) {
        return false;
      }
      auto [it, fresh] = counters_.try_emplace(delta.counter, 0);
      if (fresh) {
        auto found = member_.detail().counters.find(delta.counter);
        if (found != member_.detail().counters.end()) it->second = found->second.value();
      }
      bool fits = subtract ? SubtractFrom(it->second, delta.amount.value(), "counter " + delta.counter)
                           : AddTo(it->second, delta.amount.value(), "counter " + delta.counter);
      if (!fits || !Require(it->second >= 0, absl::StrCat("counter ", delta.counter, " would be negative"))) {
        return false;
      }
    }
    return true;
  }

  bool Grants(const std::vector<RuleGrant>& grants, int32_t local_day) {
    static const int32_t kFirst = Date::FromYmd(1400, 1, 1)->days_since_epoch();
    static const int32_t kLast = Date::FromYmd(9999, 12, 31)->days_since_epoch();
    if (!Require(local_day >= kFirst && local_day <= kLast, absl::StrCat("local day ", local_day, " is out of range"))) {
      return false;
    }
    for (const RuleGrant& grant : grants) {
      auto [it, fresh] = rule_use_.try_emplace(grant.rule);
      if (fresh) {
        auto found = member_.detail().rule_use.find(grant.rule);
        if (found != member_.detail().rule_use.end()) it->second = found->second;
      }
      RuleUse& use = it->second;
      int64_t day = use.day == local_day ? use.day_points.value() : 0;
      int64_t month = use.month == Date::FromDaysSinceEpoch(local_day).year() * 12 +
                                           Date::FromDaysSinceEpoch(local_day).month() - 1
                          ? use.month_points.value()
                          : 0;
      int64_t total = use.total.value();
      if (!AddTo(day, grant.granted.value(), "rule use") || !AddTo(month, grant.granted.value(), "rule use") ||
          !AddTo(total, grant.granted.value(), "rule use")) {
        return false;
      }
      use.day = local_day;
      use.day_points = Points(day);
      use.month = Date::FromDaysSinceEpoch(local_day).year() * 12 + Date::FromDaysSinceEpoch(local_day).month() - 1;
      use.month_points = Points(month);
      use.total = Points(total);
    }
    return true;
  }

  int64_t& held() { return held_; }
  int64_t& balance() { return balance_; }
  int64_t& debt() { return debt_; }

 private:
  static std::string LotText(LotId id) { return absl::StrCat(id.entry, "/", id.part); }
  int64_t& Remaining(const Lot& lot) { return remaining_.try_emplace(lot.id, lot.remaining.value()).first->second; }

  const MemberState& member_;
  int64_t balance_, held_, debt_;
  absl::flat_hash_map<LotId, int64_t> remaining_;        // lots touched so far
  absl::flat_hash_map<std::string, int64_t> counters_;   // counters touched so far
  absl::flat_hash_map<std::pair<std::string, int32_t>, int64_t> days_;  // and their days
  absl::flat_hash_map<std::string, RuleUse> rule_use_;   // rules granted so far
  std::string error_;
};

}  // namespace

absl::Status CheckApplicable(const MemberState& member, const Entry& entry) {
  using namespace entries;
  Fit fit(member);
  const bool enrolling = std::holds_alternative<Enrolled>(entry.body);
  fit.Require(entry.seq != 0, "seq is 0") &&
      fit.Require(entry.seq <= MemberState::kMaxSeq, "seq past 2^61 - 1") &&
      fit.Require(member.enrolled != enrolling, enrolling ? "the member is already enrolled" : "the member is not enrolled");
  if (fit.ok()) {
    std::visit(
        Overloaded{
            [&](const Enrolled&) {},
            [&](const Credited& e) {
              fit.Require(e.amount >= Points(0) && e.debt_paid >= Points(0) && e.debt_paid <= e.amount,
                          "amount or debt_paid out of range") &&
                  fit.Require(e.amount > Points(0) || !e.activity.empty(), "a raw credit of nothing") &&
                  fit.PayDebt(e.debt_paid) &&
                  (e.amount.IsZero() || fit.AddLot(entry, 0, Points(e.amount.value() - e.debt_paid.value()))) &&
                  fit.Counters(e.counters, e.local_day, /*subtract=*/false) && (e.activity.empty() || fit.Grants(e.grants, e.local_day));
            },
            [&](const Debited& e) {
              fit.Take(e.draws, e.amount) &&
                  fit.Require(!member.detail().debits.contains(entry.seq), "debit recorded twice") &&
                  fit.Require(e.quote == 0 || member.detail().quotes.contains(e.quote), absl::StrCat("no open quote ", e.quote));
            },
            [&](const HoldPlaced& e) {
              fit.Take(e.draws, e.amount) && fit.AddTo(fit.held(), e.amount.value(), "held") &&
                  fit.Require(e.quote == 0 || member.detail().quotes.contains(e.quote), absl::StrCat("no open quote ", e.quote));
            },
            [&](const HoldCaptured& e) {
              auto it = member.detail().holds.find(e.hold);
              fit.Require(it != member.detail().holds.end(), absl::StrCat("no open hold ", e.hold)) &&
                  fit.Require(it->second.amount == e.amount && it->second.draws == e.draws,
                              absl::StrCat("hold ", e.hold, " holds other points")) &&
                  fit.SubtractFrom(fit.held(), e.amount.value(), "held");
            },
            [&](const HoldReleased& e) {
              auto it = member.detail().holds.find(e.hold);
              fit.Require(it != member.detail().holds.end(), absl::StrCat("no open hold ", e.hold)) &&
                  fit.Require(it->second.amount == e.amount, absl::StrCat("hold ", e.hold, " holds other points")) &&
                  fit.SubtractFrom(fit.held(), e.amount.value(), "held") && fit.PayDebt(e.debt_paid) &&
                  fit.GiveBack(e.draws, Points(e.amount.value() - e.debt_paid.value()));
            },
            [&](const EarnReversed& e) {
              const Lot* lot = member.FindLot(LotId{e.credit, 0});
              if (!fit.Require(lot != nullptr ? lot->origin == Lot::Origin::kCredit : e.amount.IsZero(),
                               absl::StrCat("no credit ", e.credit)) ||
                  !fit.Require(e.amount >= Points(0) && e.from_lot >= Points(0) && e.debt_added >= Points(0),
                               "negative amounts")) {
                return;
              }
              if (!e.lines.empty()) {
                auto accrual = member.detail().accruals.find(e.credit);
                if (!fit.Require(accrual != member.detail().accruals.end(), absl::StrCat("no accrual ", e.credit))) return;
                std::vector<bool> returned = accrual->second.returned;
                for (uint32_t line : e.lines) {
                  if (!fit.Require(line < returned.size() && !returned[line],
                                   absl::StrCat("line ", line, " of accrual ", e.credit, " is not returnable"))) {
                    return;
                  }
                  returned[line] = true;
                }
              }
              int64_t total = e.from_lot.value();
              if (!fit.AddTo(total, e.debt_added.value(), "the reversal") ||
                  !fit.Require(total == e.amount.value(), "from_lot + debt_added is not the amount")) {
                return;
              }
              if (lot != nullptr) {
                int64_t reversed = lot->reversed.value();
                if (!fit.AddTo(reversed, e.amount.value(), "the reversed amount") ||
                    !fit.Require(reversed <= lot->earned.value() && e.from_lot <= lot->remaining,
                                 absl::StrCat("reverses more of credit ", e.credit, " than it has"))) {
                  return;
                }
              }
              fit.SubtractFrom(fit.balance(), e.from_lot.value(), "the balance") &&
                  fit.AddTo(fit.debt(), e.debt_added.value(), "the debt") && fit.Counters(e.counters, e.counter_day, /*subtract=*/true);
            },
            [&](const DebitReversed& e) {
              auto it = member.detail().debits.find(e.debit);
              fit.Require(it != member.detail().debits.end() && !it->second.reversed && it->second.amount == e.amount,
                          absl::StrCat("no unreversed debit ", e.debit, " of ", e.amount.value())) &&
                  fit.PayDebt(e.debt_paid) && fit.GiveBack(e.draws, Points(e.amount.value() - e.debt_paid.value()));
            },
            [&](const Expired& e) { fit.Take(e.draws, e.amount); },
            [&](const Adjusted& e) {
              if (!fit.Require(!e.delta.IsZero() && e.delta != Points(INT64_MIN), "delta out of range")) return;
              if (e.delta.IsNegative()) {
                fit.Take(e.draws, Points(-e.delta.value()));
              } else {
                fit.Require(e.debt_paid <= e.delta, "debt_paid exceeds delta") && fit.PayDebt(e.debt_paid) &&
                    fit.AddLot(entry, 0, Points(e.delta.value() - e.debt_paid.value()));
              }
            },
            [&](const TransferredOut& e) { fit.Take(e.draws, e.amount); },
            [&](const VersionPublished&) { fit.Fail("a program version is not a member's entry"); },
            [&](const FlagChanged& e) {
              if (!fit.Require(member.HasFlag(e.flag) != e.on,
                               absl::StrCat("flag ", e.flag, e.on ? " is already set" : " is not set"))) {
                return;
              }
              for (const LotRenewal& renewal : e.renewals) {
                if (!fit.Require(member.FindLot(renewal.lot) != nullptr,
                                 absl::StrCat("no lot ", renewal.lot.entry, "/", renewal.lot.part))) {
                  return;
                }
              }
            },
            [&](const MembershipClosed&) { fit.Require(!member.closed, "the membership is already closed"); },
            [&](const TierChanged& e) {
              for (const LotRenewal& renewal : e.renewals) {
                if (!fit.Require(member.FindLot(renewal.lot) != nullptr,
                                 absl::StrCat("no lot ", renewal.lot.entry, "/", renewal.lot.part))) {
                  return;
                }
              }
            },
            [&](const Quoted&) {},
            [&](const TransferredIn& e) {
              int64_t total = e.debt_paid.value();
              if (!fit.PayDebt(e.debt_paid)) return;
              for (uint32_t part = 0; part < e.lots.size(); ++part) {
                const TransferredLot& lot = e.lots[part];
                if (!fit.Require(lot.amount > Points(0), "a transferred lot of nothing") ||
                    !fit.AddLot(entry, part, lot.amount) || !fit.AddTo(total, lot.amount.value(), "the transfer")) {
                  return;
                }
              }
              fit.Require(total == e.amount.value(), "the transferred lots do not sum to the amount");
            },
        },
        entry.body);
  }
  if (fit.ok()) {
    fit.Require(fit.balance() >= 0 && fit.held() >= 0 && fit.debt() >= 0,
                "it leaves a negative balance, hold total or debt");
  }
  if (fit.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(fit.error());
}

}  // namespace loyalty
