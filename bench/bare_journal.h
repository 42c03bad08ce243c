// Copies of an SQLite journal as journals were before checkpoints: the
// restart benchmarks open them to measure the open from the first entry.
#ifndef LOYALTY_BENCH_BARE_JOURNAL_H_
#define LOYALTY_BENCH_BARE_JOURNAL_H_

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace loyalty::bench {

// Copies the journal at `from` to `to` (replacing it) and drops the copy's
// checkpoints and its index of idempotency keys on disk. Aborts if it
// cannot (a benchmark set-up failure).
inline void CopyWithoutCheckpoints(const std::string& from, const std::string& to) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(to + suffix);
  std::filesystem::copy_file(from, to);
  sqlite3* db = nullptr;
  sqlite3_open(to.c_str(), &db);
  if (sqlite3_exec(db,
                   "DROP TABLE IF EXISTS loyalty_checkpoints; DROP TABLE IF EXISTS loyalty_checkpoint_parts;"
                   "DROP TABLE IF EXISTS loyalty_keys; DELETE FROM loyalty_meta WHERE key = 'keys_through'",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::abort();
  }
  sqlite3_close(db);
}

}  // namespace loyalty::bench

#endif  // LOYALTY_BENCH_BARE_JOURNAL_H_
