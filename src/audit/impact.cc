// Devaluation impact: the pool and whole-award metrics, the per-member loss
// distribution, the grandfathering options side by side, and quotes and
// holds open at the change.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/divider.h"
#include "loyalty/audit/impact.h"
#include "loyalty/check.h"

namespace loyalty {

namespace {

absl::Status Overflow(absl::string_view what) {
  return absl::OutOfRangeError(absl::StrCat(what, " overflows"));
}

absl::StatusOr<int64_t> Narrow(Int128 value, absl::string_view what) {
  if (value > INT64_MAX || value < INT64_MIN) return Overflow(what);
  return static_cast<int64_t>(value);
}

absl::StatusOr<Money> Times(int64_t count, const Money& unit, absl::string_view what) {
  int64_t minor;
  if (__builtin_mul_overflow(count, unit.minor_units(), &minor)) return Overflow(what);
  return Money(minor, unit.currency());
}

// Nearest-rank percentiles of `values` (reordered).
Percentiles PercentilesOf(std::vector<int64_t>& values) {
  Percentiles result;
  if (values.empty()) return result;
  const size_t n = values.size();
  auto at_rank = [&](int percent) {
    // rank = ceil(percent / 100 * n), 1-based.
    size_t rank = (static_cast<size_t>(percent) * n + 99) / 100;
    if (rank == 0) rank = 1;
    std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(rank - 1), values.end());
    return values[rank - 1];
  };
  result.p50 = at_rank(50);
  result.p90 = at_rank(90);
  result.p99 = at_rank(99);
  result.max = *std::max_element(values.begin(), values.end());
  return result;
}

// Whole awards a member buys with `protected_points` at the old price (the
// share of an award they cover, the rest at the new price rounded up, as
// PriceReward prices earned_before) and `other` points at the new price,
// spending protected points first.
int64_t WholeAwardsProtected(int64_t protected_points, int64_t other, int64_t before, int64_t after) {
  if (after <= before) return (protected_points + other) / after;  // no devaluation to protect from
  int64_t awards = protected_points / before;
  int64_t left = protected_points % before;
  if (left > 0) {
    // The rest of one award: ceil((before - left) x after / before) new points.
    Int128 needed = DivideRounded(static_cast<Int128>(before - left) * after, before, Rounding::kUp);
    if (needed <= other) {
      ++awards;
      other -= static_cast<int64_t>(needed);
    } else {
      return awards;  // the protected rest cannot complete an award; nor can the others alone
    }
  }
  return awards + other / after;
}

// The running totals of one pass over the members.
struct Accumulator {
  Int128 outstanding = 0;
  int64_t awards_before = 0;
  int64_t awards_after = 0;
  int64_t with_award = 0;
  std::vector<int64_t> awards_lost;  // of affected members
  std::vector<int64_t> shortfall;
  std::vector<int64_t> histogram = std::vector<int64_t>(DevaluationImpact::kHistogramBuckets, 0);
};

absl::Status CheckInputs(const Transition& transition, const ImpactOptions& options) {
  if (transition.price_before <= Points(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("transition.price_before: ", transition.price_before.value(), " is not positive"));
  }
  if (transition.price_after <= Points(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("transition.price_after: ", transition.price_after.value(), " is not positive"));
  }
  if (options.value_per_award.minor_units() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("value_per_award: ", options.value_per_award.ToString(), " is negative"));
  }
  if (options.notice_days < 0) {
    return absl::InvalidArgumentError(absl::StrCat("notice_days: ", options.notice_days, " is negative"));
  }
  return absl::OkStatus();
}

// The pass over plain balances: the hot loop.
absl::Status Accumulate(std::span<const int64_t> balances, int64_t before, int64_t after, Accumulator& acc) {
  const internal::Divider by_before(static_cast<uint64_t>(before));
  const internal::Divider by_after(static_cast<uint64_t>(after));
  const int64_t threshold = std::min(before, after);  // below it, no award either way
  Int128 outstanding = 0;
  uint64_t awards_before = 0, awards_after = 0, with_award = 0;
  bool negative = false;
  for (const int64_t balance : balances) {
    outstanding += balance;
    negative |= balance < 0;
    if (balance < threshold) continue;
    const uint64_t b = static_cast<uint64_t>(balance);
    const uint64_t n_before = by_before.Divide(b);
    const uint64_t n_after = by_after.Divide(b);
    awards_before += n_before;
    awards_after += n_after;
    with_award += n_before > 0;
    if (n_after < n_before) [[unlikely]] {
      const int64_t lost = static_cast<int64_t>(n_before - n_after);
      acc.awards_lost.push_back(lost);
      // n_before x after - b, in 128 bits (clamped for the distribution).
      Int128 shortfall = static_cast<Int128>(n_before) * after - balance;
      acc.shortfall.push_back(shortfall > INT64_MAX ? INT64_MAX : static_cast<int64_t>(shortfall));
      ++acc.histogram[static_cast<size_t>(std::min<int64_t>(lost, DevaluationImpact::kHistogramBuckets) - 1)];
    }
  }
  if (negative) {
    for (size_t i = 0; i < balances.size(); ++i) {
      if (balances[i] < 0) {
        return absl::InvalidArgumentError(absl::StrCat("balances[", i, "]: ", balances[i], " is negative"));
      }
    }
  }
  acc.outstanding += outstanding;
  acc.awards_before += static_cast<int64_t>(awards_before);
  acc.awards_after += static_cast<int64_t>(awards_after);
  acc.with_award += static_cast<int64_t>(with_award);
  return absl::OkStatus();
}

// The figures every source shares, from the accumulated totals. The
// options get "none" filled in; the caller adds the others.
absl::StatusOr<DevaluationImpact> Summarize(const Transition& transition, int64_t members, Accumulator& acc,
                                            const ImpactOptions& options) {
  DevaluationImpact impact;
  impact.transition = transition;
  impact.members = members;
  auto outstanding = Narrow(acc.outstanding, "outstanding points");
  if (!outstanding.ok()) return outstanding.status();
  impact.outstanding = Points(*outstanding);
  const int64_t before = transition.price_before.value();
  const int64_t after = transition.price_after.value();
  impact.pool_awards_before = Fraction{*outstanding, before};
  impact.pool_awards_after = Fraction{*outstanding, after};
  // value x outstanding x (after - before) / (before x after), in minor units.
  Int128 numerator;
  if (__builtin_mul_overflow(static_cast<Int128>(options.value_per_award.minor_units()),
                             static_cast<Int128>(*outstanding), &numerator) ||
      __builtin_mul_overflow(numerator, static_cast<Int128>(after) - before, &numerator)) {
    return Overflow("pool value lost");
  }
  impact.pool_value_lost_minor = Fraction{numerator, static_cast<Int128>(before) * after};
  auto pool_minor = Narrow(impact.pool_value_lost_minor.Rounded(Rounding::kHalfEven), "pool value lost");
  if (!pool_minor.ok()) return pool_minor.status();
  impact.pool_value_lost = Money(*pool_minor, options.value_per_award.currency());

  impact.whole_awards_before = acc.awards_before;
  impact.whole_awards_after = acc.awards_after;
  impact.whole_awards_lost = acc.awards_before - acc.awards_after;
  auto whole_value = Times(impact.whole_awards_lost, options.value_per_award, "whole-award value lost");
  if (!whole_value.ok()) return whole_value.status();
  impact.whole_value_lost = *whole_value;
  impact.members_affected = static_cast<int64_t>(acc.awards_lost.size());
  impact.members_with_award_before = acc.with_award;
  std::vector<int64_t> money(acc.awards_lost.size());
  for (size_t i = 0; i < money.size(); ++i) {
    if (__builtin_mul_overflow(acc.awards_lost[i], options.value_per_award.minor_units(), &money[i])) {
      return Overflow("a member's money lost");
    }
  }
  impact.awards_lost = PercentilesOf(acc.awards_lost);
  impact.shortfall = PercentilesOf(acc.shortfall);
  impact.money_lost_minor = PercentilesOf(money);
  impact.histogram = acc.histogram;
  GrandfatheringOutcome none;
  none.option = "none";
  none.facts = absl::StrCat("every award at ", after, " points from ", transition.effective_from.ToString());
  none.whole_awards = acc.awards_after;
  none.value_protected = Money(0, options.value_per_award.currency());
  impact.options.push_back(none);
  return impact;
}

// An option that keeps the old price for every award booked before
// `until`: as of options.as_of, all awards or none.
absl::StatusOr<GrandfatheringOutcome> BookedBefore(const DevaluationImpact& impact, std::string option,
                                                   std::string facts, Instant until, const ImpactOptions& options) {
  GrandfatheringOutcome outcome;
  outcome.option = std::move(option);
  bool protects = options.as_of < until;
  outcome.facts = absl::StrCat(facts, "; as of ", options.as_of.ToString(),
                               protects ? ": every award can still be booked at the old price"
                                        : ": its date has passed, nothing is protected");
  outcome.whole_awards = protects ? impact.whole_awards_before : impact.whole_awards_after;
  outcome.awards_protected = outcome.whole_awards - impact.whole_awards_after;
  outcome.members_protected = protects ? impact.members_affected : 0;
  auto value = Times(outcome.awards_protected, options.value_per_award, "value protected");
  if (!value.ok()) return value.status();
  outcome.value_protected = *value;
  return outcome;
}

Instant DefaultBookBy(const Transition& transition, const ImpactOptions& options) {
  if (options.book_by) return *options.book_by;
  // Three months after the effective date, as a civil date in UTC.
  TimeZone utc = TimeZone::Utc();
  return utc.StartOfDay(AddMonths(utc.LocalDate(transition.effective_from), 3));
}

Instant NoticeEnd(const Transition& transition, const ImpactOptions& options) {
  int64_t micros;
  if (__builtin_mul_overflow(options.notice_days, int64_t{86'400'000'000}, &micros) ||
      __builtin_add_overflow(transition.announced_at.unix_micros(), micros, &micros)) {
    return Instant::Max();
  }
  return std::max(transition.effective_from, Instant::FromUnixMicros(micros));
}

// book_by and the longer notice: the same for every source.
absl::Status AddDatedOptions(DevaluationImpact& impact, const ImpactOptions& options) {
  const Transition& t = impact.transition;
  Instant book_by = DefaultBookBy(t, options);
  auto booked = BookedBefore(impact, "book_by", absl::StrCat("awards booked before ", book_by.ToString(),
                                                             " at the old price"),
                             book_by, options);
  if (!booked.ok()) return booked.status();
  Instant notice_end = NoticeEnd(t, options);
  auto notice = BookedBefore(impact, absl::StrCat("notice_", options.notice_days, "_days"),
                             absl::StrCat(options.notice_days, " days of notice from ", t.announced_at.ToString(),
                                          ": the old price until ", notice_end.ToString()),
                             notice_end, options);
  if (!notice.ok()) return notice.status();
  impact.options.push_back(*std::move(booked));
  impact.options.push_back(*std::move(notice));
  return absl::OkStatus();
}

// An option computed member by member from (protected, other) points.
struct MemberSplit {
  int64_t protected_points;
  int64_t other;
};

absl::StatusOr<GrandfatheringOutcome> ProtectedOutcome(const DevaluationImpact& impact, std::string option,
                                                       std::string facts, std::span<const MemberSplit> members,
                                                       const ImpactOptions& options) {
  GrandfatheringOutcome outcome;
  outcome.option = std::move(option);
  outcome.facts = std::move(facts);
  const int64_t before = impact.transition.price_before.value();
  const int64_t after = impact.transition.price_after.value();
  for (const MemberSplit& m : members) {
    int64_t awards = WholeAwardsProtected(m.protected_points, m.other, before, after);
    int64_t without = (m.protected_points + m.other) / after;
    outcome.whole_awards += awards;
    outcome.members_protected += awards > without;
  }
  outcome.awards_protected = outcome.whole_awards - impact.whole_awards_after;
  auto value = Times(outcome.awards_protected, options.value_per_award, "value protected");
  if (!value.ok()) return value.status();
  outcome.value_protected = *value;
  return outcome;
}

}  // namespace

absl::StatusOr<Transition> TransitionOf(const Program& program, absl::string_view before, absl::string_view after,
                                        absl::string_view reward) {
  const ProgramVersion* a = program.Find(before);
  if (a == nullptr) return absl::NotFoundError(absl::StrCat("before: no program version \"", before, "\""));
  const ProgramVersion* b = program.Find(after);
  if (b == nullptr) return absl::NotFoundError(absl::StrCat("after: no program version \"", after, "\""));
  if (b->effective_from <= a->effective_from) {
    return absl::InvalidArgumentError(
        absl::StrCat("after: version ", after, " does not take effect after version ", before));
  }
  auto price_a = a->PriceOf(reward);
  if (!price_a.ok()) return absl::NotFoundError(absl::StrCat("reward: ", price_a.status().message()));
  auto price_b = b->PriceOf(reward);
  if (!price_b.ok()) return absl::NotFoundError(absl::StrCat("reward: ", price_b.status().message()));
  return Transition{std::string(reward), a->id, b->id, *price_a, *price_b, b->announced_at, b->effective_from,
                    b->grandfathering};
}

absl::StatusOr<DevaluationImpact> ImpactOfBalances(const Transition& transition, std::span<const int64_t> balances,
                                                   const ImpactOptions& options) {
  if (absl::Status inputs = CheckInputs(transition, options); !inputs.ok()) return inputs;
  Accumulator acc;
  if (absl::Status pass = Accumulate(balances, transition.price_before.value(), transition.price_after.value(), acc);
      !pass.ok()) {
    return pass;
  }
  auto impact = Summarize(transition, static_cast<int64_t>(balances.size()), acc, options);
  if (!impact.ok()) return impact.status();
  // Plain balances: every point was earned before the change, so
  // earned_before keeps every award the balance bought (while spendable).
  const Grandfathering& declared = transition.declared;
  auto all_protected = [&](std::string option, std::string facts, bool protects) {
    GrandfatheringOutcome outcome;
    outcome.option = std::move(option);
    outcome.facts = std::move(facts);
    outcome.whole_awards = protects ? impact->whole_awards_before : impact->whole_awards_after;
    outcome.awards_protected = outcome.whole_awards - impact->whole_awards_after;
    outcome.members_protected = protects ? impact->members_affected : 0;
    outcome.value_protected = Money(outcome.awards_protected * options.value_per_award.minor_units(),
                                    options.value_per_award.currency());  // <= whole_value_lost: no overflow
    return outcome;
  };
  // As declared.
  {
    bool book_by = declared.book_by && options.as_of < *declared.book_by;
    bool earned_before = declared.earned_before && (!declared.spend_until || options.as_of < *declared.spend_until);
    std::string facts;
    if (declared.book_by) absl::StrAppend(&facts, "book_by ", declared.book_by->ToString(), "; ");
    if (declared.earned_before) {
      absl::StrAppend(&facts, "earned_before ", declared.earned_before->ToString(), " spendable until ",
                      declared.spend_until ? declared.spend_until->ToString() : "never ends", "; ");
    }
    if (declared.price_lock) absl::StrAppend(&facts, "price_lock (quotes and holds only); ");
    if (facts.empty()) facts = "nothing declared; ";
    absl::StrAppend(&facts, "plain balances count as earned before the change");
    impact->options.push_back(all_protected("as_declared", facts, book_by || earned_before));
  }
  impact->options.push_back(all_protected(
      "earned_before",
      absl::StrCat("points earned before ", transition.effective_from.ToString(), " at the old price, no spend limit"),
      true));
  if (absl::Status dated = AddDatedOptions(*impact, options); !dated.ok()) return dated;
  return impact;
}

absl::StatusOr<DevaluationImpact> ImpactOnMembers(const Transition& transition,
                                                  std::span<const MemberState* const> members,
                                                  const ImpactOptions& options) {
  if (absl::Status inputs = CheckInputs(transition, options); !inputs.ok()) return inputs;
  std::vector<int64_t> balances;
  balances.reserve(members.size());
  for (const MemberState* member : members) balances.push_back(member->balance.value());
  Accumulator acc;
  if (absl::Status pass = Accumulate(balances, transition.price_before.value(), transition.price_after.value(), acc);
      !pass.ok()) {
    return pass;
  }
  auto impact = Summarize(transition, static_cast<int64_t>(members.size()), acc, options);
  if (!impact.ok()) return impact.status();

  // Points in lots earned before `cutoff` that are still valid as of as_of.
  auto split = [&](Instant cutoff) {
    std::vector<MemberSplit> splits;
    splits.reserve(members.size());
    for (const MemberState* member : members) {
      int64_t protected_points = 0;
      for (const Lot& lot : member->lots) {
        if (lot.remaining > Points(0) && lot.earned_at < cutoff) protected_points += lot.remaining.value();
      }
      splits.push_back({protected_points, member->balance.value() - protected_points});
    }
    return splits;
  };
  const Grandfathering& declared = transition.declared;
  {
    std::string facts;
    std::vector<MemberSplit> splits;
    if (declared.book_by && options.as_of < *declared.book_by) {
      facts = absl::StrCat("book_by ", declared.book_by->ToString(), ": every award at the old price as of ",
                           options.as_of.ToString());
      for (int64_t balance : balances) splits.push_back({balance, 0});
    } else if (declared.earned_before && (!declared.spend_until || options.as_of < *declared.spend_until)) {
      facts = absl::StrCat("earned_before ", declared.earned_before->ToString(), ": lots earned before it");
      splits = split(*declared.earned_before);
    } else {
      facts = declared.price_lock ? "price_lock: quotes and holds only (see open_at_change)" : "nothing declared";
      for (int64_t balance : balances) splits.push_back({0, balance});
    }
    auto outcome = ProtectedOutcome(*impact, "as_declared", facts, splits, options);
    if (!outcome.ok()) return outcome.status();
    impact->options.push_back(*std::move(outcome));
  }
  {
    auto outcome = ProtectedOutcome(
        *impact, "earned_before",
        absl::StrCat("lots earned before ", transition.effective_from.ToString(), " at the old price, no spend limit"),
        split(transition.effective_from), options);
    if (!outcome.ok()) return outcome.status();
    impact->options.push_back(*std::move(outcome));
  }
  if (absl::Status dated = AddDatedOptions(*impact, options); !dated.ok()) return dated;

  OpenAtChange open;
  open.price_lock = declared.price_lock;
  const int64_t increase = transition.price_after.value() - transition.price_before.value();
  auto counts = [&](const RewardPrice& price, Instant placed, Instant expires) {
    return price.reward == transition.reward && placed < transition.effective_from &&
           expires > transition.effective_from;
  };
  for (const MemberState* member : members) {
    for (const auto& [seq, hold] : member->detail().holds) {
      if (!counts(hold.price, hold.placed_at, hold.expires_at)) continue;
      ++open.holds;
      open.held = Points(open.held.value() + hold.amount.value());
      if (hold.price.version == transition.version_before) {
        ++open.priced_before;
        if (increase > 0) open.repricing = Points(open.repricing.value() + increase);
      }
    }
    for (const auto& [seq, quote] : member->detail().quotes) {
      if (!counts(quote.price, quote.quoted_at, quote.expires_at)) continue;
      ++open.quotes;
      open.quoted = Points(open.quoted.value() + quote.amount.value());
      if (quote.price.version == transition.version_before) {
        ++open.priced_before;
        if (increase > 0) open.repricing = Points(open.repricing.value() + increase);
      }
    }
  }
  impact->open_at_change = open;
  return impact;
}

}  // namespace loyalty
