// Decisions of the runs over every member (PeriodRun): the status review
// at the close of a period, and expiry (lapsed holds, lots past their
// expiry, and whole balances lapsing after inactivity or a closed
// membership's grace).
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "decide/decide_context.h"
#include "ledger/lapse.h"

namespace loyalty {
namespace {

using internal::Header;

// Released entries for the member's holds that lapsed by `as_of`, in hold
// order; their points settle debt first. Adds what goes back to each lot
// to `*returned`.
void ReleaseLapsedHolds(const Program& program, const MemberId& member_id, const MemberState& member, Instant as_of,
                        const std::string& key, const CommandDigest& digest, Instant recorded_at,
                        absl::flat_hash_map<LotId, int64_t>* returned, std::vector<Entry>* out) {
  std::vector<std::pair<uint64_t, const Hold*>> lapsed;
  for (const auto& [hold_id, hold] : member.detail().holds) {
    if (hold.expires_at <= as_of) lapsed.emplace_back(hold_id, &hold);
  }
  std::sort(lapsed.begin(), lapsed.end());
  Points debt = member.debt();
  for (const auto& [hold_id, hold] : lapsed) {
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entries::HoldReleased body{hold_id, true, hold->amount, {}, Points(0)};
    body.draws = internal::SettleDebt(hold->draws, debt, &body.debt_paid);
    debt = Points(debt.value() - body.debt_paid.value());
    entry.explanation = absl::StrCat("hold ", hold_id, " lapsed at ", hold->expires_at.ToString(), ": ",
                                     hold->amount.value(), " points back to their lots",
                                     internal::DebtText(body.debt_paid));
    for (const LotDraw& draw : body.draws) (*returned)[draw.lot] += draw.amount.value();
    entry.body = std::move(body);
    out->push_back(std::move(entry));
  }
}

// Why every lot of the member lapses at `as_of`: a closed membership's
// grace ended, or too long without activity (unless a flag protects the
// member); "" if lots lapse one by one.
std::string WholeLapse(const ProgramVersion& version, const MemberState& member, Instant as_of) {
  if (member.closed && as_of >= member.detail().redeemable_until) {
    return absl::StrCat("membership closed, redeemable until ", member.detail().redeemable_until.ToString());
  }
  if (internal::LapsesForInactivity(version, member, as_of)) {
    return absl::StrCat("no activity since ", version.zone.LocalDate(member.last_activity).ToString(), " (",
                        version.expiry.inactivity_months, " months allowed)");
  }
  return "";
}

}  // namespace

std::vector<Entry> DecideTierReview(const Program& program, const MemberId& member_id, const MemberState& member,
                                    Instant as_of, const std::string& key, const CommandDigest& digest,
                                    Instant recorded_at) {
  std::vector<Entry> out;
  if (!member.enrolled || member.closed || member.enrolled_at > as_of) return out;
  TierStatus status = member.detail().status;
  if (auto decision = ReviewStatus(program, member, as_of)) {
    out.push_back(internal::TierEntry(program, member, status, *decision, false, as_of,
                                      Header(program, member_id, as_of, recorded_at, key, digest)));
    status = internal::StatusAfter(status, *decision);
  }
  if (!status.paid_tier.empty() && status.paid_until <= as_of) {
    TierDecision lapse{"", status.paid_until, "expired", "", Period{}, false,
                       absl::StrCat(status.paid_tier, " not renewed; paid until ", status.paid_until.ToString())};
    out.push_back(internal::TierEntry(program, member, status, lapse, true, as_of,
                                      Header(program, member_id, as_of, recorded_at, key, digest)));
  }
  return out;
}

std::vector<Entry> DecideExpiry(const Program& program, const MemberId& member_id,
                                const MemberState& member, Instant as_of, const std::string& key,
                                const CommandDigest& digest, Instant recorded_at) {
  std::vector<Entry> out;
  if (!member.enrolled || member.enrolled_at > as_of) return out;
  // Lapsed holds first: their points go back to their lots, which may
  // themselves be due to expire below.
  absl::flat_hash_map<LotId, int64_t> returned;
  ReleaseLapsedHolds(program, member_id, member, as_of, key, digest, recorded_at, &returned, &out);
  const std::string whole = WholeLapse(program.InForceAt(as_of), member, as_of);
  entries::Expired expired;
  int64_t total = 0;
  for (const Lot& lot : member.lots) {
    if (whole.empty() && lot.expires_at > as_of) continue;
    auto it = returned.find(lot.id);
    int64_t amount = lot.remaining.value() + (it == returned.end() ? 0 : it->second);
    if (amount == 0) continue;
    expired.draws.push_back({lot.id, Points(amount)});
    total += amount;
  }
  if (total > 0) {
    expired.amount = Points(total);
    Entry entry = Header(program, member_id, as_of, recorded_at, key, digest);
    entry.explanation = absl::StrCat("expired ", total, " points as of ", as_of.ToString(),
                                     whole.empty() ? "" : " (" + whole + ")", ": ", internal::DrawText(expired.draws));
    entry.body = std::move(expired);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace loyalty
