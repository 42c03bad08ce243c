// The thread-safety stress test: several threads run random commands
// against one engine over a shared set of members (so that they overlap on
// members), on the memory store and on SQLite; afterwards the members'
// state, the journal and the test's own bookkeeping must agree, and an
// engine rebuilt from the journal must hold the same state.
//
// Each thread's generator is seeded from LOYALTY_STRESS_SEED or
// LOYALTY_TEST_SEED (if set, else at random) plus the thread's index; the
// seed is printed at the start and with every failure.
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "loyalty/loyalty.h"
#include "test_seed.h"

namespace loyalty {
namespace {

constexpr int kMembers = 20;
constexpr int kThreads = 4;

MemberId Member(int i) { return MemberId::FromValid(absl::StrFormat("S-%02d", i)); }

Program TestProgram() {
  return *Program::Create("stress-1", "Europe/Berlin", ExpiryTerm{36, ExpiryTerm::Round::kEndOfQuarter});
}

Instant Start() { return *Instant::Parse("2011-01-03T09:00:00Z"); }

class TempDir {
 public:
  TempDir() {
    std::string pattern = std::filesystem::temp_directory_path() / "loyalty_stress_XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (char* made = mkdtemp(buf.data())) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- What the test knows, independently of the engine ---------------------

struct HoldRef {
  MemberId member;
  uint64_t id = 0;
  int64_t amount = 0;
  bool open = true;
};
struct CreditRef {
  MemberId member;
  uint64_t seq = 0;
  int64_t amount = 0;
  int64_t reversed = 0;  // by successful ReverseEarn commands
};
struct DebitRef {
  MemberId member;
  uint64_t seq = 0;
  int64_t amount = 0;
  int reversals = 0;  // successful ReverseDebit commands
};

// Shared by the threads: the holds, credits and debits created so far, for
// other commands to refer to.
struct Pool {
  std::mutex mutex;
  std::vector<HoldRef> holds;
  std::vector<CreditRef> credits;
  std::vector<DebitRef> debits;
};

struct Done {
  Command command;
  Receipt receipt;
};

enum class Kind {
  kCredit, kRedeem, kHold, kCapture, kRelease, kTransfer, kReverseEarn, kReverseDebit, kAdjust,
  kRetry, kConflict
};

const char* KindName(Kind kind) {
  static const char* const kNames[] = {"credit", "redeem", "hold", "capture", "release", "transfer",
                                       "reverse_earn", "reverse_debit", "adjust", "retry", "conflict"};
  return kNames[static_cast<int>(kind)];
}

struct Op {
  Kind kind;
  Command command;
  size_t ref = 0;       // index into the pool (hold, credit, debit) or into `done` (retry, conflict)
  int64_t amount = 0;   // of the referenced hold or debit
};

// One thread's work and findings.
class Worker {
 public:
  Worker(Engine& engine, Pool& pool, int index, uint64_t seed)
      : engine_(engine), pool_(pool), index_(index), seed_(seed), rng_(seed) {}

  // Runs `count` commands one by one with Execute.
  void RunSingles(int count) {
    for (int i = 0; i < count; ++i) {
      Op op = MakeOp();
      Process(op, engine_.Execute(op.command), nullptr);
    }
  }

  // Runs `batches` batches of 1..max_batch commands with ExecuteBatch.
  void RunBatches(int batches, int max_batch) {
    std::uniform_int_distribution<int> size(1, max_batch);
    for (int b = 0; b < batches; ++b) {
      std::vector<Op> ops;
      std::vector<Command> commands;
      int n = size(rng_);
      std::vector<int> dup_of;  // for a repeat of an earlier command of the batch, its index
      for (int i = 0; i < n; ++i) {
        // Now and then the same command twice in one batch.
        if (i > 0 && std::uniform_int_distribution<int>(0, 9)(rng_) == 0) {
          int earlier = std::uniform_int_distribution<int>(0, i - 1)(rng_);
          if (ops[earlier].kind != Kind::kRetry && ops[earlier].kind != Kind::kConflict) {
            ops.push_back(ops[earlier]);
            commands.push_back(ops.back().command);
            dup_of.push_back(earlier);
            continue;
          }
        }
        ops.push_back(MakeOp());
        commands.push_back(ops.back().command);
        dup_of.push_back(-1);
      }
      std::vector<absl::StatusOr<Receipt>> results = engine_.ExecuteBatch(commands);
      if (results.size() != ops.size()) {
        Error(absl::StrCat("ExecuteBatch returned ", results.size(), " results for ", ops.size(), " commands"));
        continue;
      }
      // The fresh commands of one batch are one append: their entries have
      // consecutive seqs, in the order of the commands.
      std::optional<uint64_t> next;
      for (size_t i = 0; i < ops.size(); ++i) {
        if (dup_of[i] >= 0 && results[dup_of[i]].ok()) {
          // The command was executed earlier in this batch: a replay of it.
          const std::string what = absl::StrCat("repeat in batch of ", IdempotencyKeyOf(ops[i].command));
          ++outcomes_["repeat_in_batch"];
          if (!results[i].ok()) {
            Error(absl::StrCat(what, ": ", results[i].status().ToString()));
          } else {
            if (!results[i]->replayed) Error(absl::StrCat(what, ": not marked replayed"));
            if (results[i]->entries != results[dup_of[i]]->entries) Error(absl::StrCat(what, ": other entries"));
          }
          continue;
        }
        // A repeat of a command that failed is decided anew.
        Process(ops[i], results[i], &next);
      }
      ++batches_run_;
    }
  }

  const std::vector<Done>& done() const { return done_; }
  const std::vector<std::string>& errors() const { return errors_; }
  int64_t net() const { return net_; }
  uint64_t seed() const { return seed_; }
  const std::map<std::string, int>& outcomes() const { return outcomes_; }

 private:
  void Error(std::string what) {
    if (errors_.size() < 20) errors_.push_back(absl::StrCat("thread ", index_, " (seed ", seed_, "): ", what));
  }

  MemberId RandomMember() { return Member(std::uniform_int_distribution<int>(0, kMembers - 1)(rng_)); }
  int64_t Amount(int64_t low, int64_t high) { return std::uniform_int_distribution<int64_t>(low, high)(rng_); }
  std::string NextKey() { return absl::StrCat("t", index_, "-", serial_++); }

  Op MakeOp() {
    std::uniform_real_distribution<double> unit(0, 1);
    double u = unit(rng_);
    if (!done_.empty() && u < 0.2) {
      size_t i = std::uniform_int_distribution<size_t>(0, done_.size() - 1)(rng_);
      return Op{Kind::kRetry, done_[i].command, i};
    }
    if (!done_.empty() && u < 0.22) {
      // The key of an earlier command with a different payload.
      size_t i = std::uniform_int_distribution<size_t>(0, done_.size() - 1)(rng_);
      const Command& earlier = done_[i].command;
      return Op{Kind::kConflict,
                Redeem{.idempotency_key = IdempotencyKeyOf(earlier), .member = MemberOf(earlier),
                       .amount = Points(1), .reason = "conflicting payload"},
                i};
    }
    for (;;) {
      int pick = std::uniform_int_distribution<int>(0, 99)(rng_);
      if (pick < 24) {
        return Op{Kind::kCredit, Credit{.idempotency_key = NextKey(), .member = RandomMember(),
                                        .amount = Points(Amount(1, 500)), .source = "stress"}};
      }
      if (pick < 38) {
        return Op{Kind::kRedeem, Redeem{.idempotency_key = NextKey(), .member = RandomMember(),
                                        .amount = Points(Amount(1, 300)), .reason = "stress"}};
      }
      if (pick < 50) {
        return Op{Kind::kHold, PlaceHold{.idempotency_key = NextKey(), .member = RandomMember(),
                                         .amount = Points(Amount(1, 200)), .ttl = absl::Hours(Amount(1, 48)),
                                         .reason = "stress"}};
      }
      if (pick < 66) {
        std::lock_guard<std::mutex> lock(pool_.mutex);
        if (pool_.holds.empty()) continue;
        size_t i = std::uniform_int_distribution<size_t>(0, pool_.holds.size() - 1)(rng_);
        const HoldRef& hold = pool_.holds[i];
        if (pick < 58) {
          return Op{Kind::kCapture, CaptureHold{.idempotency_key = NextKey(), .member = hold.member, .hold = hold.id},
                    i, hold.amount};
        }
        return Op{Kind::kRelease, ReleaseHold{.idempotency_key = NextKey(), .member = hold.member, .hold = hold.id},
                  i, hold.amount};
      }
      if (pick < 78) {
        MemberId from = RandomMember();
        MemberId to = RandomMember();
        if (to == from) continue;
        return Op{Kind::kTransfer, Transfer{.idempotency_key = NextKey(), .member = from, .to = to,
                                            .amount = Points(Amount(1, 200))}};
      }
      if (pick < 86) {
        std::lock_guard<std::mutex> lock(pool_.mutex);
        if (pool_.credits.empty()) continue;
        size_t i = std::uniform_int_distribution<size_t>(0, pool_.credits.size() - 1)(rng_);
        const CreditRef& credit = pool_.credits[i];
        return Op{Kind::kReverseEarn,
                  ReverseEarn{.idempotency_key = NextKey(), .member = credit.member, .credit = credit.seq,
                              .amount = Points(Amount(1, std::min<int64_t>(credit.amount, 150)))},
                  i};
      }
      if (pick < 94) {
        std::lock_guard<std::mutex> lock(pool_.mutex);
        if (pool_.debits.empty()) continue;
        size_t i = std::uniform_int_distribution<size_t>(0, pool_.debits.size() - 1)(rng_);
        const DebitRef& debit = pool_.debits[i];
        return Op{Kind::kReverseDebit, ReverseDebit{.idempotency_key = NextKey(), .member = debit.member,
                                                    .debit = debit.seq},
                  i, debit.amount};
      }
      int64_t delta = Amount(1, 100) * (pick % 2 == 0 ? 1 : -1);
      return Op{Kind::kAdjust, Adjust{.idempotency_key = NextKey(), .member = RandomMember(), .delta = Points(delta),
                                      .reason = "goodwill", .actor = "stress"}};
    }
  }

  // Checks a result and records what it did. `next` (for batches) is the
  // seq the next fresh entry of the batch must have.
  void Process(const Op& op, const absl::StatusOr<Receipt>& result, std::optional<uint64_t>* next) {
    const std::string& key = IdempotencyKeyOf(op.command);
    const std::string what = absl::StrCat(KindName(op.kind), " ", key);
    ++outcomes_[absl::StrCat(KindName(op.kind), " ",
                             result.ok() ? (result->replayed ? "replayed" : "ok")
                                         : absl::StatusCodeToString(result.status().code()))];
    if (op.kind == Kind::kRetry) {
      if (!result.ok()) return Error(absl::StrCat(what, ": retry failed: ", result.status().ToString()));
      if (!result->replayed) Error(absl::StrCat(what, ": retry not marked replayed"));
      if (result->entries != done_[op.ref].receipt.entries) {
        Error(absl::StrCat(what, ": retry returned other entries than the original receipt"));
      }
      return;
    }
    if (op.kind == Kind::kConflict) {
      if (!absl::IsAlreadyExists(result.status())) {
        Error(absl::StrCat(what, ": same key, other payload: want AlreadyExists, got ",
                           result.ok() ? "a receipt" : result.status().ToString()));
      }
      return;
    }
    if (!result.ok()) {
      const absl::Status& s = result.status();
      bool allowed = false;
      switch (op.kind) {
        case Kind::kRedeem:
        case Kind::kHold:
        case Kind::kTransfer:
        case Kind::kReverseEarn:
        case Kind::kReverseDebit:
          allowed = absl::IsFailedPrecondition(s);
          break;
        case Kind::kAdjust:
          allowed = absl::IsFailedPrecondition(s) && std::get<Adjust>(op.command).delta.IsNegative();
          break;
        case Kind::kCapture:
        case Kind::kRelease:
          allowed = absl::IsNotFound(s);  // closed by another command meanwhile
          break;
        default:
          break;
      }
      if (!allowed) Error(absl::StrCat(what, ": unexpected error ", s.ToString()));
      return;
    }
    const Receipt& receipt = *result;
    if (receipt.replayed) return Error(absl::StrCat(what, ": a fresh key came back replayed"));
    const size_t want_entries = op.kind == Kind::kTransfer ? 2 : 1;
    if (receipt.entries.size() != want_entries) {
      return Error(absl::StrCat(what, ": ", receipt.entries.size(), " entries, want ", want_entries));
    }
    for (size_t i = 0; i < receipt.entries.size(); ++i) {
      const Entry& entry = receipt.entries[i];
      if (entry.idempotency_key != key) Error(absl::StrCat(what, ": entry has key ", entry.idempotency_key));
      if (entry.seq == 0 || (i > 0 && entry.seq != receipt.entries[i - 1].seq + 1)) {
        Error(absl::StrCat(what, ": entry seqs not consecutive"));
      }
      if (entry.hash == Sha256{}) Error(absl::StrCat(what, ": entry ", entry.seq, " has no hash"));
    }
    if (next != nullptr) {
      if (next->has_value() && receipt.entries.front().seq != **next) {
        Error(absl::StrCat(what, ": batch entries not contiguous: seq ", receipt.entries.front().seq, ", want ",
                           **next));
      }
      *next = receipt.entries.back().seq + 1;
    }
    const Entry& entry = receipt.entries.front();
    if (entry.member != MemberOf(op.command)) Error(absl::StrCat(what, ": entry for member ", entry.member.value()));

    using namespace entries;
    std::lock_guard<std::mutex> lock(pool_.mutex);
    switch (op.kind) {
      case Kind::kCredit: {
        const auto& c = std::get<Credit>(op.command);
        const auto* body = std::get_if<Credited>(&entry.body);
        if (body == nullptr || body->amount != c.amount) Error(absl::StrCat(what, ": not a credit of the amount"));
        pool_.credits.push_back({c.member, entry.seq, c.amount.value()});
        net_ += c.amount.value();
        break;
      }
      case Kind::kRedeem: {
        const auto& c = std::get<Redeem>(op.command);
        const auto* body = std::get_if<Debited>(&entry.body);
        if (body == nullptr || body->amount != c.amount) Error(absl::StrCat(what, ": not a debit of the amount"));
        pool_.debits.push_back({c.member, entry.seq, c.amount.value()});
        net_ -= c.amount.value();
        break;
      }
      case Kind::kHold: {
        const auto& c = std::get<PlaceHold>(op.command);
        const auto* body = std::get_if<HoldPlaced>(&entry.body);
        if (body == nullptr || body->amount != c.amount) Error(absl::StrCat(what, ": not a hold of the amount"));
        pool_.holds.push_back({c.member, entry.seq, c.amount.value()});
        break;
      }
      case Kind::kCapture:
      case Kind::kRelease: {
        HoldRef& hold = pool_.holds[op.ref];
        if (!hold.open) Error(absl::StrCat(what, ": hold ", hold.id, " closed a second time"));
        hold.open = false;
        if (op.kind == Kind::kCapture) {
          const auto* body = std::get_if<HoldCaptured>(&entry.body);
          if (body == nullptr || body->hold != hold.id || body->amount.value() != hold.amount) {
            Error(absl::StrCat(what, ": not a capture of hold ", hold.id));
          }
          pool_.debits.push_back({hold.member, entry.seq, hold.amount});
          net_ -= hold.amount;
        } else {
          const auto* body = std::get_if<HoldReleased>(&entry.body);
          if (body == nullptr || body->hold != hold.id || body->lapsed || body->amount.value() != hold.amount) {
            Error(absl::StrCat(what, ": not a release of hold ", hold.id));
          }
        }
        break;
      }
      case Kind::kTransfer: {
        const auto& c = std::get<Transfer>(op.command);
        const auto* out = std::get_if<TransferredOut>(&entry.body);
        const auto* in = std::get_if<TransferredIn>(&receipt.entries[1].body);
        if (out == nullptr || in == nullptr || out->amount != c.amount || in->amount != c.amount ||
            receipt.entries[1].member != c.to) {
          Error(absl::StrCat(what, ": not a transfer of the amount"));
        }
        break;
      }
      case Kind::kReverseEarn: {
        const auto& c = std::get<ReverseEarn>(op.command);
        const auto* body = std::get_if<EarnReversed>(&entry.body);
        if (body == nullptr || body->credit != c.credit || body->amount != c.amount) {
          Error(absl::StrCat(what, ": not a reversal of credit ", c.credit));
        }
        pool_.credits[op.ref].reversed += c.amount.value();
        net_ -= c.amount.value();
        break;
      }
      case Kind::kReverseDebit: {
        const auto& c = std::get<ReverseDebit>(op.command);
        const auto* body = std::get_if<DebitReversed>(&entry.body);
        if (body == nullptr || body->debit != c.debit || body->amount.value() != op.amount) {
          Error(absl::StrCat(what, ": not a reversal of debit ", c.debit));
        }
        ++pool_.debits[op.ref].reversals;
        net_ += op.amount;
        break;
      }
      case Kind::kAdjust: {
        const auto& c = std::get<Adjust>(op.command);
        const auto* body = std::get_if<Adjusted>(&entry.body);
        if (body == nullptr || body->delta != c.delta) Error(absl::StrCat(what, ": not an adjustment of the delta"));
        net_ += c.delta.value();
        break;
      }
      default:
        break;
    }
    done_.push_back({op.command, receipt});
  }

  Engine& engine_;
  Pool& pool_;
  const int index_;
  const uint64_t seed_;
  std::mt19937 rng_;
  uint64_t serial_ = 0;
  int batches_run_ = 0;
  int64_t net_ = 0;  // change of sum(available + held - debt) by this thread's commands
  std::vector<Done> done_;
  std::vector<std::string> errors_;
  std::map<std::string, int> outcomes_;
};

// Enrolls the members and gives each a starting credit; returns the receipts.
std::vector<Receipt> Setup(Engine& engine, Pool& pool, int64_t* net) {
  std::vector<Receipt> receipts;
  for (int i = 0; i < kMembers; ++i) {
    auto enrolled = engine.Execute(Enroll{.idempotency_key = absl::StrCat("enroll-", i), .member = Member(i)});
    EXPECT_TRUE(enrolled.ok()) << enrolled.status();
    if (enrolled.ok()) receipts.push_back(*enrolled);
    auto credited = engine.Execute(Credit{.idempotency_key = absl::StrCat("welcome-", i), .member = Member(i),
                                          .amount = Points(1000), .source = "welcome"});
    EXPECT_TRUE(credited.ok()) << credited.status();
    if (credited.ok()) {
      receipts.push_back(*credited);
      pool.credits.push_back({Member(i), credited->seq(), 1000});
      *net += 1000;
    }
  }
  return receipts;
}

// Reads every entry of `store`.
std::vector<Entry> ReadAll(const Store& store) {
  std::vector<Entry> all;
  absl::Status status = store.Read(1, [&](const Entry& entry) {
    all.push_back(entry);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return all;
}

// A fresh memory store holding a copy of `store`'s journal, appended
// command by command (entries sharing a key together) with their seqs.
std::unique_ptr<Store> CopyToMemory(const Store& store) {
  std::unique_ptr<Store> copy = NewMemoryStore();
  std::vector<Entry> all = ReadAll(store);
  size_t begin = 0;
  while (begin < all.size()) {
    size_t end = begin + 1;
    while (end < all.size() && all[end].idempotency_key == all[begin].idempotency_key) ++end;
    std::vector<Entry> run(all.begin() + static_cast<ptrdiff_t>(begin), all.begin() + static_cast<ptrdiff_t>(end));
    absl::Status appended = copy->Append(run);
    EXPECT_TRUE(appended.ok()) << "copying entries " << all[begin].seq << ".." << all[end - 1].seq << ": "
                               << appended;
    if (!appended.ok()) break;
    for (size_t i = 0; i < run.size(); ++i) {
      EXPECT_EQ(run[i].hash, all[begin + i].hash) << "entry " << run[i].seq << " hashes differently in the copy";
    }
    begin = end;
  }
  EXPECT_EQ(copy->LastSeq(), store.LastSeq());
  EXPECT_EQ(copy->HeadHash(), store.HeadHash());
  return copy;
}

// Everything that must hold once the threads are done.
void CheckConsistency(Engine& engine, const std::vector<std::unique_ptr<Worker>>& workers,
                      const std::vector<Receipt>& setup, Pool& pool, int64_t net) {
  const Store& store = engine.store();
  const uint64_t last = store.LastSeq();
  auto verified = VerifyChain(store);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, last);

  // Every journal entry came from exactly one fresh receipt, identical.
  std::vector<Entry> journal = ReadAll(store);
  ASSERT_EQ(journal.size(), last);
  std::map<uint64_t, const Entry*> from_receipts;
  auto collect = [&](const Receipt& receipt) {
    for (const Entry& entry : receipt.entries) {
      EXPECT_TRUE(from_receipts.emplace(entry.seq, &entry).second) << "seq " << entry.seq << " in two receipts";
    }
  };
  for (const Receipt& receipt : setup) collect(receipt);
  for (const auto& worker : workers) {
    for (const Done& done : worker->done()) collect(done.receipt);
  }
  EXPECT_EQ(from_receipts.size(), last) << "journal entries without a receipt, or receipts without an entry";
  for (const Entry& entry : journal) {
    auto it = from_receipts.find(entry.seq);
    if (it == from_receipts.end()) {
      ADD_FAILURE() << "journal entry " << entry.seq << " (" << entry.idempotency_key << ") has no receipt";
      continue;
    }
    EXPECT_TRUE(*it->second == entry) << "entry " << entry.seq << " differs from its receipt";
  }

  // Per member: the journal's deltas add up to the balance; balance = sum of
  // lots; held = sum of holds; no negative debt.
  struct Sum {
    int64_t available = 0, held = 0, debt = 0;
    size_t entries = 0;
  };
  std::map<MemberId, Sum> sums;
  for (const Entry& entry : journal) {
    BalanceDelta delta = DeltaOf(entry.body);
    Sum& sum = sums[entry.member];
    sum.available += delta.available.value();
    sum.held += delta.held.value();
    sum.debt += delta.debt.value();
    ++sum.entries;
  }
  EXPECT_EQ(sums.size(), static_cast<size_t>(kMembers));
  int64_t total = 0;
  std::map<MemberId, int64_t> open_holds;
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (const HoldRef& hold : pool.holds) {
      if (hold.open) open_holds[hold.member] += hold.amount;
    }
  }
  for (int i = 0; i < kMembers; ++i) {
    MemberId m = Member(i);
    SCOPED_TRACE(m.value());
    auto balance = engine.BalanceOf(m);
    auto lots = engine.OpenLots(m);
    auto snapshot = engine.Snapshot(m);
    auto history = engine.History(m);
    ASSERT_TRUE(balance.ok() && lots.ok() && snapshot.ok() && history.ok());
    int64_t in_open_lots = 0;
    for (const Lot& lot : *lots) in_open_lots += lot.remaining.value();
    int64_t in_all_lots = 0;
    for (const Lot& lot : snapshot->lots) in_all_lots += lot.remaining.value();
    int64_t in_holds = 0;
    for (const auto& [seq, hold] : snapshot->detail().holds) in_holds += hold.amount.value();
    EXPECT_EQ(balance->available.value(), in_open_lots) << "balance != sum of open lots";
    EXPECT_EQ(balance->available.value(), in_all_lots) << "balance != sum of lots";
    EXPECT_EQ(balance->available, snapshot->balance);
    EXPECT_EQ(balance->held.value(), in_holds) << "held != sum of open holds";
    EXPECT_EQ(balance->held, snapshot->held());
    EXPECT_EQ(balance->debt, snapshot->debt());
    EXPECT_GE(balance->available.value(), 0);
    EXPECT_GE(balance->debt.value(), 0);
    EXPECT_EQ(balance->held.value(), open_holds[m]) << "held != the holds the test saw placed and not closed";
    const Sum& sum = sums[m];
    EXPECT_EQ(balance->available.value(), sum.available) << "journal deltas (available)";
    EXPECT_EQ(balance->held.value(), sum.held) << "journal deltas (held)";
    EXPECT_EQ(balance->debt.value(), sum.debt) << "journal deltas (debt)";
    EXPECT_EQ(history->size(), sum.entries);
    EXPECT_EQ(snapshot->last_seq, history->back().seq);
    total += balance->available.value() + balance->held.value() - balance->debt.value();
  }
  // Points in minus points out, as the commands said, equals what the
  // members hold.
  EXPECT_EQ(total, net) << "sum(available + held - debt) over members vs credits - debits etc.";

  // The holds, credits and debits the test created are in the state as the
  // test left them.
  std::lock_guard<std::mutex> lock(pool.mutex);
  std::map<MemberId, MemberState> states;
  for (int i = 0; i < kMembers; ++i) states[Member(i)] = *engine.Snapshot(Member(i));
  for (const HoldRef& hold : pool.holds) {
    const MemberState& state = states[hold.member];
    auto it = state.detail().holds.find(hold.id);
    EXPECT_EQ(it != state.detail().holds.end(), hold.open) << "hold " << hold.id;
    if (it != state.detail().holds.end()) {
      EXPECT_EQ(it->second.amount.value(), hold.amount) << "hold " << hold.id;
    }
  }
  for (const CreditRef& credit : pool.credits) {
    const Lot* lot = states[credit.member].FindLot(LotId{credit.seq, 0});
    EXPECT_TRUE(lot != nullptr) << "credit " << credit.seq;
    if (lot == nullptr) continue;
    EXPECT_EQ(lot->earned.value(), credit.amount) << "credit " << credit.seq;
    EXPECT_EQ(lot->reversed.value(), credit.reversed) << "credit " << credit.seq;
    EXPECT_LE(credit.reversed, credit.amount) << "credit " << credit.seq << " reversed beyond its amount";
    EXPECT_LE(lot->remaining.value(), lot->earned.value()) << "credit " << credit.seq;
  }
  for (const DebitRef& debit : pool.debits) {
    const MemberState& state = states[debit.member];
    auto it = state.detail().debits.find(debit.seq);
    EXPECT_TRUE(it != state.detail().debits.end()) << "debit " << debit.seq;
    EXPECT_LE(debit.reversals, 1) << "debit " << debit.seq << " reversed twice";
    if (it == state.detail().debits.end()) continue;
    EXPECT_EQ(it->second.amount.value(), debit.amount) << "debit " << debit.seq;
    EXPECT_EQ(it->second.reversed, debit.reversals == 1) << "debit " << debit.seq;
  }
}

// Reads member state concurrently with the writers: every snapshot, taken
// under the member's lock, satisfies the invariants.
void Reader(const Engine& engine, std::atomic<bool>& stop, uint64_t seed, std::vector<std::string>* errors) {
  std::mt19937 rng(seed);
  int reads = 0;
  while (!stop.load() || reads < 10) {
    MemberId m = Member(std::uniform_int_distribution<int>(0, kMembers - 1)(rng));
    auto snapshot = engine.Snapshot(m);
    ++reads;
    if (!snapshot.ok()) {
      errors->push_back(absl::StrCat("reader: ", snapshot.status().ToString()));
      return;
    }
    int64_t lots = 0, holds = 0;
    for (const Lot& lot : snapshot->lots) lots += lot.remaining.value();
    for (const auto& [seq, hold] : snapshot->detail().holds) holds += hold.amount.value();
    if (lots != snapshot->balance.value() || holds != snapshot->held().value() || snapshot->debt().value() < 0) {
      errors->push_back(absl::StrCat("reader: ", m.value(), " inconsistent: balance ", snapshot->balance.value(),
                                     " lots ", lots, " held ", snapshot->held().value(), " holds ", holds));
      return;
    }
    if (reads % 50 == 0) {
      auto history = engine.History(m);
      if (!history.ok()) errors->push_back(absl::StrCat("reader: history: ", history.status().ToString()));
      (void)engine.StateDigest();
    }
  }
}

enum class Mode { kSingles, kBatches, kMixed };

// Runs the workers on `engine` and checks the outcome; returns the live
// engine's state digest.
Sha256 RunStress(Engine& engine, Mode mode, int threads, int ops, uint64_t seed) {
  Pool pool;
  int64_t net = 0;
  std::vector<Receipt> setup = Setup(engine, pool, &net);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) workers.push_back(std::make_unique<Worker>(engine, pool, t, seed + t));
  std::atomic<bool> stop{false};
  std::vector<std::string> reader_errors;
  auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] {
        bool batches = mode == Mode::kBatches || (mode == Mode::kMixed && t % 2 == 1);
        if (batches) workers[t]->RunBatches(ops / 5, 9);
        else workers[t]->RunSingles(ops);
      });
    }
    std::thread reader(Reader, std::cref(engine), std::ref(stop), seed + 1000, &reader_errors);
    for (std::thread& thread : running) thread.join();
    stop.store(true);
    reader.join();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::map<std::string, int> outcomes;
  for (const auto& worker : workers) {
    for (const std::string& error : worker->errors()) ADD_FAILURE() << error;
    for (const auto& [what, count] : worker->outcomes()) outcomes[what] += count;
    net += worker->net();
  }
  for (const std::string& error : reader_errors) ADD_FAILURE() << error;
  std::string summary;
  for (const auto& [what, count] : outcomes) absl::StrAppend(&summary, " ", what, "=", count);
  std::printf("  %d threads, %.2f s, %llu entries:%s\n", threads, seconds,
              static_cast<unsigned long long>(engine.store().LastSeq()), summary.c_str());
  // Something of each kind must have succeeded, or the test tests little.
  for (const char* kind : {"credit", "redeem", "hold", "capture", "release", "transfer", "reverse_earn",
                           "reverse_debit", "adjust"}) {
    EXPECT_GT(outcomes[absl::StrCat(kind, " ok")], 0) << "no successful " << kind;
  }
  EXPECT_GT(outcomes["retry replayed"], 0);
  CheckConsistency(engine, workers, setup, pool, net);
  return engine.StateDigest();
}

// ---- Tests -----------------------------------------------------------------

class StressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = TestSeed("LOYALTY_STRESS_SEED");
    std::printf("stress seed %llu (set LOYALTY_STRESS_SEED to repeat)\n", static_cast<unsigned long long>(seed_));
  }
  void TearDown() override {
    if (HasFailure()) {
      std::printf("FAILED with seed %llu; rerun with LOYALTY_STRESS_SEED=%llu\n",
                  static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
    }
  }
  uint64_t seed_ = 0;
};

TEST_F(StressTest, MemoryStoreFourThreads) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  FakeClock clock(Start());
  auto engine = Engine::Open(NewMemoryStore(), clock, TestProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Sha256 live = RunStress(**engine, Mode::kSingles, kThreads, 5000, seed_);
  if (HasFatalFailure()) return;

  // Replay: the journal copied into a fresh memory store rebuilds the state.
  auto replayed = Engine::Open(CopyToMemory((*engine)->store()), clock, TestProgram());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(ToHex((*replayed)->StateDigest()), ToHex(live));
  EXPECT_EQ(ToHex((*engine)->StateDigest()), ToHex(live)) << "the live state changed after the run";
}

TEST_F(StressTest, SqliteStoreFourThreads) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/journal.db";
  // NORMAL: every command is its own transaction; durability across power
  // loss is not what this test is about.
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  FakeClock clock(Start());
  Sha256 live;
  {
    auto store = OpenSqliteStore(path, options);
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(*std::move(store), clock, TestProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    live = RunStress(**engine, Mode::kSingles, kThreads, 3000, seed_);
    if (HasFatalFailure()) return;

    // A second engine over the same file, opened while the first is live:
    // a reader (the file has one writer).
    auto second_store = OpenSqliteStore(path, {.read_only = true});
    ASSERT_TRUE(second_store.ok()) << second_store.status();
    auto second = Engine::Open(*std::move(second_store), clock, TestProgram());
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ(ToHex((*second)->StateDigest()), ToHex(live));
    EXPECT_EQ((*second)->store().HeadHash(), (*engine)->store().HeadHash());

    // And the journal copied into memory.
    auto copied = Engine::Open(CopyToMemory((*engine)->store()), clock, TestProgram());
    ASSERT_TRUE(copied.ok()) << copied.status();
    EXPECT_EQ(ToHex((*copied)->StateDigest()), ToHex(live));
  }
  // Reopened after the engine is gone.
  auto store = OpenSqliteStore(path, options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto reopened = Engine::Open(*std::move(store), clock, TestProgram());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(ToHex((*reopened)->StateDigest()), ToHex(live));
}

// ExecuteBatch from two threads at once (with a third using Execute), on
// both stores: every batch is one contiguous append, and the outcome is
// consistent.
TEST_F(StressTest, ConcurrentBatchesMemory) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  FakeClock clock(Start());
  auto engine = Engine::Open(NewMemoryStore(), clock, TestProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Sha256 live = RunStress(**engine, Mode::kBatches, 2, 2000, seed_);
  if (HasFatalFailure()) return;
  auto replayed = Engine::Open(CopyToMemory((*engine)->store()), clock, TestProgram());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(ToHex((*replayed)->StateDigest()), ToHex(live));
}

TEST_F(StressTest, ConcurrentBatchesAndSinglesMemory) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  FakeClock clock(Start());
  auto engine = Engine::Open(NewMemoryStore(), clock, TestProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Sha256 live = RunStress(**engine, Mode::kMixed, 3, 2000, seed_);
  if (HasFatalFailure()) return;
  auto replayed = Engine::Open(CopyToMemory((*engine)->store()), clock, TestProgram());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(ToHex((*replayed)->StateDigest()), ToHex(live));
}

TEST_F(StressTest, ConcurrentBatchesSqlite) {
  SCOPED_TRACE(absl::StrCat("seed ", seed_));
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/journal.db";
  FakeClock clock(Start());
  Sha256 live;
  {
    auto store = OpenSqliteStore(path);  // FULL: batches are few
    ASSERT_TRUE(store.ok()) << store.status();
    auto engine = Engine::Open(*std::move(store), clock, TestProgram());
    ASSERT_TRUE(engine.ok()) << engine.status();
    live = RunStress(**engine, Mode::kBatches, 2, 1000, seed_);
    if (HasFatalFailure()) return;
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  auto reopened = Engine::Open(*std::move(store), clock, TestProgram());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(ToHex((*reopened)->StateDigest()), ToHex(live));
}

// The same command (same key, same payload) sent by several threads at
// once, as a client's retry racing its original: one of them executes it,
// the others get its receipt with `replayed` set -- never an error that
// the first execution caused (already enrolled, insufficient points).
void RaceOneCommand(Engine& engine, const std::function<Command(int round)>& make, int rounds,
                    const std::function<void(int round)>& prepare, const char* name) {
  constexpr int kRacers = 4;
  std::barrier start(kRacers);
  std::vector<std::vector<absl::StatusOr<Receipt>>> results(rounds);
  for (auto& round : results) round.assign(kRacers, absl::UnknownError("not run"));
  std::vector<std::thread> racers;
  std::barrier prepared(kRacers, []() noexcept {});
  for (int r = 0; r < kRacers; ++r) {
    racers.emplace_back([&, r] {
      for (int round = 0; round < rounds; ++round) {
        if (r == 0) prepare(round);
        Command command = make(round);
        start.arrive_and_wait();
        results[round][r] = engine.Execute(command);
        prepared.arrive_and_wait();
      }
    });
  }
  for (std::thread& racer : racers) racer.join();
  int bad_rounds = 0;
  for (int round = 0; round < rounds; ++round) {
    int fresh = 0, replayed = 0;
    std::string errors;
    const Receipt* first = nullptr;
    bool same = true;
    for (const auto& result : results[round]) {
      if (!result.ok()) {
        absl::StrAppend(&errors, " ", result.status().ToString(), ";");
        continue;
      }
      (result->replayed ? replayed : fresh) += 1;
      if (first == nullptr) first = &*result;
      else same = same && first->entries == result->entries;
    }
    if (fresh != 1 || replayed != kRacers - 1 || !same) {
      if (++bad_rounds <= 3) {
        ADD_FAILURE() << name << " round " << round << ": " << fresh << " executed, " << replayed
                      << " replayed (want 1 and " << kRacers - 1 << ")" << (same ? "" : ", receipts differ")
                      << "; errors:" << errors;
      }
    }
  }
  EXPECT_EQ(bad_rounds, 0) << name << ": rounds where a concurrent retry was not a replay";
}

TEST(IdempotencyRace, ConcurrentRetriesOfOneCommandAreReplayed) {
  FakeClock clock(Start());
  auto engine = Engine::Open(NewMemoryStore(), clock, TestProgram());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Engine& e = **engine;
  constexpr int kRounds = 1000;
  auto racer = [](int round) { return MemberId::FromValid(absl::StrCat("R-", round)); };

  // A credit: deciding it twice succeeds, so the store's key check catches it.
  RaceOneCommand(
      e,
      [&](int round) -> Command {
        return Credit{.idempotency_key = absl::StrCat("credit-", round), .member = racer(round),
                      .amount = Points(100), .source = "race"};
      },
      kRounds,
      [&](int round) {
        auto enrolled = e.Execute(Enroll{.idempotency_key = absl::StrCat("enroll-", round), .member = racer(round)});
        EXPECT_TRUE(enrolled.ok()) << enrolled.status();
      },
      "credit");
  // A redeem of the whole balance: deciding it again after the first ran
  // fails for lack of points, unless the key is checked again.
  RaceOneCommand(
      e,
      [&](int round) -> Command {
        return Redeem{.idempotency_key = absl::StrCat("redeem-", round), .member = racer(round),
                      .amount = Points(100), .reason = "race"};
      },
      kRounds, [](int) {}, "redeem");
  // An enrollment: deciding it again after the first ran is AlreadyExists
  // (already enrolled), unless the key is checked again.
  RaceOneCommand(
      e,
      [&](int round) -> Command {
        return Enroll{.idempotency_key = absl::StrCat("enroll-new-", round),
                      .member = MemberId::FromValid(absl::StrCat("N-", round))};
      },
      kRounds, [](int) {}, "enroll");
  auto verified = VerifyChain(e.store());
  EXPECT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(e.store().LastSeq(), static_cast<uint64_t>(4 * kRounds)) << "each command recorded once";
}

}  // namespace
}  // namespace loyalty
