// Decoding of the command an entry records (command_codec.h): the mirror of
// EncodeCommand, field by field, for re-rating. A record read from a journal
// may have been forged, so every field is checked and nothing crashes.
#include <utility>

#include "absl/strings/str_cat.h"
#include "journal/command_codec.h"
#include "journal/value_codec.h"
#include "loyalty/command.h"

namespace loyalty {
namespace {

using internal::Get;  // the value types (value_codec.h)
using internal::Reader;

constexpr size_t kMaxItems = 1 << 16;

bool Get(Reader& r, uint32_t* value) {
  uint64_t raw = 0;
  if (!r.Unsigned(&raw)) return false;
  if (raw > UINT32_MAX) return r.Fail("number out of range");
  *value = static_cast<uint32_t>(raw);
  return true;
}
bool Get(Reader& r, CounterDelta* counter) { return Get(r, &counter->counter) && Get(r, &counter->amount); }
bool Get(Reader& r, TransferredLot* lot) {
  return Get(r, &lot->amount) && Get(r, &lot->earned_at) && Get(r, &lot->expires_at);
}
template <typename T>
bool Get(Reader& r, std::vector<T>* items) {
  uint64_t size = 0;
  if (!r.Unsigned(&size)) return false;
  if (size > kMaxItems) return r.Fail("list too long");
  items->resize(size);
  for (T& item : *items) {
    if (!Get(r, &item)) return false;
  }
  return true;
}
// Several texts written as one list of a known length.
template <typename... Texts>
bool GetTexts(Reader& r, Texts*... texts) {
  uint64_t size = 0;
  if (!r.Unsigned(&size)) return false;
  if (size != sizeof...(Texts)) return r.Fail("wrong number of fields");
  return (Get(r, texts) && ...);
}

bool GetPurchaseLine(Reader& r, PurchaseLine* line) {
  return GetTexts(r, &line->sku, &line->category) && Get(r, &line->tags) && Get(r, &line->quantity) &&
         Get(r, &line->unit_price);
}

bool GetActivity(Reader& r, Activity* activity) {
  uint64_t type;
  if (!Get(r, &activity->id) || !r.Unsigned(&type)) return false;
  switch (type) {
    case 0: {
      Purchase& p = activity->detail.emplace<Purchase>();
      uint64_t lines;
      if (!GetTexts(r, &p.partner, &p.store, &p.channel) || !r.Unsigned(&lines)) return false;
      if (lines > kMaxItems) return r.Fail("list too long");
      p.lines.resize(lines);
      for (PurchaseLine& line : p.lines) {
        if (!GetPurchaseLine(r, &line)) return false;
      }
      return true;
    }
    case 1: {
      FlightSegment& f = activity->detail.emplace<FlightSegment>();
      return GetTexts(r, &f.carrier, &f.flight_number, &f.origin, &f.destination, &f.cabin, &f.booking_class) &&
             Get(r, &f.distance_miles) && Get(r, &f.ticket_price);
    }
    case 2: {
      CustomActivity& c = activity->detail.emplace<CustomActivity>();
      uint64_t attributes;
      if (!Get(r, &c.type) || !r.Unsigned(&attributes)) return false;
      if (attributes > kMaxItems) return r.Fail("list too long");
      for (uint64_t i = 0; i < attributes; ++i) {
        std::string name, value;
        if (!GetTexts(r, &name, &value)) return false;
        c.attributes[std::move(name)] = std::move(value);
      }
      return Get(r, &c.amount);
    }
    default:
      return r.Fail("unknown activity type");
  }
}

// The partner, written last and only when set.
bool GetPartner(Reader& r, std::string* partner) { return r.AtEnd() || Get(r, partner); }

// The fields after the member and `at`, in EncodeCommand's order.
bool GetFields(Reader&, Enroll*) { return true; }
bool GetFields(Reader& r, Credit* c) {
  return Get(r, &c->amount) && Get(r, &c->source) && Get(r, &c->expires_at) && Get(r, &c->counters) &&
         GetPartner(r, &c->partner);
}
bool GetFields(Reader& r, Redeem* c) {
  return Get(r, &c->amount) && Get(r, &c->reason) && GetPartner(r, &c->partner);
}
bool GetFields(Reader& r, PlaceHold* c) { return Get(r, &c->amount) && Get(r, &c->ttl) && Get(r, &c->reason); }
bool GetFields(Reader& r, CaptureHold* c) { return Get(r, &c->hold); }
bool GetFields(Reader& r, ReleaseHold* c) { return Get(r, &c->hold); }
bool GetFields(Reader& r, ReverseEarn* c) { return Get(r, &c->credit) && Get(r, &c->amount) && Get(r, &c->counters); }
bool GetFields(Reader& r, ReverseDebit* c) { return Get(r, &c->debit); }
bool GetFields(Reader& r, Adjust* c) { return Get(r, &c->delta) && Get(r, &c->reason) && Get(r, &c->actor); }
bool GetFields(Reader& r, Transfer* c) { return Get(r, &c->to) && Get(r, &c->amount); }
bool GetFields(Reader& r, Accrue* c) { return GetActivity(r, &c->activity); }
bool GetFields(Reader& r, ReturnLines* c) {
  return Get(r, &c->credit) && Get(r, &c->lines) &&
         (r.AtEnd() || (Get(r, &c->quantities) && (!c->quantities.empty() || r.Fail("an empty list of quantities"))));
}
bool GetFields(Reader& r, QuoteReward* c) { return Get(r, &c->reward) && Get(r, &c->ttl); }
bool GetFields(Reader& r, RedeemReward* c) { return Get(r, &c->reward) && Get(r, &c->quote); }
bool GetFields(Reader& r, HoldReward* c) { return Get(r, &c->reward) && Get(r, &c->quote) && Get(r, &c->ttl); }
bool GetFields(Reader& r, PayWithPointsAtTill* c) { return Get(r, &c->points) && GetPartner(r, &c->partner); }
bool GetFields(Reader& r, SetMemberFlag* c) { return Get(r, &c->flag) && Get(r, &c->on); }
bool GetFields(Reader&, CloseMembership*) { return true; }
bool GetFields(Reader& r, GrantTier* c) {
  return Get(r, &c->tier) && Get(r, &c->valid_until) && Get(r, &c->reason) && Get(r, &c->actor);
}
bool GetFields(Reader& r, SubscribeTier* c) { return Get(r, &c->tier) && Get(r, &c->paid_until); }
bool GetFields(Reader&, CancelTierSubscription*) { return true; }
bool GetFields(Reader& r, SendTransfer* c) { return Get(r, &c->to) && Get(r, &c->amount); }
bool GetFields(Reader& r, ReceiveTransfer* c) { return Get(r, &c->from) && Get(r, &c->amount) && Get(r, &c->lots); }
bool GetFields(Reader& r, PurchasePoints* c) { return Get(r, &c->points) && Get(r, &c->price); }
bool GetFields(Reader& r, RefundPoints* c) { return Get(r, &c->purchase); }
bool GetFields(Reader& r, RedeemVoucher* c) { return Get(r, &c->voucher.accrual) && Get(r, &c->voucher.number); }
bool GetFields(Reader& r, SettleTransfer* c) {
  return Get(r, &c->transfer) && Get(r, &c->returned) && Get(r, &c->reason);
}

// Constructs the alternative `index` of Command (checked < its size).
template <size_t... I>
Command CommandAt(size_t index, std::index_sequence<I...>) {
  Command command;
  (void)((index == I ? (command.template emplace<I>(), true) : false) || ...);
  return command;
}

bool DecodeCommand(Reader& r, uint64_t tag, std::string key, Command* command) {
  *command = CommandAt(tag, std::make_index_sequence<std::variant_size_v<Command>>{});
  return std::visit(
      [&](auto& c) {
        c.idempotency_key = std::move(key);
        return Get(r, &c.member) && Get(r, &c.at) && GetFields(r, &c);
      },
      *command);
}

}  // namespace

absl::StatusOr<RecordedCommand> RecordedCommandOf(const Entry& entry) {
  if (entry.command.empty()) {
    return absl::NotFoundError(absl::StrCat("journal entry ", entry.seq, " records no command"));
  }
  auto bad = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("journal entry ", entry.seq, ": recorded command: ", why));
  };
  if (internal::DigestOfRecord(entry.command) != entry.command_digest) {
    return bad("does not match the entry's command digest");
  }
  Reader r(entry.command);
  uint64_t tag;
  if (!r.Unsigned(&tag)) return bad(r.error());
  RecordedCommand recorded;
  if (tag < std::variant_size_v<Command>) {
    Command command;
    if (!DecodeCommand(r, tag, entry.idempotency_key, &command)) return bad(r.error());
    recorded = std::move(command);
  } else if (tag == internal::kRunTag + static_cast<uint64_t>(PeriodRun::Kind::kExpiry) ||
             tag == internal::kRunTag + static_cast<uint64_t>(PeriodRun::Kind::kClosePeriod)) {
    PeriodRun run{static_cast<PeriodRun::Kind>(tag - internal::kRunTag), entry.idempotency_key, Instant()};
    if (!Get(r, &run.as_of)) return bad(r.error());
    recorded = std::move(run);
  } else {
    return bad(absl::StrCat("unknown command tag ", tag));
  }
  if (!r.AtEnd()) return bad(absl::StrCat("trailing bytes at byte ", entry.command.size()));
  return recorded;
}

}  // namespace loyalty
