// The coalition example: three partners (an airline, a supermarket, a fuel
// station) of examples/programs/coalition.json serve two members through
// their partner handles for a day in March 2026, including a return and a
// voided payment; then the settlement table for March is printed from the
// journal: points issued and redeemed at each partner, what it owes the
// operator, what the operator owes it, and the net.
//
//   loyalty_coalition [program.json]
#include <cstdio>
#include <string>

#include "loyalty/loyalty.h"

using namespace loyalty;

namespace {

const Currency kEur = *Currency::FromCode("EUR");

Activity Basket(const char* id, const char* sku, int64_t quantity, const char* unit_price) {
  PurchaseLine line;
  line.sku = sku;
  line.quantity = quantity;
  line.unit_price = *Money::Parse(unit_price, kEur);
  Purchase purchase;  // the handle sets the partner
  purchase.lines.push_back(line);
  return Activity{id, purchase};
}

// Runs `command` through `handle` at `at`; prints and returns the first seq, 0 on error.
uint64_t Run(FakeClock& clock, PartnerHandle& handle, const Command& command, const char* at) {
  clock.Set(*Instant::Parse(at));
  auto receipt = handle.Execute(command);
  if (!receipt.ok()) {
    std::fprintf(stderr, "%s: %s\n", handle.partner().c_str(), std::string(receipt.status().ToString()).c_str());
    return 0;
  }
  const Entry& entry = receipt->entries.front();
  std::printf("  #%-3llu %-10s %s\n", static_cast<unsigned long long>(entry.seq), handle.partner().c_str(),
              entry.explanation.c_str());
  return entry.seq;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : std::string(LOYALTY_SOURCE_DIR) + "/examples/programs/coalition.json";
  auto program = LoadProgramFile(path);
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", std::string(program.status().ToString()).c_str());
    return 1;
  }
  FakeClock clock(*Instant::Parse("2026-03-01T00:00:00Z"));
  auto engine = Engine::Open(NewMemoryStore(), clock, *program);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", std::string(engine.status().ToString()).c_str());
    return 1;
  }
  const MemberId anna = MemberId::FromValid("anna"), ben = MemberId::FromValid("ben");
  for (const MemberId& id : {anna, ben}) {
    if (!(*engine)->Execute(Enroll{.idempotency_key = "enroll-" + id.value(), .member = id}).ok()) return 1;
  }
  auto sky = *(*engine)->ForPartner("skyways");
  auto fresh = *(*engine)->ForPartner("freshmart");
  auto fuel = *(*engine)->ForPartner("fuelco");

  std::printf("The coalition day (March 2026):\n");
  bool ok = true;
  ok &= Run(clock, sky, Accrue{.idempotency_key = "sk-1", .member = anna, .activity = Basket("SK-1", "fare", 1, "600.00")},
            "2026-03-02T08:00:00Z") != 0;
  Purchase groceries;
  PurchaseLine food{.sku = "groceries", .quantity = 2, .unit_price = *Money::Parse("20.00", kEur)};
  PurchaseLine wine{.sku = "wine", .quantity = 1, .unit_price = *Money::Parse("26.00", kEur)};
  groceries.lines = {food, wine};
  uint64_t basket = Run(clock, fresh, Accrue{.idempotency_key = "fm-1", .member = anna, .activity = {"FM-1", groceries}},
                        "2026-03-03T10:00:00Z");
  ok &= basket != 0;
  ok &= Run(clock, fuel, Accrue{.idempotency_key = "fc-1", .member = ben, .activity = Basket("FC-1", "diesel", 1, "62.00")},
            "2026-03-04T07:00:00Z") != 0;
  ok &= Run(clock, fresh, Accrue{.idempotency_key = "fm-2", .member = ben, .activity = Basket("FM-2", "groceries", 1, "100.00")},
            "2026-03-05T17:00:00Z") != 0;
  ok &= Run(clock, fresh, ReturnLines{.idempotency_key = "fm-1-return", .member = anna, .credit = basket, .lines = {1}},
            "2026-03-06T09:00:00Z") != 0;
  ok &= Run(clock, sky, RedeemReward{.idempotency_key = "sk-upgrade", .member = anna, .reward = "skyways:seat-upgrade"},
            "2026-03-10T12:00:00Z") != 0;
  ok &= Run(clock, fuel, PayWithPointsAtTill{.idempotency_key = "fc-pay", .member = ben, .points = Points(40)},
            "2026-03-12T07:00:00Z") != 0;
  uint64_t voided = Run(clock, fresh, PayWithPointsAtTill{.idempotency_key = "fm-pay-void", .member = ben, .points = Points(30)},
                        "2026-03-13T18:00:00Z");
  ok &= voided != 0;
  ok &= Run(clock, fresh, ReverseDebit{.idempotency_key = "fm-pay-void-undo", .member = ben, .debit = voided},
            "2026-03-13T18:05:00Z") != 0;
  ok &= Run(clock, fresh, PayWithPointsAtTill{.idempotency_key = "fm-pay", .member = anna, .points = Points(100)},
            "2026-03-20T11:00:00Z") != 0;
  if (!ok) return 1;

  // A partner's handle cannot read another partner's settlement.
  auto peek = fresh.Settlement(*Instant::Parse("2026-03-01T00:00:00+01:00"), *Instant::Parse("2026-04-01T00:00:00+02:00"),
                               "skyways");
  std::printf("\nfreshmart asks for skyways' settlement: %s\n", std::string(peek.status().ToString()).c_str());

  auto settled = SettlePartners((*engine)->store(), (*engine)->program(), *Instant::Parse("2026-03-01T00:00:00+01:00"),
                                *Instant::Parse("2026-04-01T00:00:00+02:00"));
  if (!settled.ok()) {
    std::fprintf(stderr, "%s\n", std::string(settled.status().ToString()).c_str());
    return 1;
  }
  std::printf("\nSettlement for March 2026 (EUR, each amount rounded half-even to the cent):\n");
  std::printf("%-10s %8s %9s %17s %16s %8s\n", "partner", "issued", "redeemed", "owed to operator", "owed to partner",
              "net");
  for (const PartnerSettlement& s : *settled) {
    auto amount = [](const Money& m) { return std::string(m.ToString()); };
    std::printf("%-10s %8lld %9lld %17s %16s %8s\n", s.partner.c_str(), static_cast<long long>(s.issued.value()),
                static_cast<long long>(s.redeemed.value()), amount(s.owed_to_operator).c_str(),
                amount(s.owed_to_partner).c_str(), amount(s.net).c_str());
  }
  return 0;
}
