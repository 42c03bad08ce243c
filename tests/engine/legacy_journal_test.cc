// A journal written before reversals took from the member's other points,
// before activities were credited once and before lapsed holds freed their
// points at once (issue 22), and before checkpoints, still opens and
// replays to the state it had; what is new applies from the next command
// on.
//
// tests/data/journal-before-issue-22.sql is the SQLite dump of the journal
// that the engine of that time wrote for
// tests/data/journal-before-issue-22.scenario.json (`loyalty run`):
//   entry 3  credit of 2,000 (lot L1)
//   entry 4  basket till-3/0815: 17 base + 49 campaign = 66 (lot L2)
//   entry 5  the same receipt claimed again: 66 more (lot L3)
//   entry 6  2,050 paid at the till: L1's 2,000 and 50 of L2 (16 left)
//   entry 7  the diapers returned, 61 points: L2's 16 and 45 of debt,
//            beside L3's 66 available
//   entry 8  a hold of 10 from L3 for one day, lapsing 2024-03-13 16:00
// It printed: available 56, held 10, debt 45.
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "sqlite3.h"

namespace loyalty {
namespace {

Instant At(const char* text) { return *Instant::Parse(text); }

// The journal of the dump, as a file in the scratch directory.
std::string RestoreJournal() {
  std::ifstream file(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/journal-before-issue-22.sql");
  std::stringstream dump;
  dump << file.rdbuf();
  const std::string path = ::testing::TempDir() + "/journal-before-issue-22.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, dump.str().c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  return path;
}

TEST(LegacyJournal, OpensToTheStateItHadAndFollowsTheNewRulesAfter) {
  const std::string path = RestoreJournal();
  // The program as it was when the journal was written (its versions are
  // published with their content hashes).
  auto program = LoadProgramFile(std::string(LOYALTY_SOURCE_DIR) + "/tests/data/retail-pos-program-before-issue-25.json");
  ASSERT_TRUE(program.ok()) << program.status();
  FakeClock clock(At("2024-03-13T12:00:00Z"));  // before the hold lapses
  auto engine = Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const MemberId member = MemberId::FromValid("R-1");
  // The state it had, debt beside available points included.
  EXPECT_EQ(*(*engine)->BalanceOf(member), (Balance{Points(56), Points(10), Points(45)}));
  const Entry returned = *(*engine)->store().Get(7);
  const auto& reversal = std::get<entries::EarnReversed>(returned.body);
  EXPECT_FALSE(reversal.balance_first);
  EXPECT_TRUE(reversal.draws.empty());
  ASSERT_TRUE(VerifyChain((*engine)->store()).ok());
  // Its first verified open gave it its first checkpoint, at its last entry.
  ASSERT_EQ((*engine)->store().Checkpoints()->size(), 1u);
  EXPECT_EQ((*engine)->store().Checkpoints()->front().seq, 8u);

  // The receipt credited twice then is refused now, naming the first credit.
  auto claim = (*engine)->Execute(Accrue{
      .idempotency_key = "claim-again", .member = member, .at = At("2024-03-13T12:00:00Z"),
      .activity = {"till-3/0815", Purchase{"drugstore", "berlin-mitte", "store", {}}}});
  EXPECT_EQ(claim.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(claim.status().message()),
            "member R-1: activity \"till-3/0815\" at partner drugstore was already credited by entry 4");

  // After the hold's day its 10 points pay 10 of the debt at once; the
  // next command journals that, then its own credit of 100 pays the other
  // 35 and leaves 65 in a new lot: 56 + 65 = 121, no debt.
  clock.Set(At("2024-03-14T09:00:00Z"));
  EXPECT_EQ(*(*engine)->BalanceOf(member), (Balance{Points(56), Points(0), Points(35)}));
  auto credit = (*engine)->Execute(Credit{.idempotency_key = "goodwill", .member = member, .amount = Points(100)});
  ASSERT_TRUE(credit.ok()) << credit.status();
  ASSERT_EQ(credit->entries.size(), 2u);
  EXPECT_TRUE(std::get<entries::HoldReleased>(credit->entries[0].body).lapsed);
  EXPECT_EQ(std::get<entries::Credited>(credit->entries[1].body).debt_paid, Points(35));
  EXPECT_EQ(*(*engine)->BalanceOf(member), (Balance{Points(121), Points(0), Points(0)}));

  // And the journal, old and new entries, replays to the same state.
  const Sha256 live = (*engine)->StateDigest();
  engine->reset();
  auto reopened = Engine::Open(*OpenSqliteStore(path), clock, *program);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->StateDigest(), live);
}

}  // namespace
}  // namespace loyalty
