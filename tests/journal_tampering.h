// Test support: tampering with an SQLite journal on disk the way a forger
// with write access to the file would (raw SQL, rows read and rewritten
// with a recomputed head), for the tests that check such damage is found
// (corruption_test, keyed_journal_test, store_test, audit_test). Not
// thread-safe; one test at a time per database file.
#ifndef LOYALTY_TESTS_JOURNAL_TAMPERING_H_
#define LOYALTY_TESTS_JOURNAL_TAMPERING_H_

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "loyalty/check.h"

namespace loyalty {

// Removes an SQLite database and its WAL, shared-memory and writer-lock
// files, if any.
inline void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) std::filesystem::remove(path + suffix);
}

// Runs `sql` (one or more statements) on the database at `path`, as a
// forger with write access would; Unknown with SQLite's message on failure.
inline absl::Status Sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return absl::UnknownError("open");
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  return rc == SQLITE_OK ? absl::OkStatus() : absl::UnknownError(message);
}

// Drops the checkpoints an engine wrote into the journal at `path`, so that
// the next open reads every entry again (the tests of damage to entries
// that only an entry's reader finds, such as a changed link).
inline absl::Status DropCheckpoints(const std::string& path) {
  return Sql(path, "DROP TABLE IF EXISTS loyalty_checkpoints; DROP TABLE IF EXISTS loyalty_checkpoint_parts; VACUUM;");
}

// One row of the journal table: an encoded entry, its chain hash and its
// link to the member's previous entry.
struct Row {
  uint64_t seq;
  std::string entry;
  std::string hash;
  uint64_t member_prev = 0;
};

// Every row of the journal, by seq. Crashes (a test bug) if the database
// cannot be read.
inline std::vector<Row> ReadRows(const std::string& path) {
  std::vector<Row> rows;
  sqlite3* db = nullptr;
  LOYALTY_CHECK(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  LOYALTY_CHECK(sqlite3_prepare_v2(db, "SELECT seq, entry, hash, member_prev FROM journal ORDER BY seq", -1, &select, nullptr) ==
                SQLITE_OK);
  while (sqlite3_step(select) == SQLITE_ROW) {
    auto blob = [&](int column) {
      return std::string(static_cast<const char*>(sqlite3_column_blob(select, column)),
                         static_cast<size_t>(sqlite3_column_bytes(select, column)));
    };
    rows.push_back({static_cast<uint64_t>(sqlite3_column_int64(select, 0)), blob(1), blob(2),
                    static_cast<uint64_t>(sqlite3_column_int64(select, 3))});
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
  return rows;
}

// Replaces every row of the journal with `rows` and the recorded head with
// `head` ("seq:hex"), in one transaction. Crashes (a test bug) on failure.
inline void WriteRows(const std::string& path, const std::vector<Row>& rows, const std::string& head) {
  sqlite3* db = nullptr;
  LOYALTY_CHECK(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  LOYALTY_CHECK(sqlite3_exec(db, "BEGIN; DELETE FROM journal;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  LOYALTY_CHECK(sqlite3_prepare_v2(db, "INSERT INTO journal(seq, entry, hash, member_prev) VALUES(?, ?, ?, ?)", -1, &insert,
                                   nullptr) == SQLITE_OK);
  for (const Row& row : rows) {
    sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(row.seq));
    sqlite3_bind_blob(insert, 2, row.entry.data(), static_cast<int>(row.entry.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert, 3, row.hash.data(), static_cast<int>(row.hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 4, static_cast<sqlite3_int64>(row.member_prev));
    LOYALTY_CHECK(sqlite3_step(insert) == SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_stmt* update = nullptr;
  LOYALTY_CHECK(sqlite3_prepare_v2(db, "UPDATE loyalty_meta SET value = ? WHERE key = 'head'", -1, &update,
                                   nullptr) == SQLITE_OK);
  sqlite3_bind_text(update, 1, head.data(), static_cast<int>(head.size()), SQLITE_TRANSIENT);
  LOYALTY_CHECK(sqlite3_step(update) == SQLITE_DONE);
  sqlite3_finalize(update);
  LOYALTY_CHECK(sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace loyalty

#endif  // LOYALTY_TESTS_JOURNAL_TAMPERING_H_
