// Fuzzes the program JSON loader: ParseProgram and ParseProgramVersion
// must return a program or an error for any text, never crash. A program
// that loads is then exercised: the version in force, lot expiry, reward
// prices and one accrual of a purchase, a flight and a custom activity.
// The same text goes to the shard map loader (ParseShardMap), which shares
// the JSON reading: a map that loads must hold every shard once.
#include <cstddef>
#include <cstdint>

#include "loyalty/accrual.h"
#include "loyalty/check.h"
#include "loyalty/io.h"

namespace {

using namespace loyalty;

RuleUsage NoUsage(absl::string_view) { return {}; }

void Exercise(const ProgramVersion& version) {
  const Instant at = *Instant::Parse("2011-03-01T09:00:00Z");
  (void)version.LotExpiry(at);
  for (const CatalogItem& item : version.redemption.catalog) (void)version.PriceOf(item.id);
  for (const AwardChartRow& row : version.redemption.award_chart) (void)version.PriceOf(AwardRewardId(row));
  const Currency currency = version.currency;
  Activity activities[] = {
      {"p", Purchase{"shop", "berlin", "store",
                     {PurchaseLine{"sku", "baby", {"promo"}, 2, Money(1250, currency)},
                      PurchaseLine{"gift", "gift_cards", {}, 1, Money(5000, currency)}}}},
      {"f", FlightSegment{"LH", "LH400", "FRA", "JFK", 3851, "business", "C", Money(250000, currency)}},
      {"c", CustomActivity{"card_spend", {}, Money(10000, currency)}},
  };
  for (const Activity& activity : activities) {
    for (const char* tier : {"", "senator"}) {
      AccrualContext context{at, tier, true, NoUsage};
      auto result = EvaluateAccrual(version, activity, context);
      if (result.ok()) LOYALTY_CHECK(!result->redeemable.IsNegative());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto program = ParseProgram(text);
  if (program.ok()) {
    for (const auto& version : program->versions()) Exercise(*version);
    (void)program->InForceAt(Instant::Min());
    (void)program->InForceAt(Instant::Max());
  } else {
    LOYALTY_CHECK(!program.status().message().empty());
  }
  auto version = ParseProgramVersion(text);
  if (version.ok()) Exercise(*version);
  auto map = ParseShardMap(text);
  if (map.ok()) {
    for (uint32_t shard = 0; shard < map->shards(); ++shard) LOYALTY_CHECK(!map->ConninfoOf(shard).empty());
    LOYALTY_CHECK(map->ShardOf(MemberId::FromValid("M-1")) < map->shards());
  } else {
    LOYALTY_CHECK(!map.status().message().empty());
  }
  return 0;
}
