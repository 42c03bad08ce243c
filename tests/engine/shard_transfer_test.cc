// Transfers between the shards of a sharded program (ShardedEngine over
// one SQLite journal per shard, and over PostgreSQL schemas on three
// servers): the points move with their dates in three
// appends; a refusal by the receiver's shard returns them; a retry and a
// recovery pass after a crash complete what was sent, exactly once; a
// process killed among 100 transfers loses and creates no point; and the
// audit over the shards (ReconcileTransfers) pairs every half, or names
// the one that does not pair. On the servers: processes owning different
// shards, and a shard moved to another server.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "loyalty/audit/liability.h"
#include "loyalty/audit/settlement.h"
#include "loyalty/audit/transfers.h"
#include "loyalty/audit/verify.h"
#include "loyalty/sharded_engine.h"
#include "loyalty/store.h"
#include "store_fixture.h"
#include "test_seed.h"

namespace loyalty {
namespace {

constexpr uint32_t kShards = 4;

Instant At(const char* text) { return *Instant::Parse(text); }

// Where the shards' journals are: one SQLite file each, or PostgreSQL
// schemas on the three servers ctest starts (shards 0 and 3 on the first,
// 1 on the second, 2 on the third).
enum class Backend { kSqlite, kPostgres };

class ShardTransferTest : public ::testing::TestWithParam<Backend> {
 protected:
  ShardTransferTest() : clock_(At("2011-01-10T12:00:00Z")), program_(WithPartner()) {
    if (GetParam() == Backend::kPostgres) {
      servers_ = ShardServers();
      for (const std::string& server : servers_) {
        PostgresSqlOn(server, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS loyalty_shard_0, "
                              "loyalty_shard_1, loyalty_shard_2, loyalty_shard_3, loyalty_single CASCADE");
      }
      map_ = *ShardMap::Create(kShards, {{servers_[0], {0, 3}}, {servers_[1], {1}}, {servers_[2], {2}}});
    } else {
      std::string pattern = std::filesystem::temp_directory_path() / "loyalty_shards_XXXXXX";
      std::vector<char> buffer(pattern.begin(), pattern.end());
      buffer.push_back('\0');
      if (mkdtemp(buffer.data()) != nullptr) dir_ = buffer.data();
      map_ = *ShardMap::Create(kShards, {{"sqlite", ShardRange(0, kShards - 1)}});
    }
    // Two members in each shard: "M-<i>".
    for (int i = 0; members_.size() < kShards * 2; ++i) {
      MemberId id = MemberId::FromValid(absl::StrCat("M-", i));
      if (in_shard_[map_.ShardOf(id)].size() < 2) {
        in_shard_[map_.ShardOf(id)].push_back(id);
        members_.push_back(id);
      }
    }
    sender_ = in_shard_[0][0];
    receiver_ = in_shard_[1][0];
  }
  ~ShardTransferTest() override {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  // Points expire at the end of the quarter 36 months on; a partner, a
  // cafe, funds 0.010 EUR a point it issues and is paid 0.008 for each it
  // takes in.
  static Program WithPartner() {
    ProgramVersion version = *Program::Create("v1", "Europe/Berlin", {36, ExpiryTerm::Round::kEndOfQuarter})->versions()[0];
    version.partners = {{"cafe", "Cafe", *Rate::Parse("0.010"), *Rate::Parse("0.008")}};
    return *Program::FromVersions({version});
  }

  absl::StatusOr<std::unique_ptr<Store>> OpenShard(uint32_t shard) const {
    if (GetParam() == Backend::kPostgres) return OpenShardStore(map_, shard);
    return OpenSqliteStore(absl::StrCat(dir_, "/shard-", shard, ".db"));
  }
  // A journal apart from the shards, for the same commands on one journal.
  absl::StatusOr<std::unique_ptr<Store>> OpenSingle() const {
    if (GetParam() == Backend::kPostgres) return OpenPostgresStore(servers_[0], {.schema = "loyalty_single"});
    return OpenSqliteStore(dir_ + "/single.db");
  }
  absl::StatusOr<std::unique_ptr<ShardedEngine>> Open(
      std::vector<uint32_t> owned = {},
      std::function<absl::StatusOr<Receipt>(uint32_t, const Command&)> forward = nullptr) {
    return ShardedEngine::Open(
        map_, [&](uint32_t shard) { return OpenShard(shard); }, clock_, program_,
        {.owned = std::move(owned), .engine = {}, .forward = std::move(forward)});
  }

  static Command EnrollOf(const MemberId& id) {
    return Enroll{.idempotency_key = "e-" + id.value(), .member = id, .at = At("2011-01-01T00:00:00Z")};
  }
  static Command CreditOf(const MemberId& id, int64_t points) {
    return Credit{.idempotency_key = absl::StrCat("c-", id.value(), "-", points), .member = id,
                  .amount = Points(points), .source = "flight", .expires_at = At("2014-12-31T23:00:00Z")};
  }
  static Transfer TransferOf(const std::string& key, const MemberId& from, const MemberId& to, int64_t points) {
    return Transfer{.idempotency_key = key, .member = from, .to = to, .amount = Points(points)};
  }

  static void Run(ShardedEngine& host, const Command& command) {
    auto receipt = host.Execute(command);
    ASSERT_TRUE(receipt.ok()) << receipt.status();
  }
  static Points Available(const ShardedEngine& host, const MemberId& id) {
    auto balance = host.BalanceOf(id);
    EXPECT_TRUE(balance.ok()) << balance.status();
    return balance.ok() ? balance->available : Points(-1);
  }
  static Points Total(const ShardedEngine& host, const std::vector<MemberId>& members) {
    int64_t total = 0;
    for (const MemberId& id : members) total += Available(host, id).value();
    return Points(total);
  }
  static TransferReconciliation Reconcile(const ShardedEngine& host) {
    std::vector<const Store*> stores;
    for (uint32_t shard = 0; shard < kShards; ++shard) stores.push_back(&host.EngineOfShard(shard)->store());
    auto reconciled = ReconcileTransfers(stores);
    EXPECT_TRUE(reconciled.ok()) << reconciled.status();
    return reconciled.ok() ? *reconciled : TransferReconciliation{};
  }

  ShardMap map_ = *ShardMap::Create(1, {{"none", {0}}});
  std::vector<std::string> servers_;
  FakeClock clock_;
  Program program_;
  std::string dir_;
  std::vector<MemberId> members_;
  std::map<uint32_t, std::vector<MemberId>> in_shard_;
  MemberId sender_, receiver_;
};

TEST_P(ShardTransferTest, ATransferBetweenShardsMovesThePointsWithTheirDates) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (const Command& c : {EnrollOf(sender_), EnrollOf(receiver_), CreditOf(sender_, 1000)}) Run(**host, c);

  auto receipt = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  ASSERT_EQ(receipt->entries.size(), 3u);  // sent, received, settled
  EXPECT_TRUE(std::get<entries::TransferredOut>(receipt->entries[0].body).across);
  EXPECT_EQ(receipt->entries[1].member, receiver_);
  EXPECT_EQ(receipt->entries[1].idempotency_key, "t-1");
  EXPECT_EQ(std::get<entries::TransferSettled>(receipt->entries[2].body).returned, Points(0));
  EXPECT_EQ(Available(**host, sender_), Points(700));
  EXPECT_EQ(Available(**host, receiver_), Points(300));
  auto lots = (*host)->EngineOfShard(1)->OpenLots(receiver_);
  ASSERT_TRUE(lots.ok()) << lots.status();
  ASSERT_EQ(lots->size(), 1u);
  EXPECT_EQ(lots->front().expires_at, At("2014-12-31T23:00:00Z"));
  EXPECT_TRUE((*host)->EngineOfShard(0)->PendingTransfers().empty());

  // A retry changes nothing and answers as the transfer did.
  auto again = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(Available(**host, sender_), Points(700));
  EXPECT_EQ(Available(**host, receiver_), Points(300));

  TransferReconciliation reconciled = Reconcile(**host);
  EXPECT_TRUE(reconciled.ok()) << reconciled.faults.front();
  EXPECT_EQ(reconciled.transfers, 1u);
  EXPECT_EQ(reconciled.sent, Points(300));
  EXPECT_EQ(reconciled.received, Points(300));
  EXPECT_EQ(reconciled.in_flight, Points(0));
}

TEST_P(ShardTransferTest, PointsTheReceiversShardRefusesComeBackAndStayBack) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (const Command& c : {EnrollOf(sender_), CreditOf(sender_, 1000)}) Run(**host, c);

  auto refused = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));  // the receiver is not enrolled
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "transfer t-1 returned")) << refused.status();
  EXPECT_EQ(Available(**host, sender_), Points(1000));
  auto lots = (*host)->EngineOfShard(0)->OpenLots(sender_);
  ASSERT_TRUE(lots.ok());
  for (const Lot& lot : *lots) EXPECT_EQ(lot.expires_at, At("2014-12-31T23:00:00Z"));

  // Once the receiver has enrolled, a retry of the same transfer still
  // finds it returned: it is never received as well.
  Run(**host, EnrollOf(receiver_));
  auto retry = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));
  ASSERT_FALSE(retry.ok());
  EXPECT_TRUE(absl::StrContains(retry.status().message(), "not enrolled")) << retry.status();
  EXPECT_EQ(Available(**host, sender_), Points(1000));
  EXPECT_EQ(Available(**host, receiver_), Points(0));

  TransferReconciliation reconciled = Reconcile(**host);
  EXPECT_TRUE(reconciled.ok());
  EXPECT_EQ(reconciled.returned, Points(300));
  EXPECT_EQ(reconciled.received, Points(0));
}

TEST_P(ShardTransferTest, RecoveryCompletesWhatACrashLeftHalfDone) {
  {
    auto host = Open();
    ASSERT_TRUE(host.ok()) << host.status();
    for (const Command& c : {EnrollOf(sender_), EnrollOf(receiver_), CreditOf(sender_, 1000)}) Run(**host, c);
    Engine& sending = *(*host)->EngineOfShard(0);
    Engine& receiving = *(*host)->EngineOfShard(1);
    // t-1 stopped after its first append, t-2 after its second.
    ASSERT_TRUE(sending.Execute(SendTransfer{"t-1", sender_, std::nullopt, receiver_, Points(100)}).ok());
    auto sent = sending.Execute(SendTransfer{"t-2", sender_, std::nullopt, receiver_, Points(200)});
    ASSERT_TRUE(sent.ok()) << sent.status();
    const auto& out = std::get<entries::TransferredOut>(sent->entries.front().body);
    ASSERT_TRUE(receiving.Execute(ReceiveTransfer{"t-2", receiver_, sent->entries.front().business_time, sender_,
                                                  Points(200), out.lots})
                    .ok());
    EXPECT_EQ(Reconcile(**host).in_flight, Points(100));
  }
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_EQ((*host)->EngineOfShard(0)->PendingTransfers().size(), 2u);  // rebuilt from the journal
  TransferRecovery recovery = (*host)->RecoverTransfers();
  EXPECT_TRUE(recovery.first_error.ok()) << recovery.first_error;
  EXPECT_EQ(recovery.delivered, 2u);
  EXPECT_EQ(recovery.pending, 0u);
  EXPECT_TRUE((*host)->EngineOfShard(0)->PendingTransfers().empty());
  EXPECT_EQ(Available(**host, sender_), Points(700));
  EXPECT_EQ(Available(**host, receiver_), Points(300));  // t-2 received once
  EXPECT_EQ((*host)->RecoverTransfers().delivered, 0u);  // nothing left to do

  TransferReconciliation reconciled = Reconcile(**host);
  EXPECT_TRUE(reconciled.ok());
  EXPECT_EQ(reconciled.pending, 0u);
  EXPECT_EQ(reconciled.received, Points(300));
}

TEST_P(ShardTransferTest, AReceiverInAShardNotOwnedHereIsRefusedBeforeAnythingIsWritten) {
  auto host = Open({0});
  ASSERT_TRUE(host.ok()) << host.status();
  for (const Command& c : {EnrollOf(sender_), CreditOf(sender_, 1000)}) Run(**host, c);
  const uint64_t last = (*host)->EngineOfShard(0)->store().LastSeq();
  auto refused = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "shard 1")) << refused.status();
  EXPECT_EQ((*host)->EngineOfShard(0)->store().LastSeq(), last);
  EXPECT_EQ(Available(**host, sender_), Points(1000));
}

// Hosts that own different shards: the sender's host forwards the
// receiving half to the receiver's. While the link is down the transfer
// stays pending, the points with neither member; recovery completes it.
TEST_P(ShardTransferTest, AHostForwardsTheReceivingHalfToTheOwnerOfTheShard) {
  std::unique_ptr<ShardedEngine> other;
  bool link_up = false;
  auto forward = [&](uint32_t shard, const Command& command) -> absl::StatusOr<Receipt> {
    if (!link_up) return absl::UnavailableError("no route to the host of shard " + std::to_string(shard));
    return other->Execute(command);
  };
  auto host = Open({0}, forward);
  ASSERT_TRUE(host.ok()) << host.status();
  auto opened = Open({1, 2, 3});
  ASSERT_TRUE(opened.ok()) << opened.status();
  other = *std::move(opened);
  Run(**host, EnrollOf(sender_));
  Run(**host, CreditOf(sender_, 1000));
  Run(*other, EnrollOf(receiver_));

  auto cut = (*host)->Execute(TransferOf("t-1", sender_, receiver_, 300));
  EXPECT_TRUE(absl::IsUnavailable(cut.status())) << cut.status();
  EXPECT_EQ(Available(**host, sender_), Points(700));
  EXPECT_EQ(Available(*other, receiver_), Points(0));
  EXPECT_EQ((*host)->RecoverTransfers().pending, 1u);

  link_up = true;
  TransferRecovery recovery = (*host)->RecoverTransfers();
  EXPECT_EQ(recovery.delivered, 1u);
  EXPECT_EQ(Available(*other, receiver_), Points(300));
  auto direct = (*host)->Execute(TransferOf("t-2", sender_, receiver_, 100));
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(Available(*other, receiver_), Points(400));
  EXPECT_EQ(Available(**host, sender_), Points(600));
}

TEST_P(ShardTransferTest, TheAuditNamesAHalfThatDoesNotPair) {
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (const Command& c : {EnrollOf(sender_), EnrollOf(receiver_), CreditOf(sender_, 1000)}) Run(**host, c);
  Run(**host, TransferOf("t-1", sender_, receiver_, 300));
  // Points received that no shard sent.
  Engine& receiving = *(*host)->EngineOfShard(1);
  const std::vector<TransferredLot> lots = {{Points(50), At("2011-01-05T00:00:00Z"), At("2014-12-31T23:00:00Z")}};
  ASSERT_TRUE(receiving.Execute(ReceiveTransfer{"t-9", receiver_, std::nullopt, sender_, Points(50), lots}).ok());

  TransferReconciliation reconciled = Reconcile(**host);
  ASSERT_EQ(reconciled.faults.size(), 1u);
  EXPECT_TRUE(absl::StrContains(reconciled.faults[0], "transfer t-9")) << reconciled.faults[0];
  EXPECT_TRUE(absl::StrContains(reconciled.faults[0], "no shard sent")) << reconciled.faults[0];
}

// The same commands on one journal and on the shards: the liability and the
// partner settlement of the shards, merged, equal the one journal's, line
// by line and cohort by cohort, and every member ends with the same balance.
TEST_P(ShardTransferTest, TheAuditOfTheShardsEqualsTheAuditOfOneJournal) {
  std::vector<Command> commands;
  for (const MemberId& id : members_) commands.push_back(EnrollOf(id));
  for (size_t i = 0; i < members_.size(); ++i) {
    commands.push_back(Credit{.idempotency_key = absl::StrCat("c-", i), .member = members_[i],
                              .at = At("2011-02-01T10:00:00Z"), .amount = Points(1000 + 100 * static_cast<int64_t>(i)),
                              .source = "flight", .expires_at = At(i % 2 ? "2012-12-31T23:00:00Z" : "2014-12-31T23:00:00Z")});
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    const MemberId& to = members_[(i + 3) % members_.size()];  // within a shard or across, as the ids fall
    commands.push_back(Transfer{.idempotency_key = absl::StrCat("t-", i), .member = members_[i],
                                .at = At("2011-06-01T10:00:00Z"), .to = to, .amount = Points(250 + 10 * static_cast<int64_t>(i))});
    commands.push_back(Redeem{.idempotency_key = absl::StrCat("r-", i), .member = members_[i],
                              .at = At("2011-09-01T10:00:00Z"), .amount = Points(300), .reason = "award"});
    commands.push_back(Credit{.idempotency_key = absl::StrCat("cafe-", i), .member = members_[i],
                              .at = At("2011-10-01T10:00:00Z"), .amount = Points(33 + static_cast<int64_t>(i)),
                              .source = "coffee", .partner = "cafe"});
    commands.push_back(Redeem{.idempotency_key = absl::StrCat("cafe-r-", i), .member = members_[i],
                              .at = At("2011-11-01T10:00:00Z"), .amount = Points(17), .reason = "cake",
                              .partner = "cafe"});
  }
  clock_.Set(At("2013-01-02T00:00:00Z"));
  auto single = Engine::Open(*OpenSingle(), clock_, program_);
  ASSERT_TRUE(single.ok()) << single.status();
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (const Command& command : commands) {
    ASSERT_TRUE((*single)->Execute(command).ok()) << IdempotencyKeyOf(command);
    ASSERT_TRUE((*host)->Execute(command).ok()) << IdempotencyKeyOf(command);
  }
  ASSERT_TRUE((*single)->RunExpiry("expiry-2012", At("2013-01-01T00:00:00Z")).ok());
  std::vector<const Store*> shards;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    ASSERT_TRUE((*host)->EngineOfShard(shard)->RunExpiry("expiry-2012", At("2013-01-01T00:00:00Z")).ok());
    shards.push_back(&(*host)->EngineOfShard(shard)->store());
  }
  for (const MemberId& id : members_) {
    EXPECT_EQ(*(*host)->BalanceOf(id), *(*single)->BalanceOf(id)) << id.value();
  }
  const TimeZone& zone = program_.zone();
  for (const char* from : {"2010-01-01T00:00:00Z", "2011-07-01T00:00:00Z"}) {
    SCOPED_TRACE(from);
    LiabilityOptions options{.from = At(from), .to = At("2014-01-01T00:00:00Z")};
    auto one = RollForward((*single)->store(), zone, options);
    auto merged = RollForwardShards(shards, zone, options);
    ASSERT_TRUE(one.ok()) << one.status();
    ASSERT_TRUE(merged.ok()) << merged.status();
    for (auto line : {&LiabilityRollForward::opening, &LiabilityRollForward::issued, &LiabilityRollForward::redeemed,
                      &LiabilityRollForward::expired, &LiabilityRollForward::transferred,
                      &LiabilityRollForward::closing}) {
      EXPECT_EQ(((*merged).*line).points, ((*one).*line).points);
      EXPECT_EQ(((*merged).*line).value, ((*one).*line).value);
    }
    EXPECT_GT(one->expired.points, Points(0));
    ASSERT_EQ(merged->breakage.size(), one->breakage.size());
    for (size_t i = 0; i < one->breakage.size(); ++i) {
      EXPECT_EQ(merged->breakage[i].redeemed, one->breakage[i].redeemed);
      EXPECT_EQ(merged->breakage[i].expired, one->breakage[i].expired);
    }
  }
  auto one = SettlePartners((*single)->store(), program_, At("2011-01-01T00:00:00Z"), At("2012-01-01T00:00:00Z"));
  auto merged = SettlePartnersShards(shards, program_, At("2011-01-01T00:00:00Z"), At("2012-01-01T00:00:00Z"));
  ASSERT_TRUE(one.ok() && merged.ok()) << one.status() << merged.status();
  ASSERT_EQ(one->size(), 1u);
  ASSERT_EQ(merged->size(), 1u);
  EXPECT_EQ((*merged)[0].issued, (*one)[0].issued);
  EXPECT_EQ((*merged)[0].redeemed, (*one)[0].redeemed);
  EXPECT_EQ((*merged)[0].owed_to_operator, (*one)[0].owed_to_operator);
  EXPECT_EQ((*merged)[0].net, (*one)[0].net);
  EXPECT_EQ((*one)[0].issued, Points(8 * 33 + 28));  // 33 + 34 + ... + 40

  TransferReconciliation reconciled = Reconcile(**host);
  EXPECT_TRUE(reconciled.ok());
  EXPECT_GT(reconciled.transfers, 0u);  // some transfers went across shards
  EXPECT_LT(reconciled.transfers, members_.size());  // and some stayed within one
}

// The child: opens the shards, recovers, then runs transfers among the
// members from `first` on, writing each number done to `out`, until killed.
[[noreturn]] void RunTransfers(const std::vector<MemberId>& members, int first, int out,
                               absl::FunctionRef<absl::StatusOr<std::unique_ptr<ShardedEngine>>()> open) {
  auto host = open();
  if (!host.ok()) _exit(2);
  (*host)->RecoverTransfers();
  std::mt19937_64 rng(static_cast<uint64_t>(first));
  for (int i = first;; ++i) {
    const MemberId& from = members[rng() % members.size()];
    const MemberId& to = members[rng() % members.size()];
    if (from == to) continue;
    auto done = (*host)->Execute(Transfer{absl::StrCat("k-", i), from, std::nullopt, to, Points(1 + rng() % 150)});
    if (!done.ok() && absl::IsUnavailable(done.status())) _exit(3);
    const std::string line = absl::StrCat(i, "\n");
    if (write(out, line.data(), line.size()) < 0) _exit(4);
  }
}

TEST_P(ShardTransferTest, AProcessKilledAmongTransfersLosesAndCreatesNoPoint) {
  const uint64_t seed = TestSeed("LOYALTY_SHARD_KILL_SEED");
  std::printf("seed %llu (LOYALTY_SHARD_KILL_SEED)\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  {
    auto host = Open();
    ASSERT_TRUE(host.ok()) << host.status();
    for (const MemberId& id : members_) Run(**host, EnrollOf(id));
    for (const MemberId& id : members_) Run(**host, CreditOf(id, 500));
  }
  const Points total(500 * static_cast<int64_t>(members_.size()));
  int next = 0, kills = 0;
  size_t recovered = 0;  // transfers a kill left half done
  while (next < 100) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunTransfers(members_, next, fds[1], [&] { return Open(); });
    }
    close(fds[1]);
    // Kill the child after a random number of transfers, while it runs one.
    const int stop_after = next + 5 + static_cast<int>(rng() % 30);
    std::string read_so_far;
    char chunk[256];
    int done = next - 1;
    while (done < stop_after) {
      const ssize_t got = read(fds[0], chunk, sizeof chunk);
      if (got <= 0) break;
      read_so_far.append(chunk, static_cast<size_t>(got));
      for (size_t end; (end = read_so_far.find('\n')) != std::string::npos; read_so_far.erase(0, end + 1)) {
        done = std::stoi(read_so_far.substr(0, end));
      }
    }
    usleep(static_cast<useconds_t>(rng() % 3000));
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child ended by itself: " << status;
    ++kills;
    next = done + 2;  // the transfer it was running may or may not have started

    auto host = Open();
    ASSERT_TRUE(host.ok()) << host.status();
    TransferRecovery recovery = (*host)->RecoverTransfers();
    ASSERT_TRUE(recovery.first_error.ok()) << recovery.first_error;
    ASSERT_EQ(recovery.pending, 0u);
    recovered += recovery.delivered + recovery.returned;
    EXPECT_EQ(Total(**host, members_), total) << "after kill " << kills;
    TransferReconciliation reconciled = Reconcile(**host);
    ASSERT_TRUE(reconciled.ok()) << reconciled.faults.front();
    EXPECT_EQ(reconciled.in_flight, Points(0));
    EXPECT_EQ(reconciled.pending, 0u);
    EXPECT_EQ(reconciled.sent, Points(reconciled.received.value() + reconciled.returned.value()));
  }
  std::printf("%d kills over %d transfers, %zu of them left half done\n", kills, next, recovered);
}

// The tests that need databases on several servers.
class ShardServersTest : public ShardTransferTest {};

// Exits the child with 1 and the reason on stderr unless `ok`.
void Require(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "child %d: %s\n", getpid(), what.c_str());
  _exit(1);
}

// Two processes, each owning two shards (on different servers), write at
// once: each its own members' credits and a transfer between its two
// shards; each refuses the other's members. The journals hold both.
TEST_P(ShardServersTest, ProcessesOwningDifferentShardsWriteTheirOwnJournals) {
  {
    auto host = Open();
    ASSERT_TRUE(host.ok()) << host.status();
    for (const MemberId& id : members_) Run(**host, EnrollOf(id));
  }
  const std::vector<std::vector<uint32_t>> owners = {{0, 1}, {2, 3}};
  std::vector<pid_t> children;
  for (const std::vector<uint32_t>& owned : owners) {
    std::fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto host = Open(owned);
      Require(host.ok(), "open: " + std::string(host.status().message()));
      std::vector<Command> credits;
      for (uint32_t shard : owned) {
        for (const MemberId& id : in_shard_[shard]) {
          for (int i = 1; i <= 20; ++i) credits.push_back(CreditOf(id, 10 * i));
        }
      }
      for (const auto& result : (*host)->ExecuteBatch(credits)) Require(result.ok(), "credit");
      const MemberId& from = in_shard_[owned[0]][0];
      const MemberId& to = in_shard_[owned[1]][0];
      auto moved = (*host)->Execute(TransferOf("t-" + from.value(), from, to, 500));
      Require(moved.ok(), "transfer: " + std::string(moved.status().message()));
      const MemberId& foreign = in_shard_[owned[0] == 0 ? 2 : 0][0];
      Require(absl::IsFailedPrecondition((*host)->Execute(CreditOf(foreign, 1)).status()), "a foreign member");
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid << " ended with " << status;
  }
  auto host = Open();
  ASSERT_TRUE(host.ok()) << host.status();
  for (const std::vector<uint32_t>& owned : owners) {
    EXPECT_EQ(Available(**host, in_shard_[owned[0]][0]), Points(2100 - 500));
    EXPECT_EQ(Available(**host, in_shard_[owned[1]][0]), Points(2100 + 500));
  }
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    JournalVerification verified = VerifyJournal((*host)->EngineOfShard(shard)->store());
    EXPECT_TRUE(verified.ok()) << "shard " << shard << ": " << verified.Summary();
  }
  TransferReconciliation reconciled = Reconcile(**host);
  EXPECT_TRUE(reconciled.ok());
  EXPECT_EQ(reconciled.received, Points(1000));
}

// Shard 3 moves from the first server to the third: copied while it takes
// commands, stopped, copied again, reopened there under a new map, while
// a host owning the other shards keeps writing.
TEST_P(ShardServersTest, AShardMovesToAnotherServerWhileTheOthersTakeCommands) {
  auto others = Open({0, 1, 2});
  ASSERT_TRUE(others.ok()) << others.status();
  auto moving = Open({3});
  ASSERT_TRUE(moving.ok()) << moving.status();
  for (const MemberId& id : members_) Run(map_.ShardOf(id) == 3 ? **moving : **others, EnrollOf(id));
  std::atomic<bool> stop = false;
  std::atomic<int> written = 0, failed = 0;
  std::thread writer([&] {
    for (int i = 1; !stop; ++i) {
      const MemberId& id = in_shard_[static_cast<uint32_t>(i % 3)][0];
      auto done = (*others)->Execute(CreditOf(id, i));
      ++(done.ok() ? written : failed);
    }
  });
  const MemberId& member = in_shard_[3][0];
  Run(**moving, CreditOf(member, 700));
  auto source = OpenShard(3);
  auto target = OpenPostgresStore(servers_[2], {.schema = ShardSchema(3)});
  ASSERT_TRUE(source.ok() && target.ok()) << source.status() << target.status();
  auto first = CopyJournal(**source, **target);
  ASSERT_TRUE(first.ok()) << first.status();
  Run(**moving, CreditOf(member, 300));  // the shard still takes commands
  moving->reset();                       // then stops
  source = OpenShard(3);                 // a store reads as far as it has caught up
  ASSERT_TRUE(source.ok()) << source.status();
  auto rest = CopyJournal(**source, **target);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_GE(*rest, 1u);
  target->reset();

  map_ = *ShardMap::Create(kShards, {{servers_[0], {0}}, {servers_[1], {1}}, {servers_[2], {2, 3}}});
  auto moved = Open({3});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(Available(**moved, member), Points(1000));
  Run(**moved, CreditOf(member, 5));
  EXPECT_EQ(Available(**moved, member), Points(1005));
  EXPECT_TRUE(VerifyJournal((*moved)->EngineOfShard(3)->store()).ok());
  stop = true;
  writer.join();
  EXPECT_GT(written.load(), 0);
  EXPECT_EQ(failed.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Postgres, ShardServersTest, ::testing::Values(Backend::kPostgres),
                         [](const auto&) { return "Postgres"; });

INSTANTIATE_TEST_SUITE_P(Backends, ShardTransferTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return info.param == Backend::kSqlite ? "Sqlite" : "Postgres"; });

}  // namespace
}  // namespace loyalty
