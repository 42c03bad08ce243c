// Apply: how each kind of entry changes a member's state, and what an entry
// must satisfy to change it, written once.
//
// Each kind of entry has one function below, a flat list of the rules it
// must meet and the changes it makes, run by a Step in one of two modes:
//
//   * checking (CheckApplicable) reads the state and keeps what the entry
//     changes in overlays, so that nothing changes; the first rule broken
//     is the answer. Entries read from a journal are checked this way.
//   * applying (ApplyToMember) changes the state; a broken rule is a broken
//     invariant and crashes. Entries Decide wrote, and entries the check
//     accepted, are applied this way.
//
// So what the ledger accepts and what it does cannot drift apart.
#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/debt.h"
#include "ledger/stamp_rules.h"
#include "loyalty/check.h"
#include "loyalty/ledger.h"

namespace loyalty {
namespace {

std::string LotText(LotId id) { return absl::StrCat(id.entry, "/", id.part); }

// One entry folded into one member's state. kApplies: the state changes;
// otherwise overlays hold what the entry changed so far.
template <bool kApplies>
class Step {
 public:
  using State = std::conditional_t<kApplies, MemberState, const MemberState>;

  Step(State& member, const Entry& entry)
      : member_(member),
        entry_(entry),
        balance_(member.balance.value()),
        held_(member.held().value()),
        debt_(member.debt().value()),
        last_lot_(member.lots.empty() ? LotId{} : member.lots.back().id) {}

  const MemberState& member() const { return member_; }
  const Entry& entry() const { return entry_; }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int64_t debt() const { return debt_; }
  int64_t balance() const { return balance_; }

  // True if `holds`; otherwise the entry breaks the rule `reason` (a string,
  // or a function that makes it, called only then).
  template <typename Reason>
  bool Require(bool holds, Reason&& reason) {
    if (holds) [[likely]] return true;
    if (!error_.empty()) return false;
    if constexpr (std::is_invocable_v<Reason>) {
      error_ = reason();
    } else {
      error_ = std::string(reason);
    }
    if constexpr (kApplies) {
      const std::string what = absl::StrCat("entry ", entry_.seq, " does not fit its member: ", error_);
      internal::CheckFailed(__FILE__, __LINE__, what.c_str());
    }
    return false;
  }

  // `f(state)`, when applying.
  template <typename F>
  void Change(F&& f) {
    if constexpr (kApplies) f(member_);
  }

  bool Add(int64_t& total, int64_t delta, absl::string_view what) {
    return Require(!__builtin_add_overflow(total, delta, &total), [&] { return absl::StrCat(what, " overflows"); });
  }
  bool Subtract(int64_t& total, int64_t delta, absl::string_view what) {
    return Require(!__builtin_sub_overflow(total, delta, &total), [&] { return absl::StrCat(what, " overflows"); });
  }
  bool AddHeld(Points amount) { return Add(held_, amount.value(), "the points held"); }
  bool ReleaseHeld(Points amount) { return Subtract(held_, amount.value(), "the points held"); }
  bool AddDebt(Points amount) { return Add(debt_, amount.value(), "the debt"); }
  bool TakeFromBalance(Points amount) { return Subtract(balance_, amount.value(), "the balance"); }

  // Points coming in settle the debt first: `paid` is all of it or all of
  // the debt, whichever is less.
  bool PayDebtFrom(Points incoming, Points paid) {
    return Require(paid >= Points(0) && paid <= incoming && paid.value() == std::min(incoming.value(), debt_),
                   [&] {
                     return absl::StrCat("settles ", paid.value(), " of a debt of ", debt_, " from ",
                                         incoming.value(), " points coming in");
                   }) &&
           Subtract(debt_, paid.value(), "the debt");
  }

  // Takes `draws`, which sum to `total`, from their lots.
  bool Take(const std::vector<LotDraw>& draws, Points total) {
    if (!SumIs(draws, total)) return false;
    for (const LotDraw& draw : draws) {
      Lot* lot = LotAt(draw.lot);
      if (!Require(lot != nullptr, [&] { return absl::StrCat("no lot ", LotText(draw.lot)); }) ||
          !Require(draw.amount > Points(0) && draw.amount <= lot->remaining, [&] {
            return absl::StrCat("draws ", draw.amount.value(), " from lot ", LotText(draw.lot), ", which has ",
                                lot->remaining.value());
          })) {
        return false;
      }
      lot->remaining = Points(lot->remaining.value() - draw.amount.value());
    }
    return Subtract(balance_, total.value(), "the balance");
  }

  // Gives `draws`, which sum to `total`, back to their lots, none beyond
  // what it earned.
  bool GiveBack(const std::vector<LotDraw>& draws, Points total) {
    if (!SumIs(draws, total)) return false;
    for (const LotDraw& draw : draws) {
      Lot* lot = LotAt(draw.lot);
      if (!Require(lot != nullptr, [&] { return absl::StrCat("no lot ", LotText(draw.lot)); })) return false;
      int64_t remaining = lot->remaining.value();
      if (!Require(draw.amount > Points(0) && !__builtin_add_overflow(remaining, draw.amount.value(), &remaining) &&
                       remaining <= lot->earned.value(),
                   [&] {
                     return absl::StrCat("gives ", draw.amount.value(), " back to lot ", LotText(draw.lot),
                                         " beyond the ", lot->earned.value(), " it earned");
                   })) {
        return false;
      }
      lot->remaining = Points(remaining);
    }
    return Add(balance_, total.value(), "the balance");
  }

  // Creates lot (seq, part) with `remaining` of its `earned` points left.
  bool AddLot(uint32_t part, Lot::Origin origin, Points earned, Points remaining, Instant earned_at,
              Instant expires_at) {
    const LotId id{entry_.seq, part};
    if (!Require(earned > Points(0) && remaining >= Points(0) && remaining <= earned,
                 [&] { return absl::StrCat("lot ", LotText(id), " of ", earned.value(), " points is out of range"); }) ||
        !Require(last_lot_ < id,
                 [&] { return absl::StrCat("lot ", LotText(id), " is not newer than the member's last lot"); }) ||
        !Require(CheckBusinessTime("earned_at", earned_at).ok(),
                 [&] { return absl::StrCat("lot ", LotText(id), " was earned at ", earned_at.ToString(),
                                           ", outside 1900-01-01 to 9000-01-01"); }) ||
        !Add(balance_, remaining.value(), "the balance")) {
      return false;
    }
    last_lot_ = id;
    Change([&](MemberState& member) {
      Lot lot;
      lot.id = id;
      lot.origin = origin;
      lot.earned = earned;
      lot.remaining = remaining;
      lot.earned_at = earned_at;
      lot.expires_at = expires_at;
      lot.version = InternVersion(entry_.version);
      member.lots.push_back(lot);
    });
    return true;
  }

  // Takes `amount` of credit `credit`'s lot back: `from_lot` of it from what
  // the lot has left.
  bool ReverseLot(Lot& lot, Points amount, Points from_lot) {
    int64_t reversed = lot.reversed.value();
    if (!Add(reversed, amount.value(), "the reversed amount") ||
        !Require(reversed <= lot.earned.value() && from_lot <= lot.remaining, [&] {
          return absl::StrCat("reverses more of credit ", lot.id.entry, " than it has");
        })) {
      return false;
    }
    lot.reversed = Points(reversed);
    lot.remaining = Points(lot.remaining.value() - from_lot.value());
    return true;
  }

  // New validities of existing lots.
  bool Renew(const std::vector<LotRenewal>& renewals) {
    for (const LotRenewal& renewal : renewals) {
      Lot* lot = LotAt(renewal.lot);
      if (!Require(lot != nullptr, [&] { return absl::StrCat("no lot ", LotText(renewal.lot)); })) return false;
      lot->expires_at = renewal.expires_at;
    }
    return true;
  }

  // Adds (or subtracts) `counters` to the all-time totals and to `day`;
  // none may go below zero.
  bool Counters(const std::vector<CounterDelta>& counters, int32_t day, bool subtract) {
    for (const CounterDelta& delta : counters) {
      auto change = [&](Points& value) {
        int64_t v = value.value();
        const bool overflow = subtract ? __builtin_sub_overflow(v, delta.amount.value(), &v)
                                       : __builtin_add_overflow(v, delta.amount.value(), &v);
        if (!Require(!overflow && v >= 0, [&] {
              return absl::StrCat("counter ", delta.counter, overflow ? " overflows" : " would be negative");
            })) {
          return false;
        }
        value = Points(v);
        return true;
      };
      if (!change(Counter(delta.counter)) || !change(CounterDay(delta.counter, day))) return false;
      if constexpr (kApplies) {
        auto& days = member_.mutable_detail().counter_days[delta.counter];
        if (days[day].IsZero()) days.erase(day);
      }
    }
    return true;
  }

  // A local day in the years 1400 to 9999, where Date's calendar works.
  bool LocalDay(int32_t local_day) {
    static const int32_t kFirst = Date::FromYmd(1400, 1, 1)->days_since_epoch();
    static const int32_t kLast = Date::FromYmd(9999, 12, 31)->days_since_epoch();
    return Require(local_day >= kFirst && local_day <= kLast,
                   [&] { return absl::StrCat("local day ", local_day, " is out of range"); });
  }

  // Records what each rule granted on `local_day`, for caps and limits.
  bool Grants(const std::vector<RuleGrant>& grants, int32_t local_day) {
    if (!LocalDay(local_day)) return false;
    const Date date = Date::FromDaysSinceEpoch(local_day);
    const int32_t month = date.year() * 12 + date.month() - 1;
    for (const RuleGrant& grant : grants) {
      if (!Require(grant.granted >= Points(0), [&] { return absl::StrCat("rule ", grant.rule, " grants less than 0"); })) {
        return false;
      }
      RuleUse& use = Use(grant.rule);
      int64_t day_points = use.day == local_day ? use.day_points.value() : 0;
      int64_t month_points = use.month == month ? use.month_points.value() : 0;
      int64_t total = use.total.value();
      if (!Add(day_points, grant.granted.value(), "rule use") || !Add(month_points, grant.granted.value(), "rule use") ||
          !Add(total, grant.granted.value(), "rule use")) {
        return false;
      }
      use.day = local_day;
      use.day_points = Points(day_points);
      use.month = month;
      use.month_points = Points(month_points);
      use.total = Points(total);
      ++use.uses;
    }
    return true;
  }

  // The lot `id` as this entry has left it so far, or nullptr.
  Lot* LotAt(LotId id) {
    if constexpr (kApplies) {
      return member_.FindLot(id);
    } else {
      if (auto it = lots_.find(id); it != lots_.end()) return &it->second;
      const Lot* lot = member_.FindLot(id);
      return lot == nullptr ? nullptr : &lots_.emplace(id, *lot).first->second;
    }
  }

  // The entry is a reversal journaled before reversals took from the
  // balance first, which may leave debt beside available points.
  void MayLeaveDebtBesidePoints() { legacy_debt_ = true; }

  // Totals never negative; a member who owes points has none available
  // (unless the member already had both, which only journals from before
  // that rule hold); then the member's last entry is this one.
  bool Finish() {
    if (!Require(balance_ >= 0 && held_ >= 0 && debt_ >= 0, "it leaves a negative balance, hold total or debt")) {
      return false;
    }
    const bool had_both = member_.debt() > Points(0) && member_.balance > Points(0);
    if (!Require(debt_ == 0 || balance_ == 0 || had_both || legacy_debt_, [&] {
          return absl::StrCat("it leaves a debt of ", debt_, " beside ", balance_, " available points");
        })) {
      return false;
    }
    Change([&](MemberState& member) {
      member.balance = Points(balance_);
      if (held_ != member.held().value() || debt_ != member.debt().value()) {
        MemberDetail& detail = member.mutable_detail();
        detail.held = Points(held_);
        detail.debt = Points(debt_);
      }
      member.last_seq = entry_.seq;
    });
    return true;
  }

 private:
  bool SumIs(const std::vector<LotDraw>& draws, Points expected) {
    int64_t sum = 0;
    for (const LotDraw& draw : draws) {
      if (!Add(sum, draw.amount.value(), "the sum of the draws")) return false;
    }
    return Require(sum == expected.value(), [&] {
      return absl::StrCat("draws sum to ", sum, ", not to the entry's ", expected.value());
    });
  }

  Points& Counter(const std::string& name) {
    if constexpr (kApplies) {
      return member_.mutable_detail().counters[name];
    } else {
      auto [it, fresh] = counters_.try_emplace(name);
      if (fresh) {
        auto found = member_.detail().counters.find(name);
        if (found != member_.detail().counters.end()) it->second = found->second;
      }
      return it->second;
    }
  }

  Points& CounterDay(const std::string& name, int32_t day) {
    if constexpr (kApplies) {
      return member_.mutable_detail().counter_days[name][day];
    } else {
      auto [it, fresh] = counter_days_.try_emplace({name, day});
      if (fresh) {
        auto days = member_.detail().counter_days.find(name);
        if (days != member_.detail().counter_days.end()) {
          auto found = days->second.find(day);
          if (found != days->second.end()) it->second = found->second;
        }
      }
      return it->second;
    }
  }

  RuleUse& Use(const std::string& rule) {
    if constexpr (kApplies) {
      return member_.mutable_detail().rule_use[rule];
    } else {
      auto [it, fresh] = rule_use_.try_emplace(rule);
      if (fresh) {
        auto found = member_.detail().rule_use.find(rule);
        if (found != member_.detail().rule_use.end()) it->second = found->second;
      }
      return it->second;
    }
  }

  State& member_;
  const Entry& entry_;
  int64_t balance_, held_, debt_;
  LotId last_lot_;
  bool legacy_debt_ = false;
  std::string error_;
  // Checking only: what the entry changed so far.
  absl::flat_hash_map<LotId, Lot> lots_;
  absl::flat_hash_map<std::string, Points> counters_;
  absl::flat_hash_map<std::pair<std::string, int32_t>, Points> counter_days_;
  absl::flat_hash_map<std::string, RuleUse> rule_use_;
};

// ---------------------------------------------------------------- one function per kind

template <typename S>
void Fold(S& s, const entries::Enrolled&) {
  s.Change([&](MemberState& member) {
    member.enrolled = true;
    member.enrolled_at = s.entry().business_time;
    member.last_activity = s.entry().business_time;
  });
}

// Bought points are a raw credit of a positive price, on a local day the
// calendar knows (the yearly limit reads its year).
template <typename S>
bool PriceFits(S& s, const entries::Credited& e) {
  return !e.price.has_value() ||
         (s.Require(e.activity.empty() && e.amount > Points(0) && e.price->minor_units() > 0 && e.counters.empty(),
                    "its price is not that of bought points") &&
          s.LocalDay(e.local_day));
}

// An accrual's points per line: none below zero, and together with the
// activity's unattributed points no more than it credited.
template <typename S>
bool LinePointsFit(S& s, const entries::Credited& e) {
  if (e.line_points.empty()) return true;
  int64_t total = e.unattributed.value();
  bool fits = !e.activity.empty() && total >= 0;
  for (Points points : e.line_points) fits = fits && points >= Points(0) && !__builtin_add_overflow(total, points.value(), &total);
  return s.Require(fits && total <= e.amount.value(), "its lines' points are not what it credited");
}

// A refund of bought points (`refund` set) takes back every unused point of
// the purchase's lot (`lot`, before it) and pays back their share of its
// price (RefundOf); nothing else carries a refund.
template <typename S>
bool RefundFits(S& s, const entries::EarnReversed& e, const Lot* lot) {
  if (!e.refund.has_value()) return true;
  const auto& purchases = s.member().detail().purchases;
  auto it = purchases.find(e.credit);
  if (!s.Require(it != purchases.end() && lot != nullptr && e.lines.empty() && e.counters.empty(),
                 [&] { return absl::StrCat("credit ", e.credit, " is no purchase of points"); }) ||
      !s.Require(e.amount > Points(0) && e.amount == RefundablePoints(*lot) && e.from_lot == e.amount,
                 "a refund takes back the purchase's unused points, and only those")) {
    return false;
  }
  const Money owed = RefundOf(it->second, *lot, e.amount);
  return s.Require(*e.refund == owed, [&] {
    return absl::StrCat("it refunds ", e.refund->ToString(), " where the points' share of the price is ",
                        owed.ToString());
  });
}

// A credit's lines' units: none (lines returned whole), or one quantity of
// at least 1 per line of an activity's accrual.
template <typename S>
bool LineUnitsFit(S& s, const entries::Credited& e) {
  if (e.line_units.empty()) return true;
  return s.Require(!e.activity.empty() && e.line_units.size() == e.line_points.size() &&
                       std::all_of(e.line_units.begin(), e.line_units.end(), [](int64_t u) { return u >= 1; }),
                   "its lines' units do not match its lines");
}

template <typename S>
void Fold(S& s, const entries::Credited& e) {
  const Entry& entry = s.entry();
  if (!s.Require(e.amount >= Points(0), "a negative amount") ||
      !s.Require(e.amount > Points(0) || !e.activity.empty(), "a raw credit of nothing") ||
      !s.PayDebtFrom(e.amount, e.debt_paid) ||
      (e.amount > Points(0) && !s.AddLot(0, Lot::Origin::kCredit, e.amount, Points(e.amount.value() - e.debt_paid.value()),
                                         entry.business_time, e.expires_at)) ||
      !s.Counters(e.counters, e.local_day, /*subtract=*/false) || (!e.activity.empty() && !s.Grants(e.grants, e.local_day)) ||
      !LinePointsFit(s, e) || !LineUnitsFit(s, e) || !internal::StampsFit(s, e) || !PriceFits(s, e)) {
    return;
  }
  if (e.price.has_value()) {
    s.Change([&](MemberState& member) {
      member.mutable_detail().purchases[entry.seq] =
          PointPurchase{e.amount, *e.price, e.local_day, Points(0), Money(0, e.price->currency())};
    });
  }
  if (e.activity.empty()) return;
  s.Change([&](MemberState& member) {
    member.has_accrued = true;
    member.last_activity = std::max(member.last_activity, entry.business_time);
    MemberDetail& detail = member.mutable_detail();
    if (!e.line_points.empty()) {
      detail.accruals[entry.seq] = AccrualRecord{e.line_points, e.unattributed, e.line_units,
                                                 std::vector<int64_t>(e.line_points.size()), e.counters, e.local_day,
                                                 e.stamps};
    }
    internal::CollectStamps(member, entry.seq, entry.business_time, e.stamps);
    // Journals written before activities were credited once may credit one
    // twice: the first credit is the one a repeat is refused with.
    detail.activities.try_emplace(ActivityFingerprint(entry.partner, e.activity), entry.seq);
  });
}

// A quote a debit or hold uses is open.
template <typename S>
bool QuoteOpen(S& s, uint64_t quote) {
  return s.Require(quote == 0 || s.member().detail().quotes.contains(quote),
                   [&] { return absl::StrCat("no open quote ", quote); });
}

template <typename S>
void Fold(S& s, const entries::Debited& e) {
  if (!s.Take(e.draws, e.amount) || !QuoteOpen(s, e.quote)) return;
  s.Change([&](MemberState& member) {
    MemberDetail& detail = member.mutable_detail();
    detail.debits[s.entry().seq] = DebitRecord{e.amount, e.draws, false};
    if (e.quote != 0) detail.quotes.erase(e.quote);
  });
}

template <typename S>
void Fold(S& s, const entries::HoldPlaced& e) {
  if (!s.Take(e.draws, e.amount) || !s.AddHeld(e.amount) || !QuoteOpen(s, e.quote)) return;
  s.Change([&](MemberState& member) {
    MemberDetail& detail = member.mutable_detail();
    detail.holds[s.entry().seq] = Hold{e.amount, e.expires_at, e.draws, e.price, s.entry().business_time};
    if (e.quote != 0) detail.quotes.erase(e.quote);
  });
}

// The open hold `id` of `amount` points, or nullptr.
template <typename S>
const Hold* OpenHold(S& s, uint64_t id, Points amount) {
  auto it = s.member().detail().holds.find(id);
  if (!s.Require(it != s.member().detail().holds.end(), [&] { return absl::StrCat("no open hold ", id); }) ||
      !s.Require(it->second.amount == amount, [&] { return absl::StrCat("hold ", id, " holds other points"); })) {
    return nullptr;
  }
  return &it->second;
}

template <typename S>
void Fold(S& s, const entries::HoldCaptured& e) {
  const Hold* hold = OpenHold(s, e.hold, e.amount);
  if (hold == nullptr ||
      !s.Require(hold->draws == e.draws, [&] { return absl::StrCat("hold ", e.hold, " holds other points"); }) ||
      !s.ReleaseHeld(e.amount)) {
    return;
  }
  s.Change([&](MemberState& member) {
    MemberDetail& detail = member.mutable_detail();
    detail.holds.erase(e.hold);
    detail.debits[s.entry().seq] = DebitRecord{e.amount, e.draws, false};
  });
}

// Points coming back from `draws` of `amount`: the debt is settled first,
// the rest goes back to the same lots.
template <typename S>
bool Restore(S& s, const std::vector<LotDraw>& original, Points amount, Points debt_paid,
             const std::vector<LotDraw>& draws) {
  return s.PayDebtFrom(amount, debt_paid) &&
         s.Require(draws == internal::AfterDebt(original, debt_paid),
                   "the points do not go back to the lots they came from") &&
         s.GiveBack(draws, Points(amount.value() - debt_paid.value()));
}

template <typename S>
void Fold(S& s, const entries::HoldReleased& e) {
  const Hold* hold = OpenHold(s, e.hold, e.amount);
  if (hold == nullptr || !s.ReleaseHeld(e.amount) || !Restore(s, hold->draws, e.amount, e.debt_paid, e.draws)) return;
  s.Change([&](MemberState& member) { member.mutable_detail().holds.erase(e.hold); });
}

// The units of purchase lines a reversal returns, added to a copy of the
// accrual's record (`*returned`); false if one is not returnable. A
// reversal with units (what Decide writes for an accrual with units) must
// take back exactly those units' share of the lines' points, and the
// activity's unattributed points and counters with the last unit.
template <typename S>
bool MarkReturned(S& s, const entries::EarnReversed& e, std::vector<int64_t>* returned) {
  auto accrual = s.member().detail().accruals.find(e.credit);
  if (!s.Require(accrual != s.member().detail().accruals.end(), [&] { return absl::StrCat("no accrual ", e.credit); }) ||
      !s.Require(e.units.size() == (accrual->second.units.empty() ? 0 : e.lines.size()),
                 "its units do not match its lines")) {
    return false;
  }
  const AccrualRecord& record = accrual->second;
  *returned = record.returned_units;
  int64_t share = 0;
  for (size_t i = 0; i < e.lines.size(); ++i) {
    const uint32_t line = e.lines[i];
    const bool fits = line < returned->size() && (*returned)[line] < record.UnitsOf(line) &&
                      (e.units.empty() ? (*returned)[line] == 0 : e.units[i] >= 1 &&
                                                                      e.units[i] <= record.UnitsOf(line) - (*returned)[line]);
    if (!s.Require(fits, [&] { return absl::StrCat("line ", line, " of accrual ", e.credit, " is not returnable"); })) {
      return false;
    }
    const int64_t to = e.units.empty() ? record.UnitsOf(line) : (*returned)[line] + e.units[i];
    if (!s.Add(share, UnitsShare(record.line_points[line], record.UnitsOf(line), (*returned)[line], to).value(),
               "the returned points")) {
      return false;
    }
    (*returned)[line] = to;
  }
  if (e.units.empty()) return true;
  const bool last = record.AllUnits(*returned);
  return s.Add(share, last ? record.unattributed.value() : 0, "the returned points") &&
         s.Require(e.amount.value() == share && e.counters == (last ? record.counters : std::vector<CounterDelta>{}),
                   [&] {
                     return absl::StrCat("it reverses ", e.amount.value(), " points, but the units it returns earned ",
                                         share);
                   });
}

// A reversal takes what is left of the credit's lot first, then draws on
// the member's other lots, and only then adds debt, so that a member who
// owes points has none available. Reversals journaled before that rule
// (balance_first false) have no draws and may leave debt beside points.
template <typename S>
void Fold(S& s, const entries::EarnReversed& e) {
  Lot* lot = s.LotAt(LotId{e.credit, 0});
  // An accrual that earned nothing has no lot; returning its lines
  // reverses no points.
  if (!s.Require(lot != nullptr ? lot->origin == Lot::Origin::kCredit : e.amount.IsZero(),
                 [&] { return absl::StrCat("no credit ", e.credit); }) ||
      !s.Require(e.amount >= Points(0) && e.from_lot >= Points(0) && e.debt_added >= Points(0), "negative amounts")) {
    return;
  }
  std::vector<int64_t> returned;
  if (!e.lines.empty() && !MarkReturned(s, e, &returned)) return;
  if (!RefundFits(s, e, lot)) return;
  if (e.refund.has_value()) {
    s.Change([&](MemberState& member) {
      PointPurchase& purchase = member.mutable_detail().purchases[e.credit];
      purchase.refunded = Points(purchase.refunded.value() + e.amount.value());
      purchase.refund = Money(purchase.refund.minor_units() + e.refund->minor_units(), purchase.refund.currency());
    });
  }
  if (!s.Require(!e.lines.empty() || e.stamps.empty(), "it takes back stamps without returning lines") ||
      (!e.lines.empty() && !internal::StampsBackFit(s, e, s.member().detail().accruals.at(e.credit),
                                                    s.member().detail().accruals.at(e.credit).returned_units,
                                                    returned))) {
    return;
  }
  int64_t total = e.from_lot.value(), drawn = 0;
  for (const LotDraw& draw : e.draws) {
    if (!s.Add(drawn, draw.amount.value(), "the draws") ||
        !s.Require(draw.lot != LotId{e.credit, 0}, "it draws on the reversed credit's own lot")) {
      return;
    }
  }
  if (!s.Add(total, drawn, "the reversal") || !s.Add(total, e.debt_added.value(), "the reversal") ||
      !s.Require(total == e.amount.value(), "from_lot + draws + debt_added is not the amount") ||
      !s.Require(!e.balance_first || lot == nullptr || e.from_lot == std::min(e.amount, lot->remaining),
                 "it does not take what is left of the credit's lot first") ||
      (lot != nullptr && !s.ReverseLot(*lot, e.amount, e.from_lot)) || !s.TakeFromBalance(e.from_lot) ||
      !s.Take(e.draws, Points(drawn)) || !s.AddDebt(e.debt_added) ||
      !s.Counters(e.counters, e.counter_day, /*subtract=*/true)) {
    return;
  }
  if (!e.balance_first) {
    s.MayLeaveDebtBesidePoints();
  } else if (!s.Require(e.debt_added.IsZero() || s.balance() == 0, [&] {
               return absl::StrCat("it adds ", e.debt_added.value(), " of debt but leaves ", s.balance(),
                                   " points available");
             })) {
    return;
  }
  if (e.lines.empty()) return;
  s.Change([&](MemberState& member) {
    AccrualRecord& record = member.mutable_detail().accruals[e.credit];
    record.returned_units = std::move(returned);
    internal::TakeStampsBack(member, e.credit, record, e.stamps);
  });
}

template <typename S>
void Fold(S& s, const entries::DebitReversed& e) {
  auto it = s.member().detail().debits.find(e.debit);
  if (!s.Require(it != s.member().detail().debits.end() && !it->second.reversed && it->second.amount == e.amount,
                 [&] { return absl::StrCat("no unreversed debit ", e.debit, " of ", e.amount.value()); }) ||
      !Restore(s, it->second.draws, e.amount, e.debt_paid, e.draws)) {
    return;
  }
  s.Change([&](MemberState& member) { member.mutable_detail().debits[e.debit].reversed = true; });
}

template <typename S>
void Fold(S& s, const entries::Expired& e) {
  s.Take(e.draws, e.amount);
}

template <typename S>
void Fold(S& s, const entries::Adjusted& e) {
  if (!s.Require(!e.delta.IsZero() && e.delta != Points(INT64_MIN), "delta out of range")) return;
  if (e.delta.IsNegative()) {
    s.Take(e.draws, Points(-e.delta.value()));
    return;
  }
  s.PayDebtFrom(e.delta, e.debt_paid) &&
      s.AddLot(0, Lot::Origin::kAdjustment, e.delta, Points(e.delta.value() - e.debt_paid.value()),
               s.entry().business_time, e.expires_at);
}

// Whether `lots` are what `draws` take from the member's lots: the same
// amounts, with the dates of the lots drawn.
bool SameAsDrawn(const MemberState& member, const std::vector<LotDraw>& draws, const std::vector<TransferredLot>& lots) {
  if (draws.size() != lots.size()) return false;
  for (size_t i = 0; i < draws.size(); ++i) {
    const Lot* lot = member.FindLot(draws[i].lot);
    if (lot == nullptr || lots[i] != TransferredLot{draws[i].amount, lot->earned_at, lot->expires_at}) return false;
  }
  return true;
}

template <typename S>
void Fold(S& s, const entries::TransferredOut& e) {
  if (!s.Require(e.to != s.entry().member, "a transfer to the sending member") ||
      !s.Require(e.across || e.lots.empty(), "a transfer within the journal that lists lots") ||
      !s.Require(!e.across || SameAsDrawn(s.member(), e.draws, e.lots),
                 "the lots sent are not the lots drawn") ||
      !s.Take(e.draws, e.amount)) {
    return;
  }
  const int64_t at = s.entry().business_time.unix_micros();
  const auto& sent = s.member().detail().sent;
  auto same_time = sent.find(at);
  int64_t total = same_time != sent.end() ? same_time->second.value() : 0;
  if (!s.Add(total, e.amount.value(), "the points sent")) return;
  s.Change([&](MemberState& member) {
    MemberDetail& detail = member.mutable_detail();
    detail.sent[at] = Points(total);
    if (e.across) {
      detail.transfers_sent[s.entry().seq] =
          SentTransfer{e.to, e.amount, e.lots, s.entry().idempotency_key, s.entry().business_time};
    }
  });
}

// `lots` become lots (seq, 0), (seq, 1), ... of the member, after `paid` of
// `amount` settled debt; they must sum to what is left.
template <typename S>
bool AddTransferredLots(S& s, const std::vector<TransferredLot>& lots, Points amount, Points paid) {
  if (!s.PayDebtFrom(amount, paid)) return false;
  int64_t total = paid.value();
  for (uint32_t part = 0; part < lots.size(); ++part) {
    const TransferredLot& lot = lots[part];
    if (!s.AddLot(part, Lot::Origin::kTransfer, lot.amount, lot.amount, lot.earned_at, lot.expires_at) ||
        !s.Add(total, lot.amount.value(), "the transfer")) {
      return false;
    }
  }
  return s.Require(total == amount.value(), "the transferred lots do not sum to the amount");
}

template <typename S>
void Fold(S& s, const entries::TransferredIn& e) {
  s.Require(e.from != s.entry().member, "a transfer from the receiving member") &&
      AddTransferredLots(s, e.lots, e.amount, e.debt_paid);
}

template <typename S>
void Fold(S& s, const entries::TransferSettled& e) {
  const auto& sent = s.member().detail().transfers_sent;
  auto it = sent.find(e.transfer);
  if (!s.Require(it != sent.end(), [&] { return absl::StrCat("no transfer ", e.transfer, " is pending"); })) return;
  const SentTransfer& transfer = it->second;
  if (e.returned.IsZero()) {
    if (!s.Require(e.debt_paid.IsZero() && e.lots.empty(), "a delivered transfer that returns lots")) return;
  } else if (!s.Require(e.returned == transfer.amount, [&] {
               return absl::StrCat("returns ", e.returned.value(), " of a transfer of ", transfer.amount.value());
             }) ||
             !s.Require(e.lots == internal::AfterDebt(transfer.lots, e.debt_paid), "the lots returned are not the lots sent") ||
             !AddTransferredLots(s, e.lots, e.returned, e.debt_paid)) {
    return;
  }
  s.Change([&](MemberState& member) { member.mutable_detail().transfers_sent.erase(e.transfer); });
}

template <typename S>
void Fold(S& s, const entries::Quoted& e) {
  if (!s.Require(e.amount >= Points(0), "a negative price")) return;
  s.Change([&](MemberState& member) {
    member.mutable_detail().quotes[s.entry().seq] = Quote{e.amount, e.expires_at, e.price, s.entry().business_time};
  });
}

template <typename S>
void Fold(S& s, const entries::VersionPublished&) {
  s.Require(false, "a program version is not a member's entry");
}

template <typename S>
void Fold(S& s, const entries::EstimateRevised&) {
  s.Require(false, "a revised estimate is not a member's entry");
}

template <typename S>
void Fold(S& s, const entries::VoucherRedeemed& e) {
  const auto& vouchers = s.member().detail().vouchers;
  auto it = vouchers.find(e.voucher);
  const std::string id = absl::StrCat(e.voucher.accrual, "/", e.voucher.number);
  if (!s.Require(it != vouchers.end() && it->second.reward == e.reward,
                 [&] { return absl::StrCat("no unused voucher ", id, " for ", e.reward); }) ||
      !s.Require(s.entry().business_time < it->second.expires_at,
                 [&] { return absl::StrCat("voucher ", id, " lapsed at ", it->second.expires_at.ToString()); })) {
    return;
  }
  s.Change([&](MemberState& member) { member.mutable_detail().vouchers.erase(e.voucher); });
}

template <typename S>
void Fold(S& s, const entries::FlagChanged& e) {
  if (!s.Require(s.member().HasFlag(e.flag) != e.on,
                 [&] { return absl::StrCat("flag ", e.flag, e.on ? " is already set" : " is not set"); }) ||
      !s.Renew(e.renewals)) {
    return;
  }
  s.Change([&](MemberState& member) {
    std::vector<std::string>& flags = member.mutable_detail().flags;
    auto it = std::lower_bound(flags.begin(), flags.end(), e.flag);
    if (e.on) {
      flags.insert(it, e.flag);
    } else {
      flags.erase(it);
    }
  });
}

template <typename S>
void Fold(S& s, const entries::MembershipClosed& e) {
  if (!s.Require(!s.member().closed, "the membership is already closed")) return;
  s.Change([&](MemberState& member) {
    member.closed = true;
    member.mutable_detail().redeemable_until = e.redeemable_until;
  });
}

template <typename S>
void Fold(S& s, const entries::TierChanged& e) {
  if (!s.Renew(e.renewals)) return;
  s.Change([&](MemberState& member) {
    TierStatus& status = member.mutable_detail().status;
    if (e.paid) {
      status.paid_tier = e.tier;
      status.paid_until = e.valid_until;
      return;
    }
    status.tier = e.tier;
    status.valid_until = e.valid_until;
    status.reason = e.reason;
    status.period_first = e.period_first;
    status.period_last = e.period_last;
    status.in_grace = e.reason == "grace";
    status.lifetime_tier = e.lifetime_tier;
  });
}

// The rules every entry meets, then its kind's.
template <typename S>
void FoldEntry(S& s) {
  const Entry& entry = s.entry();
  const MemberState& member = s.member();
  const bool enrolling = std::holds_alternative<entries::Enrolled>(entry.body);
  if (!s.Require(entry.seq != 0 && entry.seq <= MemberState::kMaxSeq, "seq out of range") ||
      !s.Require(entry.seq > member.last_seq,
                 [&] { return absl::StrCat("it comes after the member's entry ", member.last_seq); }) ||
      !s.Require(member.enrolled != enrolling,
                 enrolling ? "the member is already enrolled" : "the member is not enrolled") ||
      !s.Require(enrolling || entry.business_time >= member.enrolled_at, [&] {
        return absl::StrCat("it is dated ", entry.business_time.ToString(), ", before the member's enrolment at ",
                            member.enrolled_at.ToString());
      })) {
    return;
  }
  std::visit([&](const auto& body) { Fold(s, body); }, entry.body);
  if (s.ok()) s.Finish();
}

}  // namespace

void ApplyToMember(MemberState& member, const Entry& entry) {
  Step<true> step(member, entry);
  FoldEntry(step);
}

absl::Status CheckApplicable(const MemberState& member, const Entry& entry) {
  Step<false> step(member, entry);
  FoldEntry(step);
  if (step.ok()) return absl::OkStatus();
  return absl::FailedPreconditionError(step.error());
}

absl::Status ApplyChecked(MemberState& member, const Entry& entry) {
  if (absl::Status fits = CheckApplicable(member, entry); !fits.ok()) return fits;
  ApplyToMember(member, entry);
  return absl::OkStatus();
}

}  // namespace loyalty
