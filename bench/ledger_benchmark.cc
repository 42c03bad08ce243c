// Ledger benchmarks (items per second), with the raw SQLite baseline in the
// same binary so that the durable figure is a ratio measured in one run.
//
//   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
//   cmake --build build-release --target ledger_benchmark
//   ./build-release/bench/ledger_benchmark
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "airline_population.h"
#include "bare_journal.h"
#include "benchmark/benchmark.h"
#include "journal/chain.h"
#include "loyalty/engine.h"

namespace loyalty {
namespace {

constexpr int kMembers = 1000;

Program BenchProgram() { return *Program::Create("bench-1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter}); }

MemberId Member(int i) { return MemberId::FromValid("M-" + std::to_string(i)); }

std::unique_ptr<Engine> EngineWithMembers(std::unique_ptr<Store> store, const Clock& clock) {
  auto engine = *Engine::Open(std::move(store), clock, BenchProgram());
  std::vector<Command> enrolls;
  for (int i = 0; i < kMembers; ++i) enrolls.push_back(Enroll{"enroll-" + std::to_string(i), Member(i), {}});
  for (auto& result : engine->ExecuteBatch(enrolls)) {
    if (!result.ok()) std::abort();
  }
  return engine;
}

std::string ScratchDb(const std::string& name) {
  std::string path = (std::filesystem::temp_directory_path() / name).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

// One credit per iteration on a memory store: Decide, encode, hash, append,
// Apply. With two threads, each credits its own half of the members: Decide
// and Apply run in parallel under the members' shard locks, the append (key
// check, encode, chain hash) one at a time.
void BM_MemoryCredit(benchmark::State& state) {
  static FakeClock* clock = nullptr;
  static Engine* engine = nullptr;
  if (state.thread_index() == 0) {
    clock = new FakeClock(*Instant::Parse("2011-01-03T00:00:00Z"));
    engine = EngineWithMembers(NewMemoryStore(), *clock).release();
  }
  std::vector<MemberId> members;
  for (int i = state.thread_index(); i < kMembers; i += state.threads()) members.push_back(Member(i));
  const std::string prefix = "c-" + std::to_string(state.thread_index()) + "-";
  int64_t n = 0;
  for (auto _ : state) {
    auto receipt = engine->Execute(
        Credit{prefix + std::to_string(n), members[static_cast<size_t>(n) % members.size()], {}, Points(100), "bench", {}, {}});
    if (!receipt.ok()) state.SkipWithError("credit failed");
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete engine;
    delete clock;
  }
}
BENCHMARK(BM_MemoryCredit)->Threads(1)->Threads(2)->UseRealTime();

// One redeem of 10 points per iteration, each member holding a few lots.
void BM_MemoryRedeem(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  auto engine = EngineWithMembers(NewMemoryStore(), clock);
  std::vector<MemberId> members;
  for (int i = 0; i < kMembers; ++i) members.push_back(Member(i));
  for (int lot = 0; lot < 4; ++lot) {
    for (int i = 0; i < kMembers; ++i) {
      (void)engine->Execute(Credit{"seed-" + std::to_string(lot) + "-" + std::to_string(i), members[static_cast<size_t>(i)],
                                   {}, Points(1'000'000'000), "seed", {}, {}});
    }
  }
  int64_t n = 0;
  for (auto _ : state) {
    auto receipt = engine->Execute(Redeem{"r-" + std::to_string(n), members[static_cast<size_t>(n % kMembers)], {}, Points(10), "bench"});
    if (!receipt.ok()) state.SkipWithError("redeem failed");
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryRedeem);

// A redemption in two steps: a hold of 10 points, then its capture. Items
// are redemptions (two commands each).
void BM_MemoryHoldAndCapture(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  auto engine = EngineWithMembers(NewMemoryStore(), clock);
  for (int i = 0; i < kMembers; ++i) {
    (void)engine->Execute(Credit{"seed-" + std::to_string(i), Member(i), {}, Points(1'000'000'000), "seed", {}, {}});
  }
  int64_t n = 0;
  for (auto _ : state) {
    MemberId member = Member(static_cast<int>(n % kMembers));
    auto hold = engine->Execute(PlaceHold{"h-" + std::to_string(n), member, {}, Points(10), absl::Hours(1), "bench"});
    if (!hold.ok()) state.SkipWithError("hold failed");
    auto capture = engine->Execute(CaptureHold{"k-" + std::to_string(n), member, {}, hold->seq()});
    if (!capture.ok()) state.SkipWithError("capture failed");
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryHoldAndCapture);

// A return: one point of an earlier credit reversed per iteration, over
// credits that leave points in their lots (so no debt arises).
void BM_MemoryReturn(benchmark::State& state) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  auto engine = EngineWithMembers(NewMemoryStore(), clock);
  std::vector<std::pair<MemberId, uint64_t>> credits;
  for (int i = 0; i < kMembers; ++i) {
    auto credit = engine->Execute(Credit{"seed-" + std::to_string(i), Member(i), {}, Points(1'000'000'000), "seed", {}, {}});
    if (!credit.ok()) std::abort();
    credits.emplace_back(Member(i), credit->seq());
  }
  int64_t n = 0;
  for (auto _ : state) {
    const auto& [member, seq] = credits[static_cast<size_t>(n % kMembers)];
    auto receipt = engine->Execute(ReverseEarn{"x-" + std::to_string(n), member, {}, seq, Points(1), {}});
    if (!receipt.ok()) state.SkipWithError("return failed");
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryReturn);

// The parts of a credit, to see where its time goes: Decide alone (no
// append), the canonical encoding with its chain hash, and Apply.
MemberState EnrolledMember() {
  MemberState member;
  Entry enrolled;
  enrolled.seq = 1;
  enrolled.body = entries::Enrolled{};
  ApplyToMember(member, enrolled);
  return member;
}

void BM_DecideCredit(benchmark::State& state) {
  Program program = BenchProgram();
  MemberState member = EnrolledMember();
  MemberId id = Member(1);
  auto lookup = [&](const MemberId&) -> const MemberState* { return &member; };
  Instant now = *Instant::Parse("2011-01-03T00:00:00Z");
  int64_t n = 0;
  for (auto _ : state) {
    auto decided = Decide(program, lookup, Credit{"c-" + std::to_string(n++), id, {}, Points(100), "bench", {}, {}}, now);
    benchmark::DoNotOptimize(decided);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideCredit);

void BM_EncodeAndHashEntry(benchmark::State& state) {
  Program program = BenchProgram();
  MemberState member = EnrolledMember();
  auto lookup = [&](const MemberId&) -> const MemberState* { return &member; };
  Entry entry = Decide(program, lookup, Credit{"c-1", Member(1), {}, Points(100), "bench", {}, {}},
                       *Instant::Parse("2011-01-03T00:00:00Z"))
                    ->front();
  std::string bytes;
  Sha256 previous{};
  for (auto _ : state) {
    previous = internal::EncodeAndHash(previous, entry, &bytes);
    benchmark::DoNotOptimize(previous);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entry_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_EncodeAndHashEntry);

// The same with the keyed chain (HMAC-SHA-256 under a 32-byte key).
void BM_EncodeAndHashEntryKeyed(benchmark::State& state) {
  Program program = BenchProgram();
  MemberState member = EnrolledMember();
  auto lookup = [&](const MemberId&) -> const MemberState* { return &member; };
  Entry entry = Decide(program, lookup, Credit{"c-1", Member(1), {}, Points(100), "bench", {}, {}},
                       *Instant::Parse("2011-01-03T00:00:00Z"))
                    ->front();
  internal::Chain chain = *internal::Chain::For(std::string(32, 'k'));
  std::string bytes;
  Sha256 previous{};
  for (auto _ : state) {
    previous = chain.EncodeAndHash(previous, entry, &bytes);
    benchmark::DoNotOptimize(previous);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeAndHashEntryKeyed);

void BM_ApplyCredit(benchmark::State& state) {
  std::vector<MemberState> members(kMembers);
  Entry entry;
  entry.version = "bench-1";
  entry.body = entries::Enrolled{};
  for (auto& member : members) {
    entry.seq = 1;
    ApplyToMember(member, entry);
  }
  entry.body = entries::Credited{Points(100), Points(0), Instant::Max(), "bench", {}};
  uint64_t seq = 1;
  for (auto _ : state) {
    entry.seq = ++seq;
    ApplyToMember(members[seq % kMembers], entry);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ApplyCredit);

// Durable credits on SQLite (WAL, synchronous=FULL), `range(0)` commands per
// ExecuteBatch, that is per transaction.
void BM_SqliteCreditBatch(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  auto engine = EngineWithMembers(*OpenSqliteStore(ScratchDb("loyalty_bench.db")), clock);
  int64_t n = 0;
  std::vector<Command> batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int i = 0; i < batch_size; ++i, ++n) {
      batch.push_back(Credit{"c-" + std::to_string(n), Member(static_cast<int>(n % kMembers)), {}, Points(100), "bench", {}, {}});
    }
    state.ResumeTiming();
    auto results = engine->ExecuteBatch(batch);
    if (!results.back().ok()) state.SkipWithError("batch failed");
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(BM_SqliteCreditBatch)->Arg(1)->Arg(64)->Arg(1024)->Arg(8192)->UseRealTime();

// The baseline: raw SQLite inserting rows of the same shape and size (seq,
// entry blob, 32-byte hash) with one prepared statement and one transaction
// per batch, same pragmas.
void BM_RawSqliteInsertBatch(benchmark::State& state) {
  const int batch_size = static_cast<int>(state.range(0));
  // The size of an encoded credit entry like the ones above.
  Entry sample;
  sample.seq = 1'000'000;
  sample.member = Member(123);
  sample.idempotency_key = "c-1000000";
  sample.version = "bench-1";
  sample.explanation = "credit of 100 points from bench, valid through 2014-03-31";
  sample.body = entries::Credited{Points(100), Points(0), Instant::FromUnixMicros(1'396'303'200'000'000), "bench", {}};
  sample.command = RecordOf(Command(Credit{"c-1000000", Member(123), {}, Points(100), "bench", {}, {}}));
  std::string blob;
  internal::EncodeAndHash(Sha256{}, sample, &blob);
  const Sha256 hash{};

  sqlite3* db = nullptr;
  sqlite3_open(ScratchDb("loyalty_raw.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE journal(seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, hash BLOB NOT NULL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO journal(seq, entry, hash) VALUES(?, ?, ?)", -1, &insert, nullptr);
  int64_t seq = 0;
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int i = 0; i < batch_size; ++i) {
      sqlite3_bind_int64(insert, 1, ++seq);
      sqlite3_bind_blob(insert, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert, 3, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) state.SkipWithError("insert failed");
      sqlite3_reset(insert);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.counters["row_bytes"] = static_cast<double>(blob.size() + hash.size() + 8);
}
BENCHMARK(BM_RawSqliteInsertBatch)->Arg(1)->Arg(64)->Arg(1024)->Arg(8192)->UseRealTime();

// Restarting on a durable journal: `range(0)` credits over the members,
// written once per process (synchronous=NORMAL, batches of 8192), then
// opened as a restarted host opens it. Items are journal entries.
int64_t OpenJournalEntries() { return bench::FromEnvironment("LOYALTY_OPEN_BENCH_ENTRIES", 1'000'000); }

const std::string& WrittenJournal(int64_t entries) {
  static const std::string* path = nullptr;
  if (path != nullptr) return *path;
  path = new std::string(ScratchDb("loyalty_open_bench.db"));
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  auto engine = EngineWithMembers(*OpenSqliteStore(*path, options), clock);
  std::vector<Command> batch;
  for (int64_t n = 0; n < entries - kMembers; ++n) {
    batch.push_back(Credit{"c-" + std::to_string(n), Member(static_cast<int>(n % kMembers)), {}, Points(100), "bench", {}, {}});
    if (batch.size() == 8192 || n + 1 == entries - kMembers) {
      if (!engine->ExecuteBatch(batch).back().ok()) std::abort();
      batch.clear();
    }
  }
  return *path;
}

// The store's verified open alone, from the first entry: read every row,
// check the chain, index the idempotency keys after the checkpoint. (A
// restart's open starts at the checkpoint and reads none of them.)
void BM_OpenSqliteStore(benchmark::State& state) {
  const std::string& path = WrittenJournal(state.range(0));
  for (auto _ : state) {
    auto store = OpenSqliteStore(path, {.verify_from_first_entry = true});
    if (!store.ok()) state.SkipWithError("open failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OpenSqliteStore)->Arg(OpenJournalEntries())->Unit(benchmark::kMillisecond)->UseRealTime();

// The same journal without its checkpoint and key index (the engine that
// wrote it left them at its shutdown), for the open that rebuilds the state from every
// entry; opened read-only, so that the engine cannot write one.
const std::string& JournalWithoutCheckpoints(int64_t entries) {
  static const std::string* path = nullptr;
  if (path != nullptr) return *path;
  path = new std::string(ScratchDb("loyalty_open_bench_bare.db"));
  bench::CopyWithoutCheckpoints(WrittenJournal(entries), *path);
  return *path;
}

// The store's open and the engine's, from `path` opened as `options` say.
void OpenEngine(benchmark::State& state, const std::string& path, SqliteOptions options) {
  FakeClock clock(*Instant::Parse("2011-01-03T00:00:00Z"));
  for (auto _ : state) {
    auto store = OpenSqliteStore(path, options);
    if (!store.ok()) state.SkipWithError("open failed");
    auto engine = Engine::Open(*std::move(store), clock, BenchProgram());
    if (!engine.ok()) state.SkipWithError("engine open failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The engine's open from its checkpoint: the state loaded, no entry after it.
void BM_OpenEngineOnSqlite(benchmark::State& state) { OpenEngine(state, WrittenJournal(state.range(0)), {}); }
BENCHMARK(BM_OpenEngineOnSqlite)->Arg(OpenJournalEntries())->Unit(benchmark::kMillisecond)->UseRealTime();

// The engine's open without a checkpoint: the state rebuilt from every entry.
void BM_OpenEngineOnSqliteFromTheFirstEntry(benchmark::State& state) {
  OpenEngine(state, JournalWithoutCheckpoints(state.range(0)), {.read_only = true});
}
BENCHMARK(BM_OpenEngineOnSqliteFromTheFirstEntry)
    ->Arg(OpenJournalEntries())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace loyalty

BENCHMARK_MAIN();
