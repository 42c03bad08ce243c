// Fuzzes the journal entry decoder (src/journal/entry_codec.h): any bytes
// decode to an entry or an error, never a crash. A decoded entry re-encodes
// to bytes that decode to the same entry. Then the entry, as if read back
// from a forged journal, is checked against a small member state with
// CheckApplicable; if that accepts it, ApplyToMember must apply it without
// tripping a check, and the member's balance must still be the sum of its
// lots' remaining points.
#include <cstddef>
#include <cstdint>

#include "journal/entry_codec.h"
#include "loyalty/check.h"
#include "loyalty/ledger.h"

namespace {

using namespace loyalty;

Entry Make(uint64_t seq, EntryBody body) {
  Entry entry;
  entry.seq = seq;
  entry.member = MemberId::FromValid("M-1");
  entry.business_time = Instant::FromUnixMicros(1'300'000'000'000'000 + static_cast<int64_t>(seq));
  entry.body = std::move(body);
  return entry;
}

// Enrolled (1), a credit of 1000 (lot 2/0) with counter "status" 5, a
// hold of 100 from it (3), a redemption of 50 (4), a quote (5), a
// transfer in of two lots (6/0, 6/1).
const MemberState& Member() {
  static const MemberState* member = [] {
    auto* state = new MemberState();
    ApplyToMember(*state, Make(1, entries::Enrolled{}));
    entries::Credited credit;
    credit.amount = Points(1000);
    credit.expires_at = Instant::Max();
    credit.counters = {{"status", Points(5)}};
    credit.activity = "basket";
    credit.line_points = {Points(600), Points(400)};
    credit.grants = {{"base", Points(1000)}};
    credit.local_day = 15000;
    ApplyToMember(*state, Make(2, credit));
    ApplyToMember(*state, Make(3, entries::HoldPlaced{Points(100), Instant::Max(), {{LotId{2, 0}, Points(100)}}, {}, 0}));
    ApplyToMember(*state, Make(4, entries::Debited{Points(50), {{LotId{2, 0}, Points(50)}}, {}, 0, std::nullopt}));
    ApplyToMember(*state, Make(5, entries::Quoted{Points(10), Instant::Max(), {}}));
    ApplyToMember(*state, Make(6, entries::TransferredIn{MemberId::FromValid("M-2"), Points(30), Points(0),
                                                         {{Points(10), Instant(), Instant::Max()},
                                                          {Points(20), Instant(), Instant::Max()}}}));
    return state;
  }();
  return *member;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto entry = internal::DecodeEntry(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!entry.ok()) return 0;
  std::string bytes;
  internal::EncodeEntry(*entry, &bytes);
  auto again = internal::DecodeEntry(bytes);
  LOYALTY_CHECK(again.ok() && *again == *entry);

  MemberState member = Member();
  Entry next = *entry;
  next.seq = 7;  // the next entry of the journal above
  if (!CheckApplicable(member, next).ok()) return 0;
  ApplyToMember(member, next);
  int64_t sum = 0;
  for (const Lot& lot : member.lots) {
    LOYALTY_CHECK(lot.remaining >= Points(0) && lot.remaining <= lot.earned);
    sum += lot.remaining.value();
  }
  LOYALTY_CHECK(sum == member.balance.value());
  return 0;
}
