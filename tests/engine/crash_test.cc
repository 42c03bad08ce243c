// The crash test: a child process appends batches of commands to an SQLite
// journal and reports each acknowledged batch to the parent over a pipe; the
// parent kills it with SIGKILL at a random moment, again and again, and
// after every kill checks that the journal opens, verifies, holds every
// acknowledged command whole (and no half batch), that the members' state
// is the one the committed batches imply, and that acknowledged commands
// are recognised as replays.
//
// The seed comes from LOYALTY_CRASH_SEED or LOYALTY_TEST_SEED if set, else
// it is random; it is printed at the start and with every failure.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "loyalty/loyalty.h"
#include "test_seed.h"

namespace loyalty {
namespace {

constexpr int kMembers = 4;

MemberId Member(int i) { return MemberId::FromValid(absl::StrCat("M-", i)); }

Program TestProgram() {
  auto program = Program::Create("crash-1", "UTC", ExpiryTerm{0, ExpiryTerm::Round::kNone});
  return *program;
}

Instant Start() { return *Instant::Parse("2020-01-01T00:00:00Z"); }

// The workload. Batch 0 enrolls the members; batch b >= 1 does, for each
// member i in turn:
//   c-b-i  credit 50..80
//   r-b-i  redeem 20..30
//   h-b-i  hold 3 + i points for an hour
//   x-b-i  capture hold h-(b-1)-i (from batch 2 on)
//   t-b-i  transfer 5..8 points to member (i + 1) % kMembers
// Every command succeeds: each member gains at least 6 points per batch
// before its transfer out. The hold to capture is found in the journal
// (its seq is the hold id), so the batch is a function of b and the
// committed journal only.
int64_t CreditAmount(int64_t b, int i) { return 50 + (7 * b + 3 * i) % 31; }
int64_t RedeemAmount(int64_t b, int i) { return 20 + (b + i) % 11; }
int64_t HoldAmount(int i) { return 3 + i; }
int64_t TransferAmount(int64_t b, int i) { return 5 + (b + i) % 4; }

std::string Key(absl::string_view kind, int64_t b, int i) { return absl::StrCat(kind, "-", b, "-", i); }

// The keys of batch b with the number of entries each command writes.
std::vector<std::pair<std::string, uint32_t>> KeysOf(int64_t b) {
  std::vector<std::pair<std::string, uint32_t>> keys;
  for (int i = 0; i < kMembers; ++i) {
    if (b == 0) {
      keys.emplace_back(Key("e", 0, i), 1);
      continue;
    }
    keys.emplace_back(Key("c", b, i), 1);
    keys.emplace_back(Key("r", b, i), 1);
    keys.emplace_back(Key("h", b, i), 1);
    if (b >= 2) keys.emplace_back(Key("x", b, i), 1);
    keys.emplace_back(Key("t", b, i), 2);
  }
  return keys;
}

// Batch b; nullopt if a hold it needs is not in the journal.
std::optional<std::vector<Command>> MakeBatch(int64_t b, const Store& store) {
  std::vector<Command> batch;
  for (int i = 0; i < kMembers; ++i) {
    MemberId m = Member(i);
    if (b == 0) {
      batch.push_back(Enroll{.idempotency_key = Key("e", 0, i), .member = m});
      continue;
    }
    batch.push_back(Credit{.idempotency_key = Key("c", b, i), .member = m, .amount = Points(CreditAmount(b, i)),
                           .source = absl::StrCat("flight ", b)});
    batch.push_back(Redeem{.idempotency_key = Key("r", b, i), .member = m, .amount = Points(RedeemAmount(b, i)),
                           .reason = "award"});
    batch.push_back(PlaceHold{.idempotency_key = Key("h", b, i), .member = m, .amount = Points(HoldAmount(i)),
                              .ttl = absl::Hours(1), .reason = "basket"});
    if (b >= 2) {
      std::optional<KeyRecord> hold = store.FindKey(Key("h", b - 1, i));
      if (!hold) return std::nullopt;
      batch.push_back(CaptureHold{.idempotency_key = Key("x", b, i), .member = m, .hold = hold->first});
    }
    batch.push_back(Transfer{.idempotency_key = Key("t", b, i), .member = m, .to = Member((i + 1) % kMembers),
                             .amount = Points(TransferAmount(b, i))});
  }
  return batch;
}

// The balance of member i after batches 0..committed.
Balance Expected(int64_t committed, int i) {
  int64_t available = 0;
  int prev = (i + kMembers - 1) % kMembers;
  for (int64_t b = 1; b <= committed; ++b) {
    available += CreditAmount(b, i) - RedeemAmount(b, i) - HoldAmount(i) - TransferAmount(b, i) +
                 TransferAmount(b, prev);
  }
  return Balance{Points(available), Points(committed >= 1 ? HoldAmount(i) : 0), Points(0)};
}

// ---- The child ----------------------------------------------------------

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(4);
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildFail(int fd, const std::string& why) {
  std::string text = why;
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  WriteAll(fd, absl::StrCat("E ", text, "\n"));
  _exit(3);
}

// Opens the journal and appends batches from `first` on, acknowledging each
// after ExecuteBatch returned. Never returns.
[[noreturn]] void RunChild(const std::string& path, SqliteOptions options, int64_t first, int fd) {
  auto store = OpenSqliteStore(path, options);
  if (!store.ok()) ChildFail(fd, absl::StrCat("open: ", store.status().ToString()));
  FakeClock clock(Start());
  auto engine = Engine::Open(*std::move(store), clock, TestProgram());
  if (!engine.ok()) ChildFail(fd, absl::StrCat("engine: ", engine.status().ToString()));
  WriteAll(fd, "R\n");
  for (int64_t b = first; b < first + 1'000'000; ++b) {
    auto batch = MakeBatch(b, (*engine)->store());
    if (!batch) ChildFail(fd, absl::StrCat("batch ", b, ": the hold of batch ", b - 1, " is not in the journal"));
    auto results = (*engine)->ExecuteBatch(*batch);
    if (results.size() != batch->size()) ChildFail(fd, absl::StrCat("batch ", b, ": wrong number of results"));
    int replayed = 0;
    std::vector<std::string> keys;
    for (size_t k = 0; k < results.size(); ++k) {
      const std::string& key = IdempotencyKeyOf((*batch)[k]);
      if (!results[k].ok()) {
        ChildFail(fd, absl::StrCat("batch ", b, ": ", key, ": ", results[k].status().ToString()));
      }
      replayed += results[k]->replayed ? 1 : 0;
      keys.push_back(key);
    }
    // A batch is appended whole or not at all: a batch re-run after a crash
    // is replayed entirely or executed entirely.
    if (replayed != 0 && replayed != static_cast<int>(results.size())) {
      ChildFail(fd, absl::StrCat("batch ", b, ": ", replayed, " of ", results.size(), " commands replayed"));
    }
    // One write of less than PIPE_BUF bytes: atomic.
    WriteAll(fd, absl::StrCat("A ", b, " ", absl::StrJoin(keys, " "), "\n"));
  }
  _exit(0);
}

// ---- The parent ---------------------------------------------------------

struct Acks {
  int64_t last = -1;                        // highest acknowledged batch
  std::map<std::string, int64_t> keys;      // acknowledged key -> its batch
  std::vector<std::string> errors;          // from the child or the protocol
  bool ready = false;                       // the current child has opened the engine
};

// Parses the complete lines in `buffer`, leaving an incomplete tail.
void Parse(std::string* buffer, Acks* acks) {
  size_t newline;
  while ((newline = buffer->find('\n')) != std::string::npos) {
    std::string line = buffer->substr(0, newline);
    buffer->erase(0, newline + 1);
    if (line == "R") {
      acks->ready = true;
      continue;
    }
    if (line.rfind("E ", 0) == 0) {
      acks->errors.push_back(absl::StrCat("child: ", line.substr(2)));
      continue;
    }
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t b;
    if (words.size() < 2 || words[0] != "A" || !absl::SimpleAtoi(words[1], &b)) {
      acks->errors.push_back(absl::StrCat("bad line from child: ", line));
      continue;
    }
    if (b != acks->last + 1) {
      acks->errors.push_back(absl::StrCat("child acknowledged batch ", b, " after ", acks->last));
    }
    acks->last = b;
    std::vector<std::string> expected;
    for (const auto& [key, count] : KeysOf(b)) expected.push_back(key);
    std::vector<std::string> got(words.begin() + 2, words.end());
    if (got != expected) acks->errors.push_back(absl::StrCat("batch ", b, ": child acknowledged ", line));
    for (const std::string& key : got) acks->keys[key] = b;
  }
}

// Reads what is in the pipe until `deadline` (or EOF if unset), or until
// the child reports it is ready if `until_ready`.
void Drain(int fd, std::optional<std::chrono::steady_clock::time_point> deadline, std::string* buffer,
           Acks* acks, bool until_ready = false) {
  char chunk[4096];
  for (;;) {
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      timeout = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return;  // deadline
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EOF: the child is gone
    buffer->append(chunk, static_cast<size_t>(n));
    Parse(buffer, acks);
    if (until_ready && acks->ready) return;
  }
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path() / "loyalty_crash_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    char* made = mkdtemp(buf.data());
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// After a kill: opens the journal and checks everything it must hold.
// Returns the number of committed batches minus one (-1 for none).
int64_t VerifyAfterCrash(const std::string& path, SqliteOptions options, const Acks& acks, std::mt19937_64& rng) {
  auto store = OpenSqliteStore(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return acks.last;
  const uint64_t last_seq = (*store)->LastSeq();
  auto verified = VerifyChain(**store);
  EXPECT_TRUE(verified.ok()) << verified.status();
  if (verified.ok()) {
    EXPECT_EQ(*verified, last_seq);
  }

  // The journal's entries grouped into runs of one key.
  std::map<std::string, KeyRecord> runs;
  {
    std::string previous;
    absl::Status read = (*store)->Read(1, [&](const Entry& entry) {
      if (entry.idempotency_key == previous) {
        ++runs[previous].count;
      } else {
        EXPECT_FALSE(runs.contains(entry.idempotency_key)) << "key " << entry.idempotency_key << " in two places";
        runs[entry.idempotency_key] = KeyRecord{entry.seq, 1};
        previous = entry.idempotency_key;
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
  }

  // Which batches are in the journal: a prefix 0..committed, each whole.
  int64_t committed = -1;
  uint64_t entries_found = 0;
  for (int64_t b = 0;; ++b) {
    size_t present = 0;
    std::vector<std::pair<std::string, uint32_t>> keys = KeysOf(b);
    for (const auto& [key, count] : keys) {
      std::optional<KeyRecord> record = (*store)->FindKey(key);
      if (!record) continue;
      ++present;
      entries_found += record->count;
      EXPECT_EQ(record->count, count) << "key " << key << ": entries of one command";
      auto run = runs.find(key);
      EXPECT_TRUE(run != runs.end()) << "key " << key << " is indexed but in no entry";
      if (run != runs.end()) {
        EXPECT_EQ(run->second.first, record->first) << "key " << key << ": first entry";
        EXPECT_EQ(run->second.count, record->count) << "key " << key << ": entries in the journal";
      }
    }
    if (present == 0) break;
    EXPECT_EQ(present, keys.size()) << "batch " << b << " is in the journal only in part";
    committed = b;
  }
  // Nothing beyond the committed prefix, and no entry outside those commands.
  for (int64_t b = committed + 1; b <= committed + 2; ++b) {
    for (const auto& [key, count] : KeysOf(b)) EXPECT_FALSE((*store)->FindKey(key)) << "stray key " << key;
  }
  EXPECT_EQ(entries_found, last_seq) << "entries not accounted for by the batches' keys";
  size_t keys_found = 0;
  for (int64_t b = 0; b <= committed; ++b) keys_found += KeysOf(b).size();
  EXPECT_EQ(runs.size(), keys_found) << "the journal holds keys outside the committed batches";

  // Every acknowledged batch is there; at most one more (committed but
  // killed before it was acknowledged).
  EXPECT_GE(committed, acks.last) << "an acknowledged batch was lost";
  EXPECT_LE(committed, acks.last + 1) << "the child ran ahead of its acknowledgements";
  for (const auto& [key, batch] : acks.keys) {
    EXPECT_TRUE((*store)->FindKey(key)) << "acknowledged key " << key << " (batch " << batch << ") is missing";
  }

  FakeClock clock(Start());
  auto opened = Engine::Open(*std::move(store), clock, TestProgram());
  EXPECT_TRUE(opened.ok()) << opened.status();
  if (!opened.ok()) return committed;
  Engine& engine = **opened;

  // Balance = sum of lots; held = sum of holds; and both as the committed
  // batches imply.
  for (int i = 0; i < kMembers && committed >= 0; ++i) {
    MemberId m = Member(i);
    auto balance = engine.BalanceOf(m);
    auto lots = engine.OpenLots(m);
    auto snapshot = engine.Snapshot(m);
    EXPECT_TRUE(balance.ok() && lots.ok() && snapshot.ok()) << "member " << m.value();
    if (!balance.ok() || !lots.ok() || !snapshot.ok()) continue;
    int64_t in_lots = 0;
    for (const Lot& lot : *lots) in_lots += lot.remaining.value();
    EXPECT_EQ(balance->available.value(), in_lots) << "member " << m.value() << ": balance != sum of lots";
    int64_t in_holds = 0;
    for (const auto& [seq, hold] : snapshot->detail().holds) in_holds += hold.amount.value();
    EXPECT_EQ(balance->held.value(), in_holds) << "member " << m.value() << ": held != sum of holds";
    Balance expected = Expected(committed, i);
    EXPECT_EQ(balance->available.value(), expected.available.value()) << "member " << m.value();
    EXPECT_EQ(balance->held.value(), expected.held.value()) << "member " << m.value();
    EXPECT_EQ(balance->debt.value(), 0) << "member " << m.value();
  }

  // Acknowledged commands are recognised: re-executing them (the last
  // acknowledged batch as a batch, one earlier command alone) replays and
  // writes nothing.
  if (acks.last >= 0) {
    const uint64_t seq_before = engine.store().LastSeq();
    const Sha256 head_before = engine.store().HeadHash();
    const Sha256 digest_before = engine.StateDigest();

    auto batch = MakeBatch(acks.last, engine.store());
    EXPECT_TRUE(batch.has_value());
    if (batch) {
      auto results = engine.ExecuteBatch(*batch);
      EXPECT_EQ(results.size(), batch->size());
      for (size_t k = 0; k < results.size() && k < batch->size(); ++k) {
        const std::string& key = IdempotencyKeyOf((*batch)[k]);
        EXPECT_TRUE(results[k].ok()) << key << ": " << results[k].status();
        if (!results[k].ok()) continue;
        EXPECT_TRUE(results[k]->replayed) << key;
        std::optional<KeyRecord> record = engine.store().FindKey(key);
        EXPECT_TRUE(record.has_value()) << key;
        if (!record) continue;
        EXPECT_EQ(results[k]->entries.size(), record->count) << key;
        for (size_t e = 0; e < results[k]->entries.size(); ++e) {
          auto stored = engine.store().Get(record->first + e);
          EXPECT_TRUE(stored.ok() && *stored == results[k]->entries[e]) << key << " entry " << e;
        }
      }
    }

    std::uniform_int_distribution<int64_t> pick_batch(0, acks.last);
    int64_t b = pick_batch(rng);
    auto earlier = MakeBatch(b, engine.store());
    EXPECT_TRUE(earlier.has_value());
    if (earlier) {
      std::uniform_int_distribution<size_t> pick_command(0, earlier->size() - 1);
      const Command& command = (*earlier)[pick_command(rng)];
      auto receipt = engine.Execute(command);
      EXPECT_TRUE(receipt.ok()) << IdempotencyKeyOf(command) << ": " << receipt.status();
      if (receipt.ok()) {
        EXPECT_TRUE(receipt->replayed) << IdempotencyKeyOf(command);
        std::optional<KeyRecord> record = engine.store().FindKey(IdempotencyKeyOf(command));
        EXPECT_TRUE(record && !receipt->entries.empty() && receipt->entries.front().seq == record->first)
            << IdempotencyKeyOf(command);
      }
    }

    EXPECT_EQ(engine.store().LastSeq(), seq_before) << "a replay wrote to the journal";
    EXPECT_EQ(engine.store().HeadHash(), head_before);
    EXPECT_EQ(engine.StateDigest(), digest_before) << "a replay changed the state";
  }
  return committed;
}

struct CrashRun {
  int kills = 0;
  int64_t batches = 0;  // acknowledged at the end
  int unacknowledged = 0;  // kills after a commit but before its acknowledgement
  double seconds = 0;
};

// Kills per journal file: each verification reads the whole journal, so a
// fresh journal every so many kills keeps the cost per kill flat (the
// journal would otherwise grow by some batches with every kill).
constexpr int kKillsPerJournal = 10;

// Forks a writer `kills` times, kills it after 0..max_sleep_ms ms, and
// verifies the journal after each kill; a new journal every
// kKillsPerJournal kills.
CrashRun RunCrashLoop(SqliteOptions options, int kills, int max_sleep_ms, uint64_t seed) {
  CrashRun run;
  auto started = std::chrono::steady_clock::now();
  TempDir dir;
  EXPECT_FALSE(dir.path().empty()) << "mkdtemp failed";
  if (dir.path().empty()) return run;
  std::string path;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> sleep_ms(0, max_sleep_ms);
  Acks acks;
  for (int iteration = 0; iteration < kills; ++iteration) {
    SCOPED_TRACE(absl::StrCat("iteration ", iteration, " (seed ", seed, ")"));
    if (iteration % kKillsPerJournal == 0) {
      run.batches += acks.last + 1;
      acks = Acks{};
      path = absl::StrCat(dir.path(), "/journal-", iteration / kKillsPerJournal, ".db");
    }
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    // The first child enrolls; later ones continue after the last
    // acknowledged batch (re-running one that was committed but not
    // acknowledged, which must replay).
    const int64_t first = acks.last + 1;
    std::fflush(nullptr);
    pid_t pid = fork();
    EXPECT_GE(pid, 0) << "fork failed";
    if (pid < 0) return run;
    if (pid == 0) {
      close(fds[0]);
      RunChild(path, options, first, fds[1]);
    }
    close(fds[1]);
    std::string buffer;
    const int sleep = sleep_ms(rng);
    // Even iterations time the kill from the fork (it may land while the
    // child opens and recovers the journal), odd ones from when the child
    // is ready to write (so that every run makes progress).
    acks.ready = false;
    if (iteration % 2 == 1) {
      Drain(fds[0], std::chrono::steady_clock::now() + std::chrono::seconds(10), &buffer, &acks, /*until_ready=*/true);
      // Wait for one more acknowledged batch before the random sleep, so
      // that runs progress even where a batch takes longer than the sleep
      // (sanitized builds on a busy machine).
      const int64_t before = acks.last;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (acks.last == before && acks.errors.empty() && std::chrono::steady_clock::now() < deadline) {
        Drain(fds[0], std::chrono::steady_clock::now() + std::chrono::milliseconds(5), &buffer, &acks);
      }
    }
    Drain(fds[0], std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep), &buffer, &acks);
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    Drain(fds[0], std::nullopt, &buffer, &acks);
    close(fds[0]);
    ++run.kills;
    for (const std::string& error : acks.errors) ADD_FAILURE() << error;
    if (!acks.errors.empty()) return run;
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child ended by itself: status " << status;

    int64_t committed = VerifyAfterCrash(path, options, acks, rng);
    if (committed > acks.last) ++run.unacknowledged;
    if (::testing::Test::HasFailure()) {
      std::printf("crash test failed after kill %d (slept %d ms, %lld batches acknowledged, %lld committed); "
                  "rerun with LOYALTY_CRASH_SEED=%llu\n",
                  iteration, sleep, static_cast<long long>(acks.last + 1), static_cast<long long>(committed + 1),
                  static_cast<unsigned long long>(seed));
      return run;
    }
  }
  run.batches += acks.last + 1;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

TEST(CrashTest, KilledWriterLosesNoAcknowledgedBatchWithFullSync) {
  const uint64_t seed = TestSeed("LOYALTY_CRASH_SEED");
  std::printf("crash test seed %llu (set LOYALTY_CRASH_SEED to repeat)\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  CrashRun run = RunCrashLoop(SqliteOptions{}, /*kills=*/140, /*max_sleep_ms=*/30, seed);
  EXPECT_EQ(run.kills, 140);
  // The test means something only if the writer got work done between kills.
  EXPECT_GE(run.batches, 20) << "too few batches acknowledged to exercise recovery";
  std::printf("synchronous=FULL: %d kills, %lld batches acknowledged, %d committed but unacknowledged, %.1f s\n",
              run.kills, static_cast<long long>(run.batches), run.unacknowledged, run.seconds);
}

// synchronous=NORMAL promises durability across a crash of the process
// (not of the machine): a SIGKILL must not lose an acknowledged batch either.
TEST(CrashTest, KilledWriterLosesNoAcknowledgedBatchWithNormalSync) {
  const uint64_t seed = TestSeed("LOYALTY_CRASH_SEED");
  std::printf("crash test seed %llu (set LOYALTY_CRASH_SEED to repeat)\n", static_cast<unsigned long long>(seed));
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  CrashRun run = RunCrashLoop(options, /*kills=*/80, /*max_sleep_ms=*/30, seed);
  EXPECT_EQ(run.kills, 80);
  EXPECT_GE(run.batches, 20) << "too few batches acknowledged to exercise recovery";
  std::printf("synchronous=NORMAL: %d kills, %lld batches acknowledged, %d committed but unacknowledged, %.1f s\n",
              run.kills, static_cast<long long>(run.batches), run.unacknowledged, run.seconds);
}

}  // namespace
}  // namespace loyalty
