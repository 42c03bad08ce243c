// Internal: how the parts of the ledger that entries and checkpoints record
// (draws from lots, counter changes, reward prices, rule grants, renewals,
// transferred lots, vouchers and stamps, lists of them) are written and read. Journal entries
// are hashed into the chain, so these bytes must never change.
//
// Put(w, value) appends `value`; Get(r, &value) reads it back and returns
// false when the input is malformed, the reason left in `r.error()`.
#ifndef LOYALTY_SRC_JOURNAL_LEDGER_CODEC_H_
#define LOYALTY_SRC_JOURNAL_LEDGER_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/encoding.h"
#include "journal/value_codec.h"
#include "loyalty/ledger.h"

namespace loyalty::internal {

// The longest list a reader accepts.
inline constexpr size_t kMaxItems = 1 << 20;

inline void Put(Writer& w, const LotDraw& d) {
  w.Unsigned(d.lot.entry);
  w.Unsigned(d.lot.part);
  Put(w, d.amount);
}
inline void Put(Writer& w, const CounterDelta& c) {
  Put(w, c.counter);
  Put(w, c.amount);
}
inline void Put(Writer& w, uint32_t v) { w.Unsigned(v); }
inline void Put(Writer& w, const Sha256& h) { w.Raw(h.data(), h.size()); }
inline void Put(Writer& w, int32_t v) { w.Signed(v); }
inline void Put(Writer& w, const RewardPrice& p) {
  Put(w, p.reward);
  Put(w, p.version);
  Put(w, p.grandfathering);
  Put(w, p.old_points);
  Put(w, p.new_points);
  Put(w, p.cash);
  Put(w, p.tier);
  Put(w, p.discount);
}
inline void Put(Writer& w, const RuleGrant& g) {
  Put(w, g.rule);
  Put(w, g.granted);
}
inline void Put(Writer& w, const LotRenewal& r) {
  w.Unsigned(r.lot.entry);
  w.Unsigned(r.lot.part);
  Put(w, r.expires_at);
}
inline void Put(Writer& w, const TransferredLot& l) {
  Put(w, l.amount);
  Put(w, l.earned_at);
  Put(w, l.expires_at);
}
template <typename T>
inline void Put(Writer& w, const std::vector<T>& items) {
  w.Unsigned(items.size());
  for (const T& item : items) Put(w, item);
}

inline bool Get(Reader& r, LotDraw* d) {
  uint64_t part = 0;
  if (!r.Unsigned(&d->lot.entry) || !r.Unsigned(&part) || !Get(r, &d->amount)) return false;
  if (part > UINT32_MAX) return r.Fail("lot part out of range");
  d->lot.part = static_cast<uint32_t>(part);
  return true;
}
inline bool Get(Reader& r, Sha256* h) { return r.Raw(h->data(), h->size()); }
inline bool Get(Reader& r, uint32_t* v) {
  uint64_t raw = 0;
  if (!r.Unsigned(&raw)) return false;
  if (raw > UINT32_MAX) return r.Fail("32-bit field out of range");
  *v = static_cast<uint32_t>(raw);
  return true;
}
inline bool Get(Reader& r, int32_t* v) {
  int64_t raw = 0;
  if (!r.Signed(&raw)) return false;
  if (raw < INT32_MIN || raw > INT32_MAX) return r.Fail("32-bit field out of range");
  *v = static_cast<int32_t>(raw);
  return true;
}
inline bool Get(Reader& r, RewardPrice* p) {
  return Get(r, &p->reward) && Get(r, &p->version) && Get(r, &p->grandfathering) && Get(r, &p->old_points) &&
         Get(r, &p->new_points) && Get(r, &p->cash) && Get(r, &p->tier) && Get(r, &p->discount);
}
inline bool Get(Reader& r, RuleGrant* g) { return Get(r, &g->rule) && Get(r, &g->granted); }
inline bool Get(Reader& r, LotRenewal* renewal) {
  return r.Unsigned(&renewal->lot.entry) && Get(r, &renewal->lot.part) && Get(r, &renewal->expires_at);
}
inline bool Get(Reader& r, CounterDelta* c) { return Get(r, &c->counter) && Get(r, &c->amount); }
inline bool Get(Reader& r, TransferredLot* l) {
  return Get(r, &l->amount) && Get(r, &l->earned_at) && Get(r, &l->expires_at);
}
template <typename T>
inline bool Get(Reader& r, std::vector<T>* items) {
  uint64_t count = 0;
  if (!r.Unsigned(&count)) return false;
  if (count > kMaxItems) return r.Fail("list too long");
  items->clear();
  for (uint64_t i = 0; i < count; ++i) {
    T item{};
    if (!Get(r, &item)) return false;
    items->push_back(std::move(item));
  }
  return true;
}

// Vouchers, stamps collected and stamps taken back; after the lists, which
// they hold.
inline void Put(Writer& w, const VoucherId& id) {
  w.Unsigned(id.accrual);
  w.Unsigned(id.number);
}
inline bool Get(Reader& r, VoucherId* id) { return r.Unsigned(&id->accrual) && Get(r, &id->number); }
inline void Put(Writer& w, const StampGrant& g) {
  Put(w, g.card);
  Put(w, g.lines);
  Put(w, g.stamps);
  Put(w, g.card_size);
  Put(w, g.vouchers);
  Put(w, g.reward);
  Put(w, g.voucher_expires_at);
}
inline bool Get(Reader& r, StampGrant* g) {
  return Get(r, &g->card) && Get(r, &g->lines) && Get(r, &g->stamps) && Get(r, &g->card_size) &&
         Get(r, &g->vouchers) && Get(r, &g->reward) && Get(r, &g->voucher_expires_at);
}
inline void Put(Writer& w, const StampReturn& s) {
  Put(w, s.card);
  Put(w, s.stamps);
  Put(w, s.withdrawn);
}
inline bool Get(Reader& r, StampReturn* s) {
  return Get(r, &s->card) && Get(r, &s->stamps) && Get(r, &s->withdrawn);
}

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_LEDGER_CODEC_H_
