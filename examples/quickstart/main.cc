// quickstart: enrolls a member in a journal on SQLite, credits flights,
// redeems an award, and prints the member's statement.
//
//   loyalty_quickstart [journal.db]
//
// Running it again on the same file changes nothing: every command carries
// an idempotency key, so the repeats are recognised and the statement is
// the same.
#include <cstdio>
#include <string>

#include "loyalty/loyalty.h"

using namespace loyalty;

namespace {

Instant At(const char* text) { return *Instant::Parse(text); }

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "quickstart.db";
  auto store = OpenSqliteStore(path);
  if (!store.ok()) return Fail(store.status());
  FakeClock clock(At("2010-12-20T12:00:00Z"));
  // Miles & More's rule of the time: miles expire 36 months after the
  // activity, at the end of that quarter.
  auto program = Program::Create("mm-2010", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter});
  if (!program.ok()) return Fail(program.status());
  auto engine = Engine::Open(*std::move(store), clock, *program);
  if (!engine.ok()) return Fail(engine.status());

  MemberId member = MemberId::FromValid("M-0001");
  const Command commands[] = {
      Enroll{.idempotency_key = "enroll-M-0001", .member = member, .at = At("2010-01-05T10:00:00Z")},
      Credit{.idempotency_key = "LH400-2010-03-02", .member = member, .at = At("2010-03-02T16:40:00Z"),
             .amount = Points(48'000), .source = "LH400 FRA-JFK, Business"},
      Credit{.idempotency_key = "LH401-2010-03-09", .member = member, .at = At("2010-03-09T22:10:00Z"),
             .amount = Points(48'000), .source = "LH401 JFK-FRA, Business"},
      Credit{.idempotency_key = "card-2010-12", .member = member, .at = At("2010-12-01T00:00:00Z"),
             .amount = Points(2'500), .source = "co-brand card spend"},
      Redeem{.idempotency_key = "award-FRA-ORD", .member = member, .at = At("2010-12-20T12:00:00Z"),
             .amount = Points(90'000), .reason = "Business award FRA-ORD round trip"},
  };
  for (const Command& command : commands) {
    auto receipt = (*engine)->Execute(command);
    if (!receipt.ok()) return Fail(receipt.status());
  }

  auto history = (*engine)->History(member);
  if (!history.ok()) return Fail(history.status());
  std::printf("Statement of %s (journal %s)\n\n", member.value().c_str(), path.c_str());
  std::printf("%5s  %-10s  %-14s  %9s  %9s  %s\n", "entry", "date", "kind", "change", "balance", "explanation");
  int64_t running = 0;
  for (const Entry& entry : *history) {
    int64_t change = DeltaOf(entry.body).available.value();
    running += change;
    std::printf("%5llu  %-10s  %-14s  %9lld  %9lld  %s\n", static_cast<unsigned long long>(entry.seq),
                (*engine)->program().zone().LocalDate(entry.business_time).ToString().c_str(),
                std::string(EntryKindName(entry.body)).c_str(), static_cast<long long>(change),
                static_cast<long long>(running), entry.explanation.c_str());
  }
  auto balance = (*engine)->BalanceOf(member);
  if (!balance.ok()) return Fail(balance.status());
  std::printf("\nAvailable %lld miles, held %lld, debt %lld.\n", static_cast<long long>(balance->available.value()),
              static_cast<long long>(balance->held.value()), static_cast<long long>(balance->debt.value()));
  auto lots = (*engine)->OpenLots(member);
  if (!lots.ok()) return Fail(lots.status());
  for (const Lot& lot : *lots) {
    std::printf("  lot %llu: %lld left of %lld, earned %s, lapses %s\n", static_cast<unsigned long long>(lot.id.entry),
                static_cast<long long>(lot.remaining.value()), static_cast<long long>(lot.earned.value()),
                (*engine)->program().zone().LocalDate(lot.earned_at).ToString().c_str(), lot.expires_at.ToString().c_str());
  }
  auto verified = VerifyChain((*engine)->store());
  if (!verified.ok()) return Fail(verified.status());
  std::printf("\nJournal verified: %llu entries, head %s\n", static_cast<unsigned long long>(*verified),
              ToHex((*engine)->store().HeadHash()).c_str());
  return 0;
}
