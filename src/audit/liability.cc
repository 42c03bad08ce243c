// The liability roll-forward: outstanding points over a period, by kind of
// movement, valued; breakage by earning cohort.
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "store/chain_check.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/liability.h"
#include "loyalty/check.h"
#include "core/overloaded.h"

namespace loyalty {

namespace {

using internal::Overloaded;

// Checked sums in 128 bits, narrowed at the end.
struct Movements {
  Int128 opening = 0, issued = 0, redeemed = 0, expired = 0, earn_reversed = 0, redemption_reversed = 0,
         adjusted = 0, transferred = 0;
  Int128 available = 0, held = 0, debt = 0;  // closing parts
};

// The line of the roll-forward an entry's change in outstanding points
// goes to, and its sign there (lines count redemptions, expiries and
// reversals of earnings as positive); none for holds placed and released,
// which move points between available and held, and for entries that move
// none.
std::pair<Int128 Movements::*, int> LineOf(const EntryBody& body) {
  return std::visit(
      Overloaded{
          [](const entries::Credited&) { return std::pair(&Movements::issued, 1); },
          [](const entries::Debited&) { return std::pair(&Movements::redeemed, -1); },
          [](const entries::HoldCaptured&) { return std::pair(&Movements::redeemed, -1); },
          [](const entries::Expired&) { return std::pair(&Movements::expired, -1); },
          [](const entries::EarnReversed&) { return std::pair(&Movements::earn_reversed, -1); },
          [](const entries::DebitReversed&) { return std::pair(&Movements::redemption_reversed, 1); },
          [](const entries::Adjusted&) { return std::pair(&Movements::adjusted, 1); },
          [](const entries::TransferredOut&) { return std::pair(&Movements::transferred, 1); },
          [](const entries::TransferredIn&) { return std::pair(&Movements::transferred, 1); },
          [](const entries::TransferSettled&) { return std::pair(&Movements::transferred, 1); },
          [](const auto&) { return std::pair<Int128 Movements::*, int>(nullptr, 0); },
      },
      body);
}

struct Cohort {
  Int128 redeemed = 0;
  Int128 expired = 0;
};

// Folds the entries of `store`, verified, into `m` and `cohorts`.
absl::Status FoldJournal(const Store& store, const internal::Chain& chain, const TimeZone& zone,
                         const LiabilityOptions& options, Movements& m, std::map<int, Cohort>& cohorts) {
  // States, to find the lot a draw came from (and its earning date).
  internal::JournalProjection journal({.links = store.KeepsMemberLinks()});
  absl::Status admitted;  // the first entry that does not fit
  auto cohort_add = [&](const MemberState* member, const std::vector<LotDraw>& draws, Int128 Cohort::*field,
                        int sign) {
    for (const LotDraw& draw : draws) {
      const Lot* lot = member == nullptr ? nullptr : member->FindLot(draw.lot);
      if (lot == nullptr) continue;  // the entry does not fit: reported below
      cohorts[zone.LocalDate(lot->earned_at).year()].*field += sign * static_cast<Int128>(draw.amount.value());
    }
  };
  internal::ChainCheck check = internal::CheckChain(store, chain, [&](const Entry& entry) {
    if (!admitted.ok()) return;
    if (internal::IsProgramEntry(entry)) {
      admitted = journal.Admit(entry);
      return;
    }
    const MemberState* member = journal.Find(entry.member);
    const bool before = entry.business_time < options.from;
    const bool in_period = !before && entry.business_time < options.to;
    // Breakage reads the lots as they are before the entry applies (a
    // transfer in creates the lots it lists; nothing draws on them yet).
    if (before || in_period) {
      std::visit(Overloaded{
                     [&](const entries::Debited& e) { cohort_add(member, e.draws, &Cohort::redeemed, 1); },
                     [&](const entries::HoldCaptured& e) { cohort_add(member, e.draws, &Cohort::redeemed, 1); },
                     [&](const entries::DebitReversed& e) { cohort_add(member, e.draws, &Cohort::redeemed, -1); },
                     [&](const entries::Expired& e) { cohort_add(member, e.draws, &Cohort::expired, 1); },
                     [](const auto&) {},
                 },
                 entry.body);
    }
    if (admitted = journal.Admit(entry); !admitted.ok()) return;
    BalanceDelta delta = DeltaOf(entry.body);
    // Outstanding = available + held - debt.
    Int128 change = static_cast<Int128>(delta.available.value()) + delta.held.value() - delta.debt.value();
    if (!(before || in_period)) return;
    m.available += delta.available.value();
    m.held += delta.held.value();
    m.debt += delta.debt.value();
    if (before) {
      m.opening += change;
      return;
    }
    if (auto [line, sign] = LineOf(entry.body); line != nullptr) m.*line += sign * change;
  });
  if (!admitted.ok()) return admitted;
  if (check.fault != internal::ChainFault::kNone) return absl::DataLossError(check.detail);
  return journal.Finish();
}

// The roll-forward of the movements folded from the journals.
absl::StatusOr<LiabilityRollForward> Valued(const Movements& m, const std::map<int, Cohort>& cohorts,
                                            const LiabilityOptions& options) {
  LiabilityRollForward result;
  result.from = options.from;
  result.to = options.to;
  absl::Status error = absl::OkStatus();
  auto valued = [&](Int128 points, absl::string_view what) {
    ValuedPoints v;
    if (points > INT64_MAX || points < INT64_MIN) {
      if (error.ok()) error = absl::OutOfRangeError(absl::StrCat(what, " overflows"));
      return v;
    }
    v.points = Points(static_cast<int64_t>(points));
    auto money = ToMoney(v.points, options.value_per_point, options.currency, options.rounding);
    if (!money.ok()) {
      if (error.ok()) error = money.status();
      return v;
    }
    v.value = *money;
    return v;
  };
  Int128 closing = m.opening + m.issued - m.redeemed - m.expired - m.earn_reversed + m.redemption_reversed +
                   m.adjusted + m.transferred;
  LOYALTY_CHECK(closing == m.available + m.held - m.debt);
  result.opening = valued(m.opening, "opening");
  result.issued = valued(m.issued, "issued");
  result.redeemed = valued(m.redeemed, "redeemed");
  result.expired = valued(m.expired, "expired");
  result.earn_reversed = valued(m.earn_reversed, "earn_reversed");
  result.redemption_reversed = valued(m.redemption_reversed, "redemption_reversed");
  result.adjusted = valued(m.adjusted, "adjusted");
  result.transferred = valued(m.transferred, "transferred");
  result.closing = valued(closing, "closing");
  result.closing_parts = MemberBalance{valued(m.available, "available").points, valued(m.held, "held").points,
                                       valued(m.debt, "debt").points};
  for (const auto& [year, cohort] : cohorts) {
    Int128 denominator = cohort.expired + cohort.redeemed;
    if (cohort.redeemed > INT64_MAX || cohort.expired > INT64_MAX) {
      if (error.ok()) error = absl::OutOfRangeError(absl::StrCat("breakage of cohort ", year, " overflows"));
      break;
    }
    result.breakage.push_back(CohortBreakage{year, Points(static_cast<int64_t>(cohort.redeemed)),
                                             Points(static_cast<int64_t>(cohort.expired)),
                                             denominator > 0 ? Fraction{cohort.expired, denominator} : Fraction{0, 1}});
  }
  if (!error.ok()) return error;
  return result;
}

absl::Status CheckPeriod(const LiabilityOptions& options) {
  if (options.from <= options.to) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("from: ", options.from.ToString(), " is after to: ", options.to.ToString()));
}

// The roll-forward of `journals` read together; a journal's error is
// prefixed "shard N: " if `name_shards`.
absl::StatusOr<LiabilityRollForward> RollForwardOver(std::span<const Store* const> journals, const TimeZone& zone,
                                                     const LiabilityOptions& options, bool name_shards) {
  if (absl::Status period = CheckPeriod(options); !period.ok()) return period;
  auto chain = internal::Chain::For(options.journal_key);
  if (!chain.ok()) return chain.status();
  Movements m;
  std::map<int, Cohort> cohorts;
  for (size_t shard = 0; shard < journals.size(); ++shard) {
    absl::Status folded = FoldJournal(*journals[shard], *chain, zone, options, m, cohorts);
    if (folded.ok()) continue;
    if (!name_shards) return folded;
    return absl::Status(folded.code(), absl::StrCat("shard ", shard, ": ", folded.message()));
  }
  return Valued(m, cohorts, options);
}

}  // namespace

absl::StatusOr<LiabilityRollForward> RollForward(const Store& store, const TimeZone& zone,
                                                 const LiabilityOptions& options) {
  const Store* const journal[] = {&store};
  return RollForwardOver(journal, zone, options, false);
}

absl::StatusOr<LiabilityRollForward> RollForwardShards(std::span<const Store* const> shards, const TimeZone& zone,
                                                       const LiabilityOptions& options) {
  return RollForwardOver(shards, zone, options, true);
}

}  // namespace loyalty
