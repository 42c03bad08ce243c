// The command accessors and the canonical form of a command (see
// command_codec.h): the bytes behind its digest and its journal record.
#include <algorithm>

#include "core/sha256.h"
#include "journal/command_codec.h"
#include "core/overloaded.h"
#include "journal/value_codec.h"
#include "loyalty/command.h"

namespace loyalty {
namespace {

using internal::Overloaded;
using internal::Put;  // the value types (value_codec.h)
using internal::Writer;

void EncodeActivity(Writer& w, const Activity& activity) {
  auto texts = [&](const std::vector<std::string>& list) {
    w.Unsigned(list.size());
    for (const std::string& item : list) Put(w, item);
  };
  Put(w, activity.id);
  w.Unsigned(activity.detail.index());
  std::visit(Overloaded{
                 [&](const Purchase& p) {
                   texts({p.partner, p.store, p.channel});
                   w.Unsigned(p.lines.size());
                   for (const PurchaseLine& line : p.lines) {
                     texts({line.sku, line.category});
                     texts(line.tags);
                     w.Signed(line.quantity);
                     Put(w, line.unit_price);
                   }
                 },
                 [&](const FlightSegment& f) {
                   texts({f.carrier, f.flight_number, f.origin, f.destination, f.cabin, f.booking_class});
                   w.Signed(f.distance_miles);
                   Put(w, f.ticket_price);
                 },
                 [&](const CustomActivity& c) {
                   Put(w, c.type);
                   w.Unsigned(c.attributes.size());
                   for (const auto& [name, value] : c.attributes) texts({name, value});
                   Put(w, c.amount);
                 },
             },
             activity.detail);
}

}  // namespace

namespace internal {

void EncodeCommand(Writer& w, const Command& command) {
  auto fields = [&](const auto&... field) { (Put(w, field), ...); };
  auto counters = [&](const std::vector<CounterDelta>& list) {
    w.Unsigned(list.size());
    for (const CounterDelta& c : list) fields(c.counter, c.amount);
  };
  // The partner is written only when set, so that a command without one
  // has the digest that journals written without partner fields recorded
  // for it. It is the last field, so the form stays unambiguous.
  auto partner = [&](const std::string& p) {
    if (!p.empty()) Put(w, p);
  };
  w.Unsigned(command.index());
  fields(MemberOf(command), AtOf(command));
  std::visit(Overloaded{
                 [&](const Enroll&) {},
                 [&](const Credit& c) {
                   fields(c.amount, c.source, c.expires_at);
                   counters(c.counters);
                   partner(c.partner);
                 },
                 [&](const Redeem& c) {
                   fields(c.amount, c.reason);
                   partner(c.partner);
                 },
                 [&](const PlaceHold& c) { fields(c.amount, c.ttl, c.reason); },
                 [&](const CaptureHold& c) { fields(c.hold); },
                 [&](const ReleaseHold& c) { fields(c.hold); },
                 [&](const ReverseEarn& c) {
                   fields(c.credit, c.amount);
                   counters(c.counters);
                 },
                 [&](const ReverseDebit& c) { fields(c.debit); },
                 [&](const Adjust& c) { fields(c.delta, c.reason, c.actor); },
                 [&](const Transfer& c) { fields(c.to, c.amount); },
                 [&](const Accrue& c) { EncodeActivity(w, c.activity); },
                 [&](const ReturnLines& c) {
                   fields(c.credit);
                   w.Unsigned(c.lines.size());
                   for (uint32_t line : c.lines) w.Unsigned(line);
                   // Last and only when given, so that a return of whole
                   // lines has the bytes it had before quantities.
                   if (!c.quantities.empty()) {
                     w.Unsigned(c.quantities.size());
                     for (int64_t quantity : c.quantities) w.Signed(quantity);
                   }
                 },
                 [&](const QuoteReward& c) { fields(c.reward, c.ttl); },
                 [&](const RedeemReward& c) { fields(c.reward, c.quote); },
                 [&](const HoldReward& c) { fields(c.reward, c.quote, c.ttl); },
                 [&](const PayWithPointsAtTill& c) {
                   fields(c.points);
                   partner(c.partner);
                 },
                 [&](const SetMemberFlag& c) { fields(c.flag, c.on); },
                 [&](const CloseMembership&) {},
                 [&](const GrantTier& c) { fields(c.tier, c.valid_until, c.reason, c.actor); },
                 [&](const SubscribeTier& c) { fields(c.tier, c.paid_until); },
                 [&](const CancelTierSubscription&) {},
                 [&](const SendTransfer& c) { fields(c.to, c.amount); },
                 [&](const ReceiveTransfer& c) {
                   fields(c.from, c.amount);
                   w.Unsigned(c.lots.size());
                   for (const TransferredLot& lot : c.lots) fields(lot.amount, lot.earned_at, lot.expires_at);
                 },
                 [&](const SettleTransfer& c) { fields(c.transfer, c.returned, c.reason); },
                 [&](const RedeemVoucher& c) { fields(c.voucher.accrual, uint64_t{c.voucher.number}); },
                 [&](const PurchasePoints& c) { fields(c.points, c.price); },
                 [&](const RefundPoints& c) { fields(c.purchase); },
             },
             command);
}

void EncodePeriodRun(Writer& w, const PeriodRun& run) {
  w.Unsigned(kRunTag + static_cast<uint64_t>(run.kind));
  Put(w, run.as_of);
}

CommandDigest DigestOfRecord(absl::string_view record) {
  Sha256 full = Sha256Of(record);
  CommandDigest digest;
  std::copy_n(full.begin(), digest.size(), digest.begin());
  return digest;
}

}  // namespace internal

const MemberId& MemberOf(const Command& command) {
  return std::visit([](const auto& c) -> const MemberId& { return c.member; }, command);
}
const std::string& IdempotencyKeyOf(const Command& command) {
  return std::visit([](const auto& c) -> const std::string& { return c.idempotency_key; }, command);
}
std::optional<Instant> AtOf(const Command& command) {
  return std::visit([](const auto& c) { return c.at; }, command);
}

std::string RecordOf(const Command& command) {
  std::string record;
  record.reserve(64);  // most records fit: one allocation instead of growing twice
  Writer w(&record);
  internal::EncodeCommand(w, command);
  return record;
}

std::string RecordOf(const PeriodRun& run) {
  std::string record;
  Writer w(&record);
  internal::EncodePeriodRun(w, run);
  return record;
}

CommandDigest DigestOf(const Command& command) { return internal::DigestOfRecord(RecordOf(command)); }

}  // namespace loyalty
