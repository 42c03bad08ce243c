// The baseline of the PostgreSQL benchmarks: the rows an engine's group
// commit writes for credits (canonical entry bytes and chain hash, one key
// row per credit), written with plain multi-row INSERTs in one
// transaction, without the engine, the chain's head lock or its retries.
#ifndef LOYALTY_BENCH_PLAIN_ROWS_H_
#define LOYALTY_BENCH_PLAIN_ROWS_H_

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "journal/chain.h"
#include "journal/entry_codec.h"
#include "loyalty/ledger.h"

namespace loyalty::bench {

// Runs `sql`; true if it succeeded.
inline bool Sql(PGconn* conn, const std::string& sql) {
  PGresult* result = PQexec(conn, sql.c_str());
  bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
  PQclear(result);
  return ok;
}

// Drops and creates the baseline's two tables.
inline bool CreatePlainTables(PGconn* conn) {
  return Sql(conn,
             "SET client_min_messages = warning; DROP TABLE IF EXISTS bench_rows, bench_keys;"
             "CREATE TABLE bench_rows(seq bigint PRIMARY KEY, entry bytea NOT NULL, hash bytea NOT NULL);"
             "CREATE TABLE bench_keys(key text PRIMARY KEY, first_seq bigint NOT NULL, count integer NOT NULL)");
}

// A credit of `points` to `member` under `key`, as the engine would journal it.
inline Entry CreditEntry(uint64_t seq, MemberId member, std::string key, int64_t points) {
  Entry entry;
  entry.seq = seq;
  entry.member = std::move(member);
  entry.business_time = *Instant::Parse("2011-01-03T09:00:00Z");
  entry.recorded_at = entry.business_time;
  entry.idempotency_key = std::move(key);
  entry.version = "bench-1";
  entry.explanation = "credit";
  entry.body = entries::Credited{Points(points), Points(0), Instant::Max(), "purchase", {}};
  return entry;
}

// Writes `entries` (chained from `*previous`, which it advances) and their
// keys in one transaction; false if it failed.
inline bool InsertPlainRows(PGconn* conn, const std::vector<Entry>& entries, Sha256* previous) {
  std::vector<std::string> seqs, hashes, encoded;
  std::string rows = "INSERT INTO bench_rows(seq, entry, hash) VALUES ";
  std::string key_rows = "INSERT INTO bench_keys(key, first_seq, count) VALUES ";
  std::string bytes;
  for (const Entry& entry : entries) {
    *previous = internal::EncodeAndHash(*previous, entry, &bytes);
    seqs.push_back(std::to_string(entry.seq));
    encoded.push_back(bytes);
    hashes.emplace_back(reinterpret_cast<const char*>(previous->data()), previous->size());
  }
  std::vector<const char*> row_values, key_values;
  std::vector<int> row_lengths, row_formats;
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StrAppend(&rows, i ? "," : "", "($", 3 * i + 1, "::bigint,$", 3 * i + 2, "::bytea,$", 3 * i + 3,
                    "::bytea)");
    absl::StrAppend(&key_rows, i ? "," : "", "($", 2 * i + 1, "::text,$", 2 * i + 2, "::bigint,1)");
    row_values.insert(row_values.end(), {seqs[i].c_str(), encoded[i].data(), hashes[i].data()});
    row_lengths.insert(row_lengths.end(), {0, static_cast<int>(encoded[i].size()), 32});
    row_formats.insert(row_formats.end(), {0, 1, 1});
    key_values.insert(key_values.end(), {entries[i].idempotency_key.c_str(), seqs[i].c_str()});
  }
  bool ok = Sql(conn, "BEGIN");
  PGresult* result = PQexecParams(conn, rows.c_str(), static_cast<int>(row_values.size()), nullptr,
                                  row_values.data(), row_lengths.data(), row_formats.data(), 0);
  ok = ok && PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  result = PQexecParams(conn, key_rows.c_str(), static_cast<int>(key_values.size()), nullptr, key_values.data(),
                        nullptr, nullptr, 0);
  ok = ok && PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  return Sql(conn, ok ? "COMMIT" : "ROLLBACK") && ok;
}

}  // namespace loyalty::bench

#endif  // LOYALTY_BENCH_PLAIN_ROWS_H_
