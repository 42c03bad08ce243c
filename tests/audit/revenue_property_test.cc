// Properties of revenue accounting over random journals (RapidCheck): at
// every year's end, allocated = recognised + contract liability exactly, by
// cohort and in total; a period's closing is the next one's opening;
// revenue over two periods is the sum of theirs; the roll-forward adds up;
// the general ledger balances.
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loyalty/audit/revenue.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace loyalty {
namespace {

// One step: `kind` picks the command, the rest its figures.
struct Op {
  int kind;
  int member;
  int64_t amount;
  int ref;
  int days;  // passing before the step
};

}  // namespace
}  // namespace loyalty

namespace rc {
template <>
struct Arbitrary<loyalty::Op> {
  static Gen<loyalty::Op> arbitrary() {
    return gen::build<loyalty::Op>(
        gen::set(&loyalty::Op::kind, gen::inRange(0, 9)), gen::set(&loyalty::Op::member, gen::inRange(0, 3)),
        gen::set(&loyalty::Op::amount, gen::inRange<int64_t>(1, 5000)),
        gen::set(&loyalty::Op::ref, gen::inRange(0, 1000)), gen::set(&loyalty::Op::days, gen::inRange(0, 40)));
  }
};
}  // namespace rc

namespace loyalty {
namespace {

// Lots expire after 12 months, so cohorts complete; three ways to issue.
constexpr char kProgram[] = R"({"versions": [{
  "id": "p-2025", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2024-12-01T00:00:00Z", "effective_from": "2025-01-01T00:00:00Z",
  "accrual": [{"id": "base", "priority": 10, "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "1", "rounding": "down"}}],
  "expiry": {"months": 12, "round": "none"},
  "accounting": {"standalone_value_per_point": "0.01", "expected_redemption_rate": "0.8",
                 "cohorts": {"2026": "0.7"}, "credit_sources": {"card": "0.006"}}
}]})";

MemberId Member(int i) { return MemberId::FromValid("M-" + std::to_string(i)); }

// Runs `ops` from 2025-01-01; returns the engine's journal through the engine.
void RunOps(Engine& engine, FakeClock& clock, const std::vector<Op>& ops) {
  Instant at = *Instant::Parse("2025-01-01T12:00:00Z");
  for (int m = 0; m < 3; ++m) {
    RC_ASSERT(engine.Execute(Enroll{.idempotency_key = "enrol-" + std::to_string(m), .member = Member(m), .at = at}).ok());
  }
  std::vector<std::pair<int, uint64_t>> credits, debits;  // (member, seq)
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    at = Instant::FromUnixMicros(at.unix_micros() + int64_t{op.days} * 86'400'000'000);
    clock.Set(at);
    const std::string key = "op-" + std::to_string(i);
    const MemberId member = Member(op.member);
    absl::StatusOr<Receipt> receipt = absl::UnknownError("no command");
    switch (op.kind) {
      case 0:
      case 1: {
        Purchase purchase{.partner = "", .store = "s", .channel = "store",
                          .lines = {PurchaseLine{.sku = "x", .unit_price = Money(op.amount * 100, *Currency::FromCode("EUR"))}}};
        receipt = engine.Execute(Accrue{.idempotency_key = key, .member = member, .at = at,
                                        .activity = Activity{.id = key, .detail = purchase}});
        if (receipt.ok()) credits.emplace_back(op.member, receipt->seq());
        break;
      }
      case 2: {
        receipt = engine.Execute(Credit{.idempotency_key = key, .member = member, .at = at, .amount = Points(op.amount),
                                        .source = op.ref % 2 == 0 ? "card" : "goodwill"});
        if (receipt.ok()) credits.emplace_back(op.member, receipt->seq());
        break;
      }
      case 3:
      case 4:
        receipt = engine.Execute(Redeem{.idempotency_key = key, .member = member, .at = at, .amount = Points(op.amount)});
        if (receipt.ok()) debits.emplace_back(op.member, receipt->seq());
        break;
      case 5:
        if (credits.empty()) break;
        receipt = engine.Execute(ReverseEarn{.idempotency_key = key, .member = Member(credits[op.ref % credits.size()].first),
                                             .at = at, .credit = credits[op.ref % credits.size()].second,
                                             .amount = Points(1 + op.amount % 400)});
        break;
      case 6:
        if (debits.empty()) break;
        receipt = engine.Execute(ReverseDebit{.idempotency_key = key, .member = Member(debits[op.ref % debits.size()].first),
                                              .at = at, .debit = debits[op.ref % debits.size()].second});
        break;
      case 7:
        receipt = engine.RunExpiry(key, at);
        break;
      default: {
        const char* rates[] = {"0.5", "0.65", "0.8", "0.9", "1"};
        receipt = engine.ReviseEstimate({.idempotency_key = key, .effective_from = at,
                                         .expected_redemption_rate = *Rate::Parse(rates[op.ref % 5]),
                                         .cohort = op.ref % 3 == 0 ? 0 : 2025 + op.ref % 3, .actor = "test"});
        RC_ASSERT(receipt.ok());
      }
    }
  }
}

RevenueReport Report(const Store& store, const Program& program, Instant from, Instant to) {
  auto report = RecogniseRevenue(store, program, {.from = from, .to = to});
  RC_ASSERT(report.ok());
  return *report;
}

void CheckReport(const RevenueReport& r) {
  std::vector<const CohortRevenue*> rows;
  for (const CohortRevenue& c : r.cohorts) rows.push_back(&c);
  rows.push_back(&r.total);
  for (const CohortRevenue* c : rows) {
    RC_ASSERT(c->allocated.minor_units() == c->recognised.minor_units() + c->closing.minor_units());
    RC_ASSERT(c->closing.minor_units() == c->opening.minor_units() + c->deferred.minor_units() -
                                              c->reversed.minor_units() - c->on_redemption.minor_units() -
                                              c->breakage.minor_units() - c->catch_up.minor_units() -
                                              c->completion.minor_units());
    RC_ASSERT(c->closing.minor_units() >= 0);
    RC_ASSERT(c->recognised.minor_units() >= 0);
    RC_ASSERT(c->outstanding.value() >= 0);
    // Nothing left: all of the allocation is recognised.
    if (c->cohort != 0 && c->outstanding.value() == 0) RC_ASSERT(c->closing.minor_units() == 0);
  }
  int64_t debit = 0, credit = 0;
  for (const LedgerLine& line : r.ledger) {
    RC_ASSERT((line.debit.minor_units() == 0) != (line.credit.minor_units() == 0));
    debit += line.debit.minor_units();
    credit += line.credit.minor_units();
  }
  RC_ASSERT(debit == credit);
}

RC_GTEST_PROP(RevenueProperties, AllocatedIsRecognisedPlusLiabilityAtEveryDate, (const std::vector<Op>& ops)) {
  auto program = ParseProgram(kProgram);
  RC_ASSERT(program.ok());
  FakeClock clock(*Instant::Parse("2025-01-01T12:00:00Z"));
  auto engine = Engine::Open(NewMemoryStore(), clock, *program);
  RC_ASSERT(engine.ok());
  RunOps(**engine, clock, ops);
  const Store& store = (*engine)->store();
  std::vector<Instant> ends;
  for (const char* end : {"2025-01-01T00:00:00+01:00", "2025-07-01T00:00:00+02:00", "2026-01-01T00:00:00+01:00",
                          "2027-01-01T00:00:00+01:00", "2030-01-01T00:00:00+01:00"}) {
    ends.push_back(*Instant::Parse(end));
  }
  RevenueReport whole = Report(store, *program, ends.front(), ends.back());
  RC_CLASSIFY(whole.total.deferred.minor_units() > 0, "deferred");
  RC_CLASSIFY(whole.total.completion.minor_units() != 0, "completion");
  RC_CLASSIFY(whole.total.reversed.minor_units() != 0, "reversed");
  bool caught_up = false;
  for (size_t i = 0; i + 1 < ends.size(); ++i) {
    RevenueReport first = Report(store, *program, ends[i], ends[i + 1]);
    CheckReport(first);
    caught_up = caught_up || first.total.catch_up.minor_units() != 0;
    if (i + 2 >= ends.size()) continue;
    RevenueReport second = Report(store, *program, ends[i + 1], ends[i + 2]);
    RevenueReport both = Report(store, *program, ends[i], ends[i + 2]);
    RC_ASSERT(first.total.closing == second.total.opening);
    std::map<int, int64_t> closing;
    for (const CohortRevenue& c : first.cohorts) closing[c.cohort] = c.closing.minor_units();
    for (const CohortRevenue& c : second.cohorts) RC_ASSERT(closing[c.cohort] == c.opening.minor_units());
    RC_ASSERT(first.revenue.minor_units() + second.revenue.minor_units() == both.revenue.minor_units());
    RC_ASSERT(both.total.closing == second.total.closing);
  }
  RC_CLASSIFY(caught_up, "catch-up");
}

}  // namespace
}  // namespace loyalty
