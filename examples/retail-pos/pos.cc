// pos: how point-of-sale code embeds the engine. Opens the journal, earns on a
// basket, pays part of the next one with points, and takes a return back.
//
//   loyalty_pos [journal.db] [program.json]
#include <cstdio>
#include <string>

#include "loyalty/io.h"
#include "loyalty/loyalty.h"

using namespace loyalty;

static int Fail(const absl::Status& status) {
  std::fprintf(stderr, "pos: %s\n", status.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  std::string db = argc > 1 ? argv[1] : "pos.db";
  std::string file = argc > 2 ? argv[2] : LOYALTY_SOURCE_DIR "/examples/retail-pos/program.json";
  auto program = LoadProgramFile(file);
  if (!program.ok()) return Fail(program.status());
  auto store = OpenSqliteStore(db);
  if (!store.ok()) return Fail(store.status());
  FakeClock clock(*Instant::Parse("2024-03-09T08:15:00Z"));  // a real till passes SystemClock
  auto engine = Engine::Open(*std::move(store), clock, *std::move(program));
  if (!engine.ok()) return Fail(engine.status());
  Engine& loyalty = **engine;
  const MemberId card = MemberId::FromValid("C-4711");  // the scanned loyalty card
  const Currency eur = *Currency::FromCode("EUR");

  // Keys come from the till's own receipt numbers, so a retried request never counts twice.
  if (auto r = loyalty.Execute(Enroll{.idempotency_key = "card-C-4711", .member = card}); !r.ok()) return Fail(r.status());
  Purchase basket{.partner = "drugstore", .store = "berlin-mitte", .channel = "store",
                  .lines = {{"shampoo-250", "body_care", {}, 2, Money(495, eur)},
                            {"diapers-4", "baby", {}, 1, Money(2490, eur)},
                            {"sunscreen", "body_care", {}, 4, Money(2500, eur)},
                            {"rx-ibuprofen", "pharmacy", {}, 1, Money(1500, eur)}}};  // earns nothing
  auto earned = loyalty.Execute(Accrue{.idempotency_key = "till-3/receipt-0815", .member = card,
                                       .activity = {"receipt-0815", basket}});
  if (!earned.ok()) return Fail(earned.status());
  uint64_t credit = earned->seq();

  clock.Set(*Instant::Parse("2024-03-09T08:30:00Z"));
  auto paid = loyalty.Execute(PayWithPointsAtTill{.idempotency_key = "till-3/receipt-0830/points",
                                                  .member = card, .points = Points(100)});  // EUR 1.00
  if (!paid.ok()) return Fail(paid.status());

  clock.Set(*Instant::Parse("2024-03-12T15:00:00Z"));
  auto returned = loyalty.Execute(ReturnLines{.idempotency_key = "till-1/return-1500", .member = card,
                                              .credit = credit, .lines = {1}});  // the diapers
  if (!returned.ok()) return Fail(returned.status());

  auto balance = loyalty.BalanceOf(card);
  if (!balance.ok()) return Fail(balance.status());
  std::printf("basket: %s\ntill: %s\nreturn: %s\navailable %lld, debt %lld\n",
              earned->entries.front().explanation.c_str(), paid->entries.front().explanation.c_str(),
              returned->entries.front().explanation.c_str(), static_cast<long long>(balance->available.value()),
              static_cast<long long>(balance->debt.value()));
  return 0;
}
