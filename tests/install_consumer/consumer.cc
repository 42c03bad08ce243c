// Uses the installed headers and library: enroll, credit, read the balance.
#include <cstdio>

#include "loyalty/loyalty.h"

int main() {
  using namespace loyalty;
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  auto program = Program::Create("consumer-1", "UTC", {});
  auto engine = Engine::Open(NewMemoryStore(), clock, *program);
  if (!engine.ok()) return 1;
  MemberId id = MemberId::FromValid("C-1");
  if (!(*engine)->Execute(Enroll{.idempotency_key = "e", .member = id}).ok()) return 1;
  if (!(*engine)->Execute(Credit{.idempotency_key = "c", .member = id, .amount = Points(42)}).ok()) return 1;
  auto balance = (*engine)->BalanceOf(id);
  std::printf("consumer: balance %lld\n", static_cast<long long>(balance->available.value()));
  return balance->available == Points(42) ? 0 : 1;
}
