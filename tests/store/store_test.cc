// Store conformance (memory, SQLite and PostgreSQL), SQLite schema checks, and
// tampering with an SQLite journal: each kind is detected and named.
#include "loyalty/store.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "journal_tampering.h"
#include "loyalty/audit.h"
#include "store_fixture.h"

namespace loyalty {
namespace {


// Runs the same checks against each store.
class StoreConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Store> Make() {
    if (GetParam() == "memory") return NewMemoryStore();
    auto store = GetParam() == "postgres" ? OpenPostgresStore(FreshPostgres())
                                          : OpenSqliteStore(TempPath("conformance.db"));
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }
};

TEST_P(StoreConformance, AppendReadFindAndChain) {
  auto store = Make();
  EXPECT_EQ(store->LastSeq(), 0u);
  EXPECT_EQ(store->HeadHash(), Sha256{});
  std::vector<Entry> batch = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "b", 30)};
  ASSERT_TRUE(store->Append(batch).ok());
  EXPECT_EQ(store->LastSeq(), 3u);
  EXPECT_NE(batch[0].hash, Sha256{});
  EXPECT_EQ(store->HeadHash(), batch[2].hash);
  auto key = store->FindKey("b");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->first, 2u);
  EXPECT_EQ(key->count, 2u);
  EXPECT_FALSE(store->FindKey("c").has_value());
  EXPECT_EQ(*store->Get(2), batch[1]);
  EXPECT_EQ(store->Get(4).status().code(), absl::StatusCode::kNotFound);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(store->Read(2, [&](const Entry& e) {
                     seen.push_back(e.seq);
                     return absl::OkStatus();
                   }).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(*VerifyChain(*store), 3u);
}

// Each entry's link to its member's previous entry is kept beside it, given
// back by Get, Read and ReadStored, and outside the chain (the engine
// checks it).
TEST_P(StoreConformance, KeepsEachEntrysMemberLink) {
  auto store = Make();
  std::vector<Entry> batch = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "c", 30)};
  batch[1].member_prev = 1;
  batch[2].member_prev = 2;
  ASSERT_TRUE(store->Append(batch).ok());
  std::vector<Entry> unlinked = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "c", 30)};
  auto plain = NewMemoryStore();
  ASSERT_TRUE(plain->Append(unlinked).ok());
  EXPECT_EQ(batch[2].hash, unlinked[2].hash);  // the link is not hashed
  EXPECT_EQ(store->Get(3)->member_prev, 2u);
  std::vector<uint64_t> links, stored_links;
  ASSERT_TRUE(store->Read(1, [&](const Entry& e) {
                     links.push_back(e.member_prev);
                     return absl::OkStatus();
                   }).ok());
  ASSERT_TRUE(store->ReadStored(1, [&](const Entry& e, absl::string_view) {
                     stored_links.push_back(e.member_prev);
                     return absl::OkStatus();
                   }).ok());
  EXPECT_EQ(links, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(stored_links, links);
}

TEST_P(StoreConformance, UsedKeyRejectsWholeBatch) {
  auto store = Make();
  std::vector<Entry> first = {Credited(1, "a", 10)};
  ASSERT_TRUE(store->Append(first).ok());
  std::vector<Entry> second = {Credited(2, "fresh", 1), Credited(3, "a", 2)};
  EXPECT_EQ(store->Append(second).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->LastSeq(), 1u);
  EXPECT_FALSE(store->FindKey("fresh").has_value());
  std::vector<Entry> split = {Credited(2, "x", 1), Credited(3, "y", 1), Credited(4, "x", 1)};
  EXPECT_EQ(store->Append(split).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->LastSeq(), 1u);
  // The rejected batches recorded none of their keys: they can be used now.
  EXPECT_FALSE(store->FindKey("x").has_value());
  std::vector<Entry> retry = {Credited(2, "x", 1), Credited(3, "fresh", 1)};
  ASSERT_TRUE(store->Append(retry).ok());
  EXPECT_EQ(store->FindKey("fresh")->first, 3u);
}

// Entries seq first .. first + count - 1 of member M-1, each its own
// command under key prefix + seq.
std::vector<Entry> Credits(uint64_t first, uint64_t count, const std::string& prefix) {
  std::vector<Entry> entries;
  for (uint64_t seq = first; seq < first + count; ++seq) entries.push_back(Credited(seq, prefix + std::to_string(seq), 1));
  return entries;
}

// Pieces of 100, 2 (one command's pair of entries under one key) and 49
// entries: the append is the one Append of them all would be, and
// nothing of it is visible before Commit.
TEST_P(StoreConformance, AppendInPiecesIsOneAppend) {
  auto store = Make();
  std::vector<Entry> first = Credits(1, 100, "k");
  std::vector<Entry> second = {Credited(101, "pair", 5), Credited(102, "pair", 6)};
  std::vector<Entry> third = Credits(103, 49, "k");
  {
    auto appender = store->BeginAppend();
    appender->Add(first);
    appender->Add(second);
    appender->Add(third);
    EXPECT_EQ(store->LastSeq(), 0u);
    EXPECT_FALSE(store->FindKey("k1").has_value());
    EXPECT_EQ(store->Get(1).status().code(), absl::StatusCode::kNotFound);
    ASSERT_TRUE(appender->Commit().ok());
  }
  EXPECT_EQ(store->LastSeq(), 151u);
  EXPECT_EQ(store->FindKey("pair")->first, 101u);
  EXPECT_EQ(store->FindKey("pair")->count, 2u);
  EXPECT_EQ(store->FindKey("k151")->first, 151u);
  EXPECT_EQ(*store->Get(150), third[47]);

  // The same entries in one Append chain to the same head.
  auto whole = NewMemoryStore();
  std::vector<Entry> all = first;
  all.insert(all.end(), second.begin(), second.end());
  all.insert(all.end(), third.begin(), third.end());
  ASSERT_TRUE(whole->Append(all).ok());
  EXPECT_EQ(store->HeadHash(), whole->HeadHash());
  EXPECT_EQ(third.back().hash, whole->HeadHash());
  EXPECT_EQ(*VerifyChain(*store), 151u);
}

TEST_P(StoreConformance, AppendInPiecesDroppedOrRefusedWritesNothing) {
  auto store = Make();
  std::vector<Entry> used = {Credited(1, "used", 1)};
  ASSERT_TRUE(store->Append(used).ok());
  std::vector<Entry> first = Credits(2, 100, "k");
  std::vector<Entry> second = Credits(102, 100, "k");
  {
    auto dropped = store->BeginAppend();
    dropped->Add(first);
    dropped->Add(second);
  }
  EXPECT_EQ(store->LastSeq(), 1u);
  EXPECT_FALSE(store->FindKey("k2").has_value());

  std::vector<Entry> reusing = Credits(202, 10, "k");
  reusing[5].idempotency_key = "used";
  {
    auto refused = store->BeginAppend();
    refused->Add(first);
    refused->Add(second);
    refused->Add(reusing);
    absl::Status status = refused->Commit();
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
    EXPECT_NE(status.message().find("\"used\""), absl::string_view::npos) << status;
  }
  EXPECT_EQ(store->LastSeq(), 1u);
  EXPECT_FALSE(store->FindKey("k2").has_value());
  EXPECT_FALSE(store->FindKey("k201").has_value());
  EXPECT_EQ(store->Get(2).status().code(), absl::StatusCode::kNotFound);

  // The keys were left free and the seqs unused.
  {
    auto retry = store->BeginAppend();
    retry->Add(first);
    retry->Add(second);
    ASSERT_TRUE(retry->Commit().ok());
  }
  EXPECT_EQ(store->LastSeq(), 201u);
  EXPECT_EQ(*VerifyChain(*store), 201u);
}

// Enough keys for the key index to outgrow 2 MiB, where its table moves
// to huge pages (huge_page_allocator.h), and to be grown and rehashed
// several times: every key still found, a used one still refused.
TEST(MemoryStore, KeyIndexOfManyKeys) {
  auto store = NewMemoryStore();
  constexpr uint64_t kKeys = 120'000;
  for (uint64_t first = 1; first <= kKeys; first += 1000) {
    std::vector<Entry> batch = Credits(first, 1000, "key-");
    ASSERT_TRUE(store->Append(batch).ok());
  }
  for (uint64_t seq = 1; seq <= kKeys; ++seq) {
    auto key = store->FindKey("key-" + std::to_string(seq));
    ASSERT_TRUE(key.has_value()) << seq;
    ASSERT_EQ(key->first, seq);
    ASSERT_EQ(key->count, 1u);
  }
  EXPECT_FALSE(store->FindKey("key-0").has_value());
  std::vector<Entry> reused = {Credited(kKeys + 1, "fresh", 1), Credited(kKeys + 2, "key-77777", 1)};
  EXPECT_EQ(store->Append(reused).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(store->FindKey("fresh").has_value());
  EXPECT_EQ(*VerifyChain(*store), kKeys);
}

// Entries larger than the arena's 2 MiB chunks (a recorded command may
// have up to 16 MiB) get a chunk of their own size; the entries after
// them must still fit where they are written (ASan would report a write
// past the chunk).
TEST(MemoryStore, EntriesLargerThanAChunk) {
  auto store = NewMemoryStore();
  std::vector<Entry> entries = Credits(1, 3, "large-");
  entries[0].command = std::string(3 << 20, 'a');     // 3 MiB: a 4 MiB chunk
  entries[1].command = std::string(1536 << 10, 'b');  // 1.5 MiB: not in that chunk's last 1 MiB
  entries[2].command = "small";
  for (Entry& entry : entries) {
    std::vector<Entry> one = {entry};
    ASSERT_TRUE(store->Append(one).ok());
  }
  for (const Entry& entry : entries) EXPECT_EQ(store->Get(entry.seq)->command, entry.command);
  EXPECT_EQ(*VerifyChain(*store), 3u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance, ::testing::Values("memory", "sqlite", "postgres"));

class SqliteJournal : public ::testing::Test {
 protected:
  // Writes five entries and closes the store.
  std::string Write(const std::string& name) {
    std::string path = TempPath(name);
    auto store = OpenSqliteStore(path);
    EXPECT_TRUE(store.ok()) << store.status();
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      std::vector<Entry> one = {Credited(seq, "k" + std::to_string(seq), static_cast<int64_t>(seq) * 100)};
      EXPECT_TRUE((*store)->Append(one).ok());
    }
    return path;
  }

  absl::Status Reopen(const std::string& path) { return OpenSqliteStore(path).status(); }
};

TEST_F(SqliteJournal, ReopensWithKeysAndHead) {
  std::string path = Write("reopen.db");
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->LastSeq(), 5u);
  EXPECT_EQ((*store)->FindKey("k3")->first, 3u);
  std::vector<Entry> next = {Credited(6, "k6", 600)};
  EXPECT_TRUE((*store)->Append(next).ok());
}

TEST_F(SqliteJournal, DetectsModifiedEntry) {
  std::string path = Write("modified.db");
  // Flip one byte inside entry 3's canonical bytes (its explanation text).
  ASSERT_EQ(Sql(path,
                "UPDATE journal SET entry = CAST(replace(CAST(entry AS TEXT), 'test credit', 'test cradit') AS BLOB) "
                "WHERE seq = 3"),
            absl::OkStatus());
  absl::Status status = Reopen(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("entry 3: modified"), absl::string_view::npos) << status;
}

TEST_F(SqliteJournal, DetectsMissingEntry) {
  std::string path = Write("missing.db");
  ASSERT_EQ(Sql(path, "DELETE FROM journal WHERE seq = 2"), absl::OkStatus());
  absl::Status status = Reopen(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("entry 2: missing or reordered"), absl::string_view::npos) << status;
}

TEST_F(SqliteJournal, DetectsSwappedEntries) {
  std::string path = Write("swapped.db");
  ASSERT_EQ(Sql(path,
                "UPDATE journal SET seq = -1 WHERE seq = 2; UPDATE journal SET seq = 2 WHERE seq = 4;"
                "UPDATE journal SET seq = 4 WHERE seq = -1;"),
            absl::OkStatus());
  absl::Status status = Reopen(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("entry 2: reordered"), absl::string_view::npos) << status;
}

TEST_F(SqliteJournal, DetectsTruncatedJournal) {
  std::string path = Write("truncated.db");
  ASSERT_EQ(Sql(path, "DELETE FROM journal WHERE seq >= 4"), absl::OkStatus());
  absl::Status status = Reopen(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("truncated"), absl::string_view::npos) << status;
}

TEST_F(SqliteJournal, RejectsFilesThatAreNotJournals) {
  std::string text = TempPath("not-a-db.db");
  std::ofstream(text) << "this is a text file, not a database, and long enough to have a header page";
  absl::Status status = Reopen(text);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("not a loyalty journal"), absl::string_view::npos) << status;

  std::string other = TempPath("other.db");
  ASSERT_EQ(Sql(other, "CREATE TABLE customers(id INTEGER)"), absl::OkStatus());
  status = Reopen(other);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("customers"), absl::string_view::npos) << status;
}

// Opened without create_if_missing, a path with no journal is NotFound and
// stays as it was: no file appears, an empty file stays empty. An existing
// journal opens as always.
TEST_F(SqliteJournal, OpeningAnExistingJournalOnlyCreatesNothing) {
  namespace fs = std::filesystem;
  std::string missing = TempPath("never-created.db");
  fs::remove(missing);
  for (bool verify : {true, false}) {
    auto store = OpenSqliteStore(missing, {.verify_on_open = verify, .create_if_missing = false});
    EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound) << store.status();
    EXPECT_EQ(store.status().message(), "no journal at " + missing);
  }
  auto verified = VerifyJournalFile(missing);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kNotFound) << verified.status();
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) EXPECT_FALSE(fs::exists(missing + suffix)) << suffix;

  std::string empty = TempPath("empty-file.db");
  std::ofstream(empty, std::ios::trunc).close();
  EXPECT_EQ(OpenSqliteStore(empty, {.create_if_missing = false}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(VerifyJournalFile(empty).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fs::file_size(empty), 0u);

  std::string journal = Write("existing-only.db");
  auto store = OpenSqliteStore(journal, {.create_if_missing = false});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->LastSeq(), 5u);
}

TEST_F(SqliteJournal, RejectsNewerSchema) {
  std::string path = Write("newer.db");
  ASSERT_EQ(Sql(path, "UPDATE loyalty_meta SET value = '6' WHERE key = 'schema_version'"), absl::OkStatus());
  absl::Status status = Reopen(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("schema version 6"), absl::string_view::npos) << status;
}

// An append refused before it could begin (another process holds the
// database's write lock past the busy timeout of 5 s) leaves its keys
// free: the same batch goes through once the lock is released.
// A journal of schema version 1 (before Entry::member_prev) is migrated to
// version 3 by a verified open: the column added and each member's entries
// linked. Unverified, it is read as it is, its links 0.
TEST_F(SqliteJournal, MigratesVersionOneByLinkingEachMembersEntries) {
  std::string path = TempPath("version1.db");
  {
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Entry> batch = {Credited(1, "a", 10), Credited(2, "b", 20), Credited(3, "c", 30),
                                Credited(4, "d", 40)};
    batch[0].body = entries::Enrolled{};
    batch[1].body = entries::Enrolled{};
    batch[1].member = MemberId::FromValid("M-2");
    ASSERT_TRUE((*store)->Append(batch).ok());
  }
  ASSERT_EQ(Sql(path, "ALTER TABLE journal DROP COLUMN member_prev;"
                      "UPDATE loyalty_meta SET value = '1' WHERE key = 'schema_version'"),
            absl::OkStatus());
  auto links = [](const Store& store) {
    std::vector<uint64_t> seen;
    EXPECT_TRUE(store.Read(1, [&](const Entry& e) {
                       seen.push_back(e.member_prev);
                       return absl::OkStatus();
                     }).ok());
    return seen;
  };
  {
    auto inspected = OpenSqliteStore(path, {.verify_on_open = false});
    ASSERT_TRUE(inspected.ok()) << inspected.status();
    EXPECT_EQ(links(**inspected), (std::vector<uint64_t>{0, 0, 0, 0}));
    EXPECT_FALSE((*inspected)->KeepsMemberLinks());
    // Its verification, for inspection too, checks the chain and not links it has not got.
    EXPECT_TRUE(VerifyJournal(**inspected).ok());
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  // M-1: entries 1, 3, 4; M-2: entry 2.
  EXPECT_EQ(links(**store), (std::vector<uint64_t>{0, 0, 1, 3}));
  EXPECT_TRUE((*store)->KeepsMemberLinks());
  EXPECT_TRUE(VerifyJournal(**store).ok());
  std::vector<Entry> next = {Credited(5, "e", 50)};
  next[0].member_prev = 4;
  EXPECT_TRUE((*store)->Append(next).ok());
  store->reset();
  EXPECT_EQ(ReadRows(path).back().member_prev, 4u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT value FROM loyalty_meta WHERE key = 'schema_version'", -1, &select,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)), "3");
  sqlite3_finalize(select);
  sqlite3_close(db);
}

TEST_F(SqliteJournal, AppendThatCouldNotBeginCanBeRetried) {
  std::string path = Write("busy.db");
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::vector<Entry> batch = {Credited(6, "k6", 600)};
  absl::Status busy = (*store)->Append(batch);
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_FALSE((*store)->FindKey("k6").has_value());
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  batch = {Credited(6, "k6", 600)};
  absl::Status retried = (*store)->Append(batch);
  EXPECT_TRUE(retried.ok()) << retried;
  EXPECT_EQ((*store)->LastSeq(), 6u);
}

TEST_F(SqliteJournal, NormalSynchronousIsAccepted) {
  std::string path = TempPath("normal.db");
  auto store = OpenSqliteStore(path, {.synchronous = SqliteOptions::Synchronous::kNormal});
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<Entry> one = {Credited(1, "a", 1)};
  EXPECT_TRUE((*store)->Append(one).ok());
}

}  // namespace
}  // namespace loyalty
