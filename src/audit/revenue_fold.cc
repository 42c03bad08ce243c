// The revenue fold: allocation at issuance, the points' flows by cohort,
// and the estimates in force.
#include "audit/revenue_fold.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "core/overloaded.h"
#include "loyalty/command.h"

namespace loyalty::internal {
namespace {

absl::Status Overflow(const Entry& entry) {
  return absl::OutOfRangeError(absl::StrCat("journal entry ", entry.seq, ": its allocation overflows"));
}

// The money an activity was sold for, in minor units; nullopt if it
// carries no price.
absl::StatusOr<std::optional<Money>> ActivityPrice(const Activity& activity, const Currency& currency) {
  return std::visit(
      internal::Overloaded{
          [&](const Purchase& purchase) -> absl::StatusOr<std::optional<Money>> {
            Money total(0, currency);
            for (const PurchaseLine& line : purchase.lines) {
              Int128 line_total = static_cast<Int128>(line.unit_price.minor_units()) * line.quantity;
              if (line_total > INT64_MAX || line_total < INT64_MIN) return absl::OutOfRangeError("purchase total");
              auto sum = Add(total, Money(static_cast<int64_t>(line_total), line.unit_price.currency()));
              if (!sum.ok()) return sum.status();
              total = *sum;
            }
            return std::optional<Money>(total);
          },
          [](const FlightSegment& flight) -> absl::StatusOr<std::optional<Money>> { return flight.ticket_price; },
          [](const CustomActivity& custom) -> absl::StatusOr<std::optional<Money>> { return custom.amount; },
      },
      activity.detail);
}

}  // namespace

int RevenueFold::CohortOf(Instant at) const {
  // Out of range only in an entry that does not fit, which the caller reports.
  if (!CheckBusinessTime("", at).ok()) return 0;
  return program_.zone().LocalDate(at).year();
}

void RevenueFold::Move(const Entry& entry, int cohort, Int128 CohortTotals::*field, Int128 delta) {
  if (entry.business_time >= options_.to) return;
  CohortFold& fold = cohorts_[cohort];
  fold.before_to.*field += delta;
  if (entry.business_time < options_.from) {
    fold.before_from.*field += delta;
    return;
  }
  if (field == &CohortTotals::redeemed) fold.redeemed_in_period += delta;
  if (field == &CohortTotals::redeemed || field == &CohortTotals::expired) {
    if (fold.period_seqs.empty() || fold.period_seqs.back() != entry.seq) fold.period_seqs.push_back(entry.seq);
  }
}

void RevenueFold::MoveDraws(const Entry& entry, const MemberState* member, const std::vector<LotDraw>& draws,
                            Int128 CohortTotals::*field, int sign) {
  for (const LotDraw& draw : draws) {
    const Lot* lot = member == nullptr ? nullptr : member->FindLot(draw.lot);
    if (lot == nullptr) continue;  // the entry does not fit: the caller reports it
    Move(entry, CohortOf(lot->earned_at), field, sign * static_cast<Int128>(draw.amount.value()));
  }
}

void RevenueFold::MoveLots(const Entry& entry, const std::vector<TransferredLot>& lots) {
  for (const TransferredLot& lot : lots) {
    Move(entry, CohortOf(lot.earned_at), &CohortTotals::issued, lot.amount.value());
  }
}

// The points of a released hold that settle debt leave their lots for good:
// the hold's draws less those given back.
void RevenueFold::MoveHoldRelease(const Entry& entry, const MemberState* member,
                                  const entries::HoldReleased& release) {
  if (member == nullptr || release.debt_paid.value() == 0) return;
  auto hold = member->detail().holds.find(release.hold);
  if (hold == member->detail().holds.end()) return;  // does not fit: reported by the caller
  std::map<LotId, Int128> kept;
  for (const LotDraw& draw : hold->second.draws) kept[draw.lot] += draw.amount.value();
  for (const LotDraw& draw : release.draws) kept[draw.lot] -= draw.amount.value();
  for (const auto& [id, amount] : kept) {
    const Lot* lot = member->FindLot(id);
    if (lot != nullptr && amount != 0) Move(entry, CohortOf(lot->earned_at), &CohortTotals::issued, -amount);
  }
}

absl::Status RevenueFold::Add(const Entry& entry, const MemberState* member) {
  if (const auto* revised = std::get_if<entries::EstimateRevised>(&entry.body)) {
    EstimateChange change{entry.seq, entry.business_time, static_cast<int>(revised->cohort),
                          revised->expected_redemption_rate, revised->actor, revised->reason};
    revisions_.push_back({std::move(change), entry.business_time});
    return absl::OkStatus();
  }
  // A command that released lapsed holds first records itself on the first
  // release, not on its credit.
  if (!entry.command.empty() && std::holds_alternative<entries::HoldReleased>(entry.body)) recorded_ = entry;
  const int here = CohortOf(entry.business_time);
  using T = CohortTotals;
  return std::visit(
      Overloaded{
          [&](const entries::Credited& e) {
            Move(entry, here, &T::issued, static_cast<Int128>(e.amount.value()) - e.debt_paid.value());
            return Allocate(entry, e);
          },
          [&](const entries::Adjusted& e) {
            if (e.delta.value() > 0) {
              Move(entry, here, &T::issued, static_cast<Int128>(e.delta.value()) - e.debt_paid.value());
            }
            MoveDraws(entry, member, e.draws, &T::issued, -1);
            return absl::OkStatus();
          },
          [&](const entries::Debited& e) {
            MoveDraws(entry, member, e.draws, &T::redeemed, 1);
            return absl::OkStatus();
          },
          [&](const entries::HoldCaptured& e) {
            MoveDraws(entry, member, e.draws, &T::redeemed, 1);
            return absl::OkStatus();
          },
          [&](const entries::DebitReversed& e) {
            MoveDraws(entry, member, e.draws, &T::redeemed, -1);
            return absl::OkStatus();
          },
          [&](const entries::Expired& e) {
            MoveDraws(entry, member, e.draws, &T::expired, 1);
            return absl::OkStatus();
          },
          [&](const entries::HoldReleased& e) {
            MoveHoldRelease(entry, member, e);
            return absl::OkStatus();
          },
          [&](const entries::EarnReversed& e) {
            const Lot* lot = member == nullptr ? nullptr : member->FindLot(LotId{e.credit, 0});
            if (lot != nullptr) Move(entry, CohortOf(lot->earned_at), &T::issued, -e.from_lot.value());
            MoveDraws(entry, member, e.draws, &T::issued, -1);
            return TakeBack(entry, e, lot);
          },
          [&](const entries::TransferredOut& e) {
            MoveDraws(entry, member, e.draws, &T::issued, -1);
            return absl::OkStatus();
          },
          [&](const entries::TransferredIn& e) {
            MoveLots(entry, e.lots);
            return absl::OkStatus();
          },
          [&](const entries::TransferSettled& e) {
            MoveLots(entry, e.lots);
            return absl::OkStatus();
          },
          [](const auto&) { return absl::OkStatus(); },
      },
      entry.body);
}

Rate RevenueFold::RateAt(int cohort, Instant at) const {
  // (effective, a revision, seq): the latest wins.
  std::optional<std::tuple<Instant, bool, uint64_t>> best;
  std::optional<Rate> rate;
  auto consider = [&](std::tuple<Instant, bool, uint64_t> when, const Rate& candidate) {
    if (std::get<0>(when) > at || (best && when < *best)) return;
    best = when;
    rate = candidate;
  };
  for (const auto& version : program_.versions()) {
    if (version->accounting) consider({version->effective_from, false, 0}, version->accounting->RedemptionRateOf(cohort));
  }
  for (const Revision& r : revisions_) {
    if (r.change.cohort == 0 || r.change.cohort == cohort) consider({r.effective, true, r.change.seq}, r.change.expected_redemption_rate);
  }
  if (rate) return *rate;
  for (const auto& version : program_.versions()) {  // before every estimate: the first one
    if (version->accounting) return version->accounting->RedemptionRateOf(cohort);
  }
  return *Rate::Parse("1");  // unreachable: RecogniseRevenue requires a section
}

absl::StatusOr<std::optional<Activity>> RevenueFold::ActivityOf(const Entry& entry) {
  const Entry* recorded = !entry.command.empty() ? &entry : nullptr;
  if (recorded == nullptr && recorded_ && recorded_->idempotency_key == entry.idempotency_key) recorded = &*recorded_;
  if (recorded == nullptr) return std::optional<Activity>();  // not recorded (an older journal): unknown
  auto command = RecordedCommandOf(*recorded);
  if (!command.ok()) return command.status();
  const auto* member_command = std::get_if<Command>(&*command);
  const auto* accrue = member_command == nullptr ? nullptr : std::get_if<Accrue>(member_command);
  if (accrue == nullptr) return std::optional<Activity>();
  return std::optional<Activity>(accrue->activity);
}

// The amount a credit allocates to its points, in minor units, rounded
// half-even once.
absl::StatusOr<Int128> RevenueFold::AllocationOf(const Entry& entry, const entries::Credited& credit, int cohort,
                                                 bool& funded) {
  const ProgramVersion* version = program_.Find(entry.version);
  if (version == nullptr || !version->accounting) return 0;
  const Accounting& accounting = *version->accounting;
  const Int128 points = credit.amount.value();
  const Int128 minor = PowerOfTen(version->currency.exponent());
  auto per_point = [&](const Rate& rate) -> absl::StatusOr<Int128> {
    funded = true;
    Int128 n;
    if (__builtin_mul_overflow(points * rate.mantissa(), minor, &n)) return Overflow(entry);
    return DivideRounded(n, PowerOfTen(rate.scale()), Rounding::kHalfEven);
  };
  // Bought points defer all of their price.
  if (credit.price.has_value()) {
    funded = true;
    if (credit.price->currency() != version->currency) {
      return absl::FailedPreconditionError(absl::StrCat("journal entry ", entry.seq, ": its points were bought in ",
                                                        credit.price->currency().code(), ", the program is in ",
                                                        version->currency.code()));
    }
    return credit.price->minor_units();
  }
  // A partner of a version without a partners section is a shop of the
  // operator's own, not a coalition partner.
  if (!entry.partner.empty() && !version->partners.empty()) {
    const Partner* partner = version->FindPartner(entry.partner);
    if (partner == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("journal entry ", entry.seq, " names partner \"",
                                                        entry.partner, "\", which its version ", version->id,
                                                        " does not define"));
    }
    return per_point(partner->funding_per_point);
  }
  if (credit.activity.empty()) {
    auto source = accounting.credit_sources.find(credit.source);
    if (source == accounting.credit_sources.end()) return 0;
    return per_point(source->second);
  }
  auto activity = ActivityOf(entry);
  if (!activity.ok()) return activity.status();
  if (!activity->has_value()) return 0;
  if (const auto* custom = std::get_if<CustomActivity>(&(*activity)->detail)) {
    auto source = accounting.credit_sources.find(custom->type);
    if (source != accounting.credit_sources.end()) return per_point(source->second);
  }
  auto price = ActivityPrice(**activity, version->currency);
  if (!price.ok()) return price.status();
  if (!price->has_value() || (*price)->minor_units() <= 0) return 0;
  if ((*price)->currency() != version->currency) {
    return absl::FailedPreconditionError(absl::StrCat("journal entry ", entry.seq, ": its activity is priced in ",
                                                      (*price)->currency().code(), ", the program in ",
                                                      version->currency.code()));
  }
  // SSP of the points = points x value x rate = ssp_n / ssp_d minor units;
  // allocated = price x SSP / (price + SSP).
  const Rate& value = accounting.standalone_value_per_point;
  const Rate rate = RateAt(cohort, entry.business_time);
  const Int128 price_minor = (*price)->minor_units();
  Int128 ssp_n, numerator, denominator;
  const Int128 ssp_d = PowerOfTen(value.scale() + rate.scale());
  if (__builtin_mul_overflow(points * value.mantissa(), static_cast<Int128>(rate.mantissa()) * minor, &ssp_n) ||
      __builtin_mul_overflow(price_minor, ssp_n, &numerator) ||
      __builtin_mul_overflow(price_minor, ssp_d, &denominator) ||
      __builtin_add_overflow(denominator, ssp_n, &denominator)) {
    return Overflow(entry);
  }
  return DivideRounded(numerator, denominator, Rounding::kHalfEven);
}

absl::Status RevenueFold::Allocate(const Entry& entry, const entries::Credited& credit) {
  const int cohort = CohortOf(entry.business_time);
  bool funded = false;
  auto amount = AllocationOf(entry, credit, cohort, funded);
  if (!amount.ok()) return amount.status();
  if (*amount > INT64_MAX) return Overflow(entry);
  if (*amount != 0) credits_[entry.seq] = CreditAllocation{static_cast<int64_t>(*amount), cohort, funded};
  Move(entry, cohort, &CohortTotals::allocated, *amount);
  const bool in_period = entry.business_time >= options_.from && entry.business_time < options_.to;
  if (!in_period) return absl::OkStatus();
  cohorts_[cohort].deferred += *amount;
  if (*amount == 0) not_deferred_ += credit.amount.value();
  const ProgramVersion* version = program_.Find(entry.version);
  if (!entry.partner.empty() && version != nullptr && version->FindPartner(entry.partner) != nullptr) {
    auto& [points, deferred] = partners_[entry.partner];
    points += credit.amount.value();
    deferred += *amount;
  }
  Post(entry, cohort, *amount, funded, false);
  return absl::OkStatus();
}

// A reversal's share of its credit's allocation, in proportion to points
// and rounded cumulatively: allocated x reversed / earned after the
// reversal less the same before it, so that the reversal of the last points
// takes exactly what is left. `lot`: the credit's lot before the reversal.
absl::Status RevenueFold::TakeBack(const Entry& entry, const entries::EarnReversed& reversal, const Lot* lot) {
  auto it = credits_.find(reversal.credit);
  if (it == credits_.end() || lot == nullptr) return absl::OkStatus();  // nothing allocated, or does not fit
  const CreditAllocation& credit = it->second;
  const Int128 earned = lot->earned.value();
  const Int128 before = lot->reversed.value();
  const Int128 after = std::min(before + reversal.amount.value(), earned);
  const Int128 share = DivideRounded(credit.amount * after, earned, Rounding::kHalfEven) -
                       DivideRounded(credit.amount * before, earned, Rounding::kHalfEven);
  Move(entry, credit.cohort, &CohortTotals::allocated, -share);
  if (entry.business_time >= options_.from && entry.business_time < options_.to) {
    cohorts_[credit.cohort].reversed += share;
    Post(entry, credit.cohort, share, credit.funded, true);
  }
  return absl::OkStatus();
}

void RevenueFold::Post(const Entry& entry, int cohort, Int128 amount, bool funded, bool reversal) {
  if (amount == 0) return;
  PostingKey key{program_.zone().LocalDate(entry.business_time).days_since_epoch(), cohort, entry.partner, funded,
                 reversal};
  Posting& posting = postings_[key];
  posting.amount += amount;
  posting.seqs.push_back(entry.seq);
}

}  // namespace loyalty::internal
