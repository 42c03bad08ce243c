// Corruption on open: a journal written by the engine, then damaged on disk
// (file truncated, a byte flipped inside an entry, an entry deleted, two
// entries swapped) or forged (an entry changed and the chain after it
// recomputed, so that it verifies but could not have been decided).
// Opening it (OpenSqliteStore + Engine::Open) must report the damage as
// DataLoss naming the entry, load no state, and never crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "journal/chain.h"
#include "store/chain_pipeline.h"
#include "journal/entry_codec.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "loyalty/check.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"

namespace loyalty {
namespace {

MemberId Id(const char* text) { return MemberId::FromValid(text); }
Money Eur(const char* amount) { return *Money::Parse(amount, *Currency::FromCode("EUR")); }

constexpr char kProgram[] = R"({"versions": [
 {"id": "shop-2011", "currency": "EUR", "time_zone": "Europe/Berlin",
  "announced_at": "2010-12-01T00:00:00Z", "effective_from": "2011-01-01T00:00:00Z",
  "counters": ["status"],
  "accrual": [{"id": "base", "when": {"activity_types": ["purchase"]},
               "effect": {"kind": "per_money", "rate": "0.5", "rounding": "down"}}],
  "redemption": {"catalog": [{"id": "voucher", "price": 100}]},
  "expiry": {"months": 36, "round": "end_of_quarter"}}]})";

Program TheProgram() { return *ParseProgram(kProgram); }

absl::StatusOr<std::unique_ptr<Engine>> OpenJournal(const std::string& path, const Clock& clock) {
  auto store = OpenSqliteStore(path);
  if (!store.ok()) return store.status();
  return Engine::Open(*std::move(store), clock, TheProgram());
}

// The report names the entry: "journal entry <seq>".
void ExpectCorruptionAt(const absl::Status& status, uint64_t seq) {
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  std::string named = absl::StrCat("journal entry ", seq);
  size_t at = status.message().find(named);
  bool found = at != absl::string_view::npos &&
               (at + named.size() == status.message().size() || !absl::ascii_isdigit(status.message()[at + named.size()]));
  EXPECT_TRUE(found) << status << " does not name " << named;
}

class Corruption : public ::testing::Test {
 protected:
  // The seqs of a few entries of the journal built below.
  struct Seqs {
    uint64_t credit = 0, accrual = 0, redeem = 0, hold = 0, captured = 0, released = 0, reversed = 0,
             transfer_out = 0, transfer_in = 0, flag = 0, closed = 0;
  };

  void SetUp() override {
    original_ = ::testing::TempDir() + "/corruption_original.db";
    scratch_ = ::testing::TempDir() + "/corruption_scratch.db";
    RemoveDb(original_);
    auto engine = OpenJournal(original_, clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    Engine& e = **engine;
    auto run = [&](const Command& command) {
      auto receipt = e.Execute(command);
      EXPECT_TRUE(receipt.ok()) << receipt.status();
      return receipt.ok() ? receipt->seq() : 0;
    };
    run(Enroll{.idempotency_key = "enroll-anna", .member = Id("anna")});
    run(Enroll{.idempotency_key = "enroll-ben", .member = Id("ben")});
    seqs_.credit = run(Credit{.idempotency_key = "credit", .member = Id("anna"), .amount = Points(500),
                              .source = "credit of five hundred", .counters = {{"status", Points(7)}}});
    seqs_.accrual =
        run(Accrue{.idempotency_key = "basket", .member = Id("anna"),
                   .activity = {"basket-1", Purchase{"shop", "b", "store",
                                                     {PurchaseLine{"a", "food", {}, 2, Eur("30.00")},
                                                      PurchaseLine{"b", "food", {}, 1, Eur("10.00")}}}}});
    seqs_.redeem = run(Redeem{.idempotency_key = "redeem", .member = Id("anna"), .amount = Points(120)});
    seqs_.hold = run(PlaceHold{.idempotency_key = "hold", .member = Id("anna"), .amount = Points(40),
                               .ttl = absl::Hours(2)});
    seqs_.captured = run(CaptureHold{.idempotency_key = "capture", .member = Id("anna"), .hold = seqs_.hold});
    uint64_t hold2 = run(PlaceHold{.idempotency_key = "hold2", .member = Id("anna"), .amount = Points(30),
                                   .ttl = absl::Hours(2)});
    seqs_.released = run(ReleaseHold{.idempotency_key = "release", .member = Id("anna"), .hold = hold2});
    seqs_.reversed = run(ReverseDebit{.idempotency_key = "undo", .member = Id("anna"), .debit = seqs_.redeem});
    run(ReturnLines{.idempotency_key = "return", .member = Id("anna"), .credit = seqs_.accrual, .lines = {1}});
    seqs_.transfer_out = run(Transfer{.idempotency_key = "transfer", .member = Id("anna"), .to = Id("ben"),
                                      .amount = Points(100)});
    seqs_.transfer_in = seqs_.transfer_out + 1;
    run(Adjust{.idempotency_key = "adjust", .member = Id("ben"), .delta = Points(-10), .reason = "typo",
               .actor = "ops"});
    run(QuoteReward{.idempotency_key = "quote", .member = Id("anna"), .reward = "voucher", .ttl = absl::Hours(1)});
    seqs_.flag = run(SetMemberFlag{.idempotency_key = "flag", .member = Id("anna"), .flag = "card"});
    seqs_.closed = run(CloseMembership{.idempotency_key = "close", .member = Id("ben")});
    // Enough entries to fill several pages of the journal table.
    std::vector<Command> credits;
    for (int i = 0; i < 60; ++i) {
      credits.push_back(Credit{.idempotency_key = absl::StrCat("filler-", i), .member = Id("anna"),
                               .amount = Points(1 + i), .source = std::string(200, static_cast<char>('a' + i % 26))});
    }
    for (const auto& result : e.ExecuteBatch(credits)) EXPECT_TRUE(result.ok()) << result.status();
    digest_ = e.StateDigest();
    last_ = e.store().LastSeq();
    engine->reset();  // closes the database; the WAL is checkpointed into the file
    // The damage below is to entries, which an open reads from the latest
    // checkpoint on: the original has none, so that it reads them all
    // (checkpoint_test covers damage before a checkpoint).
    ASSERT_EQ(DropCheckpoints(original_), absl::OkStatus());
    rows_ = ReadRows(original_);
    ASSERT_EQ(rows_.size(), last_);
  }

  // A fresh copy of the undamaged journal at scratch_.
  void Copy() {
    RemoveDb(scratch_);
    std::filesystem::copy_file(original_, scratch_);
    if (std::filesystem::exists(original_ + "-wal")) std::filesystem::copy_file(original_ + "-wal", scratch_ + "-wal");
  }

  absl::Status OpenScratch() {
    auto engine = OpenJournal(scratch_, clock_);
    if (engine.ok()) {
      // Anything that opens must hold exactly the original state.
      EXPECT_EQ((*engine)->StateDigest(), digest_);
      return absl::OkStatus();
    }
    return engine.status();
  }

  // Decodes every entry, lets `forge` change them, recomputes the chain, the
  // head and the links to each member's previous entry, and writes them to
  // scratch_: a journal that verifies.
  void Forge(const std::function<void(std::vector<Entry>&)>& forge) {
    std::vector<Entry> entries;
    for (const Row& row : rows_) {
      auto entry = internal::DecodeEntry(row.entry);
      LOYALTY_CHECK(entry.ok());
      entries.push_back(*std::move(entry));
    }
    forge(entries);
    internal::MemberLinks links;
    for (Entry& entry : entries) entry.member_prev = links.Next(entry);
    std::vector<Row> rows;
    Sha256 previous{};
    std::string bytes;
    for (const Entry& entry : entries) {
      previous = internal::EncodeAndHash(previous, entry, &bytes);
      rows.push_back({entry.seq, bytes, std::string(previous.begin(), previous.end()), entry.member_prev});
    }
    Copy();
    WriteRows(scratch_, rows, absl::StrCat(entries.back().seq, ":", ToHex(previous)));
  }

  Entry& At(std::vector<Entry>& entries, uint64_t seq) { return entries[seq - 1]; }

  FakeClock clock_{*Instant::Parse("2011-06-01T10:00:00Z")};
  std::string original_, scratch_;
  std::vector<Row> rows_;
  Seqs seqs_;
  Sha256 digest_{};
  uint64_t last_ = 0;
};

TEST_F(Corruption, UndamagedJournalOpensWithItsState) {
  Copy();
  EXPECT_TRUE(OpenScratch().ok());
  // Forging nothing (recomputing the same chain) changes nothing either.
  Forge([](std::vector<Entry>&) {});
  EXPECT_TRUE(OpenScratch().ok());
}

// The links from each entry to its member's previous one are outside the
// chain; a link changed is found as the journal is read, naming the entry,
// and by the audit's verification.
TEST_F(Corruption, LinkToTheMembersPreviousEntryChangedIsNamed) {
  for (uint64_t seq : {seqs_.credit, seqs_.transfer_in, seqs_.closed, last_}) {
    for (uint64_t link : {uint64_t{0}, seq - 1, seq, uint64_t{1} << 40}) {
      const Row& row = rows_[seq - 1];
      if (link == row.member_prev) continue;
      SCOPED_TRACE(absl::StrCat("entry ", seq, " linked to ", link));
      Copy();
      ASSERT_EQ(Sql(scratch_, absl::StrCat("UPDATE journal SET member_prev = ", link, " WHERE seq = ", seq)),
                absl::OkStatus());
      ExpectCorruptionAt(OpenScratch(), seq);
      auto verified = VerifyJournalFile(scratch_);
      ASSERT_TRUE(verified.ok()) << verified.status();
      EXPECT_EQ(verified->fault, JournalFault::kMislinked) << verified->Summary();
      EXPECT_EQ(verified->bad_seq, seq) << verified->Summary();
      EXPECT_EQ(verified->entries, seq - 1);
      EXPECT_EQ(std::string(verified->head.begin(), verified->head.end()), rows_[seq - 2].hash);
    }
  }
  Copy();
  EXPECT_TRUE(VerifyJournalFile(scratch_)->ok());
}

TEST_F(Corruption, ByteFlippedInsideAnyEntryIsNamed) {
  for (const Row& row : rows_) {
    if (row.seq > 25 && row.seq % 7 != 0) continue;  // every entry of the commands, a sample of the rest
    for (size_t at : {size_t{0}, size_t{1}, row.entry.size() / 2, row.entry.size() - 1}) {
      SCOPED_TRACE(absl::StrCat("entry ", row.seq, " byte ", at));
      std::string flipped = row.entry;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
      Copy();
      ASSERT_TRUE(Sql(scratch_, absl::StrCat("UPDATE journal SET entry = x'", absl::BytesToHexString(flipped),
                                             "' WHERE seq = ", row.seq))
                      .ok());
      ExpectCorruptionAt(OpenScratch(), row.seq);
    }
    SCOPED_TRACE(absl::StrCat("hash of entry ", row.seq));
    std::string hash = row.hash;
    hash[5] = static_cast<char>(hash[5] ^ 0x80);
    Copy();
    ASSERT_TRUE(Sql(scratch_, absl::StrCat("UPDATE journal SET hash = x'", absl::BytesToHexString(hash),
                                           "' WHERE seq = ", row.seq))
                    .ok());
    ExpectCorruptionAt(OpenScratch(), row.seq);
  }
}

// The same damage done to the file's bytes rather than through SQLite: the
// source text of the credit, flipped where it lies in the file.
TEST_F(Corruption, ByteFlippedInTheFileIsNamed) {
  Copy();
  std::string bytes;
  {
    std::ifstream in(scratch_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  size_t at = bytes.find("credit of five hundred");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 10] = static_cast<char>(bytes[at + 10] ^ 0x20);
  {
    std::ofstream out(scratch_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ExpectCorruptionAt(OpenScratch(), seqs_.credit);
}

TEST_F(Corruption, TruncatedFileIsReported) {
  Copy();
  const auto size = std::filesystem::file_size(scratch_);
  ASSERT_GT(size, 4096u);
  // Cut at page boundaries, inside a page, and by a single byte. (Cut to
  // nothing, a file is an empty SQLite database: a new journal. Only a
  // head kept elsewhere, such as the host's last receipt, tells those apart.)
  for (uintmax_t keep = 100; keep < size; keep += keep < 8192 ? 4000 : 4096) {
    for (uintmax_t cut : {keep, keep / 4096 * 4096 + 4096 - 1}) {
      if (cut >= size) continue;
      SCOPED_TRACE(absl::StrCat("kept ", cut, " of ", size, " bytes"));
      Copy();
      std::filesystem::resize_file(scratch_, cut);
      absl::Status status = OpenScratch();
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
      EXPECT_NE(status.message().find("journal"), absl::string_view::npos) << status;
      if (std::getenv("CORRUPTION_PRINT")) std::fprintf(stderr, "%ju: %s\n", cut, status.ToString().c_str());
    }
  }
}

TEST_F(Corruption, DeletedEntryIsNamed) {
  for (const Row& row : rows_) {
    if (row.seq > 25 && row.seq % 7 != 0 && row.seq != last_) continue;
    SCOPED_TRACE(absl::StrCat("deleted entry ", row.seq));
    Copy();
    ASSERT_TRUE(Sql(scratch_, absl::StrCat("DELETE FROM journal WHERE seq = ", row.seq)).ok());
    absl::Status status = OpenScratch();
    if (row.seq == last_) {
      // The newest entry gone: the recorded head says what is missing.
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
      EXPECT_NE(status.message().find(absl::StrCat("ends at entry ", last_ - 1)), absl::string_view::npos) << status;
    } else {
      ExpectCorruptionAt(status, row.seq);
    }
  }
}

TEST_F(Corruption, SwappedEntriesAreNamed) {
  for (size_t i = 0; i + 1 < rows_.size(); i += 3) {
    for (size_t j : {i + 1, rows_.size() - 1}) {
      if (j <= i) continue;
      SCOPED_TRACE(absl::StrCat("swapped entries ", rows_[i].seq, " and ", rows_[j].seq));
      std::vector<Row> rows = rows_;
      std::swap(rows[i].entry, rows[j].entry);
      std::swap(rows[i].hash, rows[j].hash);
      Copy();
      WriteRows(scratch_, rows, absl::StrCat(last_, ":", absl::BytesToHexString(rows_.back().hash)));
      ExpectCorruptionAt(OpenScratch(), rows_[i].seq);
    }
  }
}

// Forged entries: validly chained, impossible. Each names the entry.
TEST_F(Corruption, ForgedEntriesAreNamedNotApplied) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Seqs s = seqs_;
  auto body = [](std::vector<Entry>& entries, uint64_t seq) -> EntryBody& { return entries[seq - 1].body; };
  struct Case {
    const char* name;
    uint64_t seq;
    std::function<void(std::vector<Entry>&)> forge;
  };
  const Case cases[] = {
      {"redeem draws more than its lot holds", s.redeem,
       [&](auto& e) {
         auto& d = std::get<entries::Debited>(body(e, s.redeem));
         d.amount = Points(100000);
         d.draws = {{LotId{s.credit, 0}, Points(100000)}};
       }},
      {"redeem draws from a lot that does not exist", s.redeem,
       [&](auto& e) { std::get<entries::Debited>(body(e, s.redeem)).draws[0].lot = LotId{999, 0}; }},
      {"redeem draws that do not sum to its amount", s.redeem,
       [&](auto& e) { std::get<entries::Debited>(body(e, s.redeem)).amount = Points(119); }},
      {"credit overflows the balance", s.accrual,
       [&](auto& e) {
         auto& c = std::get<entries::Credited>(body(e, s.accrual));
         c.amount = Points(kMax);
       }},
      {"credit of a negative amount", s.credit,
       [&](auto& e) { std::get<entries::Credited>(body(e, s.credit)).amount = Points(-5); }},
      {"counter overflows", s.accrual,
       [&](auto& e) {
         std::get<entries::Credited>(body(e, s.accrual)).counters = {{"status", Points(kMax)}};
       }},
      {"accrual on a day out of any calendar", s.accrual,
       [&](auto& e) { std::get<entries::Credited>(body(e, s.accrual)).local_day = INT32_MAX; }},
      {"business time out of range", s.credit,
       [&](auto& e) { e[s.credit - 1].business_time = Instant::Min(); }},
      {"capture of a hold never placed", s.captured,
       [&](auto& e) { std::get<entries::HoldCaptured>(body(e, s.captured)).hold = 4242; }},
      {"capture of other points than held", s.captured,
       [&](auto& e) { std::get<entries::HoldCaptured>(body(e, s.captured)).amount = Points(41); }},
      {"release paying a debt that does not exist", s.released,
       [&](auto& e) {
         auto& r = std::get<entries::HoldReleased>(body(e, s.released));
         r.debt_paid = Points(30);
         r.draws.clear();
       }},
      {"a debit reversed twice", s.reversed + 1,
       [&](auto& e) {
         Entry& next = e[s.reversed];  // the entry after the reversal
         next.member = Id("anna");
         next.body = body(e, s.reversed);
       }},
      {"an earn reversed beyond what was earned", s.reversed + 1,
       [&](auto& e) {
         Entry& next = e[s.reversed];
         next.member = Id("anna");
         next.body = entries::EarnReversed{s.credit, Points(501), Points(501), Points(0), {}, {}};
       }},
      {"enrolled twice", s.credit,
       [&](auto& e) { body(e, s.credit) = entries::Enrolled{}; }},
      {"entry of a member never enrolled", s.credit,
       [&](auto& e) { e[s.credit - 1].member = Id("mallory"); }},
      {"member entry under the program's id", s.credit,
       [&](auto& e) { e[s.credit - 1].member = Id(kProgramMember); }},
      {"program version under a member's id", 1,
       [&](auto& e) { e[0].member = Id("anna"); }},
      {"transferred lots that do not sum to the amount", s.transfer_in,
       [&](auto& e) { std::get<entries::TransferredIn>(body(e, s.transfer_in)).amount = Points(101); }},
      {"adjustment by the most negative amount", s.transfer_in + 1,
       [&](auto& e) { std::get<entries::Adjusted>(body(e, s.transfer_in + 1)).delta = Points(INT64_MIN); }},
      {"flag cleared that was never set", s.flag,
       [&](auto& e) { std::get<entries::FlagChanged>(body(e, s.flag)).on = false; }},
      {"membership closed twice", s.closed,  // the flag entry becomes ben's first closure
       [&](auto& e) {
         Entry& flag = e[s.flag - 1];
         flag.member = Id("ben");
         flag.body = entries::MembershipClosed{Instant::Max()};
       }},
      {"expiry of more than a lot holds", s.flag,
       [&](auto& e) { body(e, s.flag) = entries::Expired{Points(10000), {{LotId{s.credit, 0}, Points(10000)}}}; }},
      {"a line returned twice", s.transfer_out,
       [&](auto& e) {
         Entry& out = e[s.transfer_out - 1];
         out.body = entries::EarnReversed{s.accrual, Points(0), Points(0), Points(0), {}, {1}};
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Forge(c.forge);
    ExpectCorruptionAt(OpenScratch(), c.seq);
  }
}

// The same journal grown past PipelineOptions::inline_below entries, so
// that the engine's open reads it on a second thread while it applies.
class LongJournalCorruption : public Corruption {
 protected:
  void SetUp() override {
    Corruption::SetUp();
    auto engine = OpenJournal(original_, clock_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    std::vector<Command> credits = {Enroll{.idempotency_key = "enroll-carl", .member = Id("carl")}};
    for (int i = 0; i < 10'000; ++i) {
      credits.push_back(Credit{.idempotency_key = absl::StrCat("long-", i), .member = Id(i % 2 == 0 ? "anna" : "carl"),
                               .amount = Points(10), .source = "long"});
    }
    for (const auto& result : (*engine)->ExecuteBatch(credits)) ASSERT_TRUE(result.ok()) << result.status();
    digest_ = (*engine)->StateDigest();
    last_ = (*engine)->store().LastSeq();
    ASSERT_GT(last_, internal::PipelineOptions().inline_below + internal::PipelineOptions().block_entries);
    engine->reset();
    ASSERT_EQ(DropCheckpoints(original_), absl::OkStatus());
    rows_ = ReadRows(original_);
    ASSERT_EQ(rows_.size(), last_);
  }
};

TEST_F(LongJournalCorruption, DamageDeepInTheJournalIsNamed) {
  Copy();
  EXPECT_TRUE(OpenScratch().ok());
  // In the second block the engine is given, in a later one, in the last.
  for (uint64_t seq : {uint64_t{1500}, last_ - 2000, last_}) {
    SCOPED_TRACE(absl::StrCat("entry ", seq));
    Forge([&](std::vector<Entry>& entries) {
      std::get<entries::Credited>(At(entries, seq).body).amount = Points(-5);
    });
    ExpectCorruptionAt(OpenScratch(), seq);
    Copy();
    ASSERT_EQ(Sql(scratch_, absl::StrCat("UPDATE journal SET member_prev = 0 WHERE seq = ", seq)), absl::OkStatus());
    ExpectCorruptionAt(OpenScratch(), seq);
  }
}

}  // namespace
}  // namespace loyalty
