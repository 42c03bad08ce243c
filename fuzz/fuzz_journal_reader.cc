// Fuzzes every reader of a journal with journals built from a valid one: the
// input changes one entry of a journal the engine wrote (replaces it with
// the entry the input decodes to, flips bytes of its encoding, inserts an
// entry, or deletes one), and the result is chained again through the
// store's own API, so that only the journal's rules can refuse it. The
// engine's open, verify, replay, re-rating, a statement and the liability
// roll-forward must each answer without crashing, and they must agree: a
// journal the engine opens verifies and replays to the engine's state, and
// verify accepts exactly what replay accepts.
//
// Input: byte 0 = mode (top two bits: 0 replace, 1 flip, 2 insert, 3
// delete) and entry index (low six bits, modulo the journal's length); the
// rest is an encoded entry (replace, insert) or (offset, mask) byte pairs
// to flip in the chosen entry's encoding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_program.h"
#include "journal/entry_codec.h"
#include "loyalty/audit.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"

namespace {

using namespace loyalty;
using fuzz::TheProgram;

FakeClock& TheClock() {
  static FakeClock* clock = new FakeClock(*Instant::Parse("2024-03-01T10:00:00Z"));
  return *clock;
}

MemberId Id(const char* text) { return MemberId::FromValid(text); }

// A journal with every common kind of entry, as the engine wrote it.
const std::vector<Entry>& Journal() {
  static const std::vector<Entry>* journal = [] {
    auto engine = Engine::Open(NewMemoryStore(), TheClock(), TheProgram());
    LOYALTY_CHECK(engine.ok());
    Engine& e = **engine;
    auto run = [&](const Command& command) {
      auto receipt = e.Execute(command);
      LOYALTY_CHECK(receipt.ok());
      return receipt->seq();
    };
    const Currency eur = *Currency::FromCode("EUR");
    run(Enroll{.idempotency_key = "e-a", .member = Id("a")});
    run(Enroll{.idempotency_key = "e-b", .member = Id("b")});
    run(Credit{.idempotency_key = "c", .member = Id("a"), .amount = Points(500), .source = "goodwill"});
    uint64_t basket = run(Accrue{.idempotency_key = "basket", .member = Id("a"),
                                 .activity = {"basket-1", Purchase{"", "b", "store",
                                                                   {PurchaseLine{"x", "food", {}, 2, *Money::Parse("30", eur)},
                                                                    PurchaseLine{"y", "food", {}, 1, *Money::Parse("10", eur)}}}}});
    uint64_t redeem = run(Redeem{.idempotency_key = "r", .member = Id("a"), .amount = Points(120)});
    uint64_t hold = run(PlaceHold{.idempotency_key = "h", .member = Id("a"), .amount = Points(40), .ttl = absl::Hours(2)});
    run(CaptureHold{.idempotency_key = "cap", .member = Id("a"), .hold = hold});
    uint64_t hold2 = run(PlaceHold{.idempotency_key = "h2", .member = Id("a"), .amount = Points(30), .ttl = absl::Hours(2)});
    run(ReleaseHold{.idempotency_key = "rel", .member = Id("a"), .hold = hold2});
    run(ReverseDebit{.idempotency_key = "undo", .member = Id("a"), .debit = redeem});
    // The basket's 3 food units filled the card of 2: voucher basket/0.
    run(ReturnLines{.idempotency_key = "ret", .member = Id("a"), .credit = basket, .lines = {1}});
    run(RedeemVoucher{.idempotency_key = "v", .member = Id("a"), .voucher = {basket, 0}});
    run(ReturnLines{.idempotency_key = "ret-unit", .member = Id("a"), .credit = basket, .lines = {0}, .quantities = {1}});
    uint64_t bought = run(PurchasePoints{.idempotency_key = "buy", .member = Id("a"), .points = Points(200)});
    run(RefundPoints{.idempotency_key = "refund", .member = Id("a"), .purchase = bought});
    run(Transfer{.idempotency_key = "t", .member = Id("a"), .to = Id("b"), .amount = Points(100)});
    run(Adjust{.idempotency_key = "adj", .member = Id("b"), .delta = Points(-10), .reason = "typo", .actor = "ops"});
    run(QuoteReward{.idempotency_key = "q", .member = Id("a"), .reward = "voucher", .ttl = absl::Hours(1)});
    run(SetMemberFlag{.idempotency_key = "f", .member = Id("a"), .flag = "card"});
    run(CloseMembership{.idempotency_key = "close", .member = Id("b")});
    TheClock().Advance(absl::Hours(24 * 800));
    LOYALTY_CHECK(e.RunExpiry("expiry", TheClock().Now()).ok());
    LOYALTY_CHECK(e.ClosePeriod("review", TheClock().Now()).ok());
    auto* entries = new std::vector<Entry>();
    LOYALTY_CHECK(e.store().Read(1, [&](const Entry& entry) {
                         entries->push_back(entry);
                         return absl::OkStatus();
                       }).ok());
    return entries;
  }();
  return *journal;
}

// The journal with the input's change, or false if the input makes none.
bool Changed(const uint8_t* data, size_t size, std::vector<Entry>& entries) {
  if (size == 0) return false;
  entries = Journal();
  const int mode = data[0] >> 6;
  const size_t index = (data[0] & 63) % entries.size();
  const absl::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode) {
    case 0:
    case 2: {
      auto entry = internal::DecodeEntry(rest);
      if (!entry.ok()) return false;
      if (mode == 0) {
        entries[index] = *std::move(entry);
      } else {
        entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(index), *std::move(entry));
      }
      return true;
    }
    case 1: {
      std::string bytes;
      internal::EncodeEntry(entries[index], &bytes);
      for (size_t i = 0; i + 1 < rest.size(); i += 2) {
        bytes[static_cast<uint8_t>(rest[i]) % bytes.size()] ^= rest[i + 1];
      }
      auto entry = internal::DecodeEntry(bytes);
      if (!entry.ok()) return false;
      entries[index] = *std::move(entry);
      return true;
    }
    default:
      if (entries.size() == 1) return false;
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(index));
      return true;
  }
}

// A memory store holding `entries` in order, chained by the store; null if
// the store refuses them (an idempotency key split over two commands).
std::unique_ptr<Store> Stored(std::vector<Entry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) entries[i].seq = i + 1;
  std::unique_ptr<Store> store = NewMemoryStore();
  if (!store->Append(std::span<Entry>(entries)).ok()) return nullptr;
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Entry> entries;
  if (!Changed(data, size, entries)) return 0;
  std::unique_ptr<Store> store = Stored(entries);
  if (store == nullptr) return 0;

  JournalVerification verified = VerifyJournal(*store);
  auto replayed = Replay(*store);
  LOYALTY_CHECK(verified.ok() == replayed.ok());
  LOYALTY_CHECK(replayed.ok() || replayed.status().code() == absl::StatusCode::kDataLoss);
  (void)Rerate(*store, TheProgram());
  (void)StatementOf(*store, entries.front().member, Instant::Min(), Instant::Max());
  (void)RollForward(*store, TimeZone::Utc(), {.from = Instant::FromUnixMicros(0), .to = Instant::Max()});

  auto engine = Engine::Open(Stored(entries), TheClock(), TheProgram());
  if (engine.ok()) {
    LOYALTY_CHECK(verified.ok());
    // Unless the engine had to publish its program's version again.
    if ((*engine)->store().LastSeq() == entries.size()) {
      LOYALTY_CHECK(replayed->state_digest == (*engine)->StateDigest());
    }
  }
  return 0;
}
