// Property tests (RapidCheck) over random command sequences, for the
// invariants of DESIGN.md:
//   1  a member's balance equals the sum of its open lots (and held the sum
//      of its holds), after every command;
//   3  a command repeated with its key returns the original receipt and
//      changes nothing;
//   5  a debit records the lots it consumed and its reversal restores
//      exactly those; a reversed earn that was spent becomes debt, never a
//      silent loss;
//   8  replaying the journal into a fresh engine reproduces the state.
#include <algorithm>
#include <map>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace loyalty {
namespace {

// One step of a random workload; its numbers pick what the step refers to.
struct Op {
  int kind;      // which command
  int member;    // which of the members
  int other;     // second member (transfers)
  int64_t amount;
  int ref;       // which earlier credit, hold or debit
  int hours;     // time passing before the step
};

}  // namespace
}  // namespace loyalty

namespace rc {
template <>
struct Arbitrary<loyalty::Op> {
  static Gen<loyalty::Op> arbitrary() {
    return gen::build<loyalty::Op>(
        gen::set(&loyalty::Op::kind, gen::inRange(0, 13)), gen::set(&loyalty::Op::member, gen::inRange(0, 4)),
        gen::set(&loyalty::Op::other, gen::inRange(0, 4)),
        gen::set(&loyalty::Op::amount, gen::inRange<int64_t>(1, 2000)),
        gen::set(&loyalty::Op::ref, gen::inRange(0, 1000)), gen::set(&loyalty::Op::hours, gen::inRange(0, 72)));
  }
};
}  // namespace rc

namespace loyalty {
namespace {

MemberId Member(int i) { return MemberId::FromValid("M-" + std::to_string(i)); }

void CheckLotsAndHolds(const Engine& engine, int members) {
  for (int i = 0; i < members; ++i) {
    auto state = engine.Snapshot(Member(i));
    if (!state.ok()) continue;
    int64_t lots = 0, holds = 0;
    for (const Lot& lot : state->lots) {
      RC_ASSERT(lot.remaining >= Points(0));
      RC_ASSERT(lot.remaining <= lot.earned);
      lots += lot.remaining.value();
    }
    for (const auto& [id, hold] : state->holds) holds += hold.amount.value();
    RC_ASSERT(state->balance.value() == lots);
    RC_ASSERT(state->held.value() == holds);
    RC_ASSERT(state->debt >= Points(0));
  }
}

// Builds the command for `op` from what earlier receipts created.
// `credits`, `holds` and `debits` are those of the op's member, so that most
// references are valid and the commands mostly succeed.
Command MakeCommand(const Op& op, int step, const std::vector<uint64_t>& credits,
                    const std::vector<uint64_t>& holds, const std::vector<uint64_t>& debits) {
  std::string key = "k" + std::to_string(step);
  MemberId member = Member(op.member);
  auto pick = [&](const std::vector<uint64_t>& list) -> uint64_t {
    return list.empty() ? 999999 : list[static_cast<size_t>(op.ref) % list.size()];
  };
  switch (op.kind) {
    case 0: return Enroll{key, member, {}};
    case 1:
    case 2:
    case 12: return Credit{key, member, {}, Points(op.amount), "work", {}, {{"status", Points(op.amount)}}};
    case 3: return Redeem{key, member, {}, Points(op.amount), "award"};
    case 4: return PlaceHold{key, member, {}, Points(op.amount), absl::Hours(1 + op.ref % 100), "quote"};
    case 5: return CaptureHold{key, member, {}, pick(holds)};
    case 6: return ReleaseHold{key, member, {}, pick(holds)};
    case 7: return ReverseEarn{key, member, {}, pick(credits), Points(op.amount), {}};
    case 8: return ReverseDebit{key, member, {}, pick(debits)};
    case 9: return Adjust{key, member, {}, Points(op.ref % 2 == 0 ? op.amount : -op.amount), "fix", "agent"};
    case 10: return Transfer{key, member, {}, Member(op.other), Points(op.amount)};
    default: return Transfer{key, member, {}, Member(op.other), Points(op.amount)};
  }
}

RC_GTEST_PROP(LedgerProperties, InvariantsHoldOverRandomCommands, (const std::vector<Op>& ops)) {
  constexpr int kMembers = 5;
  FakeClock clock(*Instant::Parse("2010-01-01T00:00:00Z"));
  auto program = Program::Create("v1", "Europe/Berlin", {12, ExpiryTerm::Round::kEndOfMonth});
  auto engine = *Engine::Open(NewMemoryStore(), clock, *program);
  for (int i = 0; i < kMembers; ++i) {
    RC_ASSERT(engine->Execute(Enroll{"enroll-" + std::to_string(i), Member(i), {}}).ok());
  }
  std::map<int, std::vector<uint64_t>> credits, holds, debits;  // by member
  std::vector<std::pair<Command, Receipt>> done;
  int step = 0;
  for (const Op& op : ops) {
    ++step;
    clock.Advance(absl::Hours(op.hours));
    if (op.kind == 13) {
      auto run = engine->RunExpiry("expiry-" + std::to_string(step), clock.Now());
      RC_ASSERT(run.ok());
      CheckLotsAndHolds(*engine, kMembers);
      continue;
    }
    Command command = MakeCommand(op, step, credits[op.member], holds[op.member], debits[op.member]);
    std::optional<MemberState> before;
    if (auto* reverse = std::get_if<ReverseDebit>(&command)) {
      if (auto state = engine->Snapshot(reverse->member); state.ok()) before = *state;
    }
    uint64_t last = engine->store().LastSeq();
    auto receipt = engine->Execute(command);
    if (!receipt.ok()) {
      // A refused command writes nothing.
      RC_ASSERT(engine->store().LastSeq() == last);
      RC_ASSERT(receipt.status().code() != absl::StatusCode::kInternal);
      continue;
    }
    RC_ASSERT(!receipt->replayed);
    const Entry& first = receipt->entries.front();
    if (std::holds_alternative<entries::Credited>(first.body)) credits[op.member].push_back(first.seq);
    if (std::holds_alternative<entries::HoldPlaced>(first.body)) holds[op.member].push_back(first.seq);
    if (std::holds_alternative<entries::Debited>(first.body) ||
        std::holds_alternative<entries::HoldCaptured>(first.body)) {
      debits[op.member].push_back(first.seq);
    }
    if (const auto* reversed = std::get_if<entries::EarnReversed>(&first.body)) {
      // Invariant 5: what the lot no longer had is debt, not a loss.
      RC_ASSERT(reversed->from_lot.value() + reversed->debt_added.value() == reversed->amount.value());
    }
    if (const auto* restored = std::get_if<entries::DebitReversed>(&first.body)) {
      // Invariant 5: exactly the consumed lots get exactly their amounts back.
      auto after = engine->Snapshot(first.member);
      std::map<LotId, int64_t> expected;
      for (const LotDraw& draw : restored->draws) expected[draw.lot] += draw.amount.value();
      for (const Lot& lot : after->lots) {
        const Lot* old = before->FindLot(lot.id);
        int64_t gained = lot.remaining.value() - old->remaining.value();
        RC_ASSERT(gained == (expected.count(lot.id) ? expected[lot.id] : 0));
        RC_ASSERT(lot.expires_at == old->expires_at);
      }
    }
    done.emplace_back(command, *receipt);
    CheckLotsAndHolds(*engine, kMembers);
  }

  RC_CLASSIFY(done.size() >= 30, "30+ commands applied");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    return std::holds_alternative<entries::DebitReversed>(d.second.entries.front().body);
  }), "a debit reversed");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    const auto* r = std::get_if<entries::EarnReversed>(&d.second.entries.front().body);
    return r != nullptr && r->debt_added > Points(0);
  }), "debt created");

  // Invariant 3: repeating every successful command changes nothing.
  Sha256 digest = engine->StateDigest();
  uint64_t last = engine->store().LastSeq();
  for (const auto& [command, receipt] : done) {
    auto again = engine->Execute(command);
    RC_ASSERT(again.ok());
    RC_ASSERT(again->replayed);
    RC_ASSERT(again->entries == receipt.entries);
  }
  RC_ASSERT(engine->StateDigest() == digest);
  RC_ASSERT(engine->store().LastSeq() == last);

  // Each member's balance is the sum of its entries' deltas.
  std::map<MemberId, int64_t> available, held, debt;
  // The copy receives each command's entries (those sharing a key) together.
  std::unique_ptr<Store> copy = NewMemoryStore();
  std::vector<Entry> command;
  auto flush = [&] {
    absl::Status status = command.empty() ? absl::OkStatus() : copy->Append(command);
    command.clear();
    return status;
  };
  RC_ASSERT(engine->store()
                .Read(1,
                      [&](const Entry& entry) {
                        BalanceDelta delta = DeltaOf(entry.body);
                        available[entry.member] += delta.available.value();
                        held[entry.member] += delta.held.value();
                        debt[entry.member] += delta.debt.value();
                        absl::Status status = absl::OkStatus();
                        if (!command.empty() && command.back().idempotency_key != entry.idempotency_key) {
                          status = flush();
                        }
                        command.push_back(entry);
                        return status;
                      })
                .ok());
  RC_ASSERT(flush().ok());
  for (int i = 0; i < kMembers; ++i) {
    auto balance = engine->BalanceOf(Member(i));
    RC_ASSERT(balance->available.value() == available[Member(i)]);
    RC_ASSERT(balance->held.value() == held[Member(i)]);
    RC_ASSERT(balance->debt.value() == debt[Member(i)]);
  }

  // Invariant 8: replay reproduces the live state and the same chain.
  RC_ASSERT(copy->HeadHash() == engine->store().HeadHash());
  auto replayed = Engine::Open(std::move(copy), clock, *program);
  RC_ASSERT(replayed.ok());
  RC_ASSERT((*replayed)->StateDigest() == digest);
}

}  // namespace
}  // namespace loyalty
