// The projection digest: every member's state field by field in a
// canonical order, then the published versions.
#include "ledger/state_digest.h"

#include "core/sha256.h"
#include "core/encoding.h"

namespace loyalty::internal {

namespace {

// The entries of a hash map in key order, as pointers to the values.
template <typename Map>
absl::btree_map<typename Map::key_type, const typename Map::mapped_type*> InKeyOrder(const Map& map) {
  absl::btree_map<typename Map::key_type, const typename Map::mapped_type*> ordered;
  for (const auto& [key, value] : map) ordered.emplace(key, &value);
  return ordered;
}

// Draws from lots, as a hold or a debit records them.
void WriteDraws(Writer& w, const std::vector<LotDraw>& draws) {
  w.Unsigned(draws.size());
  for (const LotDraw& d : draws) {
    w.Unsigned(d.lot.entry);
    w.Unsigned(d.lot.part);
    w.Signed(d.amount.value());
  }
}

// A price a hold or a quote locked.
void WritePrice(Writer& w, const RewardPrice& p) {
  for (const std::string* text : {&p.reward, &p.version, &p.grandfathering}) w.Bytes(*text);
  w.Signed(p.old_points.value());
  w.Signed(p.new_points.value());
  w.Unsigned(p.cash.has_value());
  if (p.cash) w.Signed(p.cash->minor_units());
  w.Bytes(p.tier);
  w.Signed(p.discount.value());
}

void WriteLots(Writer& w, const std::vector<Lot>& lots) {
  w.Unsigned(lots.size());
  for (const Lot& lot : lots) {
    w.Unsigned(lot.id.entry);
    w.Unsigned(lot.id.part);
    w.Unsigned(static_cast<uint64_t>(lot.origin));
    w.Signed(lot.earned.value());
    w.Signed(lot.reversed.value());
    w.Signed(lot.remaining.value());
    w.Signed(lot.earned_at.unix_micros());
    w.Signed(lot.expires_at.unix_micros());
    w.Bytes(*lot.version);
  }
}

void WriteHolds(Writer& w, const MemberDetail& detail) {
  auto holds = InKeyOrder(detail.holds);
  w.Unsigned(holds.size());
  for (const auto& [seq, hold] : holds) {
    w.Unsigned(seq);
    w.Signed(hold->amount.value());
    w.Signed(hold->expires_at.unix_micros());
    w.Signed(hold->placed_at.unix_micros());
    WritePrice(w, hold->price);
    WriteDraws(w, hold->draws);
  }
}

void WriteDebits(Writer& w, const MemberDetail& detail) {
  auto debits = InKeyOrder(detail.debits);
  w.Unsigned(debits.size());
  for (const auto& [seq, debit] : debits) {
    w.Unsigned(seq);
    w.Signed(debit->amount.value());
    w.Unsigned(debit->reversed);
    WriteDraws(w, debit->draws);
  }
}

void WriteQuotes(Writer& w, const MemberDetail& detail) {
  auto quotes = InKeyOrder(detail.quotes);
  w.Unsigned(quotes.size());
  for (const auto& [seq, quote] : quotes) {
    w.Unsigned(seq);
    w.Signed(quote->amount.value());
    w.Signed(quote->expires_at.unix_micros());
    w.Signed(quote->quoted_at.unix_micros());
    WritePrice(w, quote->price);
  }
}

// What each accrual credited per line, which returns take back.
void WriteAccruals(Writer& w, const MemberDetail& detail) {
  auto accruals = InKeyOrder(detail.accruals);
  w.Unsigned(accruals.size());
  for (const auto& [seq, accrual] : accruals) {
    w.Unsigned(seq);
    for (Points points : accrual->line_points) w.Signed(points.value());
    for (bool returned : accrual->returned) w.Unsigned(returned);
    w.Signed(accrual->unattributed.value());
    w.Unsigned(accrual->counters.size());
    w.Signed(accrual->local_day);
  }
  auto activities = InKeyOrder(detail.activities);
  w.Unsigned(activities.size());
  for (const auto& [activity, credit] : activities) {
    w.Bytes(activity.first);
    w.Bytes(activity.second);
    w.Unsigned(*credit);
  }
}

// How much each capped rule has granted, which its caps count against.
void WriteRuleUse(Writer& w, const MemberDetail& detail) {
  auto uses = InKeyOrder(detail.rule_use);
  w.Unsigned(uses.size());
  for (const auto& [rule, use] : uses) {
    w.Bytes(rule);
    for (int64_t value : {int64_t{use->day}, use->day_points.value(), int64_t{use->month}, use->month_points.value(),
                          use->total.value(), use->uses}) {
      w.Signed(value);
    }
  }
}

void WriteCounterDays(Writer& w, const MemberDetail& detail) {
  w.Unsigned(detail.counter_days.size());
  for (const auto& [name, days] : detail.counter_days) {
    w.Bytes(name);
    w.Unsigned(days.size());
    for (const auto& [day, value] : days) {
      w.Signed(day);
      w.Signed(value.value());
    }
  }
}

void WriteTierStatus(Writer& w, const TierStatus& t) {
  for (const std::string* text : {&t.tier, &t.reason, &t.lifetime_tier, &t.paid_tier}) w.Bytes(*text);
  for (int64_t value : {t.valid_until.unix_micros(), int64_t{t.period_first}, int64_t{t.period_last},
                        int64_t{t.in_grace}, t.paid_until.unix_micros()}) {
    w.Signed(value);
  }
}

// One member, every field, in the digest's fixed order.
void WriteMember(Writer& w, const MemberId& id, const MemberState& m) {
  const MemberDetail& detail = m.detail();
  w.Bytes(id.value());
  w.Unsigned(m.enrolled);
  w.Signed(m.enrolled_at.unix_micros());
  w.Signed(m.balance.value());
  w.Signed(m.held().value());
  w.Signed(m.debt().value());
  WriteLots(w, m.lots);
  WriteHolds(w, detail);
  WriteDebits(w, detail);
  w.Unsigned(detail.counters.size());
  for (const auto& [name, value] : detail.counters) {
    w.Bytes(name);
    w.Signed(value.value());
  }
  w.Unsigned(m.last_seq);
  WriteQuotes(w, detail);
  WriteAccruals(w, detail);
  WriteRuleUse(w, detail);
  w.Unsigned(detail.flags.size());
  for (const std::string& flag : detail.flags) w.Bytes(flag);
  w.Unsigned(m.has_accrued);
  w.Unsigned(m.closed);
  w.Signed(m.last_activity.unix_micros());
  w.Signed(detail.redeemable_until.unix_micros());
  WriteCounterDays(w, detail);
  WriteTierStatus(w, detail.status);
}

}  // namespace

Sha256 StateDigest(const absl::btree_map<MemberId, const MemberState*>& ordered,
                   const absl::flat_hash_map<std::string, Sha256>& published_by_id) {
  // The bytes go to the hash a member at a time, so that a digest of
  // millions of members never gathers them all in memory.
  constexpr size_t kChunk = 1 << 16;
  Sha256Stream stream;
  const Sha256 zero{};  // the digest is ChainHash(zero, bytes), streamed
  stream.Update(absl::string_view(reinterpret_cast<const char*>(zero.data()), zero.size()));
  std::string bytes;
  Writer w(&bytes);
  for (const auto& [id, member] : ordered) {
    WriteMember(w, id, *member);
    if (bytes.size() >= kChunk) {
      stream.Update(bytes);
      bytes.clear();
    }
  }
  absl::btree_map<std::string, Sha256> published(published_by_id.begin(), published_by_id.end());
  for (const auto& [version, hash] : published) {
    w.Bytes(version);
    w.Raw(hash.data(), hash.size());
  }
  stream.Update(bytes);
  return stream.Finish();
}

}  // namespace loyalty::internal
