// Fuzzes the reading of checkpoints, which an open trusts once they decode:
// the input changes the parts of a valid projection (a few members with
// lots, holds, debits, quotes, an accrual with lines, flags, counters and a
// status, as an engine left them) and the decoder must answer without
// crashing. What it accepts must meet the ledger's invariants well enough
// for every decision an engine makes on a member (expiry, status review,
// redemption, a hold, a transfer, a reversal, a return) to answer without
// crashing, and its canonical encoding must decode to the same state.
//
// Input: byte 0 = mode (even: flip, odd: replace) and part index (byte 0 / 2,
// modulo the parts); the rest is (offset low, offset high, mask) triples
// to flip in the chosen part (flip), or the part's new bytes (replace).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "fuzz_program.h"
#include "journal/projection_codec.h"
#include "loyalty/check.h"
#include "loyalty/command.h"
#include "loyalty/engine.h"

namespace {

using namespace loyalty;
using fuzz::TheProgram;

MemberId Id(const char* text) { return MemberId::FromValid(text); }

// The parts of the projection of a small journal, as an engine encodes it
// (parts of 256 bytes, so that there are several).
const std::vector<std::string>& Parts() {
  static const std::vector<std::string>* parts = [] {
    FakeClock clock(*Instant::Parse("2024-03-01T10:00:00Z"));
    auto engine = Engine::Open(NewMemoryStore(), clock, TheProgram());
    LOYALTY_CHECK(engine.ok());
    Engine& e = **engine;
    auto run = [&](const Command& command) {
      auto receipt = e.Execute(command);
      LOYALTY_CHECK(receipt.ok());
      return receipt->seq();
    };
    const Currency eur = *Currency::FromCode("EUR");
    for (const char* member : {"a", "b", "c"}) run(Enroll{.idempotency_key = std::string("e-") + member, .member = Id(member)});
    run(Credit{.idempotency_key = "c", .member = Id("a"), .amount = Points(500), .source = "goodwill"});
    run(Accrue{.idempotency_key = "basket", .member = Id("a"),
               .activity = {"basket-1", Purchase{"", "b", "store",
                                                 {PurchaseLine{"x", "food", {}, 2, *Money::Parse("30", eur)},
                                                  PurchaseLine{"y", "food", {}, 1, *Money::Parse("10", eur)}}}}});
    run(PurchasePoints{.idempotency_key = "buy", .member = Id("a"), .points = Points(200)});
    run(Redeem{.idempotency_key = "r", .member = Id("a"), .amount = Points(120)});
    run(PlaceHold{.idempotency_key = "h", .member = Id("a"), .amount = Points(40), .ttl = absl::Hours(2)});
    run(QuoteReward{.idempotency_key = "q", .member = Id("a"), .reward = "voucher", .ttl = absl::Hours(1)});
    run(SetMemberFlag{.idempotency_key = "f", .member = Id("a"), .flag = "card"});
    run(Transfer{.idempotency_key = "t", .member = Id("a"), .to = Id("b"), .amount = Points(100)});
    run(CloseMembership{.idempotency_key = "close", .member = Id("c")});
    absl::btree_map<MemberId, MemberState> states;
    for (const char* member : {"a", "b", "c"}) states.emplace(Id(member), *e.Snapshot(Id(member)));
    absl::btree_map<MemberId, const MemberState*> members;
    for (const auto& [id, state] : states) members.emplace(id, &state);
    auto* out = new std::vector<std::string>();
    internal::EncodeProjection(members, {}, [&](absl::string_view part) { out->emplace_back(part); }, 256);
    return out;
  }();
  return *parts;
}

// The parts with the input's change; false if the input makes none.
bool Changed(const uint8_t* data, size_t size, std::vector<std::string>& parts) {
  if (size == 0) return false;
  parts = Parts();
  std::string& part = parts[(data[0] / 2) % parts.size()];
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 1) {
    part = rest;
    return true;
  }
  if (part.empty()) return false;
  for (size_t i = 0; i + 2 < rest.size(); i += 3) {
    const size_t offset = static_cast<uint8_t>(rest[i]) | static_cast<size_t>(static_cast<uint8_t>(rest[i + 1])) << 8;
    part[offset % part.size()] ^= rest[i + 2];
  }
  return true;
}

// Every decision an engine makes on a member it holds, on `state`.
void Decide(const MemberId& id, const MemberState& state) {
  const Program& program = TheProgram();
  const Instant at = *Instant::Parse("2024-03-02T10:00:00Z");
  (void)DecideExpiry(program, id, state, Instant::Max(), "x", CommandDigest{}, at);
  (void)DecideTierReview(program, id, state, *Instant::Parse("2025-03-02T10:00:00Z"), "x", CommandDigest{}, at);
  for (const Command& command : std::vector<Command>{
           Redeem{.idempotency_key = "x", .member = id, .at = at, .amount = Points(50)},
           PlaceHold{.idempotency_key = "x", .member = id, .at = at, .amount = Points(10), .ttl = absl::Hours(1)},
           Transfer{.idempotency_key = "x", .member = id, .at = at, .to = Id("z"), .amount = Points(5)},
           ReverseEarn{.idempotency_key = "x", .member = id, .at = at, .credit = 4, .amount = Points(5)},
           ReturnLines{.idempotency_key = "x", .member = id, .at = at, .credit = 5, .lines = {0}}}) {
    // Only `id` is known: a transfer's other member is the fresh one.
    MemberState fresh;
    auto lookup = [&](const MemberId& member) -> const MemberState* { return member == id ? &state : &fresh; };
    (void)Decide(program, lookup, command, at);
  }
}

// The canonical parts of `states`.
std::vector<std::string> Encoded(const absl::btree_map<MemberId, MemberState>& states,
                                 const internal::PublishedVersions& published) {
  absl::btree_map<MemberId, const MemberState*> members;
  for (const auto& [id, state] : states) members.emplace(id, &state);
  std::vector<std::string> parts;
  internal::EncodeProjection(members, published, [&](absl::string_view part) { parts.emplace_back(part); }, 256);
  return parts;
}

// Decodes `parts`; false if the decoder refuses them.
bool Decoded(const std::vector<std::string>& parts, absl::btree_map<MemberId, MemberState>* states,
             internal::PublishedVersions* published) {
  internal::ProjectionDecoder decoder([&](const MemberId& id, MemberState&& state) {
    states->emplace(id, std::move(state));
    return absl::OkStatus();
  });
  for (const std::string& part : parts) {
    if (!decoder.Part(part).ok()) return false;
  }
  if (!decoder.Finish().ok()) return false;
  *published = decoder.published();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> parts;
  if (!Changed(data, size, parts)) return 0;
  absl::btree_map<MemberId, MemberState> states;
  internal::PublishedVersions published;
  if (!Decoded(parts, &states, &published)) return 0;
  for (const auto& [id, state] : states) Decide(id, state);
  // What decodes has a canonical encoding, which decodes to the same state.
  const std::vector<std::string> canonical = Encoded(states, published);
  absl::btree_map<MemberId, MemberState> again;
  internal::PublishedVersions published_again;
  LOYALTY_CHECK(Decoded(canonical, &again, &published_again));
  LOYALTY_CHECK(Encoded(again, published_again) == canonical);
  return 0;
}
