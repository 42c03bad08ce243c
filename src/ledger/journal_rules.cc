// The journal's entry validator: the rules of journal_rules.h, then Apply.
#include "ledger/journal_rules.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ledger/debt.h"
#include "ledger/lapse.h"
#include "ledger/transfer_rules.h"
#include "loyalty/time.h"

namespace loyalty::internal {
namespace {

absl::Status Unfit(const Entry& entry, absl::string_view reason) {
  return absl::DataLossError(absl::StrCat("journal entry ", entry.seq, " (", EntryKindName(entry.body), " of ",
                                          entry.member.value(), ") does not fit the journal before it: ", reason));
}

// Without the program, the shortest inactivity a lapse can follow: one
// month (28 days) less a day for the widest time-zone offsets.
constexpr int64_t kShortestInactivityMicros = int64_t{27} * 24 * 3600 * 1000 * 1000;

// With the program: an accrual's stamps are on cards of the version that
// decided it, of that card's size and reward, lapsing when its vouchers do;
// bought points cost that version's price. "" if they are, else the reason.
std::string RetailMismatch(const Program& program, const Entry& entry, const entries::Credited& credited) {
  const ProgramVersion* version = program.Find(entry.version);
  if (version == nullptr || (credited.stamps.empty() && !credited.price)) return "";
  for (const StampGrant& grant : credited.stamps) {
    auto card = std::find_if(version->stamp_cards.begin(), version->stamp_cards.end(),
                             [&](const StampCard& c) { return c.id == grant.card; });
    if (card == version->stamp_cards.end() || card->stamps != grant.card_size ||
        (grant.vouchers > 0 &&
         (card->reward != grant.reward ||
          grant.voucher_expires_at !=
              version->zone.StartOfDay(version->zone.LocalDate(entry.business_time).AddDays(card->voucher_days))))) {
      return absl::StrCat("its stamps on card ", grant.card, " are not those of version ", version->id);
    }
  }
  if (!credited.price) return "";
  auto price = version->point_sales ? version->point_sales->PriceOf(credited.amount, version->currency)
                                    : absl::StatusOr<Money>(absl::NotFoundError("no point sales"));
  if (!price.ok() || *price != *credited.price) {
    return absl::StrCat("its points do not cost ", credited.price->ToString(), " under version ", version->id);
  }
  return "";
}

// With the program: an accrual's grants are rules of the version that
// decided it, and those into its redeemable balance sum to the points
// credited (so that the rules' use, budgets included, is what the points
// were). "" if they are, else the reason. Entries without grants (written
// before grants were journaled) are not judged.
std::string GrantsMismatch(const ProgramVersion& version, const entries::Credited& credited) {
  if (credited.activity.empty() || credited.grants.empty()) return "";
  Int128 redeemable = 0;
  for (const RuleGrant& grant : credited.grants) {
    auto rule = std::find_if(version.accrual.begin(), version.accrual.end(),
                             [&](const AccrualRule& r) { return r.id == grant.rule; });
    if (rule == version.accrual.end()) {
      return absl::StrCat("it names rule ", grant.rule, ", which version ", version.id, " does not have");
    }
    const std::string& balance = rule->effect.balance;
    if (balance.empty() || balance == version.redeemable_balance) redeemable += grant.granted.value();
  }
  if (redeemable == credited.amount.value()) return "";
  const auto shown = static_cast<int64_t>(std::clamp<Int128>(redeemable, std::numeric_limits<int64_t>::min(),
                                                              std::numeric_limits<int64_t>::max()));
  return absl::StrCat("its rules granted ", shown, " ", version.redeemable_balance,
                      ", not the ", credited.amount.value(), " it credits");
}

}  // namespace

absl::Status JournalRules::AdmitVersion(const Entry& entry, PublishedVersions& published) {
  if (sent_) return Unfit(entry, absl::StrCat("entry ", sent_->seq, " sent points that no entry received"));
  if (const auto* revised = std::get_if<entries::EstimateRevised>(&entry.body)) return CheckRevision(entry, *revised);
  const auto* version = std::get_if<entries::VersionPublished>(&entry.body);
  if (version == nullptr) return Unfit(entry, "a member's entry under the program's id");
  if (version->version.empty()) return Unfit(entry, "a version without an id");
  if (version->announced_at > version->effective_from) return Unfit(entry, "announced after it takes effect");
  if (!published.try_emplace(version->version, version->content_hash).second) {
    return Unfit(entry, "the version is already published");
  }
  return absl::OkStatus();
}

absl::Status JournalRules::CheckRevision(const Entry& entry, const entries::EstimateRevised& revised) const {
  if (absl::Status in_range = CheckBusinessTime("business_time", entry.business_time); !in_range.ok()) {
    return Unfit(entry, in_range.message());
  }
  if (!IsShare(revised.expected_redemption_rate)) {
    return Unfit(entry, absl::StrCat("expected redemption rate ", revised.expected_redemption_rate.ToString(),
                                     " is not a share in (0, 1]"));
  }
  if (revised.cohort < 0 || revised.cohort > 9999) {
    return Unfit(entry, absl::StrCat("cohort ", revised.cohort, " is not a year 1..9999 (or 0 for all)"));
  }
  if (revised.actor.empty()) return Unfit(entry, "a revised estimate without an actor");
  return absl::OkStatus();
}

absl::Status JournalRules::AdmitMember(const Entry& entry, MemberState& member) {
  if (absl::Status fits = CheckMember(entry, member); !fits.ok()) return fits;
  if (absl::Status fits = PairTransfer(entry, member); !fits.ok()) return fits;
  ApplyToMember(member, entry);
  budgets().Add(entry);
  return absl::OkStatus();
}

absl::Status JournalRules::Finish() const {
  if (!sent_) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("journal entry ", sent_->seq, " (transferred_out of ", sent_->from.value(),
                                          ") sent points that no entry received: the journal ends there"));
}

absl::Status JournalRules::CheckMember(const Entry& entry, const MemberState& member) const {
  if (entry.member.value().empty() || entry.member.value().front() == '#') {
    return Unfit(entry, "a member's entry under a reserved id");
  }
  if (absl::Status in_range = CheckBusinessTime("business_time", entry.business_time); !in_range.ok()) {
    return Unfit(entry, in_range.message());
  }
  if (options_.links && entry.member_prev != member.last_seq) {
    return Unfit(entry, absl::StrCat("it links to entry ", entry.member_prev, " as the member's previous entry, which is ",
                                     member.last_seq == 0 ? "none (this is the member's first entry)"
                                                          : absl::StrCat("entry ", member.last_seq)));
  }
  if (absl::Status fits = CheckApplicable(member, entry); !fits.ok()) return Unfit(entry, fits.message());
  if (const auto* expired = std::get_if<entries::Expired>(&entry.body)) return CheckExpiry(entry, *expired, member);
  if (const auto* change = std::get_if<entries::TierChanged>(&entry.body)) return CheckTiers(entry, *change);
  if (const auto* out = std::get_if<entries::TransferredOut>(&entry.body); out != nullptr && options_.program) {
    const ProgramVersion* version = options_.program->Find(entry.version);
    std::string refusal =
        version != nullptr ? TransferRefusal(*version, entry.member, member, entry.business_time, out->amount) : "";
    if (!refusal.empty()) return Unfit(entry, absl::StrCat("its version refuses the transfer: ", refusal));
  }
  if (const auto* credited = std::get_if<entries::Credited>(&entry.body); credited != nullptr && options_.program) {
    if (std::string mismatch = RetailMismatch(*options_.program, entry, *credited); !mismatch.empty()) {
      return Unfit(entry, mismatch);
    }
    const ProgramVersion* version = options_.program->Find(entry.version);
    if (version == nullptr) return absl::OkStatus();
    if (std::string mismatch = GrantsMismatch(*version, *credited); !mismatch.empty()) return Unfit(entry, mismatch);
    if (std::string overspent = budgets().Overspent(*version, *credited); !overspent.empty()) {
      return Unfit(entry, overspent);
    }
  }
  return absl::OkStatus();
}

absl::Status JournalRules::CheckExpiry(const Entry& entry, const entries::Expired& expired,
                                       const MemberState& member) const {
  const Instant at = entry.business_time;
  if (member.closed && member.detail().redeemable_until <= at) return absl::OkStatus();
  bool inactive;
  if (options_.program != nullptr) {
    inactive = LapsesForInactivity(options_.program->InForceAt(at), member, at);
  } else {
    inactive = at.unix_micros() - member.last_activity.unix_micros() >= kShortestInactivityMicros;
  }
  if (inactive) return absl::OkStatus();
  for (const LotDraw& draw : expired.draws) {
    const Lot* lot = member.FindLot(draw.lot);  // exists: CheckApplicable
    if (lot->expires_at > at) {
      return Unfit(entry, absl::StrCat("lot ", draw.lot.entry, "/", draw.lot.part, " is valid until ",
                                       lot->expires_at.ToString(), "; it cannot expire at ", at.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status JournalRules::CheckTiers(const Entry& entry, const entries::TierChanged& change) const {
  if (options_.program == nullptr) return absl::OkStatus();
  for (const std::string* tier : {&change.tier, &change.lifetime_tier}) {
    if (tier->empty()) continue;
    bool defined = false;
    for (const auto& version : options_.program->versions()) defined = defined || version->tiers.Find(*tier) != nullptr;
    if (!defined) return Unfit(entry, absl::StrCat("tier \"", *tier, "\" is defined by no version of the program"));
  }
  return absl::OkStatus();
}

// Before the entry applies, so that the sender's lots still hold their dates.
// The halves of a transfer across shards are in two journals: each stands
// alone here (the audit over the shards pairs them).
absl::Status JournalRules::PairTransfer(const Entry& entry, const MemberState& member) {
  const auto* in = std::get_if<entries::TransferredIn>(&entry.body);
  if (in != nullptr && in->across) in = nullptr;
  if (sent_) {
    const TransferSent& sent = *sent_;
    if (in == nullptr) return Unfit(entry, absl::StrCat("entry ", sent.seq, " sent points that no entry received"));
    if (entry.seq != sent.seq + 1 || entry.member != sent.to || in->from != sent.from || in->amount != sent.amount ||
        entry.idempotency_key != sent.idempotency_key ||
        in->lots != AfterDebt(sent.lots, in->debt_paid)) {
      return Unfit(entry, absl::StrCat("it does not receive what entry ", sent.seq, " sent"));
    }
    sent_.reset();
  } else if (in != nullptr) {
    return Unfit(entry, "it receives points that no entry sent");
  }
  if (const auto* out = std::get_if<entries::TransferredOut>(&entry.body); out != nullptr && !out->across) {
    TransferSent sent{entry.seq, entry.member, out->to, entry.idempotency_key, out->amount, {}};
    for (const LotDraw& draw : out->draws) {
      const Lot* lot = member.FindLot(draw.lot);  // exists: CheckApplicable
      sent.lots.push_back({draw.amount, lot->earned_at, lot->expires_at});
    }
    sent_ = std::move(sent);
  }
  return absl::OkStatus();
}

absl::Status JournalProjection::Admit(const Entry& entry) {
  if (IsProgramEntry(entry)) return rules_.AdmitVersion(entry, published_);
  auto [it, fresh] = members_.try_emplace(entry.member);
  absl::Status admitted = rules_.AdmitMember(entry, it->second);
  if (!admitted.ok() && fresh) members_.erase(it);
  return admitted;
}

const MemberState* JournalProjection::Find(const MemberId& member) const {
  auto it = members_.find(member);
  return it == members_.end() ? nullptr : &it->second;
}

}  // namespace loyalty::internal
