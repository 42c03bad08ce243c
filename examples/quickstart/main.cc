// quickstart: a Miles & More-like member through the award-chart change of
// January 2011, journaled in an SQLite file, then the member's statement.
//
//   loyalty_quickstart [journal.db] [program.json]
//
// The program (examples/programs/miles-and-more-2011.json) has a 2010 and a
// 2011 version; the 2011 chart, announced 1 December 2010 and in force from
// 3 January 2011, prices a Business round trip Europe - North America at
// 105,000 miles instead of 90,000, and locks the price of holds made before.
// Running it again on the same file changes nothing: every command carries
// an idempotency key.
#include <cstdio>
#include <string>

#include "loyalty/io.h"
#include "loyalty/loyalty.h"

using namespace loyalty;

namespace {

Instant At(const char* text) { return *Instant::Parse(text); }

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.ToString().c_str());
  return 1;
}

Activity Flight(const char* id, const char* number, const char* from, const char* to, int64_t miles,
                const char* booking_class) {
  return {id, FlightSegment{"LH", number, from, to, miles, "business", booking_class, std::nullopt}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "quickstart.db";
  std::string program_file =
      argc > 2 ? argv[2] : std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/miles-and-more-2011.json";
  auto program = LoadProgramFile(program_file);
  if (!program.ok()) return Fail(program.status());
  auto store = OpenSqliteStore(path);
  if (!store.ok()) return Fail(store.status());
  FakeClock clock(At("2011-01-10T12:00:00Z"));
  auto engine = Engine::Open(*std::move(store), clock, *program);
  if (!engine.ok()) return Fail(engine.status());

  const MemberId member = MemberId::FromValid("M-0001");
  const std::string award = "award:EU-NA:business:round_trip";
  const Command setup[] = {
      Enroll{.idempotency_key = "enroll-M-0001", .member = member, .at = At("2010-01-05T10:00:00Z")},
      Credit{.idempotency_key = "carry-over", .member = member, .at = At("2010-01-05T10:00:00Z"),
             .amount = Points(200'000), .source = "miles carried over from 2009"},
      // 3,851 miles in class C (150 %): 5,776 award miles and status miles each way.
      Accrue{.idempotency_key = "LH400-2010-03-02", .member = member, .at = At("2010-03-02T16:40:00Z"),
             .activity = Flight("LH400-0302", "LH400", "FRA", "JFK", 3851, "C")},
      Accrue{.idempotency_key = "LH401-2010-03-09", .member = member, .at = At("2010-03-09T22:10:00Z"),
             .activity = Flight("LH401-0309", "LH401", "JFK", "FRA", 3851, "C")},
      // EUR 4,000 on the co-brand card: 1 mile per EUR 2.
      Accrue{.idempotency_key = "card-2010-12", .member = member, .at = At("2010-12-01T00:00:00Z"),
             .activity = {"card-2010-12", CustomActivity{"card_spend", {}, Money(400'000, *Currency::FromCode("EUR"))}}},
      // Booked on 2 January under the 2010 chart, ticketed on 5 January.
      HoldReward{.idempotency_key = "award-1-hold", .member = member, .at = At("2011-01-02T12:00:00Z"),
                 .reward = award, .ttl = absl::Hours(24 * 7)},
  };
  uint64_t hold = 0;
  for (const Command& command : setup) {
    auto receipt = (*engine)->Execute(command);
    if (!receipt.ok()) return Fail(receipt.status());
    hold = receipt->seq();  // the last one is the hold
  }
  const Command after_change[] = {
      CaptureHold{.idempotency_key = "award-1-ticket", .member = member, .at = At("2011-01-05T09:00:00Z"), .hold = hold},
      RedeemReward{.idempotency_key = "award-2", .member = member, .at = At("2011-01-10T12:00:00Z"), .reward = award},
  };
  for (const Command& command : after_change) {
    auto receipt = (*engine)->Execute(command);
    if (!receipt.ok()) return Fail(receipt.status());
  }

  auto history = (*engine)->History(member);
  if (!history.ok()) return Fail(history.status());
  const TimeZone& zone = (*engine)->program().zone();
  std::printf("Statement of %s (journal %s)\n\n", member.value().c_str(), path.c_str());
  std::printf("%5s  %-10s  %-8s  %-14s  %9s  %9s  %s\n", "entry", "date", "version", "kind", "change", "balance",
              "explanation");
  int64_t running = 0;
  for (const Entry& entry : *history) {
    int64_t change = DeltaOf(entry.body).available.value();
    running += change;
    std::printf("%5llu  %-10s  %-8s  %-14s  %9lld  %9lld  %s\n", static_cast<unsigned long long>(entry.seq),
                zone.LocalDate(entry.business_time).ToString().c_str(), entry.version.c_str(),
                std::string(EntryKindName(entry.body)).c_str(), static_cast<long long>(change),
                static_cast<long long>(running), entry.explanation.c_str());
  }
  auto state = (*engine)->Snapshot(member);
  if (!state.ok()) return Fail(state.status());
  std::printf("\nAvailable %lld miles, held %lld, debt %lld; status miles %lld.\n",
              static_cast<long long>(state->balance.value()), static_cast<long long>(state->held().value()),
              static_cast<long long>(state->debt().value()),
              static_cast<long long>(state->detail().counters.count("status_miles") ? state->detail().counters.at("status_miles").value() : 0));
  auto verified = VerifyChain((*engine)->store());
  if (!verified.ok()) return Fail(verified.status());
  std::printf("Journal verified: %llu entries, head %s\n", static_cast<unsigned long long>(*verified),
              ToHex((*engine)->store().HeadHash()).c_str());
  return 0;
}
