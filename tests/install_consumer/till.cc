// A till's use of the installed core and sqlite components: opens an SQLite
// journal, enrols a member and credits points, then reads the balance.
//
//   till JOURNAL.db
#include <cstdio>

#include "loyalty/engine.h"
#include "loyalty/store.h"

int main(int argc, char** argv) {
  using namespace loyalty;
  if (argc != 2) {
    std::fprintf(stderr, "usage: till JOURNAL.db\n");
    return 2;
  }
  FakeClock clock(*Instant::Parse("2024-03-09T08:15:00Z"));
  auto program = Program::Create("till-1", "UTC", {});
  auto store = OpenSqliteStore(argv[1]);
  if (!program.ok() || !store.ok()) return 1;
  auto engine = Engine::Open(*std::move(store), clock, *program);
  if (!engine.ok()) return 1;
  MemberId card = MemberId::FromValid("C-4711");
  if (!(*engine)->Execute(Enroll{.idempotency_key = "e", .member = card}).ok()) return 1;
  if (!(*engine)->Execute(Credit{.idempotency_key = "c", .member = card, .amount = Points(42)}).ok()) return 1;
  auto balance = (*engine)->BalanceOf(card);
  if (!balance.ok()) return 1;
  std::printf("till: balance %lld\n", static_cast<long long>(balance->available.value()));
  return balance->available == Points(42) ? 0 : 1;
}
