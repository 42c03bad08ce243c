// Property tests (RapidCheck) over random command sequences, for these
// properties of the ledger:
//   lots     a member's balance equals the sum of its open lots (and held
//            the sum of its holds), after every command;
//   keys     a command repeated with its key returns the original receipt
//            and changes nothing;
//   draws    a debit records the lots it consumed and its reversal restores
//            exactly those; a reversed earn that was spent is taken from
//            the member's other lots, and only what they do not cover
//            becomes debt, never a silent loss;
//   debt     a member who owes points has none available, after every
//            command, in the journaled state and in the balance (which
//            counts lapsed holds as released);
//   activity an activity is credited to a member once, whatever the key;
//   replay   replaying the journal into a fresh engine reproduces the state.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
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
        gen::set(&loyalty::Op::kind, gen::inRange(0, 22)), gen::set(&loyalty::Op::member, gen::inRange(0, 4)),
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
    for (const auto& [id, hold] : state->detail().holds) holds += hold.amount.value();
    RC_ASSERT(state->balance.value() == lots);
    RC_ASSERT(state->held().value() == holds);
    RC_ASSERT(state->debt() >= Points(0));
    RC_ASSERT(state->debt().IsZero() || state->balance.IsZero());
    auto balance = engine.BalanceOf(Member(i));
    RC_ASSERT(balance->debt.IsZero() || balance->available.IsZero());
  }
}

// What a member's earlier receipts created, for commands to refer to.
struct Refs {
  std::vector<uint64_t> credits, holds, debits, accruals, quotes;
};

// Two versions: p2 (in force from 1 Mar 2010) raises the mug from 300 to
// 400 points and grandfathers points earned before the change and earlier
// quotes and holds. Purchases earn by category with a capped multiplier and
// a welcome bonus; a co-brand flag protects points from lapsing.
std::string VersionJson(const char* id, const char* announced, const char* effective, int mug,
                        const char* grandfathering) {
  return absl::StrCat(R"({"id": ")", id, R"(", "currency": "EUR", "time_zone": "Europe/Berlin", "announced_at": ")",
                      announced, R"(", "effective_from": ")", effective, R"(",
    "redeemable_balance": "points", "counters": ["status"],
    "accrual": [
      {"id": "base", "when": {"activity_types": ["purchase"], "exclude_categories": ["gift_cards"]},
       "effect": {"kind": "per_money", "rate": "0.5", "rounding": "down", "balance": "points"}},
      {"id": "baby", "priority": 5, "when": {"activity_types": ["purchase"], "include_categories": ["baby"]},
       "effect": {"kind": "multiplier", "rate": "2", "base_rules": ["base"], "rounding": "down"},
       "cap": {"per_member_day": 300}},
      {"id": "welcome", "when": {"activity_types": ["purchase"], "first_activity_only": true},
       "effect": {"kind": "fixed", "fixed": 50, "balance": "points"}},
      {"id": "status", "when": {"activity_types": ["purchase"]},
       "effect": {"kind": "per_money", "rate": "1", "rounding": "down", "balance": "status"}}],
    "redemption": {"catalog": [{"id": "mug", "name": "Mug", "price": )", mug, R"(},
                               {"id": "bag", "name": "Bag", "price": 150, "cash": "5.00"}],
                   "pay_with_points": {"value_per_point": "0.01", "minimum_points": 100, "step_points": 1}},
    "expiry": {"months": 12, "round": "end_of_month", "protected_by_flags": ["cobrand"], "closure_grace_months": 3})",
                      grandfathering, "}");
}

Program TwoVersions() {
  auto program = ParseProgram(absl::StrCat(
      R"({"versions": [)", VersionJson("p1", "2009-12-01T00:00:00Z", "2010-01-01T00:00:00Z", 300, ""), ", ",
      VersionJson("p2", "2010-02-01T00:00:00Z", "2010-03-01T00:00:00Z", 400,
                  R"(, "grandfathering": {"price_lock": true, "earned_before": "2010-03-01T00:00:00Z",)"
                  R"( "spend_until": "2010-09-01T00:00:00Z"})"),
      "]}"));
  if (!program.ok()) std::fprintf(stderr, "%s\n", program.status().ToString().c_str());
  return *program;
}

// A basket whose id repeats now and then (`reuse`), as a retro claim of an
// activity already credited would.
Activity Basket(const Op& op, int step, bool reuse = false) {
  static const char* kCategories[] = {"baby", "food", "gift_cards"};
  Purchase purchase{"shop", "s1", "store", {}};
  for (int line = 0; line <= op.ref % 3; ++line) {
    purchase.lines.push_back(PurchaseLine{"sku" + std::to_string(line), kCategories[(op.ref + line) % 3], {},
                                          1 + line, Money(op.amount * 37 + line, *Currency::FromCode("EUR"))});
  }
  return {"basket-" + std::to_string(reuse ? op.ref % 40 : step), purchase};
}

// Builds the command for `op` from what the member's earlier receipts
// created, so that most references are valid and most commands succeed.
Command MakeCommand(const Op& op, int step, const Refs& refs) {
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
    case 5: return CaptureHold{key, member, {}, pick(refs.holds)};
    case 6: return ReleaseHold{key, member, {}, pick(refs.holds)};
    case 7: return ReverseEarn{key, member, {}, pick(refs.credits), Points(op.amount), {}};
    case 8: return ReverseDebit{key, member, {}, pick(refs.debits)};
    case 9: return Adjust{key, member, {}, Points(op.ref % 2 == 0 ? op.amount : -op.amount), "fix", "agent"};
    case 10: return Transfer{key, member, {}, Member(op.other), Points(op.amount)};
    case 14: return Accrue{key, member, {}, Basket(op, step)};
    case 15: return Accrue{key, member, {}, Basket(op, step, /*reuse=*/true)};
    case 16: return ReturnLines{key, member, {}, pick(refs.accruals), {static_cast<uint32_t>(op.ref % 3)}};
    case 17: return RedeemReward{key, member, {}, op.ref % 2 ? "mug" : "bag", op.ref % 3 ? 0 : pick(refs.quotes)};
    case 18: return PayWithPointsAtTill{key, member, {}, Points(50 + op.amount)};
    case 19: return SetMemberFlag{key, member, {}, "cobrand", op.ref % 2 == 0};
    case 20: return QuoteReward{key, member, {}, "mug", absl::Hours(1 + op.ref % 200)};
    case 21: return HoldReward{key, member, {}, "mug", op.ref % 2 ? 0 : pick(refs.quotes), absl::Hours(1 + op.ref % 200)};
    case 22:
      if (op.ref % 40 == 0) return CloseMembership{key, member, {}};
      return Accrue{key, member, {}, Basket(op, step)};
    default: return Transfer{key, member, {}, Member(op.other), Points(op.amount)};
  }
}

RC_GTEST_PROP(LedgerProperties, InvariantsHoldOverRandomCommands, (const std::vector<Op>& ops)) {
  constexpr int kMembers = 5;
  FakeClock clock(*Instant::Parse("2010-01-01T00:00:00Z"));
  const Program program = TwoVersions();
  auto engine = *Engine::Open(NewMemoryStore(), clock, program);
  for (int i = 0; i < kMembers; ++i) {
    RC_ASSERT(engine->Execute(Enroll{"enroll-" + std::to_string(i), Member(i), {}}).ok());
  }
  std::map<int, Refs> refs;  // by member
  std::map<int, std::set<std::string>> credited;  // activity ids, by member
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
    Command command = MakeCommand(op, step, refs[op.member]);
    std::optional<MemberState> before;
    if (auto* reverse = std::get_if<ReverseDebit>(&command)) {
      if (auto state = engine->Snapshot(reverse->member); state.ok()) before = *state;
    }
    uint64_t last = engine->store().LastSeq();
    auto receipt = engine->Execute(command);
    const auto* accrual = std::get_if<Accrue>(&command);
    if (!receipt.ok()) {
      // A refused command writes nothing.
      RC_ASSERT(engine->store().LastSeq() == last);
      RC_ASSERT(receipt.status().code() != absl::StatusCode::kInternal);
      // An activity credited before is refused by name.
      if (accrual != nullptr && credited[op.member].contains(accrual->activity.id)) {
        RC_ASSERT(receipt.status().code() == absl::StatusCode::kAlreadyExists);
        RC_ASSERT(receipt.status().message().find(accrual->activity.id) != absl::string_view::npos);
      }
      continue;
    }
    RC_ASSERT(!receipt->replayed);
    if (accrual != nullptr) RC_ASSERT(credited[op.member].insert(accrual->activity.id).second);
    const Entry& first = receipt->own().front();
    Refs& mine = refs[op.member];
    if (const auto* credited = std::get_if<entries::Credited>(&first.body)) {
      mine.credits.push_back(first.seq);
      if (!credited->activity.empty()) mine.accruals.push_back(first.seq);
    }
    if (std::holds_alternative<entries::HoldPlaced>(first.body)) mine.holds.push_back(first.seq);
    if (std::holds_alternative<entries::Quoted>(first.body)) mine.quotes.push_back(first.seq);
    if (std::holds_alternative<entries::Debited>(first.body) ||
        std::holds_alternative<entries::HoldCaptured>(first.body)) {
      mine.debits.push_back(first.seq);
    }
    if (const auto* reversed = std::get_if<entries::EarnReversed>(&first.body)) {
      // Draws: what the lot no longer had comes from other lots, and only
      // what they do not cover is debt, not a loss.
      int64_t drawn = 0;
      for (const LotDraw& draw : reversed->draws) drawn += draw.amount.value();
      RC_ASSERT(reversed->from_lot.value() + drawn + reversed->debt_added.value() == reversed->amount.value());
      if (reversed->debt_added > Points(0)) RC_ASSERT(engine->Snapshot(first.member)->balance.IsZero());
    }
    if (const auto* restored = std::get_if<entries::DebitReversed>(&first.body)) {
      // Draws: exactly the consumed lots get exactly their amounts back.
      auto after = engine->Snapshot(first.member);
      std::map<LotId, int64_t> expected;
      for (const LotDraw& draw : restored->draws) expected[draw.lot] += draw.amount.value();
      // Holds that had lapsed were released first, to their own lots.
      for (const Entry& release : receipt->entries) {
        if (const auto* released = std::get_if<entries::HoldReleased>(&release.body)) {
          for (const LotDraw& draw : released->draws) expected[draw.lot] += draw.amount.value();
        }
      }
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
    return std::holds_alternative<entries::DebitReversed>(d.second.own().front().body);
  }), "a debit reversed");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    const auto* r = std::get_if<entries::EarnReversed>(&d.second.own().front().body);
    return r != nullptr && r->debt_added > Points(0);
  }), "debt created");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    const auto* r = std::get_if<entries::EarnReversed>(&d.second.own().front().body);
    return r != nullptr && !r->draws.empty();
  }), "a reversal took from other lots");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    return d.second.own().size() < d.second.entries.size();
  }), "a command released lapsed holds first");

  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    const auto* r = std::get_if<entries::EarnReversed>(&d.second.own().front().body);
    return r != nullptr && !r->lines.empty();
  }), "a purchase line returned");
  RC_CLASSIFY(std::any_of(done.begin(), done.end(), [](const auto& d) {
    const auto* debit = std::get_if<entries::Debited>(&d.second.own().front().body);
    return debit != nullptr && !debit->price.grandfathering.empty();
  }), "a grandfathered redemption");

  // Keys: repeating every successful command changes nothing.
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
    auto state = engine->Snapshot(Member(i));
    RC_ASSERT(state->balance.value() == available[Member(i)]);
    RC_ASSERT(state->held().value() == held[Member(i)]);
    RC_ASSERT(state->debt().value() == debt[Member(i)]);
  }

  // Replay: it reproduces the live state and the same chain.
  RC_ASSERT(copy->HeadHash() == engine->store().HeadHash());
  auto replayed = Engine::Open(std::move(copy), clock, program);
  RC_ASSERT(replayed.ok());
  RC_ASSERT((*replayed)->StateDigest() == digest);
}

}  // namespace
}  // namespace loyalty
