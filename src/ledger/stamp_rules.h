// Internal: what stamps and vouchers an entry may change, and how, for
// apply.cc's Step (checking or applying; see there). Stamps are collected
// by an accrual's purchase lines (Credited::stamps), taken back by a return
// of those lines (EarnReversed::stamps), and a voucher is redeemed once
// (VoucherRedeemed). Every count an entry states is recomputed here from
// the member's state, so a journal cannot give stamps or vouchers the
// program would not have.
#ifndef LOYALTY_SRC_LEDGER_STAMP_RULES_H_
#define LOYALTY_SRC_LEDGER_STAMP_RULES_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "loyalty/ledger.h"
#include "loyalty/program.h"
#include "loyalty/time.h"

namespace loyalty::internal {

// The stamps on `card`'s current card (0 before the first).
inline int64_t StampsOn(const MemberState& member, const std::string& card) {
  auto it = member.detail().stamps.find(card);
  return it == member.detail().stamps.end() ? 0 : it->second;
}

// The cards completed when `stamps` are added to a card of `size` holding
// `before`; false on overflow.
inline bool CardsCompleted(int64_t before, int64_t stamps, int64_t size, int64_t* completed) {
  int64_t total = 0;
  if (size < 1 || __builtin_add_overflow(before, stamps, &total)) return false;
  *completed = total >= size ? total / size : 0;
  return true;
}

// One grant of an accrual fits: a card named once, eligible lines of the
// accrual ascending, the stamps their units (`units_of(line)`), the
// vouchers the cards completed, each with a reward and a future lapse.
template <typename S, typename UnitsOf>
bool GrantFits(S& s, const entries::Credited& e, size_t index, UnitsOf&& units_of) {
  const StampGrant& g = e.stamps[index];
  bool fits = !g.card.empty() && !g.lines.empty() && g.card_size >= 1;
  int64_t units = 0;
  for (size_t i = 0; fits && i < g.lines.size(); ++i) {
    fits = g.lines[i] < e.line_points.size() && (i == 0 || g.lines[i - 1] < g.lines[i]) &&
           !__builtin_add_overflow(units, units_of(g.lines[i]), &units);
  }
  for (size_t j = 0; fits && j < index; ++j) fits = e.stamps[j].card != g.card;
  int64_t completed = 0;
  fits = fits && units == g.stamps && CardsCompleted(StampsOn(s.member(), g.card), g.stamps, g.card_size, &completed);
  static const Instant kLastExpiry = TimeZone::Utc().StartOfDay(*Date::FromYmd(9999, 1, 1));
  return s.Require(fits && completed == g.vouchers &&
                       (g.vouchers == 0 || (!g.reward.empty() && g.voucher_expires_at > s.entry().business_time &&
                                            g.voucher_expires_at <= kLastExpiry)),
                   [&] { return absl::StrCat("its stamps on card ", g.card, " are not what its lines collected"); });
}

// The stamps of an accrual fit (see GrantFits), at most
// kMaxVouchersPerActivity vouchers in all.
template <typename S>
bool StampsFit(S& s, const entries::Credited& e) {
  if (e.stamps.empty()) return true;
  if (!s.Require(!e.activity.empty() && !e.line_points.empty(), "it collects stamps without purchase lines")) {
    return false;
  }
  auto units_of = [&](uint32_t line) { return e.line_units.empty() ? int64_t{1} : e.line_units[line]; };
  int64_t vouchers = 0;
  for (size_t i = 0; i < e.stamps.size(); ++i) {
    if (!GrantFits(s, e, i, units_of) ||
        !s.Require(e.stamps[i].vouchers <= kMaxVouchersPerActivity - vouchers, "it issues too many vouchers")) {
      return false;
    }
    vouchers += e.stamps[i].vouchers;
  }
  return true;
}

// The accrual `seq`'s stamps added to the member's cards, its vouchers
// issued, numbered from 0 in the order of its grants.
inline void CollectStamps(MemberState& member, uint64_t seq, Instant at, const std::vector<StampGrant>& stamps) {
  MemberDetail& detail = member.mutable_detail();
  uint32_t number = 0;
  for (const StampGrant& g : stamps) {
    detail.stamps[g.card] = StampsOn(member, g.card) + g.stamps - g.vouchers * g.card_size;
    for (int64_t i = 0; i < g.vouchers; ++i) {
      detail.vouchers[VoucherId{seq, number++}] = Voucher{g.card, g.reward, at, g.voucher_expires_at};
    }
  }
}

// The numbers of the accrual's vouchers of grant `grant` of `record`:
// [first, first + record.stamps[grant].vouchers).
inline uint32_t FirstVoucher(const AccrualRecord& record, size_t grant) {
  int64_t first = 0;
  for (size_t i = 0; i < grant; ++i) first += record.stamps[i].vouchers;
  return static_cast<uint32_t>(first);
}

// A return's stamps on one card fit: the vouchers it withdraws are unused
// vouchers of the accrual for that card, each needed (the card is below
// zero before the last), and none is left unused while the card stays
// below zero.
template <typename S>
bool StampReturnFits(S& s, const entries::EarnReversed& e, const AccrualRecord& record, size_t grant,
                     const StampReturn& back) {
  const StampGrant& g = record.stamps[grant];
  const uint32_t first = FirstVoucher(record, grant);
  const auto& vouchers = s.member().detail().vouchers;
  int64_t after = 0;
  bool fits = !__builtin_sub_overflow(StampsOn(s.member(), g.card), back.stamps, &after);
  for (size_t i = 0; fits && i < back.withdrawn.size(); ++i) {
    const uint32_t number = back.withdrawn[i];
    fits = number >= first && number - first < g.vouchers && vouchers.contains(VoucherId{e.credit, number}) &&
           std::count(back.withdrawn.begin(), back.withdrawn.end(), number) == 1 &&
           !__builtin_add_overflow(after, g.card_size, &after);
  }
  fits = fits && (back.withdrawn.empty() || after - g.card_size < 0);
  for (uint32_t number = first; fits && after < 0 && number - first < g.vouchers; ++number) {
    fits = !vouchers.contains(VoucherId{e.credit, number}) ||
           std::count(back.withdrawn.begin(), back.withdrawn.end(), number) == 1;
  }
  return s.Require(fits, [&] {
    return absl::StrCat("the vouchers it withdraws on card ", g.card, " are not the ones its stamps need");
  });
}

// A return takes back, on each card, the stamps its units collected (from
// the units returned before, `before`, and after, `after`, by line), in the
// order of the accrual's grants, and only those.
template <typename S>
bool StampsBackFit(S& s, const entries::EarnReversed& e, const AccrualRecord& record,
                   const std::vector<int64_t>& before, const std::vector<int64_t>& after) {
  size_t next = 0;
  for (size_t grant = 0; grant < record.stamps.size(); ++grant) {
    int64_t stamps = 0;  // at most the grant's stamps, which fit
    for (uint32_t line : record.stamps[grant].lines) stamps += after[line] - before[line];
    if (stamps == 0) continue;
    const bool stated = next < e.stamps.size() && e.stamps[next].card == record.stamps[grant].card &&
                        e.stamps[next].stamps == stamps;
    if (!s.Require(stated, [&] {
          return absl::StrCat("it does not take back the ", stamps, " stamps its units collected on card ",
                              record.stamps[grant].card);
        }) ||
        !StampReturnFits(s, e, record, grant, e.stamps[next++])) {
      return false;
    }
  }
  return s.Require(next == e.stamps.size(), "it takes back stamps its units did not collect");
}

// The stamps a return took back, and its vouchers withdrawn.
inline void TakeStampsBack(MemberState& member, uint64_t accrual, const AccrualRecord& record,
                           const std::vector<StampReturn>& stamps) {
  MemberDetail& detail = member.mutable_detail();
  for (const StampReturn& back : stamps) {
    auto grant = std::find_if(record.stamps.begin(), record.stamps.end(),
                              [&](const StampGrant& g) { return g.card == back.card; });
    detail.stamps[back.card] = StampsOn(member, back.card) - back.stamps +
                               grant->card_size * static_cast<int64_t>(back.withdrawn.size());
    for (uint32_t number : back.withdrawn) detail.vouchers.erase(VoucherId{accrual, number});
  }
}

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_LEDGER_STAMP_RULES_H_
