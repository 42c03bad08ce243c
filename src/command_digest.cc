// The command accessors and the canonical form of a command (see
// command_codec.h): the bytes behind its digest and its journal record.
#include <algorithm>

#include "chain.h"
#include "command_codec.h"
#include "overloaded.h"
#include "loyalty/command.h"

namespace loyalty {
namespace {

using internal::Writer;

using internal::Overloaded;

void EncodeMoney(Writer& w, const Money& money) {
  w.Bytes(money.currency().code());
  w.Signed(money.minor_units());
}

void EncodeActivity(Writer& w, const Activity& activity) {
  auto texts = [&](const std::vector<std::string>& list) {
    w.Unsigned(list.size());
    for (const std::string& item : list) w.Bytes(item);
  };
  w.Bytes(activity.id);
  w.Unsigned(activity.detail.index());
  std::visit(Overloaded{
                 [&](const Purchase& p) {
                   texts({p.partner, p.store, p.channel});
                   w.Unsigned(p.lines.size());
                   for (const PurchaseLine& line : p.lines) {
                     texts({line.sku, line.category});
                     texts(line.tags);
                     w.Signed(line.quantity);
                     EncodeMoney(w, line.unit_price);
                   }
                 },
                 [&](const FlightSegment& f) {
                   texts({f.carrier, f.flight_number, f.origin, f.destination, f.cabin, f.booking_class});
                   w.Signed(f.distance_miles);
                   w.Unsigned(f.ticket_price.has_value());
                   if (f.ticket_price) EncodeMoney(w, *f.ticket_price);
                 },
                 [&](const CustomActivity& c) {
                   w.Bytes(c.type);
                   w.Unsigned(c.attributes.size());
                   for (const auto& [name, value] : c.attributes) texts({name, value});
                   w.Unsigned(c.amount.has_value());
                   if (c.amount) EncodeMoney(w, *c.amount);
                 },
             },
             activity.detail);
}

}  // namespace

namespace internal {

void EncodeCommand(Writer& w, const Command& command) {
  auto text = [&](const std::string& s) { w.Bytes(s); };
  auto points = [&](Points p) { w.Signed(p.value()); };
  auto counters = [&](const std::vector<CounterDelta>& list) {
    w.Unsigned(list.size());
    for (const CounterDelta& c : list) {
      text(c.counter);
      points(c.amount);
    }
  };
  auto instant = [&](const std::optional<Instant>& at) {
    w.Unsigned(at.has_value());
    if (at) w.Signed(at->unix_micros());
  };
  // A partner was added to some commands later: written only when set, so
  // the digests of commands without one (stored in old journals) stay as
  // they were. It is the last field, so the form stays unambiguous.
  auto partner = [&](const std::string& p) {
    if (!p.empty()) text(p);
  };
  w.Unsigned(command.index());
  text(MemberOf(command).value());
  instant(AtOf(command));
  std::visit(Overloaded{
                 [&](const Enroll&) {},
                 [&](const Credit& c) {
                   points(c.amount);
                   text(c.source);
                   instant(c.expires_at);
                   counters(c.counters);
                   partner(c.partner);
                 },
                 [&](const Redeem& c) {
                   points(c.amount);
                   text(c.reason);
                   partner(c.partner);
                 },
                 [&](const PlaceHold& c) {
                   points(c.amount);
                   w.Signed(absl::ToInt64Microseconds(c.ttl));
                   text(c.reason);
                 },
                 [&](const CaptureHold& c) { w.Unsigned(c.hold); },
                 [&](const ReleaseHold& c) { w.Unsigned(c.hold); },
                 [&](const ReverseEarn& c) {
                   w.Unsigned(c.credit);
                   points(c.amount);
                   counters(c.counters);
                 },
                 [&](const ReverseDebit& c) { w.Unsigned(c.debit); },
                 [&](const Adjust& c) {
                   points(c.delta);
                   text(c.reason);
                   text(c.actor);
                 },
                 [&](const Transfer& c) {
                   text(c.to.value());
                   points(c.amount);
                 },
                 [&](const Accrue& c) { EncodeActivity(w, c.activity); },
                 [&](const ReturnLines& c) {
                   w.Unsigned(c.credit);
                   w.Unsigned(c.lines.size());
                   for (uint32_t line : c.lines) w.Unsigned(line);
                 },
                 [&](const QuoteReward& c) {
                   text(c.reward);
                   w.Signed(absl::ToInt64Microseconds(c.ttl));
                 },
                 [&](const RedeemReward& c) {
                   text(c.reward);
                   w.Unsigned(c.quote);
                 },
                 [&](const HoldReward& c) {
                   text(c.reward);
                   w.Unsigned(c.quote);
                   w.Signed(absl::ToInt64Microseconds(c.ttl));
                 },
                 [&](const PayWithPointsAtTill& c) {
                   points(c.points);
                   partner(c.partner);
                 },
                 [&](const SetMemberFlag& c) {
                   text(c.flag);
                   w.Unsigned(c.on);
                 },
                 [&](const CloseMembership&) {},
                 [&](const GrantTier& c) {
                   text(c.tier);
                   instant(c.valid_until);
                   text(c.reason);
                   text(c.actor);
                 },
                 [&](const SubscribeTier& c) {
                   text(c.tier);
                   w.Signed(c.paid_until.unix_micros());
                 },
                 [&](const CancelTierSubscription&) {},
             },
             command);
}

void EncodePeriodRun(Writer& w, const PeriodRun& run) {
  w.Unsigned(kRunTag + static_cast<uint64_t>(run.kind));
  w.Signed(run.as_of.unix_micros());
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
