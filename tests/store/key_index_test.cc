// The SQLite journal's idempotency keys on disk and its open from a
// checkpoint: a checkpoint of the head moves the keys in memory into the
// index on disk; a retry of an older command is still found and refused;
// an open reads and verifies only the entries from the checkpoint on, and
// the entries before it are verified by VerifyChain or by an open from the
// first entry.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/store.h"
#include "store_fixture.h"

namespace loyalty {
namespace {

// A checkpoint of the store's head with one part, as an engine would save
// (its content does not matter to the store).
absl::Status CheckpointHead(Store& store) {
  const JournalHead head = store.Head();
  bool given = false;
  return store.SaveCheckpoint({head.seq, head.hash, Sha256{}, 1}, [&](std::string* part) {
    if (given) return false;
    *part = "state";
    given = true;
    return true;
  });
}

// Appends one credit per key, with the seqs that follow the store's head.
void Append(Store& store, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    std::vector<Entry> one = {Credited(store.LastSeq() + 1, key, 100)};
    ASSERT_TRUE(store.Append(one).ok()) << key;
  }
}

class KeyIndexOnDisk : public ::testing::Test {
 protected:
  // Five credits k1..k5, a checkpoint of the head, then k6 and k7.
  void SetUp() override {
    path_ = TempPath("key_index.db");
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    Append(**store, {"k1", "k2", "k3", "k4", "k5"});
    ASSERT_TRUE(CheckpointHead(**store).ok());
    Append(**store, {"k6", "k7"});
  }

  std::string path_;
};

TEST_F(KeyIndexOnDisk, KeysBeforeAndAfterTheCheckpointAreFoundAfterAReopen) {
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->LastSeq(), 7u);
  for (uint64_t seq = 1; seq <= 7; ++seq) {
    auto record = (*store)->FindKey(absl::StrCat("k", seq));
    ASSERT_TRUE(record.has_value()) << seq;
    EXPECT_EQ(record->first, seq);
    EXPECT_EQ(record->count, 1u);
  }
  EXPECT_FALSE((*store)->FindKey("k8").has_value());
  auto reader = OpenSqliteStore(path_, {.read_only = true});
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->FindKey("k2")->first, 2u);
  EXPECT_EQ((*reader)->FindKey("k7")->first, 7u);
}

TEST_F(KeyIndexOnDisk, AnOldKeyIsRefusedAndNothingIsAppended) {
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  const JournalHead before = (*store)->Head();
  std::vector<Entry> retry = {Credited(8, "k8", 100), Credited(9, "k3", 100)};
  absl::Status status = (*store)->Append(retry);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_NE(status.message().find("\"k3\""), absl::string_view::npos) << status;
  EXPECT_EQ((*store)->Head(), before);
  EXPECT_FALSE((*store)->FindKey("k8").has_value());
  // The refused batch's new key stays usable.
  std::vector<Entry> next = {Credited(8, "k8", 100)};
  EXPECT_TRUE((*store)->Append(next).ok());
}

TEST_F(KeyIndexOnDisk, ASecondCheckpointMovesTheNewerKeysToo) {
  {
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(CheckpointHead(**store).ok());
    Append(**store, {"k8"});
  }
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  for (uint64_t seq = 1; seq <= 8; ++seq) EXPECT_EQ((*store)->FindKey(absl::StrCat("k", seq))->first, seq);
  std::vector<Entry> retry = {Credited(9, "k6", 100)};
  EXPECT_EQ((*store)->Append(retry).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*VerifyChain(**store), 8u);
}

// The open starts at the checkpoint: damage before it is not read there,
// but VerifyChain and an open from the first entry name it.
TEST_F(KeyIndexOnDisk, DamageBeforeTheCheckpointIsFoundByAVerificationFromTheFirstEntry) {
  ASSERT_EQ(Sql(path_,
                "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'test credit', 'test cradit') AS BLOB) "
                "WHERE seq = 2"),
            absl::OkStatus());
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto verified = VerifyChain(**store);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(verified.status().message().find("entry 2"), absl::string_view::npos) << verified.status();
  store->reset();
  absl::Status full = OpenSqliteStore(path_, {.verify_from_first_entry = true}).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(full.message().find("entry 2: modified"), absl::string_view::npos) << full;
}

TEST_F(KeyIndexOnDisk, DamageAfterTheCheckpointRefusesTheOpen) {
  ASSERT_EQ(Sql(path_,
                "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'test credit', 'test cradit') AS BLOB) "
                "WHERE seq = 6"),
            absl::OkStatus());
  absl::Status status = OpenSqliteStore(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("entry 6: modified"), absl::string_view::npos) << status;
}

TEST_F(KeyIndexOnDisk, TheCheckpointsEntryMustHaveTheHashItRecorded) {
  ASSERT_EQ(Sql(path_, "UPDATE loyalty_checkpoints SET head_hash = zeroblob(32)"), absl::OkStatus());
  absl::Status status = OpenSqliteStore(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("journal entry 5: its hash is not the one its checkpoint recorded"),
            absl::string_view::npos)
      << status;
}

TEST_F(KeyIndexOnDisk, WithoutItsCheckpointsTheJournalIsVerifiedFromTheFirstEntryAndKeepsItsKeys) {
  ASSERT_EQ(DropCheckpoints(path_), absl::OkStatus());
  ASSERT_EQ(Sql(path_,
                "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'test credit', 'test cradit') AS BLOB) "
                "WHERE seq = 2"),
            absl::OkStatus());
  absl::Status status = OpenSqliteStore(path_).status();
  EXPECT_NE(status.message().find("entry 2: modified"), absl::string_view::npos) << status;
  ASSERT_EQ(Sql(path_,
                "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'test cradit', 'test credit') AS BLOB) "
                "WHERE seq = 2"),
            absl::OkStatus());
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->FindKey("k2")->first, 2u);
  EXPECT_EQ((*store)->FindKey("k7")->first, 7u);
}

TEST_F(KeyIndexOnDisk, ACutBackJournalIsRefused) {
  auto reader = OpenSqliteStore(path_, {.read_only = true});
  ASSERT_TRUE(reader.ok());
  const Entry third = *(*reader)->Get(3);
  reader->reset();
  ASSERT_EQ(Sql(path_, absl::StrCat("DELETE FROM journal WHERE seq > 3; UPDATE loyalty_meta SET value = '3:",
                                    ToHex(third.hash), "' WHERE key = 'head'")),
            absl::OkStatus());
  absl::Status status = OpenSqliteStore(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("it ends before entry 5, where it has a checkpoint"), absl::string_view::npos)
      << status;
}

TEST_F(KeyIndexOnDisk, ADamagedIndexRecordIsRefused) {
  ASSERT_EQ(Sql(path_, "UPDATE loyalty_meta SET value = 'x' WHERE key = 'keys_through'"), absl::OkStatus());
  absl::Status status = OpenSqliteStore(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("key index"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace loyalty
