// The ledger's values: entry kinds and their balance deltas, member state,
// lot look-up and spending order. How entries change the state is in
// apply.cc; interned version ids in version_ref.cc.
#include "loyalty/ledger.h"

#include <algorithm>
#include <memory>

#include "loyalty/check.h"
#include "loyalty/program.h"
#include "core/encoding.h"
#include "core/overloaded.h"
#include "core/sha256.h"

namespace loyalty {
namespace {

Points Minus(Points a, Points b) {
  auto difference = Subtract(a, b);
  LOYALTY_CHECK(difference.ok());
  return *difference;
}

using internal::Overloaded;

}  // namespace

absl::string_view EntryKindName(const EntryBody& body) {
  static constexpr absl::string_view kNames[] = {
      "enrolled",      "credited",     "debited",        "hold_placed",
      "hold_captured", "hold_released", "earn_reversed", "debit_reversed",
      "expired",       "adjusted",     "transferred_out", "transferred_in", "quoted", "version_published", "flag_changed",
      "membership_closed", "tier_changed", "transfer_settled", "estimate_revised", "voucher_redeemed"};
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
          // What is not debt came from lots: the credit's and the draws.
          [&](const EarnReversed& e) { return BalanceDelta{negate(Minus(e.amount, e.debt_added)), Points(0), e.debt_added}; },
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
          [](const EstimateRevised&) { return BalanceDelta{}; },
          [](const VoucherRedeemed&) { return BalanceDelta{}; },
          [](const FlagChanged&) { return BalanceDelta{}; },
          [](const MembershipClosed&) { return BalanceDelta{}; },
          [](const TierChanged&) { return BalanceDelta{}; },
          [&](const TransferSettled& e) {
            return BalanceDelta{Minus(e.returned, e.debt_paid), Points(0), negate(e.debt_paid)};
          },
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

bool AccrualRecord::AllUnits(const std::vector<int64_t>& returned) const {
  for (size_t line = 0; line < line_points.size(); ++line) {
    if (returned[line] != UnitsOf(line)) return false;
  }
  return true;
}

Points UnitsShare(Points points, int64_t units, int64_t from, int64_t to) {
  LOYALTY_CHECK(points >= Points(0) && 0 <= from && from <= to && to <= units && units > 0);
  auto taken = [&](int64_t returned) { return static_cast<int64_t>(Int128{points.value()} * returned / units); };
  return Points(taken(to) - taken(from));
}

Points RefundablePoints(const Lot& lot) {
  return std::max(Points(0), std::min(lot.remaining, Points(lot.earned.value() - lot.reversed.value())));
}

Money RefundOf(const PointPurchase& purchase, const Lot& lot, Points amount) {
  LOYALTY_CHECK(lot.earned > Points(0) && amount >= Points(0) && lot.reversed.value() <= lot.earned.value() - amount.value());
  const Int128 price = purchase.price.minor_units(), earned = lot.earned.value();
  auto paid_back = [&](Int128 reversed) { return DivideRounded(price * reversed, earned, Rounding::kHalfEven); };
  const Int128 share = paid_back(lot.reversed.value() + amount.value()) - paid_back(lot.reversed.value());
  return Money(static_cast<int64_t>(share), purchase.price.currency());
}

std::string CurrentTier(const TierLadder& ladder, const TierStatus& status) {
  return ladder.RankOf(status.paid_tier) > ladder.RankOf(status.tier) ? status.paid_tier : status.tier;
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

uint64_t ActivityFingerprint(absl::string_view partner, absl::string_view activity) {
  std::string bytes;
  internal::Writer w(&bytes);
  w.Bytes(partner);
  w.Bytes(activity);
  const Sha256 hash = internal::Sha256Of(bytes);
  uint64_t fingerprint = 0;
  for (int i = 7; i >= 0; --i) fingerprint = fingerprint << 8 | hash[static_cast<size_t>(i)];
  return fingerprint;
}

}  // namespace loyalty

