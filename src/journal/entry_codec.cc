// Encoding and decoding of journal entries, field by field in a fixed order.
#include "journal/entry_codec.h"

#include <type_traits>

#include "core/encoding.h"
#include "journal/value_codec.h"

namespace loyalty::internal {
namespace {

// Format 3: every entry has a field for its recorded command. Where a store
// does not keep the bytes it read (Store::ReadStored's default), the chain
// is checked over the bytes re-encoded from the decoded entry, so only the
// current format is read.
constexpr uint8_t kFormat = 3;
constexpr size_t kMaxItems = 1 << 20;
constexpr size_t kMaxCommand = 1 << 24;

// The value types come from value_codec.h; the entry's own parts follow.
using internal::Get;
using internal::Put;

void Put(Writer& w, const LotDraw& d) {
  w.Unsigned(d.lot.entry);
  w.Unsigned(d.lot.part);
  Put(w, d.amount);
}
void Put(Writer& w, const CounterDelta& c) {
  Put(w, c.counter);
  Put(w, c.amount);
}
void Put(Writer& w, uint32_t v) { w.Unsigned(v); }
void Put(Writer& w, const Sha256& h) { w.Raw(h.data(), h.size()); }
void Put(Writer& w, int32_t v) { w.Signed(v); }
void Put(Writer& w, const RewardPrice& p) {
  Put(w, p.reward);
  Put(w, p.version);
  Put(w, p.grandfathering);
  Put(w, p.old_points);
  Put(w, p.new_points);
  Put(w, p.cash);
  Put(w, p.tier);
  Put(w, p.discount);
}
void Put(Writer& w, const RuleGrant& g) {
  Put(w, g.rule);
  Put(w, g.granted);
}
void Put(Writer& w, const LotRenewal& r) {
  w.Unsigned(r.lot.entry);
  w.Unsigned(r.lot.part);
  Put(w, r.expires_at);
}
void Put(Writer& w, const TransferredLot& l) {
  Put(w, l.amount);
  Put(w, l.earned_at);
  Put(w, l.expires_at);
}
template <typename T>
void Put(Writer& w, const std::vector<T>& items) {
  w.Unsigned(items.size());
  for (const T& item : items) Put(w, item);
}

bool Get(Reader& r, LotDraw* d) {
  uint64_t part = 0;
  if (!r.Unsigned(&d->lot.entry) || !r.Unsigned(&part) || !Get(r, &d->amount)) return false;
  if (part > UINT32_MAX) return r.Fail("lot part out of range");
  d->lot.part = static_cast<uint32_t>(part);
  return true;
}
bool Get(Reader& r, Sha256* h) { return r.Raw(h->data(), h->size()); }
bool Get(Reader& r, uint32_t* v) {
  uint64_t raw = 0;
  if (!r.Unsigned(&raw)) return false;
  if (raw > UINT32_MAX) return r.Fail("32-bit field out of range");
  *v = static_cast<uint32_t>(raw);
  return true;
}
bool Get(Reader& r, int32_t* v) {
  int64_t raw = 0;
  if (!r.Signed(&raw)) return false;
  if (raw < INT32_MIN || raw > INT32_MAX) return r.Fail("32-bit field out of range");
  *v = static_cast<int32_t>(raw);
  return true;
}
bool Get(Reader& r, RewardPrice* p) {
  return Get(r, &p->reward) && Get(r, &p->version) && Get(r, &p->grandfathering) && Get(r, &p->old_points) &&
         Get(r, &p->new_points) && Get(r, &p->cash) && Get(r, &p->tier) && Get(r, &p->discount);
}
bool Get(Reader& r, RuleGrant* g) { return Get(r, &g->rule) && Get(r, &g->granted); }
bool Get(Reader& r, LotRenewal* renewal) {
  return r.Unsigned(&renewal->lot.entry) && Get(r, &renewal->lot.part) && Get(r, &renewal->expires_at);
}
bool Get(Reader& r, CounterDelta* c) { return Get(r, &c->counter) && Get(r, &c->amount); }
bool Get(Reader& r, TransferredLot* l) {
  return Get(r, &l->amount) && Get(r, &l->earned_at) && Get(r, &l->expires_at);
}
template <typename T>
bool Get(Reader& r, std::vector<T>* items) {
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

// Applies `f(field)` to each field of a body (const or not) in its encoding
// order; `f` returns false to stop. Writing and reading share this list, so
// the two cannot drift apart.
template <typename E, typename F>
bool Fields(E& e, F&& f) {
  using namespace entries;
  using T = std::remove_const_t<E>;
  if constexpr (std::is_same_v<T, Enrolled>) {
    return true;
  } else if constexpr (std::is_same_v<T, Credited>) {
    return f(e.amount) && f(e.debt_paid) && f(e.expires_at) && f(e.source) && f(e.counters) && f(e.activity) &&
           f(e.line_points) && f(e.unattributed) && f(e.grants) && f(e.local_day);
  } else if constexpr (std::is_same_v<T, Debited>) {
    return f(e.amount) && f(e.draws) && f(e.price) && f(e.quote) && f(e.value);
  } else if constexpr (std::is_same_v<T, Expired>) {
    return f(e.amount) && f(e.draws);
  } else if constexpr (std::is_same_v<T, HoldPlaced>) {
    return f(e.amount) && f(e.expires_at) && f(e.draws) && f(e.price) && f(e.quote);
  } else if constexpr (std::is_same_v<T, HoldCaptured>) {
    return f(e.hold) && f(e.amount) && f(e.draws) && f(e.price);
  } else if constexpr (std::is_same_v<T, HoldReleased>) {
    return f(e.hold) && f(e.lapsed) && f(e.amount) && f(e.draws) && f(e.debt_paid);
  } else if constexpr (std::is_same_v<T, EarnReversed>) {
    return f(e.credit) && f(e.amount) && f(e.from_lot) && f(e.debt_added) && f(e.counters) && f(e.lines) &&
           f(e.counter_day) && (!e.balance_first || f(e.draws));
  } else if constexpr (std::is_same_v<T, DebitReversed>) {
    return f(e.debit) && f(e.amount) && f(e.draws) && f(e.debt_paid);
  } else if constexpr (std::is_same_v<T, Adjusted>) {
    return f(e.delta) && f(e.reason) && f(e.actor) && f(e.expires_at) && f(e.debt_paid) && f(e.draws);
  } else if constexpr (std::is_same_v<T, TransferredOut>) {
    return f(e.to) && f(e.amount) && f(e.draws);
  } else if constexpr (std::is_same_v<T, TransferredIn>) {
    return f(e.from) && f(e.amount) && f(e.debt_paid) && f(e.lots);
  } else if constexpr (std::is_same_v<T, Quoted>) {
    return f(e.amount) && f(e.expires_at) && f(e.price);
  } else if constexpr (std::is_same_v<T, VersionPublished>) {
    return f(e.version) && f(e.content_hash) && f(e.announced_at) && f(e.effective_from);
  } else if constexpr (std::is_same_v<T, FlagChanged>) {
    return f(e.flag) && f(e.on) && f(e.renewals);
  } else if constexpr (std::is_same_v<T, TierChanged>) {
    return f(e.tier) && f(e.valid_until) && f(e.reason) && f(e.paid) && f(e.lifetime_tier) && f(e.period_first) &&
           f(e.period_last) && f(e.renewals);
  } else {
    static_assert(std::is_same_v<T, MembershipClosed>);
    return f(e.redeemable_until);
  }
}

// An entry's kind is its body's index in EntryBody, but for the reversals
// that take from the member's other lots (EarnReversed::balance_first):
// they are kind kEarnReversedFromBalance, with their draws after the older
// kind's fields, so that journals written before them decode unchanged.
template <typename T, size_t I = 0>
constexpr uint64_t IndexOf() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, EntryBody>, T>) {
    return I;
  } else {
    return IndexOf<T, I + 1>();
  }
}
constexpr uint64_t kEarnReversed = IndexOf<entries::EarnReversed>();
constexpr uint64_t kEarnReversedFromBalance = std::variant_size_v<EntryBody>;

uint64_t KindOf(const EntryBody& body) {
  const auto* reversal = std::get_if<entries::EarnReversed>(&body);
  return reversal != nullptr && reversal->balance_first ? kEarnReversedFromBalance : body.index();
}

template <size_t I = 0>
bool DecodeBody(Reader& r, uint64_t kind, EntryBody* body) {
  if constexpr (I < std::variant_size_v<EntryBody>) {
    if (kind == I || (I == kEarnReversed && kind == kEarnReversedFromBalance)) {
      std::variant_alternative_t<I, EntryBody> value;
      if constexpr (I == kEarnReversed) value.balance_first = kind == kEarnReversedFromBalance;
      if (!Fields(value, [&](auto& field) { return Get(r, &field); })) return false;
      *body = std::move(value);
      return true;
    }
    return DecodeBody<I + 1>(r, kind, body);
  } else {
    return r.Fail("unknown entry kind");
  }
}

// The optional trailer after the body: a non-empty partner and nothing
// after it. Anything else is "trailing bytes" where the body ended.
bool DecodePartner(Reader& r, std::string* partner) {
  Reader probe = r;
  if (Get(probe, partner) && !partner->empty() && probe.AtEnd()) {
    r = probe;
    return true;
  }
  partner->clear();
  return r.Fail("trailing bytes");
}

}  // namespace

void EncodeEntry(const Entry& entry, std::string* out) {
  // Most entries fit; growing byte by byte would reallocate several times.
  out->reserve(out->size() + 192 + entry.explanation.size() + entry.command.size());
  Writer w(out);
  w.Unsigned(kFormat);
  Put(w, entry.seq);
  Put(w, entry.member);
  Put(w, entry.business_time);
  Put(w, entry.recorded_at);
  Put(w, entry.idempotency_key);
  w.Raw(entry.command_digest.data(), entry.command_digest.size());
  Put(w, entry.version);
  Put(w, entry.explanation);
  Put(w, entry.command);
  w.Unsigned(KindOf(entry.body));
  std::visit(
      [&](const auto& body) {
        Fields(body, [&](const auto& field) {
          Put(w, field);
          return true;
        });
      },
      entry.body);
  // Last, and written only when set: an entry without a partner encodes to
  // the same bytes (and hash) as an entry written by a version of this
  // library without partners, so such journals decode and verify as they
  // are.
  if (!entry.partner.empty()) Put(w, entry.partner);
}

absl::StatusOr<Entry> DecodeEntry(absl::string_view bytes) {
  Reader r(bytes);
  Entry entry;
  uint64_t format = 0, kind = 0;
  bool ok = r.Unsigned(&format) &&
            (format == kFormat || r.Fail("unknown entry format")) &&
            Get(r, &entry.seq) && Get(r, &entry.member) && Get(r, &entry.business_time) &&
            Get(r, &entry.recorded_at) && Get(r, &entry.idempotency_key) &&
            r.Raw(entry.command_digest.data(), entry.command_digest.size()) &&
            Get(r, &entry.version) && Get(r, &entry.explanation) &&
            r.Bytes(&entry.command, kMaxCommand) && r.Unsigned(&kind) &&
            DecodeBody(r, kind, &entry.body) && (r.AtEnd() || DecodePartner(r, &entry.partner));
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("malformed journal entry: ", r.error()));
  return entry;
}

absl::StatusOr<EntryKey> DecodeEntryKey(absl::string_view bytes) {
  Reader r(bytes);
  EntryKey key;
  uint64_t format = 0;
  absl::string_view member;
  int64_t business_time = 0, recorded_at = 0;
  bool ok = r.Unsigned(&format) && (format == kFormat || r.Fail("unknown entry format")) && r.Unsigned(&key.seq) &&
            r.View(&member, kMaxText) && r.Signed(&business_time) && r.Signed(&recorded_at) &&
            r.View(&key.idempotency_key, kMaxText);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("malformed journal entry: ", r.error()));
  return key;
}

}  // namespace loyalty::internal
