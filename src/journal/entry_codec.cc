// Encoding and decoding of journal entries, field by field in a fixed order.
#include "journal/entry_codec.h"

#include <optional>
#include <type_traits>

#include "core/encoding.h"
#include "loyalty/check.h"
#include "journal/ledger_codec.h"
#include "journal/value_codec.h"

namespace loyalty::internal {
namespace {

// Format 3: every entry has a field for its recorded command. Where a store
// does not keep the bytes it read (Store::ReadStored's default), the chain
// is checked over the bytes re-encoded from the decoded entry, so only the
// current format is read.
constexpr uint8_t kFormat = 3;
constexpr size_t kMaxCommand = 1 << 24;

// Applies `f(field)` to each field of a body (const or not) in its encoding
// order; `f` returns false to stop. `extended`: the form with purchase
// lines' units, stamps and money (kinds 22 and 23). Writing and reading share this
// list, so the two cannot drift apart.
template <typename E, typename F>
bool Fields(E& e, bool extended, F&& f) {
  using namespace entries;
  using T = std::remove_const_t<E>;
  if constexpr (std::is_same_v<T, Enrolled>) {
    return true;
  } else if constexpr (std::is_same_v<T, Credited>) {
    return f(e.amount) && f(e.debt_paid) && f(e.expires_at) && f(e.source) && f(e.counters) && f(e.activity) &&
           f(e.line_points) && f(e.unattributed) && f(e.grants) && f(e.local_day) &&
           (!extended || (f(e.line_units) && f(e.stamps) && f(e.price)));
  } else if constexpr (std::is_same_v<T, Debited>) {
    return f(e.amount) && f(e.draws) && f(e.price) && f(e.quote) && f(e.value);
  } else if constexpr (std::is_same_v<T, Expired>) {
    return f(e.amount) && f(e.draws);
  } else if constexpr (std::is_same_v<T, HoldPlaced>) {
    return f(e.amount) && f(e.expires_at) && f(e.draws) && f(e.price) && f(e.quote);
  } else if constexpr (std::is_same_v<T, HoldCaptured>) {
    return f(e.hold) && f(e.amount) && f(e.draws) && f(e.price);
  } else if constexpr (std::is_same_v<T, HoldReleased>) {
    return f(e.hold) && f(e.lapsed) && f(e.amount) && f(e.draws) && f(e.debt_paid);
  } else if constexpr (std::is_same_v<T, EarnReversed>) {
    return f(e.credit) && f(e.amount) && f(e.from_lot) && f(e.debt_added) && f(e.counters) && f(e.lines) &&
           f(e.counter_day) && (!e.balance_first || f(e.draws)) && (!extended || (f(e.units) && f(e.stamps) && f(e.refund)));
  } else if constexpr (std::is_same_v<T, DebitReversed>) {
    return f(e.debit) && f(e.amount) && f(e.draws) && f(e.debt_paid);
  } else if constexpr (std::is_same_v<T, Adjusted>) {
    return f(e.delta) && f(e.reason) && f(e.actor) && f(e.expires_at) && f(e.debt_paid) && f(e.draws);
  } else if constexpr (std::is_same_v<T, TransferredOut>) {
    return f(e.to) && f(e.amount) && f(e.draws) && (!e.across || f(e.lots));
  } else if constexpr (std::is_same_v<T, TransferredIn>) {
    return f(e.from) && f(e.amount) && f(e.debt_paid) && f(e.lots);
  } else if constexpr (std::is_same_v<T, Quoted>) {
    return f(e.amount) && f(e.expires_at) && f(e.price);
  } else if constexpr (std::is_same_v<T, VersionPublished>) {
    return f(e.version) && f(e.content_hash) && f(e.announced_at) && f(e.effective_from);
  } else if constexpr (std::is_same_v<T, FlagChanged>) {
    return f(e.flag) && f(e.on) && f(e.renewals);
  } else if constexpr (std::is_same_v<T, TierChanged>) {
    return f(e.tier) && f(e.valid_until) && f(e.reason) && f(e.paid) && f(e.lifetime_tier) && f(e.period_first) &&
           f(e.period_last) && f(e.renewals);
  } else if constexpr (std::is_same_v<T, TransferSettled>) {
    return f(e.transfer) && f(e.returned) && f(e.debt_paid) && f(e.lots) && f(e.reason);
  } else if constexpr (std::is_same_v<T, EstimateRevised>) {
    return f(e.expected_redemption_rate) && f(e.cohort) && f(e.actor) && f(e.reason);
  } else if constexpr (std::is_same_v<T, VoucherRedeemed>) {
    return f(e.voucher) && f(e.reward);
  } else {
    static_assert(std::is_same_v<T, MembershipClosed>);
    return f(e.redeemable_until);
  }
}

// An entry's kind: its body's index in EntryBody for the first 17
// alternatives, kinds 17-19 for the flagged forms of three of them, and
// the later alternatives after those, so that journals written before any
// of them decode unchanged.
//   17: EarnReversed that takes from the member's other lots (balance_first),
//       its draws after the older kind's fields;
//   18, 19: TransferredOut and TransferredIn across shards (`across`);
//   20: TransferSettled;
//   21: EstimateRevised;
//   22: Credited extended with its purchase lines' units, the stamps they
//       collected and the price of bought points, after the older kind's
//       fields;
//   23: EarnReversed from the balance extended with the units it returns
//       of each line, the stamps it takes back and the money a refund of
//       bought points pays, after kind 17's fields;
//   24: VoucherRedeemed.
template <typename T, size_t I = 0>
constexpr uint64_t IndexOf() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, EntryBody>, T>) {
    return I;
  } else {
    return IndexOf<T, I + 1>();
  }
}
constexpr uint64_t kFlaggedKinds = 17;  // the first kind that is not an index
static_assert(IndexOf<entries::TierChanged>() == kFlaggedKinds - 1);
constexpr uint64_t kEarnReversedFromBalance = 17;
constexpr uint64_t kTransferredOutAcross = 18;
constexpr uint64_t kTransferredInAcross = 19;
constexpr uint64_t kTransferSettled = 20;
constexpr uint64_t kEstimateRevised = 21;
constexpr uint64_t kCreditedExtended = 22;
constexpr uint64_t kEarnReversedExtended = 23;
constexpr uint64_t kVoucherRedeemed = 24;
static_assert(IndexOf<entries::TransferSettled>() == kFlaggedKinds &&
              IndexOf<entries::EstimateRevised>() == kFlaggedKinds + 1 &&
              IndexOf<entries::VoucherRedeemed>() == kFlaggedKinds + 2 &&
              std::variant_size_v<EntryBody> == kFlaggedKinds + 3);

// The flag that a kind of its own stands for, where a body has one.
template <typename T>
bool* FlagOf(T& body) {
  if constexpr (std::is_same_v<T, entries::EarnReversed>) return &body.balance_first;
  if constexpr (std::is_same_v<T, entries::TransferredOut>) return &body.across;
  if constexpr (std::is_same_v<T, entries::TransferredIn>) return &body.across;
  return nullptr;
}

// Whether a body has the extended form: purchase lines' units, stamps, or
// the money of bought points.
template <typename T>
bool Extended(const T& body) {
  if constexpr (std::is_same_v<T, entries::Credited>) {
    return !body.line_units.empty() || !body.stamps.empty() || body.price.has_value();
  }
  if constexpr (std::is_same_v<T, entries::EarnReversed>) {
    return !body.units.empty() || !body.stamps.empty() || body.refund.has_value();
  }
  return false;
}

uint64_t KindOf(const EntryBody& body) {
  return std::visit(
      [](const auto& b) -> uint64_t {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, entries::Credited>) {
          if (Extended(b)) return kCreditedExtended;
        } else if constexpr (std::is_same_v<T, entries::EarnReversed>) {
          LOYALTY_CHECK(b.balance_first || !Extended(b));
          if (Extended(b)) return kEarnReversedExtended;
          if (b.balance_first) return kEarnReversedFromBalance;
        } else if constexpr (std::is_same_v<T, entries::TransferredOut>) {
          if (b.across) return kTransferredOutAcross;
        } else if constexpr (std::is_same_v<T, entries::TransferredIn>) {
          if (b.across) return kTransferredInAcross;
        } else if constexpr (std::is_same_v<T, entries::TransferSettled>) {
          return kTransferSettled;
        } else if constexpr (std::is_same_v<T, entries::EstimateRevised>) {
          return kEstimateRevised;
        } else if constexpr (std::is_same_v<T, entries::VoucherRedeemed>) {
          return kVoucherRedeemed;
        }
        return IndexOf<T>();
      },
      body);
}

// The alternative of EntryBody that `kind` is, whether its flag is set and
// whether it has the extended form.
struct KindForm {
  uint64_t index;
  bool flagged;
  bool extended = false;
};
std::optional<KindForm> FormOf(uint64_t kind) {
  switch (kind) {
    case kEarnReversedFromBalance:
      return KindForm{IndexOf<entries::EarnReversed>(), true};
    case kTransferredOutAcross:
      return KindForm{IndexOf<entries::TransferredOut>(), true};
    case kTransferredInAcross:
      return KindForm{IndexOf<entries::TransferredIn>(), true};
    case kTransferSettled:
      return KindForm{IndexOf<entries::TransferSettled>(), false};
    case kEstimateRevised:
      return KindForm{IndexOf<entries::EstimateRevised>(), false};
    case kCreditedExtended:
      return KindForm{IndexOf<entries::Credited>(), false, true};
    case kEarnReversedExtended:
      return KindForm{IndexOf<entries::EarnReversed>(), true, true};
    case kVoucherRedeemed:
      return KindForm{IndexOf<entries::VoucherRedeemed>(), false};
    default:
      if (kind < kFlaggedKinds) return KindForm{kind, false};
      return std::nullopt;
  }
}

template <size_t I = 0>
bool DecodeBody(Reader& r, KindForm form, EntryBody* body) {
  if constexpr (I < std::variant_size_v<EntryBody>) {
    if (form.index != I) return DecodeBody<I + 1>(r, form, body);
    std::variant_alternative_t<I, EntryBody> value;
    if (bool* flag = FlagOf(value)) *flag = form.flagged;
    if (!Fields(value, form.extended, [&](auto& field) { return Get(r, &field); })) return false;
    // One entry has one encoding: the extended form extends.
    if (form.extended && !Extended(value)) return r.Fail("an entry of the extended form extends nothing");
    *body = std::move(value);
    return true;
  } else {
    return r.Fail("unknown entry kind");
  }
}

bool DecodeBody(Reader& r, uint64_t kind, EntryBody* body) {
  std::optional<KindForm> form = FormOf(kind);
  return form ? DecodeBody(r, *form, body) : r.Fail("unknown entry kind");
}

// The optional trailer after the body: a non-empty partner and nothing
// after it. Anything else is "trailing bytes" where the body ended.
bool DecodePartner(Reader& r, std::string* partner) {
  Reader probe = r;
  if (Get(probe, partner) && !partner->empty() && probe.AtEnd()) {
    r = probe;
    return true;
  }
  partner->clear();
  return r.Fail("trailing bytes");
}

}  // namespace

void EncodeEntry(const Entry& entry, std::string* out) {
  // Most entries fit; growing byte by byte would reallocate several times.
  out->reserve(out->size() + 192 + entry.explanation.size() + entry.command.size());
  Writer w(out);
  w.Unsigned(kFormat);
  Put(w, entry.seq);
  Put(w, entry.member);
  Put(w, entry.business_time);
  Put(w, entry.recorded_at);
  Put(w, entry.idempotency_key);
  w.Raw(entry.command_digest.data(), entry.command_digest.size());
  Put(w, entry.version);
  Put(w, entry.explanation);
  Put(w, entry.command);
  w.Unsigned(KindOf(entry.body));
  std::visit(
      [&](const auto& body) {
        Fields(body, Extended(body), [&](const auto& field) {
          Put(w, field);
          return true;
        });
      },
      entry.body);
  // Last, and written only when set: an entry without a partner encodes to
  // the same bytes (and hash) as an entry written by a version of this
  // library without partners, so such journals decode and verify as they
  // are.
  if (!entry.partner.empty()) Put(w, entry.partner);
}

absl::StatusOr<Entry> DecodeEntry(absl::string_view bytes) {
  Reader r(bytes);
  Entry entry;
  uint64_t format = 0, kind = 0;
  bool ok = r.Unsigned(&format) &&
            (format == kFormat || r.Fail("unknown entry format")) &&
            Get(r, &entry.seq) && Get(r, &entry.member) && Get(r, &entry.business_time) &&
            Get(r, &entry.recorded_at) && Get(r, &entry.idempotency_key) &&
            r.Raw(entry.command_digest.data(), entry.command_digest.size()) &&
            Get(r, &entry.version) && Get(r, &entry.explanation) &&
            r.Bytes(&entry.command, kMaxCommand) && r.Unsigned(&kind) &&
            DecodeBody(r, kind, &entry.body) && (r.AtEnd() || DecodePartner(r, &entry.partner));
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("malformed journal entry: ", r.error()));
  return entry;
}

absl::StatusOr<EntryKey> DecodeEntryKey(absl::string_view bytes) {
  Reader r(bytes);
  EntryKey key;
  uint64_t format = 0;
  absl::string_view member;
  int64_t business_time = 0, recorded_at = 0;
  bool ok = r.Unsigned(&format) && (format == kFormat || r.Fail("unknown entry format")) && r.Unsigned(&key.seq) &&
            r.View(&member, kMaxText) && r.Signed(&business_time) && r.Signed(&recorded_at) &&
            r.View(&key.idempotency_key, kMaxText);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("malformed journal entry: ", r.error()));
  return key;
}

}  // namespace loyalty::internal
