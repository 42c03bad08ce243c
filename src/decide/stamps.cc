// Stamp cards and their vouchers: the stamps an accrual's lines collect
// and the vouchers full cards issue, the stamps a return takes back (and
// the unused vouchers it withdraws), and the redemption of a voucher.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "decide/commands.h"
#include "ledger/stamp_rules.h"
#include "loyalty/accrual.h"

namespace loyalty::internal {
namespace {

std::string VoucherText(VoucherId id) { return absl::StrCat(id.accrual, "/", id.number); }

}  // namespace

absl::Status CollectStamps(const ProgramVersion& version, const MemberState& member, const Activity& activity,
                           const AccrualContext& context, entries::Credited& body) {
  const Date day = version.zone.LocalDate(context.at);
  int64_t vouchers = 0;
  for (const StampCard& card : version.stamp_cards) {
    StampGrant grant{card.id, EligibleLines(version, card.when, activity, context), 0, card.stamps};
    bool fits = true;
    for (uint32_t line : grant.lines) {
      fits = fits && !__builtin_add_overflow(grant.stamps, body.line_units.empty() ? 1 : body.line_units[line],
                                             &grant.stamps);
    }
    if (fits && grant.stamps == 0) continue;
    if (!fits || !CardsCompleted(StampsOn(member, card.id), grant.stamps, card.stamps, &grant.vouchers)) {
      return absl::OutOfRangeError(absl::StrCat("stamp card ", card.id, ": the stamps do not fit in 64 bits"));
    }
    vouchers += grant.vouchers;
    if (vouchers > kMaxVouchersPerActivity) {
      return absl::InvalidArgumentError(absl::StrCat("activity.detail.lines: stamp card ", card.id, " would issue ",
                                                     vouchers, " vouchers; one activity issues at most ",
                                                     kMaxVouchersPerActivity));
    }
    if (grant.vouchers > 0) {
      grant.reward = card.reward;
      grant.voucher_expires_at = version.zone.StartOfDay(day.AddDays(card.voucher_days));
    }
    body.stamps.push_back(std::move(grant));
  }
  return absl::OkStatus();
}

std::string StampsText(const Program& program, const MemberState& member, const entries::Credited& body) {
  std::string text;
  for (const StampGrant& g : body.stamps) {
    const int64_t on_card = StampsOn(member, g.card) + g.stamps;
    absl::StrAppend(&text, "; card ", g.card, ": ", g.stamps, " stamp(s), ", on_card, " of ", g.card_size);
    if (g.vouchers > 0) {
      absl::StrAppend(&text, ": ", g.vouchers, " voucher(s) for ", g.reward, ", valid through ",
                      LastValidDay(program, g.voucher_expires_at), ", ", on_card - g.vouchers * g.card_size,
                      " on the new card");
    }
  }
  return text;
}

std::vector<StampReturn> StampsBack(const MemberState& member, uint64_t accrual, const AccrualRecord& record,
                                    const std::vector<int64_t>& returned) {
  std::vector<StampReturn> out;
  for (size_t grant = 0; grant < record.stamps.size(); ++grant) {
    const StampGrant& g = record.stamps[grant];
    StampReturn back{g.card};
    for (uint32_t line : g.lines) back.stamps += returned[line] - record.returned_units[line];
    if (back.stamps == 0) continue;
    int64_t after = StampsOn(member, g.card) - back.stamps;
    const uint32_t first = FirstVoucher(record, grant);
    for (int64_t i = g.vouchers - 1; i >= 0 && after < 0; --i) {
      const uint32_t number = first + static_cast<uint32_t>(i);
      if (!member.detail().vouchers.contains(VoucherId{accrual, number})) continue;
      back.withdrawn.push_back(number);
      after += g.card_size;
    }
    out.push_back(std::move(back));
  }
  return out;
}

std::string StampsBackText(const MemberState& member, uint64_t accrual, const AccrualRecord& record,
                           const std::vector<StampReturn>& stamps) {
  std::string text;
  for (const StampReturn& back : stamps) {
    absl::StrAppend(&text, "; card ", back.card, ": ", back.stamps, " stamp(s) taken back");
    int64_t after = StampsOn(member, back.card) - back.stamps;
    for (uint32_t number : back.withdrawn) {
      absl::StrAppend(&text, ", voucher ", VoucherText({accrual, number}), " withdrawn");
      for (const StampGrant& g : record.stamps) after += g.card == back.card ? g.card_size : 0;
    }
    absl::StrAppend(&text, after < 0 ? absl::StrCat(", ", -after, " owed on the card (its voucher was used)")
                                     : absl::StrCat(", ", after, " on the card"));
  }
  return text;
}

Decided DecideRedeemVoucher(const DecideContext& context, const RedeemVoucher& c, Entry entry) {
  const std::string id = VoucherText(c.voucher);
  const auto& vouchers = context.member().detail().vouchers;
  auto it = vouchers.find(c.voucher);
  if (it == vouchers.end()) {
    return absl::NotFoundError(absl::StrCat("member ", context.id.value(), ": no unused voucher ", id,
                                            " (never issued, already redeemed, or withdrawn by a return)"));
  }
  const Voucher& voucher = it->second;
  if (context.at >= voucher.expires_at) {
    return absl::FailedPreconditionError(absl::StrCat("member ", context.id.value(), ": voucher ", id, " for ",
                                                      voucher.reward, " lapsed; it was valid through ",
                                                      LastValidDay(context.program, voucher.expires_at)));
  }
  entry.explanation = absl::StrCat("redeemed voucher ", id, " of card ", voucher.card, " for ", voucher.reward);
  entry.body = entries::VoucherRedeemed{c.voucher, voucher.reward};
  return std::vector<Entry>{std::move(entry)};
}

}  // namespace loyalty::internal
