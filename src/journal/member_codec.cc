// A member's whole state as bytes and back. Each part has a Put and a Get
// side by side, in the order the member's bytes hold them.
#include "journal/member_codec.h"

#include <map>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "journal/ledger_codec.h"
#include "journal/value_codec.h"
#include "ledger/member_check.h"

namespace loyalty::internal {
namespace {

// Applies `f(field)` to each field of the records written field by field,
// in their encoding order; `f` returns false to stop. Put and Get share
// this list, so the two cannot drift apart.
template <typename T, typename F>
bool Fields(T& t, F&& f) {
  using R = std::remove_const_t<T>;
  if constexpr (std::is_same_v<R, Hold>) {
    return f(t.amount) && f(t.expires_at) && f(t.draws) && f(t.price) && f(t.placed_at);
  } else if constexpr (std::is_same_v<R, DebitRecord>) {
    return f(t.amount) && f(t.draws) && f(t.reversed);
  } else if constexpr (std::is_same_v<R, Quote>) {
    return f(t.amount) && f(t.expires_at) && f(t.price) && f(t.quoted_at);
  } else if constexpr (std::is_same_v<R, RuleUse>) {
    return f(t.day) && f(t.day_points) && f(t.month) && f(t.month_points) && f(t.total) && f(t.uses);
  } else if constexpr (std::is_same_v<R, SentTransfer>) {
    return f(t.to) && f(t.amount) && f(t.lots) && f(t.idempotency_key) && f(t.sent_at);
  } else if constexpr (std::is_same_v<R, Voucher>) {
    return f(t.card) && f(t.reward) && f(t.issued_at) && f(t.expires_at);
  } else if constexpr (std::is_same_v<R, PointPurchase>) {
    return f(t.points) && f(t.price) && f(t.local_day) && f(t.refunded) && f(t.refund);
  } else {
    static_assert(std::is_same_v<R, TierStatus>);
    return f(t.tier) && f(t.reason) && f(t.lifetime_tier) && f(t.paid_tier) && f(t.valid_until) &&
           f(t.period_first) && f(t.period_last) && f(t.in_grace) && f(t.paid_until);
  }
}

template <typename T>
concept FieldRecord = std::is_same_v<T, Hold> || std::is_same_v<T, DebitRecord> || std::is_same_v<T, Quote> ||
                      std::is_same_v<T, RuleUse> || std::is_same_v<T, TierStatus> ||
                      std::is_same_v<T, SentTransfer> || std::is_same_v<T, Voucher> ||
                      std::is_same_v<T, PointPurchase>;

template <FieldRecord T>
void Put(Writer& w, const T& record) {
  Fields(record, [&](const auto& field) {
    Put(w, field);
    return true;
  });
}
template <FieldRecord T>
bool Get(Reader& r, T* record) {
  return Fields(*record, [&](auto& field) { return Get(r, &field); });
}

void Put(Writer& w, const Lot& lot) {
  w.Unsigned(lot.id.entry);
  w.Unsigned(lot.id.part);
  w.Unsigned(static_cast<uint64_t>(lot.origin));
  for (Points points : {lot.earned, lot.reversed, lot.remaining}) Put(w, points);
  Put(w, lot.earned_at);
  Put(w, lot.expires_at);
  Put(w, *lot.version);
}
bool Get(Reader& r, absl::FunctionRef<bool(absl::string_view)> known_version, Lot* lot) {
  uint64_t origin = 0;
  std::string version;
  if (!r.Unsigned(&lot->id.entry) || !Get(r, &lot->id.part) || !r.Unsigned(&origin) || !Get(r, &lot->earned) ||
      !Get(r, &lot->reversed) || !Get(r, &lot->remaining) || !Get(r, &lot->earned_at) || !Get(r, &lot->expires_at) ||
      !Get(r, &version)) {
    return false;
  }
  if (origin > static_cast<uint64_t>(Lot::Origin::kTransfer)) return r.Fail("unknown lot origin");
  // Interning is bounded by the versions a program publishes, not by input.
  if (!known_version(version)) return r.Fail("a lot earned under a version the journal does not publish");
  lot->origin = static_cast<Lot::Origin>(origin);
  lot->version = InternVersion(version);
  return true;
}

void Put(Writer& w, const AccrualRecord& accrual) {
  Put(w, accrual.line_points);
  Put(w, accrual.unattributed);
  Put(w, accrual.units);
  Put(w, accrual.returned_units);
  Put(w, accrual.counters);
  Put(w, accrual.local_day);
  Put(w, accrual.stamps);
}
bool Get(Reader& r, AccrualRecord* accrual) {
  return Get(r, &accrual->line_points) && Get(r, &accrual->unattributed) && Get(r, &accrual->units) &&
         Get(r, &accrual->returned_units) && Get(r, &accrual->counters) && Get(r, &accrual->local_day) &&
         Get(r, &accrual->stamps);
}

// A counter's amounts by local day (below, as a map).
void Put(Writer& w, const CounterDays& days);

// A map as its size and its entries in key order.
template <typename Map>
void PutMap(Writer& w, const Map& map) {
  absl::btree_map<typename Map::key_type, const typename Map::mapped_type*> ordered;
  for (const auto& [key, value] : map) ordered.emplace(key, &value);
  w.Unsigned(ordered.size());
  for (const auto& [key, value] : ordered) {
    Put(w, key);
    Put(w, *value);
  }
}

// Reads what PutMap wrote: keys strictly increasing, so that one state has
// one encoding. `get(r, &value)` reads a value.
template <typename Map, typename GetValue>
bool GetMap(Reader& r, Map* map, GetValue&& get) {
  uint64_t count = 0;
  if (!r.Unsigned(&count)) return false;
  if (count > kMaxItems) return r.Fail("map too long");
  std::optional<typename Map::key_type> previous;
  for (uint64_t i = 0; i < count; ++i) {
    typename Map::key_type key{};
    typename Map::mapped_type value{};
    if (!Get(r, &key) || !get(r, &value)) return false;
    if (previous && !(*previous < key)) return r.Fail("map keys out of order");
    previous = key;
    map->emplace(std::move(key), std::move(value));
  }
  return true;
}
template <typename Map>
bool GetMap(Reader& r, Map* map) {
  return GetMap(r, map, [](Reader& in, typename Map::mapped_type* value) { return Get(in, value); });
}

void Put(Writer& w, const CounterDays& days) { PutMap(w, days); }

void PutDetail(Writer& w, const MemberDetail& d) {
  PutMap(w, d.holds);
  Put(w, d.held);
  Put(w, d.debt);
  PutMap(w, d.debits);
  PutMap(w, d.quotes);
  PutMap(w, d.accruals);
  PutMap(w, d.activities);
  PutMap(w, d.rule_use);
  Put(w, d.flags);
  Put(w, d.redeemable_until);
  PutMap(w, d.counters);
  PutMap(w, d.counter_days);
  Put(w, d.status);
  PutMap(w, d.transfers_sent);
  PutMap(w, d.stamps);
  PutMap(w, d.vouchers);
  PutMap(w, d.purchases);
  PutMap(w, d.sent);
}
bool GetDetail(Reader& r, MemberDetail* d) {
  return GetMap(r, &d->holds) && Get(r, &d->held) && Get(r, &d->debt) && GetMap(r, &d->debits) &&
         GetMap(r, &d->quotes) && GetMap(r, &d->accruals) && GetMap(r, &d->activities) && GetMap(r, &d->rule_use) &&
         Get(r, &d->flags) && Get(r, &d->redeemable_until) && GetMap(r, &d->counters) &&
         GetMap(r, &d->counter_days,
                [](Reader& in, CounterDays* days) { return GetMap(in, days); }) &&
         Get(r, &d->status) && GetMap(r, &d->transfers_sent) && GetMap(r, &d->stamps) && GetMap(r, &d->vouchers) &&
         GetMap(r, &d->purchases) && GetMap(r, &d->sent);
}

// Whether `d` holds nothing a member without a detail would not.
bool IsEmpty(const MemberDetail& d) {
  const TierStatus none;
  const TierStatus& t = d.status;
  return d.holds.empty() && d.held.IsZero() && d.debt.IsZero() && d.debits.empty() && d.quotes.empty() &&
         d.accruals.empty() && d.activities.empty() && d.rule_use.empty() && d.flags.empty() &&
         d.redeemable_until == Instant::Max() && d.counters.empty() && d.counter_days.empty() && t.tier.empty() &&
         t.valid_until == none.valid_until && t.reason.empty() && t.period_first == 0 && t.period_last == 0 &&
         !t.in_grace && t.lifetime_tier.empty() && t.paid_tier.empty() && t.paid_until == none.paid_until &&
         d.transfers_sent.empty() && d.stamps.empty() && d.vouchers.empty() && d.purchases.empty() &&
         d.sent.empty();
}

}  // namespace

void EncodeMember(Writer& w, const MemberId& id, const MemberState& m) {
  Put(w, id);
  w.Unsigned(m.last_seq);
  for (bool flag : {bool{m.enrolled}, bool{m.has_accrued}, bool{m.closed}}) Put(w, flag);
  Put(w, m.enrolled_at);
  Put(w, m.last_activity);
  Put(w, m.balance);
  w.Unsigned(m.lots.size());
  for (const Lot& lot : m.lots) Put(w, lot);
  PutDetail(w, m.detail());
}

bool DecodeMember(Reader& r, absl::FunctionRef<bool(absl::string_view)> known_version, MemberId* id,
                  MemberState* member) {
  MemberState m;
  uint64_t last_seq = 0, lots = 0;
  bool enrolled = false, has_accrued = false, closed = false;
  if (!Get(r, id) || !r.Unsigned(&last_seq) || !Get(r, &enrolled) || !Get(r, &has_accrued) || !Get(r, &closed) ||
      !Get(r, &m.enrolled_at) || !Get(r, &m.last_activity) || !Get(r, &m.balance) || !r.Unsigned(&lots)) {
    return false;
  }
  if (last_seq > MemberState::kMaxSeq) return r.Fail("seq out of range");
  if (lots > kMaxItems) return r.Fail("too many lots");
  m.last_seq = last_seq;
  m.enrolled = enrolled;
  m.has_accrued = has_accrued;
  m.closed = closed;
  m.lots.resize(lots);
  for (Lot& lot : m.lots) {
    if (!Get(r, known_version, &lot)) return false;
  }
  MemberDetail detail;
  if (!GetDetail(r, &detail)) return false;
  if (!IsEmpty(detail)) m.mutable_detail() = std::move(detail);
  if (absl::Status valid = CheckMemberState(m); !valid.ok()) {
    return r.Fail(absl::StrCat("member ", id->value(), ": ", valid.message()));
  }
  *member = std::move(m);
  return true;
}

}  // namespace loyalty::internal
