// Test support shared by the store tests (store_test, postgres_store_test):
// a credited entry to append, a scratch SQLite path, and the PostgreSQL
// server that ctest starts through scripts/postgres-test-server (named by
// the LOYALTY_POSTGRES environment variable), and the three more it starts
// for the tests of a sharded program (LOYALTY_SHARD_SERVERS). Failures are reported as
// GoogleTest failures of the calling test. Not thread-safe.
#ifndef LOYALTY_TESTS_STORE_FIXTURE_H_
#define LOYALTY_TESTS_STORE_FIXTURE_H_

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "loyalty/ledger.h"

namespace loyalty {

// Entry `seq` of member M-1 under key `key`: `amount` points credited at
// second `seq` of the Unix epoch, never expiring.
inline Entry Credited(uint64_t seq, const std::string& key, int64_t amount) {
  Entry entry;
  entry.seq = seq;
  entry.member = MemberId::FromValid("M-1");
  entry.business_time = Instant::FromUnixMicros(1'000'000 * static_cast<int64_t>(seq));
  entry.recorded_at = entry.business_time;
  entry.idempotency_key = key;
  entry.version = "v1";
  entry.explanation = "test credit";
  entry.body = entries::Credited{Points(amount), Points(0), Instant::Max(), "test", {}};
  return entry;
}

// `name` in GoogleTest's scratch directory, with any SQLite database left
// there (and its WAL and shared-memory files) removed.
inline std::string TempPath(const std::string& name) {
  std::string path = ::testing::TempDir() + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

// The test server's conninfo. Without LOYALTY_POSTGRES (not run under
// ctest) the test fails and a server that does not exist is named.
inline std::string PostgresConninfo() {
  const char* conninfo = std::getenv("LOYALTY_POSTGRES");
  if (conninfo == nullptr) {
    ADD_FAILURE() << "LOYALTY_POSTGRES is not set: run under ctest, which starts the server";
    return "postgresql:///nonexistent?host=/nonexistent";
  }
  return conninfo;
}

// The three servers of the tests of a sharded program, from
// LOYALTY_SHARD_SERVERS; without it (not run under ctest) the test fails.
inline std::vector<std::string> ShardServers() {
  const char* servers = std::getenv("LOYALTY_SHARD_SERVERS");
  std::vector<std::string> conninfos;
  if (servers != nullptr) conninfos = absl::StrSplit(servers, ' ', absl::SkipEmpty());
  if (conninfos.size() != 3) {
    ADD_FAILURE() << "LOYALTY_SHARD_SERVERS does not name three servers: run under ctest, which starts them";
    conninfos.assign(3, "postgresql:///nonexistent?host=/nonexistent");
  }
  return conninfos;
}

// Runs `sql` on the server of `conninfo`; the test fails if it cannot
// connect or the statement fails.
inline void PostgresSqlOn(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* result = PQexec(conn, sql.c_str());
    EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK)
        << sql << ": " << PQerrorMessage(conn);
    PQclear(result);
  }
  PQfinish(conn);
}

// Runs `sql` on the test server.
inline void PostgresSql(const std::string& sql) { PostgresSqlOn(PostgresConninfo(), sql); }

// Drops the loyalty tables from the test server's database.
inline void DropPostgresJournal() {
  PostgresSql(
      "SET client_min_messages = warning; "
      "DROP TABLE IF EXISTS loyalty_meta, loyalty_head, loyalty_journal, loyalty_keys, loyalty_checkpoints,"
      " loyalty_checkpoint_parts");
}

// The test server's conninfo, its database emptied of loyalty tables.
inline std::string FreshPostgres() {
  DropPostgresJournal();
  return PostgresConninfo();
}

}  // namespace loyalty

#endif  // LOYALTY_TESTS_STORE_FIXTURE_H_
