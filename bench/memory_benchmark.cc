// Memory of the in-memory state: bytes per member and bytes per lot, measured
// as the growth of malloc's bytes in use (mallinfo2) while the state is
// built with ApplyToMember, in the engine's own container (a MemberTable,
// as in each shard of the engine).
//
//   ./build-release/bench/memory_benchmark
//
// Targets: at most 128 bytes per member and 64 bytes per lot.
// `bytes_per_member` is an enrolled member without lots: its id, state and
// index entry (its history is in the journal, linked from its last seq).
// `bytes_per_lot` is what each further lot adds: the slope between members
// of kLots and of 2 * kLots lots (powers of two, so that the vector's
// growth leaves no slack). `lots_vector_overhead` is what a member's first
// lots cost besides that, per member (malloc's header of the lots' block);
// bench/run counts it with the member.
// `bytes_per_member_with_status` is a member who also has a tier and a
// qualifying counter (an airline member).
// LOYALTY_MEMORY_BENCH_MEMBERS overrides the number of members.
#include <malloc.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "loyalty/ledger.h"
#include "engine/member_table.h"

namespace loyalty {
namespace {

constexpr int kLots = 8;

int64_t Members() {
  const char* text = std::getenv("LOYALTY_MEMORY_BENCH_MEMBERS");
  return text != nullptr ? std::atoll(text) : 200'000;
}

// Bytes in use: small blocks from the heap plus large ones mapped apart.
size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

Entry EntryOf(uint64_t seq, const MemberId& member, EntryBody body) {
  Entry entry;
  entry.seq = seq;
  entry.member = member;
  entry.business_time = *Instant::Parse("2011-01-03T00:00:00Z");
  entry.version = "bench-1";
  entry.body = std::move(body);
  return entry;
}

entries::Credited CreditOf(int64_t points, std::vector<CounterDelta> counters) {
  entries::Credited credit;
  credit.amount = Points(points);
  credit.expires_at = *Instant::Parse("2014-03-31T23:59:59Z");
  credit.counters = std::move(counters);
  return credit;
}

entries::TierChanged TierOf(absl::string_view tier) {
  entries::TierChanged change;
  change.tier = std::string(tier);
  change.valid_until = *Instant::Parse("2013-02-28T23:59:59Z");
  change.reason = "qualified";
  return change;
}

// Builds `members` members with `lots` credits each, optionally with a tier
// and a qualifying counter; returns the heap growth, keeping the state
// alive until it is measured.
size_t StateBytes(int64_t members, int lots, bool with_status) {
  std::vector<MemberId> ids;
  ids.reserve(static_cast<size_t>(members));
  for (int64_t i = 0; i < members; ++i) ids.push_back(MemberId::FromValid("M-" + std::to_string(i)));
  Entry enrolled = EntryOf(0, ids[0], entries::Enrolled{});
  Entry credited = EntryOf(0, ids[0], CreditOf(100, {}));
  Entry counted = EntryOf(0, ids[0], CreditOf(100, {CounterDelta{"status_miles", Points(100)}}));
  Entry tiered = EntryOf(0, ids[0], TierOf("frequent_traveller"));
  const size_t before = HeapInUse();
  MemberTable state;
  uint64_t seq = 0;
  for (int64_t i = 0; i < members; ++i) {
    MemberState& member = state.FindOrAdd(ids[static_cast<size_t>(i)]);
    auto apply = [&](Entry& entry) {
      entry.seq = ++seq;
      entry.member = ids[static_cast<size_t>(i)];
      ApplyToMember(member, entry);
    };
    apply(enrolled);
    if (with_status) apply(tiered);
    for (int lot = 0; lot < lots; ++lot) apply(with_status ? counted : credited);
  }
  const size_t after = HeapInUse();
  benchmark::DoNotOptimize(state);
  return after - before;
}

void BM_StateMemory(benchmark::State& state) {
  const int64_t members = Members();
  size_t enrolled_only = 0;
  size_t with_lots = 0;
  size_t with_more_lots = 0;
  size_t with_status = 0;
  for (auto _ : state) {
    enrolled_only = StateBytes(members, 0, false);
    with_lots = StateBytes(members, kLots, false);
    with_more_lots = StateBytes(members, 2 * kLots, false);
    with_status = StateBytes(members, 0, true);
  }
  const double n = static_cast<double>(members);
  const double per_lot = static_cast<double>(with_more_lots - with_lots) / (n * kLots);
  state.counters["bytes_per_member"] = static_cast<double>(enrolled_only) / n;
  state.counters["bytes_per_lot"] = per_lot;
  state.counters["lots_vector_overhead"] = static_cast<double>(with_lots - enrolled_only) / n - per_lot * kLots;
  state.counters["bytes_per_member_with_status"] = static_cast<double>(with_status) / n;
  state.counters["sizeof_member_state"] = sizeof(MemberState);
  state.counters["sizeof_lot"] = sizeof(Lot);
}
BENCHMARK(BM_StateMemory)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
