// A program sharded by member over several PostgreSQL servers: group-commit
// credits (ExecuteBatch of 100 per transaction, synchronous_commit on) with
// 1, 2 and 4 logical shards, each shard on a server of its own and driven
// by a thread of its own, against plain INSERTs of the same rows on the
// same servers, one thread and one transaction of 100 per server. Items
// are credits (rows) committed, over all the shards.
//
// LOYALTY_SHARD_SERVERS names the servers, connection strings separated by
// spaces (ctest passes the four it starts); with fewer than a case needs,
// the case is skipped with an error.
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "loyalty/loyalty.h"
#include "plain_rows.h"

namespace loyalty {
namespace {

constexpr int kMembersPerShard = 250;
constexpr int kBatch = 100;            // credits per group commit
constexpr int kBatchesPerShard = 10;   // per iteration

// The first `count` servers LOYALTY_SHARD_SERVERS names; if it names
// fewer, none, and the case is skipped with an error.
std::vector<std::string> Servers(benchmark::State& state, size_t count) {
  const char* named = std::getenv("LOYALTY_SHARD_SERVERS");
  std::vector<std::string> servers;
  if (named != nullptr) servers = absl::StrSplit(named, ' ', absl::SkipEmpty());
  if (servers.size() < count) {
    state.SkipWithError("LOYALTY_SHARD_SERVERS names fewer servers than shards");
    return {};
  }
  servers.resize(count);
  return servers;
}

Program BenchProgram() {
  return *Program::Create("bench-1", "Europe/Berlin", ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
}

// The first kMembersPerShard member ids of each of `shards` shards.
std::vector<std::vector<MemberId>> MembersByShard(uint32_t shards) {
  std::vector<std::vector<MemberId>> members(shards);
  size_t full = 0;
  for (int i = 0; full < shards; ++i) {
    MemberId id = MemberId::FromValid(absl::StrFormat("S-%06d", i));
    std::vector<MemberId>& of_shard = members[ShardOf(id, shards)];
    if (of_shard.size() == kMembersPerShard) continue;
    of_shard.push_back(id);
    if (of_shard.size() == kMembersPerShard) ++full;
  }
  return members;
}

// Drops the shard schemas a run may have left on each server.
bool DropShards(const std::vector<std::string>& servers) {
  for (const std::string& server : servers) {
    PGconn* conn = PQconnectdb(server.c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK &&
              bench::Sql(conn, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS loyalty_shard_0, "
                               "loyalty_shard_1, loyalty_shard_2, loyalty_shard_3 CASCADE");
    PQfinish(conn);
    if (!ok) return false;
  }
  return true;
}

void BM_ShardedGroupCommit(benchmark::State& state) {
  const uint32_t shards = static_cast<uint32_t>(state.range(0));
  const std::vector<std::string> servers = Servers(state, shards);
  if (servers.empty()) return;
  std::vector<ShardMap::Database> databases;
  for (uint32_t shard = 0; shard < shards; ++shard) databases.push_back({servers[shard], {shard}});
  auto map = ShardMap::Create(shards, databases);
  FakeClock clock(*Instant::Parse("2011-01-03T09:00:00Z"));
  if (!map.ok() || !DropShards(servers)) {
    state.SkipWithError("cannot prepare the databases");
    return;
  }
  auto host = ShardedEngine::Open(*map, [&](uint32_t shard) { return OpenShardStore(*map, shard); }, clock,
                                  BenchProgram());
  if (!host.ok()) {
    state.SkipWithError(std::string(host.status().message()).c_str());
    return;
  }
  const std::vector<std::vector<MemberId>> members = MembersByShard(shards);
  std::vector<Command> enrolls;
  for (const auto& of_shard : members) {
    for (const MemberId& id : of_shard) enrolls.push_back(Enroll{.idempotency_key = "e-" + id.value(), .member = id});
  }
  for (const auto& result : (*host)->ExecuteBatch(enrolls)) {
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
  }
  std::atomic<int64_t> failed{0};
  int64_t round = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (uint32_t shard = 0; shard < shards; ++shard) {
      threads.emplace_back([&, shard] {
        Engine& engine = *(*host)->EngineOfShard(shard);
        for (int b = 0; b < kBatchesPerShard; ++b) {
          std::vector<Command> batch;
          for (int i = 0; i < kBatch; ++i) {
            batch.push_back(Credit{.idempotency_key = absl::StrCat("r", round, "-b", b, "-", i),
                                   .member = members[shard][static_cast<size_t>(b * kBatch + i) % kMembersPerShard],
                                   .amount = Points(10 + i), .source = "purchase"});
          }
          for (const auto& result : engine.ExecuteBatch(batch)) failed += result.ok() ? 0 : 1;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ++round;
  }
  if (failed > 0) state.SkipWithError(absl::StrCat(failed.load(), " credits failed").c_str());
  state.SetItemsProcessed(state.iterations() * shards * kBatchesPerShard * kBatch);
}
BENCHMARK(BM_ShardedGroupCommit)->ArgName("shards")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ShardedPlainInsert(benchmark::State& state) {
  const size_t shards = static_cast<size_t>(state.range(0));
  const std::vector<std::string> servers = Servers(state, shards);
  if (servers.empty()) return;
  std::vector<PGconn*> conns;
  bool ok = true;
  for (size_t shard = 0; shard < shards; ++shard) {
    conns.push_back(PQconnectdb(servers[shard].c_str()));
    ok = ok && PQstatus(conns.back()) == CONNECTION_OK && bench::CreatePlainTables(conns.back());
  }
  std::atomic<int64_t> failed{0};
  std::vector<int64_t> next_seq(shards, 0);
  int64_t round = 0;
  for (auto _ : state) {
    if (!ok) break;
    std::vector<std::thread> threads;
    for (size_t shard = 0; shard < shards; ++shard) {
      threads.emplace_back([&, shard] {
        Sha256 previous{};
        for (int b = 0; b < kBatchesPerShard; ++b) {
          std::vector<Entry> entries;
          for (int i = 0; i < kBatch; ++i) {
            entries.push_back(bench::CreditEntry(static_cast<uint64_t>(++next_seq[shard]),
                                                 MemberId::FromValid(absl::StrFormat("S-%06d", i)),
                                                 absl::StrCat("r", round, "-b", b, "-", i), 10 + i));
          }
          if (!bench::InsertPlainRows(conns[shard], entries, &previous)) failed += kBatch;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ++round;
  }
  for (PGconn* conn : conns) PQfinish(conn);
  if (!ok) state.SkipWithError("cannot prepare the databases");
  if (failed > 0) state.SkipWithError(absl::StrCat(failed.load(), " rows failed").c_str());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(shards) * kBatchesPerShard * kBatch);
}
BENCHMARK(BM_ShardedPlainInsert)->ArgName("shards")->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
