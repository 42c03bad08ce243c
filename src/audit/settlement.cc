// Partner settlement: the points a coalition partner issued and redeemed in
// a period, read from the journal, and the money each side owes for them.
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ledger/journal_rules.h"
#include "loyalty/audit/settlement.h"
#include "core/overloaded.h"

namespace loyalty {
namespace {

using internal::Overloaded;

constexpr int kCommonScale = Rate::kMaxScale;  // sums are kept in units of 10^-18 of a major unit

// The points of one partner under one version, netted over the period.
struct Tally {
  Points issued;
  Points redeemed;
};

// An entry that issued or redeemed points at a partner.
struct Attribution {
  std::string partner;
  std::string version;
};

// sum += points x rate, in units of 10^-kCommonScale of a major unit;
// OutOfRange on overflow.
absl::Status AddValue(Int128& sum, Points points, const Rate& rate) {
  Int128 term;
  if (__builtin_mul_overflow(static_cast<Int128>(points.value()), static_cast<Int128>(rate.mantissa()), &term) ||
      __builtin_mul_overflow(term, PowerOfTen(kCommonScale - rate.scale()), &term) ||
      __builtin_add_overflow(sum, term, &sum)) {
    return absl::OutOfRangeError(absl::StrCat("settlement overflows at ", points.value(), " points x ", rate.ToString()));
  }
  return absl::OkStatus();
}

// `sum` (10^-kCommonScale major units) rounded half-even to the minor unit.
absl::StatusOr<Money> ToMinorUnits(Int128 sum, const Currency& currency) {
  Int128 minor = DivideRounded(sum, PowerOfTen(kCommonScale - currency.exponent()), Rounding::kHalfEven);
  if (minor > INT64_MAX || minor < INT64_MIN) return absl::OutOfRangeError("settlement amount exceeds 64 bits");
  return Money(static_cast<int64_t>(minor), currency);
}

using Tallies = std::map<std::string, std::map<std::string, Tally>>;  // partner -> version -> points

// An empty tally for each partner settled: the one asked for, or every one
// defined.
absl::StatusOr<Tallies> PartnersToSettle(const Program& program, Instant from, Instant to, absl::string_view partner) {
  if (from > to) {
    return absl::InvalidArgumentError(absl::StrCat("from: ", from.ToString(), " is after to: ", to.ToString()));
  }
  Tallies tallies;
  for (const auto& version : program.versions()) {
    for (const Partner& p : version->partners) {
      if (partner.empty() || p.id == partner) tallies[p.id];
    }
  }
  if (!partner.empty() && tallies.empty()) {
    return absl::NotFoundError(absl::StrCat("partner: no version defines \"", partner, "\""));
  }
  return tallies;
}

// Adds what the entries of `store` dated in [from, to) issued and redeemed
// at each partner of `tallies` (`partner`: only that one).
absl::Status FoldJournal(const Store& store, const Program& program, Instant from, Instant to,
                         absl::string_view partner, Tallies& tallies) {
  absl::flat_hash_map<uint64_t, Attribution> attributed;  // credits and debits at a partner, by seq
  internal::JournalProjection journal({.program = &program, .links = store.KeepsMemberLinks()});
  absl::Status status = store.Read(1, [&](const Entry& entry) -> absl::Status {
    if (absl::Status admitted = journal.Admit(entry); !admitted.ok()) return admitted;
    const bool in_period = entry.business_time >= from && entry.business_time < to;
    // The partner, version and signed amounts (issued, redeemed) this entry moves.
    const Attribution* at = nullptr;
    Points issued, redeemed;
    auto reversal_of = [&](uint64_t seq) {
      auto it = attributed.find(seq);
      return it == attributed.end() ? nullptr : &it->second;
    };
    if (!entry.partner.empty()) {
      const bool settles = std::holds_alternative<entries::Credited>(entry.body) ||
                           std::holds_alternative<entries::Debited>(entry.body) ||
                           std::holds_alternative<entries::HoldCaptured>(entry.body);
      if (settles) at = &(attributed[entry.seq] = Attribution{entry.partner, entry.version});
    }
    std::visit(Overloaded{
                   [&](const entries::Credited& e) { issued = e.amount; },
                   [&](const entries::Debited& e) { redeemed = e.amount; },
                   [&](const entries::HoldCaptured& e) { redeemed = e.amount; },
                   [&](const entries::EarnReversed& e) {
                     at = reversal_of(e.credit);
                     issued = Points(-e.amount.value());
                   },
                   [&](const entries::DebitReversed& e) {
                     at = reversal_of(e.debit);
                     redeemed = Points(-e.amount.value());
                   },
                   [](const auto&) {},
               },
               entry.body);
    if (at == nullptr || !in_period) return absl::OkStatus();
    auto settled = tallies.find(at->partner);
    if (settled == tallies.end()) {
      if (!partner.empty()) return absl::OkStatus();  // another partner's
      return absl::FailedPreconditionError(
          absl::StrCat("entry ", entry.seq, ": partner \"", at->partner, "\" is defined by no version"));
    }
    Tally& tally = settled->second[at->version];
    auto sum_issued = Add(tally.issued, issued);
    auto sum_redeemed = Add(tally.redeemed, redeemed);
    if (!sum_issued.ok()) return sum_issued.status();
    if (!sum_redeemed.ok()) return sum_redeemed.status();
    tally.issued = *sum_issued;
    tally.redeemed = *sum_redeemed;
    return absl::OkStatus();
  });
  if (status.ok()) status = journal.Finish();
  return status;
}

// The settlement of each partner's tallies, each amount rounded once.
absl::StatusOr<std::vector<PartnerSettlement>> Settle(const Tallies& tallies, const Program& program) {
  const Currency currency = program.versions().front()->currency;
  std::vector<PartnerSettlement> out;
  for (const auto& [id, by_version] : tallies) {
    PartnerSettlement s;
    s.partner = id;
    Int128 funding = 0, reimbursement = 0;
    for (const auto& [version_id, tally] : by_version) {
      const ProgramVersion* version = program.Find(version_id);
      const Partner* terms = version == nullptr ? nullptr : version->FindPartner(id);
      if (terms == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("partner \"", id, "\": version ", version_id, " of its entries does not define it"));
      }
      auto issued = Add(s.issued, tally.issued);
      auto redeemed = Add(s.redeemed, tally.redeemed);
      if (!issued.ok()) return issued.status();
      if (!redeemed.ok()) return redeemed.status();
      s.issued = *issued;
      s.redeemed = *redeemed;
      if (absl::Status st = AddValue(funding, tally.issued, terms->funding_per_point); !st.ok()) return st;
      if (absl::Status st = AddValue(reimbursement, tally.redeemed, terms->reimbursement_per_point); !st.ok()) {
        return st;
      }
    }
    auto owed_to_operator = ToMinorUnits(funding, currency);
    auto owed_to_partner = ToMinorUnits(reimbursement, currency);
    if (!owed_to_operator.ok()) return owed_to_operator.status();
    if (!owed_to_partner.ok()) return owed_to_partner.status();
    auto net = Subtract(*owed_to_operator, *owed_to_partner);
    if (!net.ok()) return net.status();
    s.owed_to_operator = *owed_to_operator;
    s.owed_to_partner = *owed_to_partner;
    s.net = *net;
    out.push_back(std::move(s));
  }
  return out;
}

// The settlement of `journals` read together; a journal's error is
// prefixed "shard N: " if `name_shards`.
absl::StatusOr<std::vector<PartnerSettlement>> SettleOver(std::span<const Store* const> journals,
                                                          const Program& program, Instant from, Instant to,
                                                          absl::string_view partner, bool name_shards) {
  auto tallies = PartnersToSettle(program, from, to, partner);
  if (!tallies.ok()) return tallies.status();
  for (size_t shard = 0; shard < journals.size(); ++shard) {
    absl::Status folded = FoldJournal(*journals[shard], program, from, to, partner, *tallies);
    if (folded.ok()) continue;
    if (!name_shards) return folded;
    return absl::Status(folded.code(), absl::StrCat("shard ", shard, ": ", folded.message()));
  }
  return Settle(*tallies, program);
}

}  // namespace

absl::StatusOr<std::vector<PartnerSettlement>> SettlePartners(const Store& store, const Program& program,
                                                               Instant from, Instant to, absl::string_view partner) {
  const Store* const journal[] = {&store};
  return SettleOver(journal, program, from, to, partner, false);
}

absl::StatusOr<std::vector<PartnerSettlement>> SettlePartnersShards(std::span<const Store* const> shards,
                                                                     const Program& program, Instant from, Instant to,
                                                                     absl::string_view partner) {
  return SettleOver(shards, program, from, to, partner, true);
}

}  // namespace loyalty
