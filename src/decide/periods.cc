// Decisions of the runs over every member (PeriodRun): the status review
// at the close of a period, and expiry (lapsed holds, lots past their
// expiry, and whole balances lapsing after inactivity or a closed
// membership's grace).
#include <algorithm>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "decide/decide_context.h"
#include "ledger/lapse.h"

namespace loyalty {
namespace {

using internal::Header;

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
  out = internal::LapsedHoldReleases(program, member_id, member, as_of, recorded_at, key, digest);
  absl::flat_hash_map<LotId, int64_t> returned;
  for (const Entry& release : out) {
    for (const LotDraw& draw : std::get<entries::HoldReleased>(release.body).draws) {
      returned[draw.lot] += draw.amount.value();
    }
  }
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
