// MemberTable: finds, adds and erases as a map from id to state would,
// across page edges, after moves, and against a std::map under a random
// sequence of operations.
#include "engine/member_table.h"

#include <map>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace loyalty {
namespace {

MemberId Id(int n) { return MemberId::FromValid("M-" + std::to_string(n)); }

TEST(MemberTable, AddsFindsAndKeepsStates) {
  MemberTable table;
  EXPECT_EQ(table.Find(Id(1)), nullptr);
  MemberState& first = table.FindOrAdd(Id(1));
  EXPECT_FALSE(first.enrolled);
  first.balance = Points(10);
  // Pages never move: the first state stays where it is while 1,000 more
  // members are added.
  for (int n = 2; n <= 1000; ++n) table.FindOrAdd(Id(n)).balance = Points(n * 10);
  EXPECT_EQ(&table.FindOrAdd(Id(1)), &first);
  EXPECT_EQ(table.size(), 1000u);
  for (int n = 1; n <= 1000; ++n) {
    const MemberState* found = std::as_const(table).Find(Id(n));
    ASSERT_NE(found, nullptr) << n;
    EXPECT_EQ(found->balance, Points(n * 10));
  }
  EXPECT_EQ(table.Find(Id(1001)), nullptr);
}

TEST(MemberTable, EraseMovesTheLastIntoTheGap) {
  MemberTable table;
  for (int n = 1; n <= 130; ++n) table.FindOrAdd(Id(n)).balance = Points(n);
  table.Erase(Id(5));
  table.Erase(Id(130));  // the last
  table.Erase(Id(999));  // not held: nothing happens
  EXPECT_EQ(table.size(), 128u);
  EXPECT_EQ(table.Find(Id(5)), nullptr);
  EXPECT_EQ(table.Find(Id(130)), nullptr);
  EXPECT_EQ(table.Find(Id(129))->balance, Points(129));
  // An erased member comes back empty.
  EXPECT_EQ(table.FindOrAdd(Id(5)).balance, Points(0));
  int visited = 0;
  int64_t sum = 0;
  table.ForEach([&](const MemberId&, const MemberState& state) {
    ++visited;
    sum += state.balance.value();
  });
  EXPECT_EQ(visited, 129);
  EXPECT_EQ(sum, 129 * 130 / 2 - 5);
}

TEST(MemberTable, MovedTableStillFindsItsMembers) {
  MemberTable table;
  for (int n = 1; n <= 100; ++n) table.FindOrAdd(Id(n)).balance = Points(n);
  MemberTable moved = std::move(table);
  moved.FindOrAdd(Id(101)).balance = Points(101);
  moved.Erase(Id(1));
  for (int n = 2; n <= 101; ++n) ASSERT_EQ(moved.Find(Id(n))->balance, Points(n)) << n;
}

TEST(MemberTable, MatchesAMapUnderRandomOperations) {
  std::mt19937 random(7);
  MemberTable table;
  std::map<int, int64_t> model;
  for (int step = 0; step < 20000; ++step) {
    const int n = static_cast<int>(random() % 300);
    switch (random() % 3) {
      case 0:
      case 1:
        table.FindOrAdd(Id(n)).balance = Points(step);
        model[n] = step;
        break;
      case 2:
        table.Erase(Id(n));
        model.erase(n);
        break;
    }
    ASSERT_EQ(table.size(), model.size()) << "step " << step;
  }
  for (int n = 0; n < 300; ++n) {
    const MemberState* found = table.Find(Id(n));
    auto it = model.find(n);
    ASSERT_EQ(found != nullptr, it != model.end()) << n;
    if (found != nullptr) {
      EXPECT_EQ(found->balance, Points(it->second)) << n;
    }
  }
}

}  // namespace
}  // namespace loyalty
