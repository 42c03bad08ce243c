// PostgresStore: the journal in a PostgreSQL database that many engine
// instances (processes, servers) share. libpq stays private to this file.
//
// Schema (version 2, created and migrated by Open under an advisory lock):
//   loyalty_meta(key PRIMARY KEY, value): format = "loyalty-journal",
//     schema_version.
//   loyalty_head(singleton PRIMARY KEY, seq, hash): one row, the last
//     entry's seq and chain hash. Every append locks it (SELECT ... FOR
//     UPDATE), so appends from all instances are serialized into one global
//     chain, and an append whose batch was decided before the head moved is
//     refused (Aborted): optimistic concurrency on the head seq. A writer
//     overtaken again and again takes a turn (an advisory lock that holds
//     the others' appends back) so that it cannot starve.
//   loyalty_journal(seq PRIMARY KEY, entry, hash, member_prev): canonical
//     bytes, hash, and the seq of the member's previous entry
//     (Entry::member_prev; outside the chain, checked by the engine as it
//     reads the journal). Version 1 had no member_prev; the migration to 2
//     adds it and fills it from the entries.
//   loyalty_keys(key PRIMARY KEY, first_seq, count): one row per command,
//     so that an idempotency key is unique across every instance.
//   loyalty_checkpoints(seq PRIMARY KEY, head_hash, digest, parts) and
//   loyalty_checkpoint_parts(seq, part, bytes): projection checkpoints,
//     created by the first one saved (outside the schema version, so that
//     a library that predates them still reads the journal).
//
// With PostgresOptions::schema, these tables live in that schema (the
// session's search_path names it alone) and the advisory locks take the
// two-int form (kind, hash of the schema), so that journals in different
// schemas of one database are independent.
//
// Each instance keeps, like the SQLite store, an in-memory index of keys and
// its view of the head (LastSeq, HeadHash): the entries it has read. Read
// and Get never go past that view; CatchUp moves it forward. Its open starts
// at the latest checkpoint: it checks that entry's hash against the one the
// checkpoint recorded, loads the keys of the commands up to it from
// loyalty_keys, and reads and verifies only the entries after it.
#include <endian.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "journal/chain.h"
#include "store/key_index.h"
#include "journal/entry_codec.h"
#include "loyalty/check.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

constexpr int kSchemaVersion = 2;
constexpr absl::string_view kFormat = "loyalty-journal";
// Serializes schema creation and migration between instances opening at once.
constexpr int64_t kMigrationLock = 0x6c6f79616c7479;  // "loyalty"
// Writers' turns: every append holds it shared for its transaction, a
// writer's turn (WaitForTurn) holds it exclusive for its session.
constexpr int64_t kTurnLock = 0x6c6f79616c7475;
// Serializes the writing and deleting of checkpoints between instances.
constexpr int64_t kCheckpointLock = 0x6c6f79616c7463;
// Keys read per FETCH when loading or reading the index of keys.
constexpr int kKeyChunk = 65536;
// Entries read per query when loading or catching up.
constexpr int kReadChunk = 5000;
// Rows per INSERT or UPDATE statement (at most 4 parameters each; libpq
// allows 65535).
constexpr size_t kInsertChunk = 2000;
// Recently appended or read entries kept in memory, so that the engine's
// rebuild of a member after a refused batch does not query each entry.
constexpr size_t kRecentEntries = 1 << 16;

// SQL that creates schema version N from version N - 1 (index 0: from an
// empty database). A later schema adds a step; Open applies the missing ones.
const char* const kMigrations[] = {
    "CREATE TABLE loyalty_meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE loyalty_head(singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
    "  seq bigint NOT NULL, hash bytea NOT NULL);"
    "CREATE TABLE loyalty_journal(seq bigint PRIMARY KEY, entry bytea NOT NULL, hash bytea NOT NULL);"
    "CREATE TABLE loyalty_keys(key text PRIMARY KEY, first_seq bigint NOT NULL, count integer NOT NULL);"
    "INSERT INTO loyalty_head(seq, hash) VALUES (0, '\\x0000000000000000000000000000000000000000000000000000000000000000');"
    "INSERT INTO loyalty_meta VALUES ('format', 'loyalty-journal');",
    // Filled by LinkMembers.
    "ALTER TABLE loyalty_journal ADD COLUMN member_prev bigint NOT NULL DEFAULT 0;",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

uint64_t BigEndian64(const char* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, sizeof value);
  return be64toh(value);
}

class PostgresStore final : public Store {
 public:
  ~PostgresStore() override {
    if (conn_ != nullptr) PQfinish(conn_);
  }

  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& conninfo, const PostgresOptions& options) {
    if (absl::Status valid = CheckSchemaName(options.schema); !valid.ok()) return valid;
    auto store = std::unique_ptr<PostgresStore>(new PostgresStore());
    store->schema_ = options.schema;
    store->schema_lock_key_ = SchemaLockKey(options.schema);
    store->read_only_ = options.read_only;
    if (absl::Status status = store->Init(conninfo); !status.ok()) return status;
    return std::unique_ptr<Store>(std::move(store));
  }

  absl::Status Append(std::span<Entry> batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (read_only_) return ReadOnlyError();
    if (batch.empty()) return absl::OkStatus();
    for (size_t i = 0; i < batch.size(); ++i) LOYALTY_CHECK(batch[i].seq == last_seq_ + 1 + i);
    if (absl::Status keys = keys_.Add(batch); !keys.ok()) return keys;
    ReconnectIfLost();
    // The turn lock first, then the head row (as WaitForTurn, which holds
    // the first while it catches up): one order, no deadlock.
    absl::Status status = Exec(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock_shared(", LockKey(kTurnLock), ")").c_str());
    if (status.ok()) {
      status = AppendInTransaction(batch);
      if (status.ok()) status = Exec("COMMIT");
      // Nothing was committed; the entries' hashes are stale, the view is not.
      if (!status.ok() && PQtransactionStatus(conn_) != PQTRANS_IDLE) Exec("ROLLBACK").IgnoreError();
    }
    if (!status.ok()) {
      keys_.Remove(batch);
      return status;
    }
    for (size_t i = 0; i < batch.size(); ++i) Remember(std::move(encoded_[i]), batch[i]);
    head_ = batch.back().hash;
    last_seq_ = batch.back().seq;
    return absl::OkStatus();
  }

  absl::Status CatchUp(absl::FunctionRef<absl::Status(const Entry&)> visit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ReadNewLocked(visit);
  }

  bool Shared() const override { return true; }

  absl::Status SaveCheckpoint(const CheckpointInfo& info,
                              absl::FunctionRef<bool(std::string* part)> next_part) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (read_only_) return ReadOnlyError();
    if (info.seq == 0 || info.seq > last_seq_) {
      return absl::InvalidArgumentError(absl::StrCat("postgres journal: a checkpoint at entry ", info.seq,
                                                     " lies past the entries this instance has read (", last_seq_,
                                                     ")"));
    }
    ReconnectIfLost();
    return InTransaction(
        absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", LockKey(kCheckpointLock),
                     ");"
                     "CREATE TABLE IF NOT EXISTS loyalty_checkpoints(seq bigint PRIMARY KEY, head_hash bytea NOT NULL,"
                     " digest bytea NOT NULL, parts bigint NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS loyalty_checkpoint_parts(seq bigint NOT NULL, part bigint NOT NULL,"
                     " bytes bytea NOT NULL, PRIMARY KEY(seq, part))"),
        [&] { return WriteCheckpointLocked(info, next_part); });
  }

  // The checkpoints up to the entries this instance has read: another
  // instance may have saved one past them.
  absl::StatusOr<std::vector<CheckpointInfo>> Checkpoints() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    ReconnectIfLost();
    auto all = CheckpointsLocked();
    if (!all.ok()) return all.status();
    std::erase_if(*all, [&](const CheckpointInfo& info) { return info.seq > last_seq_; });
    return all;
  }

  absl::Status ReadCheckpoint(uint64_t seq,
                              absl::FunctionRef<absl::Status(absl::string_view part)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    ReconnectIfLost();
    return InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&]() -> absl::Status {
      auto all = CheckpointsLocked();
      if (!all.ok()) return all.status();
      auto it = std::find_if(all->begin(), all->end(), [&](const CheckpointInfo& info) { return info.seq == seq; });
      if (it == all->end()) return absl::NotFoundError(absl::StrCat("no checkpoint at entry ", seq));
      const std::string at = std::to_string(seq);
      for (uint64_t part = 0; part < it->parts; ++part) {
        const std::string number = std::to_string(part);
        absl::Status error;
        Result row = Query("read a checkpoint part",
                           "SELECT bytes FROM loyalty_checkpoint_parts WHERE seq = $1::bigint AND part = $2::bigint",
                           {at.c_str(), number.c_str()}, {0, 0}, {0, 0}, &error);
        if (!error.ok()) return error;
        if (PQntuples(row.get()) != 1) {
          return absl::DataLossError(
              absl::StrCat("postgres journal: checkpoint at entry ", seq, " misses part ", part));
        }
        absl::string_view bytes(PQgetvalue(row.get(), 0, 0), static_cast<size_t>(PQgetlength(row.get(), 0, 0)));
        if (absl::Status visited = visit(bytes); !visited.ok()) return visited;
      }
      return absl::OkStatus();
    });
  }

  absl::Status DeleteCheckpoint(uint64_t seq) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (read_only_) return ReadOnlyError();
    ReconnectIfLost();
    if (!HasTableLocked("loyalty_checkpoints")) return absl::OkStatus();
    const std::string at = std::to_string(seq);
    return InTransaction(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", LockKey(kCheckpointLock), ")"),
                         [&]() -> absl::Status {
                           absl::Status error;
                           Query("delete a checkpoint",
                                 "DELETE FROM loyalty_checkpoints WHERE seq = $1::bigint",
                                 {at.c_str()}, {0}, {0}, &error);
                           if (!error.ok()) return error;
                           Query("delete a checkpoint's parts",
                                 "DELETE FROM loyalty_checkpoint_parts WHERE seq = $1::bigint",
                                 {at.c_str()}, {0}, {0}, &error);
                           return error;
                         });
  }

  // Every command recorded in loyalty_keys, which holds them all, up to
  // the entries this instance has read.
  absl::Status ReadKeyIndex(
      uint64_t* through,
      absl::FunctionRef<absl::Status(absl::string_view key, const KeyRecord& record)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    *through = last_seq_;
    ReconnectIfLost();
    return InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                         [&] { return VisitKeysLocked(last_seq_, visit); });
  }

  // A session-level exclusive lock: granted once the appends in progress
  // have committed; PostgreSQL queues later appends behind it. A lost
  // connection releases it.
  absl::Status WaitForTurn() override {
    std::lock_guard<std::mutex> lock(mutex_);
    ReconnectIfLost();
    return Exec(absl::StrCat("SELECT pg_advisory_lock(", LockKey(kTurnLock), ")").c_str());
  }

  void EndTurn() override {
    std::lock_guard<std::mutex> lock(mutex_);
    Exec(absl::StrCat("SELECT pg_advisory_unlock(", LockKey(kTurnLock), ")").c_str()).IgnoreError();
  }

  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    uint64_t next = std::max<uint64_t>(from, 1);
    for (;;) {
      std::vector<Entry> chunk;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (next > last_seq_) return absl::OkStatus();
        uint64_t to = std::min<uint64_t>(last_seq_, next + kReadChunk - 1);
        ReconnectIfLost();
        if (absl::Status read = SelectLocked(next, to, [&](const Entry& entry) {
              chunk.push_back(entry);
              return absl::OkStatus();
            });
            !read.ok()) {
          return read;
        }
        if (chunk.size() != to - next + 1) {
          return absl::DataLossError(absl::StrCat("postgres journal: entries ", next, " to ", to, ": ",
                                                  to - next + 1 - chunk.size(), " missing"));
        }
        next = to + 1;
      }
      for (const Entry& entry : chunk) {
        if (absl::Status status = visit(entry); !status.ok()) return status;
      }
    }
  }

  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (seq == 0 || seq > last_seq_) return absl::NotFoundError(absl::StrCat("no journal entry ", seq));
    if (seq + recent_.size() > last_seq_) {
      const Recent& recent = recent_[recent_.size() - 1 - (last_seq_ - seq)];
      auto entry = internal::DecodeEntry(recent.bytes);
      LOYALTY_CHECK(entry.ok());  // bytes this store verified or encoded
      entry->hash = recent.hash;
      entry->member_prev = recent.member_prev;
      return entry;
    }
    std::optional<Entry> found;
    ReconnectIfLost();
    absl::Status status = SelectLocked(seq, seq, [&](const Entry& entry) {
      found = entry;
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (!found) return absl::DataLossError(absl::StrCat("postgres journal: entry ", seq, ": missing"));
    return *std::move(found);
  }

  std::optional<KeyRecord> FindKey(absl::string_view key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return keys_.Find(key);
  }

  uint64_t LastSeq() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_seq_;
  }

  Sha256 HeadHash() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return head_;
  }

 private:
  struct Recent {
    std::string bytes;
    Sha256 hash;
    uint64_t member_prev;
  };

  PostgresStore() = default;

  // After a lost connection (server restart, network), connects again
  // before the next transaction; never inside one. If a COMMIT was lost
  // with the connection, the append may have landed: the next append then
  // finds the head advanced (Aborted) and CatchUp reads the entries back.
  void ReconnectIfLost() const {
    if (PQstatus(conn_) != CONNECTION_BAD) return;
    PQreset(conn_);
    if (PQstatus(conn_) == CONNECTION_OK) UseSchema().IgnoreError();  // else the next query fails
  }

  // A schema name this store accepts: lower-case letters, digits and
  // underscores, not starting with a digit, at most 63 bytes (so that it
  // needs no quoting in SQL).
  static absl::Status CheckSchemaName(const std::string& schema) {
    if (schema.empty()) return absl::OkStatus();
    bool valid = schema.size() <= 63 && !absl::ascii_isdigit(static_cast<unsigned char>(schema[0]));
    for (char c : schema) valid = valid && (absl::ascii_islower(static_cast<unsigned char>(c)) ||
                                            absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_');
    if (valid) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("postgres journal: schema \"", schema,
                                                   "\": use lower-case letters, digits and _, at most 63, not"
                                                   " starting with a digit"));
  }

  // Makes the session read and write the tables of schema_ (if set) and
  // nothing else; temporary until the schema exists.
  absl::Status UseSchema() const {
    if (schema_.empty()) return absl::OkStatus();
    return Exec(absl::StrCat("SET search_path TO ", schema_).c_str());
  }

  // The key of an advisory lock of `kind`: the bigint `kind` itself for the
  // tables of the default schema; for a schema of their own, the two-int
  // key (kind, the schema's hash), so that journals in different schemas of
  // one database do not wait for each other.
  std::string LockKey(int64_t kind) const {
    if (schema_.empty()) return std::to_string(kind);
    return absl::StrCat(static_cast<int32_t>(kind & 0x7fffffff), ", ", schema_lock_key_);
  }

  // The second key of this schema's advisory locks: the first 4 bytes of
  // the SHA-256 of its name.
  static int32_t SchemaLockKey(const std::string& schema) {
    const Sha256 hash = internal::Sha256Of(schema);
    int32_t key;
    std::memcpy(&key, hash.data(), sizeof key);
    return key;
  }

  // Unavailable with the server's message, or DataLoss / AlreadyExists for
  // the SQLSTATEs that mean them.
  absl::Status Error(absl::string_view doing, const PGresult* result) const {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    std::string text = absl::StrCat("postgres journal: ", doing, ": ", message);
    if (state != nullptr && std::strcmp(state, "23505") == 0) {  // unique_violation
      return absl::AlreadyExistsError(text);
    }
    if (state != nullptr && std::strcmp(state, "XX001") == 0) return absl::DataLossError(text);  // data_corrupted
    return absl::UnavailableError(text);
  }

  // Runs `sql` (no parameters) and expects no rows or a result set.
  absl::Status Exec(const char* sql) const {
    Result result(PQexec(conn_, sql), &PQclear);
    ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Error(sql, result.get());
    return absl::OkStatus();
  }

  // Runs `sql` with text parameters (binary where `binary[i]`), binary
  // results. Null on error, with the status in *error.
  Result Query(absl::string_view doing, const std::string& sql, const std::vector<const char*>& values,
               const std::vector<int>& lengths, const std::vector<int>& formats, absl::Status* error) const {
    Result result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), /*resultFormat=*/1),
                  &PQclear);
    ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      *error = Error(doing, result.get());
      return Result(nullptr, &PQclear);
    }
    *error = absl::OkStatus();
    return result;
  }

  absl::Status Init(const std::string& conninfo) {
    conn_ = PQconnectdb(conninfo.c_str());
    if (conn_ == nullptr) return absl::UnavailableError("postgres journal: out of memory connecting");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = PQerrorMessage(conn_);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return absl::UnavailableError(absl::StrCat("postgres journal: cannot connect: ", message));
    }
    if (absl::Status s = Exec("SET client_min_messages = warning"); !s.ok()) return s;
    if (absl::Status s = UseSchema(); !s.ok()) return s;
    if (absl::Status s = read_only_ ? CheckReadable() : Migrate(); !s.ok()) return s;
    std::lock_guard<std::mutex> lock(mutex_);
    if (absl::Status s = AnchorLocked(); !s.ok()) return s;
    return ReadNewLocked([](const Entry&) { return absl::OkStatus(); });
  }

  // Runs `begin` (which opens a transaction), then `body`, then COMMIT; on
  // any error rolls back and returns it. Caller holds mutex_.
  absl::Status InTransaction(const std::string& begin, absl::FunctionRef<absl::Status()> body) const {
    absl::Status status = Exec(begin.c_str());
    if (status.ok()) status = body();
    if (status.ok()) return Exec("COMMIT");
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) Exec("ROLLBACK").IgnoreError();
    return status;
  }

  // Whether the database holds table `name`. Caller holds mutex_.
  bool HasTableLocked(const char* name) const {
    absl::Status error;
    Result exists = Query("look for a table", "SELECT to_regclass($1::text) IS NOT NULL", {name}, {0}, {0}, &error);
    return error.ok() && PQntuples(exists.get()) == 1 && *PQgetvalue(exists.get(), 0, 0) != 0;
  }

  // Every checkpoint recorded, by ascending seq. Caller holds mutex_.
  absl::StatusOr<std::vector<CheckpointInfo>> CheckpointsLocked() const {
    std::vector<CheckpointInfo> out;
    if (!HasTableLocked("loyalty_checkpoints")) return out;
    absl::Status error;
    Result rows = Query("read the checkpoints", "SELECT seq, head_hash, digest, parts FROM loyalty_checkpoints ORDER BY seq",
                        {}, {}, {}, &error);
    if (!error.ok()) return error;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      CheckpointInfo info;
      info.seq = BigEndian64(PQgetvalue(rows.get(), row, 0));
      info.parts = BigEndian64(PQgetvalue(rows.get(), row, 3));
      if (!ColumnHash(rows.get(), row, 1, &info.head_hash) || !ColumnHash(rows.get(), row, 2, &info.digest)) {
        return absl::DataLossError(
            absl::StrCat("postgres journal: checkpoint at entry ", info.seq, " has a malformed hash"));
      }
      out.push_back(info);
    }
    return out;
  }

  // Copies a 32-byte bytea column into *hash; false if it is not 32 bytes.
  static bool ColumnHash(const PGresult* rows, int row, int column, Sha256* hash) {
    if (PQgetisnull(rows, row, column) || PQgetlength(rows, row, column) != static_cast<int>(hash->size())) return false;
    std::memcpy(hash->data(), PQgetvalue(rows, row, column), hash->size());
    return true;
  }

  // Writes checkpoint `info` and its parts in the transaction the caller
  // began, replacing one at the same seq. Caller holds mutex_.
  absl::Status WriteCheckpointLocked(const CheckpointInfo& info, absl::FunctionRef<bool(std::string*)> next_part) {
    const std::string at = std::to_string(info.seq);
    absl::Status error;
    Query("clear a checkpoint", "DELETE FROM loyalty_checkpoint_parts WHERE seq = $1::bigint", {at.c_str()}, {0}, {0},
          &error);
    if (!error.ok()) return error;
    uint64_t parts = 0;
    for (std::string part; next_part(&part); ++parts) {
      const std::string number = std::to_string(parts);
      Query("write a checkpoint part", "INSERT INTO loyalty_checkpoint_parts VALUES ($1::bigint, $2::bigint, $3::bytea)",
            {at.c_str(), number.c_str(), part.data()}, {0, 0, static_cast<int>(part.size())}, {0, 0, 1}, &error);
      if (!error.ok()) return error;
    }
    if (parts != info.parts) return absl::InvalidArgumentError("the checkpoint's parts are not as many as it says");
    const std::string count = std::to_string(parts);
    Query("write a checkpoint",
          "INSERT INTO loyalty_checkpoints VALUES ($1::bigint, $2::bytea, $3::bytea, $4::bigint) ON CONFLICT (seq)"
          " DO UPDATE SET head_hash = excluded.head_hash, digest = excluded.digest, parts = excluded.parts",
          {at.c_str(), reinterpret_cast<const char*>(info.head_hash.data()),
           reinterpret_cast<const char*>(info.digest.data()), count.c_str()},
          {0, static_cast<int>(info.head_hash.size()), static_cast<int>(info.digest.size()), 0}, {0, 1, 1, 0}, &error);
    return error;
  }

  // Starts this instance's view at the latest checkpoint, if the journal
  // has one: checks that the entry there carries the hash the checkpoint
  // recorded and loads the keys of the commands up to it. The entries
  // before it are not read (loyalty verify reads them). Caller holds mutex_.
  absl::Status AnchorLocked() {
    return InTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [&]() -> absl::Status {
      auto checkpoints = CheckpointsLocked();
      if (!checkpoints.ok()) return checkpoints.status();
      if (checkpoints->empty()) return absl::OkStatus();
      const CheckpointInfo& latest = checkpoints->back();
      const std::string at = std::to_string(latest.seq);
      absl::Status error;
      Result row = Query("read the checkpoint's entry",
                         "SELECT hash, (SELECT seq FROM loyalty_head) FROM loyalty_journal WHERE seq = $1::bigint",
                         {at.c_str()}, {0}, {0}, &error);
      if (!error.ok()) return error;
      Sha256 hash;
      if (PQntuples(row.get()) != 1 || BigEndian64(PQgetvalue(row.get(), 0, 1)) < latest.seq) {
        return absl::DataLossError(absl::StrCat("postgres journal: it ends before entry ", latest.seq,
                                                ", where it has a checkpoint (cut back or rewritten)"));
      }
      if (!ColumnHash(row.get(), 0, 0, &hash) || hash != latest.head_hash) {
        return absl::DataLossError(absl::StrCat("postgres journal: entry ", latest.seq,
                                                ": its hash is not the one its checkpoint recorded"));
      }
      absl::Status loaded = VisitKeysLocked(latest.seq, [&](absl::string_view key, const KeyRecord& record) {
        absl::Status added = keys_.AddRecord(key, record);
        if (added.ok()) return added;
        return absl::DataLossError(absl::StrCat("postgres journal: the key index: ", added.message()));
      });
      if (!loaded.ok()) return loaded;
      last_seq_ = latest.seq;
      head_ = latest.head_hash;
      return absl::OkStatus();
    });
  }

  // Calls `visit` with each command of loyalty_keys whose entries lie up
  // to `through`, in no particular order, read in chunks through a cursor
  // in the transaction the caller began. DataLoss for a row that cannot
  // be a command's (no entries, or entries past `through`); the first
  // error of `visit` as it is. Caller holds mutex_.
  absl::Status VisitKeysLocked(uint64_t through,
                               absl::FunctionRef<absl::Status(absl::string_view, const KeyRecord&)> visit) const {
    const std::string limit = std::to_string(through);
    absl::Status error;
    Query("read the keys",
          "DECLARE loyalty_key_rows NO SCROLL CURSOR FOR SELECT key, first_seq, count FROM loyalty_keys"
          " WHERE first_seq <= $1::bigint",
          {limit.c_str()}, {0}, {0}, &error);
    if (!error.ok()) return error;
    const std::string fetch = absl::StrCat("FETCH ", kKeyChunk, " FROM loyalty_key_rows");
    for (;;) {
      Result rows = Query("read the keys", fetch, {}, {}, {}, &error);
      if (!error.ok()) return error;
      const int n = PQntuples(rows.get());
      for (int row = 0; row < n; ++row) {
        absl::string_view key(PQgetvalue(rows.get(), row, 0), static_cast<size_t>(PQgetlength(rows.get(), row, 0)));
        uint32_t count;
        std::memcpy(&count, PQgetvalue(rows.get(), row, 2), sizeof count);
        const KeyRecord record{BigEndian64(PQgetvalue(rows.get(), row, 1)), be32toh(count)};
        if (record.first == 0 || record.count == 0 || record.count > through - record.first + 1) {
          return absl::DataLossError(absl::StrCat("postgres journal: the key index names entries ", record.first,
                                                  " to ", record.first + record.count - 1, " for key \"", key,
                                                  "\", which cannot be that command's"));
        }
        if (absl::Status visited = visit(key, record); !visited.ok()) return visited;
      }
      if (n < kKeyChunk) return Exec("CLOSE loyalty_key_rows");
    }
  }

  // The schema version recorded in loyalty_meta (0: no journal here yet).
  absl::StatusOr<int> RecordedVersion() const {
    absl::Status error;
    Result tables = Query("read schema",
                          "SELECT to_regclass('loyalty_meta') IS NOT NULL, to_regclass('loyalty_journal') IS NOT NULL,"
                          " to_regclass('loyalty_head') IS NOT NULL",
                          {}, {}, {}, &error);
    if (!error.ok()) return error;
    bool meta = *PQgetvalue(tables.get(), 0, 0) != 0;
    if (!meta) {
      if (*PQgetvalue(tables.get(), 0, 1) != 0 || *PQgetvalue(tables.get(), 0, 2) != 0) {
        return absl::FailedPreconditionError(
            "postgres journal: the database holds a loyalty_journal or loyalty_head table but no loyalty_meta:"
            " not a loyalty journal");
      }
      return 0;
    }
    Result rows = Query("read loyalty_meta",
                        "SELECT (SELECT value FROM loyalty_meta WHERE key = 'format'),"
                        " (SELECT value FROM loyalty_meta WHERE key = 'schema_version')",
                        {}, {}, {}, &error);
    if (!error.ok()) return error;
    if (PQgetisnull(rows.get(), 0, 0) || std::string(PQgetvalue(rows.get(), 0, 0)) != kFormat) {
      return absl::FailedPreconditionError(
          "postgres journal: loyalty_meta has no loyalty-journal format: not a loyalty journal");
    }
    int version = 0;
    if (PQgetisnull(rows.get(), 0, 1) || !absl::SimpleAtoi(PQgetvalue(rows.get(), 0, 1), &version) ||
        version < 1) {
      return absl::FailedPreconditionError("postgres journal: loyalty_meta.schema_version is missing or not a number");
    }
    return version;
  }

  // For a reader: the session cannot write, and the journal exists in the
  // version this library writes (only a writer migrates).
  absl::Status CheckReadable() {
    if (absl::Status s = Exec("SET default_transaction_read_only = on"); !s.ok()) return s;
    auto version = RecordedVersion();
    if (!version.ok()) return version.status();
    const std::string where = schema_.empty() ? "the database" : absl::StrCat("schema ", schema_);
    if (*version == 0) return absl::NotFoundError(absl::StrCat("postgres journal: ", where, " holds no journal"));
    if (*version != kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("postgres journal: ", where, " holds schema version ", *version,
                                                        ", not ", kSchemaVersion,
                                                        ": open it once to write, which migrates it"));
    }
    return absl::OkStatus();
  }

  absl::Status ReadOnlyError() const {
    return absl::FailedPreconditionError(absl::StrCat(
        "postgres journal", schema_.empty() ? "" : absl::StrCat(" in schema ", schema_), " is opened read-only"));
  }

  // Creates or upgrades the schema in one transaction, under an advisory
  // lock so that instances opening at once do it only once.
  absl::Status Migrate() {
    if (absl::Status s = Exec("BEGIN"); !s.ok()) return s;
    absl::Status status = [&]() -> absl::Status {
      if (absl::Status s = Exec(absl::StrCat("SELECT pg_advisory_xact_lock(", LockKey(kMigrationLock), ")").c_str());
          !s.ok()) {
        return s;
      }
      if (!schema_.empty()) {
        if (absl::Status s = Exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", schema_).c_str()); !s.ok()) return s;
      }
      auto version = RecordedVersion();
      if (!version.ok()) return version.status();
      if (*version > kSchemaVersion) {
        return absl::FailedPreconditionError(absl::StrCat("postgres journal: schema version ", *version,
                                                          " is newer than the version ", kSchemaVersion,
                                                          " this library reads (written by a newer version?)"));
      }
      for (int step = *version; step < kSchemaVersion; ++step) {
        if (absl::Status s = Exec(kMigrations[step]); !s.ok()) return s;
      }
      if (*version == 1) {
        if (absl::Status s = LinkMembers(); !s.ok()) return s;
      }
      if (*version == kSchemaVersion) return absl::OkStatus();
      return Exec(absl::StrCat("INSERT INTO loyalty_meta VALUES ('schema_version', '", kSchemaVersion,
                               "') ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                      .c_str());
    }();
    if (status.ok()) status = Exec("COMMIT");
    if (!status.ok() && PQtransactionStatus(conn_) != PQTRANS_IDLE) Exec("ROLLBACK").IgnoreError();
    return status;
  }

  // Fills loyalty_journal.member_prev of a journal written before it
  // existed (in Migrate's transaction): each entry's link to its member's
  // previous entry, found by reading every entry.
  absl::Status LinkMembers() {
    std::vector<std::pair<std::string, std::string>> links;  // (seq, member_prev) where not 0
    internal::MemberLinks members;
    for (uint64_t from = 1;; from += kReadChunk) {
      size_t read = 0;
      absl::Status status = SelectLocked(from, from + kReadChunk - 1, [&](const Entry& entry) {
        ++read;
        if (uint64_t link = members.Next(entry); link != 0) {
          links.emplace_back(std::to_string(entry.seq), std::to_string(link));
        }
        return absl::OkStatus();
      });
      if (!status.ok()) return status;
      if (read == 0) break;
    }
    for (size_t begin = 0; begin < links.size(); begin += kInsertChunk) {
      size_t end = std::min(links.size(), begin + kInsertChunk);
      std::string sql = "UPDATE loyalty_journal AS j SET member_prev = v.prev FROM (VALUES ";
      std::vector<const char*> values;
      for (size_t i = begin; i < end; ++i) {
        absl::StrAppend(&sql, i == begin ? "" : ",", "($", values.size() + 1, "::bigint,$", values.size() + 2,
                        "::bigint)");
        values.insert(values.end(), {links[i].first.c_str(), links[i].second.c_str()});
      }
      absl::StrAppend(&sql, ") AS v(seq, prev) WHERE j.seq = v.seq");
      absl::Status error;
      Query("link the entries of each member", sql, values, std::vector<int>(values.size(), 0),
            std::vector<int>(values.size(), 0), &error);
      if (!error.ok()) return error;
    }
    return absl::OkStatus();
  }

  // Locks the head row, checks that this store has read up to it, and
  // inserts the batch, its keys and the new head. Caller holds mutex_ and
  // has begun a transaction.
  absl::Status AppendInTransaction(std::span<Entry> batch) {
    absl::Status error;
    Result head = Query("lock the head", "SELECT seq FROM loyalty_head FOR UPDATE", {}, {}, {}, &error);
    if (!error.ok()) return error;
    if (PQntuples(head.get()) != 1) return absl::DataLossError("postgres journal: loyalty_head has no row");
    uint64_t head_seq = BigEndian64(PQgetvalue(head.get(), 0, 0));
    if (head_seq != last_seq_) {
      return absl::AbortedError(absl::StrCat("postgres journal: another writer advanced the journal to entry ",
                                             head_seq, "; this instance has read up to entry ", last_seq_,
                                             ": catch up and decide again"));
    }
    // Encode and chain.
    encoded_.resize(batch.size());
    Sha256 previous = head_;
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].hash = internal::EncodeAndHash(previous, batch[i], &encoded_[i]);
      previous = batch[i].hash;
    }
    std::vector<std::string> seqs(batch.size()), prevs(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      seqs[i] = std::to_string(batch[i].seq);
      prevs[i] = std::to_string(batch[i].member_prev);
    }
    for (size_t begin = 0; begin < batch.size(); begin += kInsertChunk) {
      size_t end = std::min(batch.size(), begin + kInsertChunk);
      std::string sql = "INSERT INTO loyalty_journal(seq, entry, hash, member_prev) VALUES ";
      std::vector<const char*> values;
      std::vector<int> lengths, formats;
      for (size_t i = begin; i < end; ++i) {
        size_t n = values.size();
        absl::StrAppend(&sql, i == begin ? "" : ",", "($", n + 1, "::bigint,$", n + 2, "::bytea,$", n + 3,
                        "::bytea,$", n + 4, "::bigint)");
        values.insert(values.end(), {seqs[i].c_str(), encoded_[i].data(),
                                     reinterpret_cast<const char*>(batch[i].hash.data()), prevs[i].c_str()});
        lengths.insert(lengths.end(),
                       {0, static_cast<int>(encoded_[i].size()), static_cast<int>(batch[i].hash.size()), 0});
        formats.insert(formats.end(), {0, 1, 1, 0});
      }
      Query("append entries", sql, values, lengths, formats, &error);
      if (!error.ok()) return error;
    }
    // One key row per command: a run of adjacent entries sharing a key.
    std::vector<std::pair<size_t, size_t>> commands;  // [begin, end) in batch
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i == 0 || batch[i].idempotency_key != batch[i - 1].idempotency_key) commands.push_back({i, i});
      commands.back().second = i + 1;
    }
    std::vector<std::string> counts(commands.size());
    for (size_t c = 0; c < commands.size(); ++c) counts[c] = std::to_string(commands[c].second - commands[c].first);
    for (size_t begin = 0; begin < commands.size(); begin += kInsertChunk) {
      size_t end = std::min(commands.size(), begin + kInsertChunk);
      std::string sql = "INSERT INTO loyalty_keys(key, first_seq, count) VALUES ";
      std::vector<const char*> values;
      std::vector<int> lengths, formats;
      for (size_t c = begin; c < end; ++c) {
        size_t n = values.size();
        const Entry& first = batch[commands[c].first];
        absl::StrAppend(&sql, c == begin ? "" : ",", "($", n + 1, "::text,$", n + 2, "::bigint,$", n + 3,
                        "::integer)");
        values.insert(values.end(), {first.idempotency_key.c_str(), seqs[commands[c].first].c_str(),
                                     counts[c].c_str()});
        lengths.insert(lengths.end(), {0, 0, 0});
        formats.insert(formats.end(), {0, 0, 0});
      }
      Query("record idempotency keys", sql, values, lengths, formats, &error);
      if (!error.ok()) return error;
    }
    const std::string& last = seqs.back();
    Query("advance the head", "UPDATE loyalty_head SET seq = $1::bigint, hash = $2::bytea",
          {last.c_str(), reinterpret_cast<const char*>(previous.data())}, {0, static_cast<int>(previous.size())},
          {0, 1}, &error);
    return error;
  }

  // Visits the rows with seq in [from, to] in order, decoded, checking that
  // each row holds its own entry. Caller holds mutex_.
  absl::Status SelectLocked(uint64_t from, uint64_t to, absl::FunctionRef<absl::Status(const Entry&)> visit) const {
    std::string low = std::to_string(from), high = std::to_string(std::min<uint64_t>(to, INT64_MAX));
    absl::Status error;
    Result rows = Query("read the journal",
                        "SELECT seq, entry, hash, member_prev FROM loyalty_journal"
                        " WHERE seq >= $1::bigint AND seq <= $2::bigint"
                        " ORDER BY seq",
                        {low.c_str(), high.c_str()}, {0, 0}, {0, 0}, &error);
    if (!error.ok()) return error;
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      uint64_t seq = BigEndian64(PQgetvalue(rows.get(), row, 0));
      absl::string_view bytes(PQgetvalue(rows.get(), row, 1), static_cast<size_t>(PQgetlength(rows.get(), row, 1)));
      auto entry = internal::DecodeEntry(bytes);
      if (!entry.ok()) {
        return absl::DataLossError(absl::StrCat("postgres journal: entry ", seq, ": ", entry.status().message()));
      }
      if (entry->seq != seq) {
        return absl::DataLossError(
            absl::StrCat("postgres journal: entry ", seq, ": reordered (it holds entry ", entry->seq, ")"));
      }
      if (PQgetlength(rows.get(), row, 2) != static_cast<int>(entry->hash.size())) {
        return absl::DataLossError(absl::StrCat("postgres journal: entry ", seq, ": hash is not 32 bytes"));
      }
      std::memcpy(entry->hash.data(), PQgetvalue(rows.get(), row, 2), entry->hash.size());
      entry->member_prev = BigEndian64(PQgetvalue(rows.get(), row, 3));
      if (absl::Status status = visit(*entry); !status.ok()) return status;
    }
    return absl::OkStatus();
  }

  // Reads, in a snapshot, the head and the entries after last_seq_ up to
  // it; verifies that they continue the chain and end at the head; records
  // them and calls `visit` with each. Caller holds mutex_.
  absl::Status ReadNewLocked(absl::FunctionRef<absl::Status(const Entry&)> visit) {
    ReconnectIfLost();
    if (absl::Status s = Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s.ok()) return s;
    absl::Status status = [&]() -> absl::Status {
      absl::Status error;
      Result head = Query("read the head", "SELECT seq, hash FROM loyalty_head", {}, {}, {}, &error);
      if (!error.ok()) return error;
      if (PQntuples(head.get()) != 1 || PQgetlength(head.get(), 0, 1) != static_cast<int>(Sha256{}.size())) {
        return absl::DataLossError("postgres journal: loyalty_head does not hold one seq and 32-byte hash");
      }
      uint64_t head_seq = BigEndian64(PQgetvalue(head.get(), 0, 0));
      Sha256 head_hash;
      std::memcpy(head_hash.data(), PQgetvalue(head.get(), 0, 1), head_hash.size());
      if (head_seq < last_seq_) {
        return absl::DataLossError(absl::StrCat("postgres journal: truncated or rewritten: its head is entry ",
                                                head_seq, " but this instance has read entry ", last_seq_));
      }
      std::string bytes;
      while (last_seq_ < head_seq) {
        uint64_t from = last_seq_ + 1, to = std::min<uint64_t>(head_seq, last_seq_ + kReadChunk);
        absl::Status read = SelectLocked(from, to, [&](const Entry& entry) -> absl::Status {
          if (entry.seq != last_seq_ + 1) {
            return absl::DataLossError(absl::StrCat("postgres journal: entry ", last_seq_ + 1, ": missing (found ",
                                                    entry.seq, " in its place)"));
          }
          if (internal::EncodeAndHash(head_, entry, &bytes) != entry.hash) {
            return absl::DataLossError(absl::StrCat("postgres journal: entry ", entry.seq,
                                                    ": modified (its hash does not match its content and predecessor)"));
          }
          if (absl::Status keys = keys_.AddNext(entry.seq, entry.idempotency_key); !keys.ok()) {
            return absl::DataLossError(absl::StrCat("postgres journal: entry ", entry.seq, ": ", keys.message()));
          }
          head_ = entry.hash;
          last_seq_ = entry.seq;
          Remember(std::move(bytes), entry);
          bytes.clear();
          return visit(entry);
        });
        if (!read.ok()) return read;
        if (last_seq_ < to) {
          return absl::DataLossError(absl::StrCat("postgres journal: entry ", last_seq_ + 1, ": missing"));
        }
      }
      if (head_ != head_hash) {
        return absl::DataLossError(absl::StrCat("postgres journal: entry ", head_seq,
                                                ": its hash is not the head the journal records (rewritten)"));
      }
      return absl::OkStatus();
    }();
    if (status.ok()) return Exec("COMMIT");
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) Exec("ROLLBACK").IgnoreError();
    return status;
  }

  void Remember(std::string bytes, const Entry& entry) {
    recent_.push_back({std::move(bytes), entry.hash, entry.member_prev});
    if (recent_.size() > kRecentEntries) recent_.pop_front();
  }

  PGconn* conn_ = nullptr;
  std::string schema_;           // PostgresOptions::schema
  bool read_only_ = false;       // PostgresOptions::read_only
  int32_t schema_lock_key_ = 0;  // SchemaLockKey(schema_), computed once
  mutable std::mutex mutex_;  // guards everything below and the connection
  internal::KeyIndex keys_;
  Sha256 head_{};
  uint64_t last_seq_ = 0;
  std::deque<Recent> recent_;         // entries last_seq_ - size + 1 .. last_seq_
  std::vector<std::string> encoded_;  // scratch: the batch being appended
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo, const PostgresOptions& options) {
  return PostgresStore::Open(conninfo, options);
}

absl::StatusOr<std::unique_ptr<Store>> OpenShardStore(const ShardMap& map, uint32_t shard, PostgresOptions options) {
  options.schema = ShardSchema(shard);
  return OpenPostgresStore(map.ConninfoOf(shard), options);
}

}  // namespace loyalty
