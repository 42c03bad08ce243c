// The partner-scoped handle: permission checks in front of the engine, and
// the member history and settlement filtered to one partner.
#include "loyalty/partner.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/overloaded.h"

namespace loyalty {
namespace {

using internal::Overloaded;

absl::Status Denied(absl::string_view field, absl::string_view reason) {
  return absl::PermissionDeniedError(absl::StrCat(field, ": ", reason));
}

}  // namespace

absl::StatusOr<PartnerHandle> Engine::ForPartner(absl::string_view partner) {
  for (const auto& version : program().versions()) {
    if (version->FindPartner(partner) != nullptr) return PartnerHandle(*this, std::string(partner));
  }
  return absl::NotFoundError(absl::StrCat("partner: no version defines \"", partner, "\""));
}

absl::Status PartnerHandle::CheckOwnEntry(absl::string_view field, const MemberId& member, uint64_t seq) const {
  auto entry = engine_->store().Get(seq);
  if (!entry.ok()) return entry.status();
  if (entry->member != member || entry->partner != partner_) {
    return Denied(field, absl::StrCat("entry ", seq, " is not ", member.value(), "'s at partner ", partner_));
  }
  return absl::OkStatus();
}

absl::StatusOr<Receipt> PartnerHandle::Execute(const Command& command) {
  // A till's partner: set to this one if unnamed, refused if another.
  auto at_this_partner = [&](std::string& partner) -> absl::Status {
    if (partner.empty()) partner = partner_;
    if (partner != partner_) return Denied("partner", absl::StrCat("\"", partner, "\" is not partner ", partner_));
    return absl::OkStatus();
  };
  // The command as it will run (an unnamed partner set to this one), or why not.
  absl::StatusOr<Command> scoped = std::visit(
      Overloaded{
          [&](Accrue c) -> absl::StatusOr<Command> {
            auto* purchase = std::get_if<Purchase>(&c.activity.detail);
            if (purchase == nullptr) {
              return Denied("activity.detail", absl::StrCat("only purchases are accrued at partner ", partner_));
            }
            if (purchase->partner.empty()) purchase->partner = partner_;
            if (purchase->partner != partner_) {
              return Denied("activity.detail.partner",
                            absl::StrCat("\"", purchase->partner, "\" is not partner ", partner_));
            }
            return c;
          },
          [&](Redeem c) -> absl::StatusOr<Command> {
            if (absl::Status s = at_this_partner(c.partner); !s.ok()) return s;
            return c;
          },
          [&](PayWithPointsAtTill c) -> absl::StatusOr<Command> {
            if (absl::Status s = at_this_partner(c.partner); !s.ok()) return s;
            return c;
          },
          [&](const RedeemReward& c) -> absl::StatusOr<Command> {
            bool listed = false;
            for (const auto& version : engine_->program().versions()) {
              for (const CatalogItem& item : version->redemption.catalog) {
                if (item.id != c.reward) continue;
                if (item.partner != partner_) {
                  return Denied("reward", absl::StrCat("\"", c.reward, "\" is not redeemed at partner ", partner_));
                }
                listed = true;
              }
            }
            if (!listed) return Denied("reward", absl::StrCat("\"", c.reward, "\" is no reward of partner ", partner_));
            return c;
          },
          [&](const ReturnLines& c) -> absl::StatusOr<Command> {
            if (absl::Status s = CheckOwnEntry("credit", c.member, c.credit); !s.ok()) return s;
            return c;
          },
          [&](const ReverseEarn& c) -> absl::StatusOr<Command> {
            if (absl::Status s = CheckOwnEntry("credit", c.member, c.credit); !s.ok()) return s;
            return c;
          },
          [&](const ReverseDebit& c) -> absl::StatusOr<Command> {
            if (absl::Status s = CheckOwnEntry("debit", c.member, c.debit); !s.ok()) return s;
            return c;
          },
          [&](const auto&) -> absl::StatusOr<Command> {
            return Denied("command", absl::StrCat("not allowed through the handle of partner ", partner_));
          },
      },
      command);
  if (!scoped.ok()) return scoped.status();
  return engine_->Execute(*scoped);
}

absl::StatusOr<Balance> PartnerHandle::BalanceOf(const MemberId& member) const { return engine_->BalanceOf(member); }

absl::StatusOr<std::vector<Entry>> PartnerHandle::History(const MemberId& member) const {
  auto history = engine_->History(member);
  if (!history.ok()) return history.status();
  absl::flat_hash_set<uint64_t> own;  // seqs attributed to this partner
  std::vector<Entry> out;
  for (Entry& entry : *history) {
    uint64_t reversed = 0;
    if (const auto* e = std::get_if<entries::EarnReversed>(&entry.body)) reversed = e->credit;
    if (const auto* e = std::get_if<entries::DebitReversed>(&entry.body)) reversed = e->debit;
    if (const auto* e = std::get_if<entries::HoldReleased>(&entry.body)) reversed = e->hold;
    if (entry.partner == partner_ || (reversed != 0 && own.contains(reversed))) {
      own.insert(entry.seq);
      out.push_back(std::move(entry));
    }
  }
  return out;
}

absl::StatusOr<PartnerSettlement> PartnerHandle::Settlement(Instant from, Instant to,
                                                            absl::string_view partner) const {
  if (partner != partner_) {
    return Denied("partner", absl::StrCat("the handle of ", partner_, " reads no settlement of \"", partner, "\""));
  }
  auto settled = SettlePartners(engine_->store(), engine_->program(), from, to, partner_);
  if (!settled.ok()) return settled.status();
  return std::move(settled->front());
}

}  // namespace loyalty
