// SqliteStore: the embedded default journal, one SQLite file in WAL mode.
//
// Schema (version 3, plain SHA-256 chain):
//   loyalty_meta(key PRIMARY KEY, value): format = "loyalty-journal",
//     schema_version, head_seq and head_hash (updated with every append, so
//     that deleting the newest entries is detected too).
//   journal(seq INTEGER PRIMARY KEY, entry BLOB, hash BLOB, member_prev
//     INTEGER): the canonical bytes of each entry, its chain hash, and the
//     seq of its member's previous entry (Entry::member_prev; outside the
//     chain, checked by the engine as it reads the journal).
// Schema version 4 (a keyed journal) is version 3 plus two loyalty_meta
// rows: chain = "hmac-sha256" and key_check = the hex key check value; the
// version number makes older readers refuse it rather than report every
// entry as modified. Version 5 (a keyed journal created or last opened for
// writing by this version) is 4 plus head_mac = the hex HMAC of the head
// (Chain::HeadMac), updated with the head by every append, so that a head
// rewritten without the key is DataLoss. A writer's open upgrades 4 to 5;
// a reader reads a version 4 journal's head as unauthenticated.
// Versions 1 and 2 are 3 and 4 without journal.member_prev; a verified
// open adds the column and fills it, in one transaction.
//
// One writer per file: a writing store holds an exclusive flock on the side
// file PATH-lock while it is open (the kernel releases it if the process
// dies), and a second writer is refused when it opens. Readers
// (SqliteOptions::read_only) take no lock and never write.
//
// Every read runs in one read transaction, which in WAL mode is one
// snapshot of the file: a reader never mixes rows and a head of different
// moments while a writer appends.
//
// Two connections: appends write on one, in a transaction that stays
// invisible to the other, on which reads run; so a large append can be
// written on a thread of its own while its caller decides the rest of the
// batch, and readers never see a batch in part.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include <mutex>
#include "store/chain_pipeline.h"
#include "store/key_index.h"
#include "journal/entry_codec.h"
#include "loyalty/check.h"
#include "loyalty/store.h"

namespace loyalty {
namespace {

constexpr int kSchemaVersion = 3;
constexpr int kKeyedSchemaVersion = 5;
// A keyed journal whose head is not authenticated (no head_mac).
constexpr int kUnauthenticatedKeyedSchemaVersion = 4;
// Versions 1 and 2: versions 3 and 4 without journal.member_prev.
constexpr int kUnlinkedSchemaVersion = 1;
constexpr int kUnlinkedKeyedSchemaVersion = 2;
constexpr absl::string_view kKeyedChain = "hmac-sha256";
constexpr absl::string_view kFormat = "loyalty-journal";
constexpr const char* kFindKeySql = "SELECT first, count FROM loyalty_keys WHERE key = ?";

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(statement_); }
  sqlite3_stmt** out() { return &statement_; }
  sqlite3_stmt* get() const { return statement_; }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

class SqliteStore final : public Store {
 public:
  // close_v2 defers the close until the prepared statements (members,
  // finalized after this body) are gone.
  ~SqliteStore() override {
    if (checkpointer_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(checkpoint_mutex_);
        closing_ = true;
      }
      checkpoint_due_.notify_one();
      checkpointer_.join();
    }
    sqlite3_close_v2(writer_);
    sqlite3_close_v2(db_);
    if (lock_fd_ >= 0) close(lock_fd_);  // releases the writer lock
  }

  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, SqliteOptions options) {
    auto store = std::unique_ptr<SqliteStore>(new SqliteStore());
    if (absl::Status status = store->Init(path, options); !status.ok()) return status;
    return std::unique_ptr<Store>(std::move(store));
  }

  absl::Status Append(std::span<Entry> batch) override {
    PipelinedAppender appender(*this);
    appender.Add(batch);
    return appender.Commit();
  }

  std::unique_ptr<Appender> BeginAppend() override { return std::make_unique<PipelinedAppender>(*this); }

  // Projection checkpoints live in two tables of their own, created by the
  // first one saved; older readers ignore them.
  absl::Status SaveCheckpoint(const CheckpointInfo& info,
                              absl::FunctionRef<bool(std::string* part)> next_part) override {
    if (read_only_) return absl::FailedPreconditionError(absl::StrCat("sqlite journal ", path_, " is opened read-only"));
    if (chain_.keyed()) {
      return absl::UnimplementedError("a keyed journal keeps no checkpoints: they would need a MAC of their own");
    }
    std::lock_guard<std::mutex> lock(append_mutex_);
    absl::Status status = Exec(
        "BEGIN IMMEDIATE;"
        "CREATE TABLE IF NOT EXISTS loyalty_checkpoints(seq INTEGER PRIMARY KEY, head_hash BLOB NOT NULL,"
        " digest BLOB NOT NULL, parts INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS loyalty_checkpoint_parts(seq INTEGER NOT NULL, part INTEGER NOT NULL,"
        " bytes BLOB NOT NULL, PRIMARY KEY(seq, part)) WITHOUT ROWID;",
        writer_);
    if (status.ok()) status = WriteCheckpointLocked(info, next_part);
    // The keys move to the index on disk with a checkpoint of the head
    // (every command's entries lie before it); an older one leaves them.
    const bool move_keys = info.seq == Head().seq && info.seq > keys_through_;
    if (status.ok() && move_keys) status = WriteKeysLocked(info.seq);
    if (status.ok()) status = Exec("COMMIT", writer_);
    if (!status.ok()) {
      sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
      return status;
    }
    if (move_keys) {
      std::lock_guard<std::mutex> lock(mutex_);
      keys_.Clear();
      keys_through_ = info.seq;
      key_table_ = true;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<CheckpointInfo>> Checkpoints() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return CheckpointsLocked();
  }

  // The checkpoint at keys_through_ stays: the open starts from it.
  absl::Status DeleteCheckpoint(uint64_t seq) override {
    if (read_only_) return absl::FailedPreconditionError(absl::StrCat("sqlite journal ", path_, " is opened read-only"));
    std::lock_guard<std::mutex> lock(append_mutex_);
    {
      std::lock_guard<std::mutex> state(mutex_);
      if (seq == keys_through_) {
        return absl::FailedPreconditionError(
            absl::StrCat("sqlite journal ", path_, ": the checkpoint at entry ", seq, " is where its open starts"));
      }
      if (!HasCheckpointsLocked()) return absl::OkStatus();
    }
    const std::string at = std::to_string(seq);
    absl::Status status = Exec(absl::StrCat("BEGIN IMMEDIATE; DELETE FROM loyalty_checkpoint_parts WHERE seq = ", at,
                                            "; DELETE FROM loyalty_checkpoints WHERE seq = ", at, "; COMMIT")
                                   .c_str(),
                               writer_);
    if (!status.ok()) sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }

  absl::Status ReadCheckpoint(uint64_t seq,
                              absl::FunctionRef<absl::Status(absl::string_view part)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!HasCheckpointsLocked()) return absl::NotFoundError(absl::StrCat("no checkpoint at entry ", seq));
    Statement select;
    if (absl::Status s = Prepare("SELECT part, bytes FROM loyalty_checkpoint_parts WHERE seq = ? ORDER BY part", &select);
        !s.ok()) {
      return s;
    }
    sqlite3_bind_int64(select.get(), 1, static_cast<sqlite3_int64>(seq));
    int rc;
    uint64_t expected = 0;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      if (static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)) != expected++) {
        return absl::DataLossError(absl::StrCat("sqlite journal ", path_, ": checkpoint at entry ", seq,
                                                " misses part ", expected - 1));
      }
      const void* bytes = sqlite3_column_blob(select.get(), 1);
      const int size = sqlite3_column_bytes(select.get(), 1);
      absl::string_view part(static_cast<const char*>(bytes), static_cast<size_t>(size));
      if (absl::Status visited = visit(part); !visited.ok()) return visited;
    }
    if (rc != SQLITE_DONE) return Error("read loyalty_checkpoint_parts", rc);
    if (expected == 0) return absl::NotFoundError(absl::StrCat("no checkpoint at entry ", seq));
    return absl::OkStatus();
  }

  absl::Status Read(uint64_t from, absl::FunctionRef<absl::Status(const Entry&)> visit) const override {
    return ReadStored(from, [&](const Entry& entry, absl::string_view) { return visit(entry); });
  }

  absl::Status ReadStored(
      uint64_t from, absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return InSnapshotLocked([&] { return ReadLocked(from, LastReadableLocked(), visit); });
  }

  absl::Status ReadSnapshot(
      uint64_t from, JournalHead* head,
      absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return InSnapshotLocked([&]() -> absl::Status {
      if (verified_) {
        *head = JournalHead{last_seq_, head_, std::nullopt};  // the rows up to it are this store's, verified
      } else {
        auto recorded = RecordedHead();
        if (!recorded.ok()) return recorded.status();
        *head = *recorded;
      }
      return ReadLocked(from, LastReadableLocked(), visit);
    });
  }

  absl::StatusOr<Entry> Get(uint64_t seq) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<Entry> found;
    if (seq > LastReadableLocked()) return absl::NotFoundError(absl::StrCat("no journal entry ", seq));
    absl::Status status = InSnapshotLocked([&] {
      return ReadLocked(seq, seq, [&](const Entry& entry, absl::string_view) {
        found = entry;
        return absl::OkStatus();
      });
    });
    if (!status.ok()) return status;
    if (!found) return absl::NotFoundError(absl::StrCat("no journal entry ", seq));
    return *std::move(found);
  }

  std::optional<KeyRecord> FindKey(absl::string_view key) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<KeyRecord> record = keys_.Find(key);
    if (!record && key_table_) {
      if (find_key_.get() == nullptr &&
          sqlite3_prepare_v2(db_, kFindKeySql, -1, find_key_.out(), nullptr) != SQLITE_OK) {
        return std::nullopt;
      }
      record = FindIndexedKey(find_key_.get(), key);
    }
    if (record && record->first > last_seq_) return std::nullopt;  // of an append not committed yet
    return record;
  }

  std::optional<Sha256> KeyCheck() const override { return key_check_; }

  absl::Status ReadKeyIndex(
      uint64_t* through,
      absl::FunctionRef<absl::Status(absl::string_view key, const KeyRecord& record)> visit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    *through = 0;
    return InSnapshotLocked([&]() -> absl::Status {
      auto recorded = RecordedKeysThroughLocked();
      if (!recorded.ok()) return recorded.status();
      *through = *recorded;
      if (*through == 0) return absl::OkStatus();
      Statement select;
      if (absl::Status s = Prepare("SELECT key, first, count FROM loyalty_keys", &select); !s.ok()) return s;
      int rc;
      while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
        absl::string_view key(static_cast<const char*>(sqlite3_column_blob(select.get(), 0)),
                              static_cast<size_t>(sqlite3_column_bytes(select.get(), 0)));
        const KeyRecord record{static_cast<uint64_t>(sqlite3_column_int64(select.get(), 1)),
                               static_cast<uint32_t>(sqlite3_column_int64(select.get(), 2))};
        if (absl::Status visited = visit(key, record); !visited.ok()) return visited;
      }
      return rc == SQLITE_DONE ? absl::OkStatus() : Error("read loyalty_keys", rc);
    });
  }

  bool KeepsMemberLinks() const override { return linked_; }

  uint64_t LastSeq() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_seq_;
  }

  Sha256 HeadHash() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return head_;
  }

  JournalHead Head() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return JournalHead{last_seq_, head_, std::nullopt};
  }

 private:
  SqliteStore() = default;

  // The last seq a read may visit: the store's head, unless it was opened
  // for inspection, whose reads show every row (rows past the recorded
  // head are damage for the chain check to report). Caller holds mutex_.
  uint64_t LastReadableLocked() const { return verified_ ? last_seq_ : UINT64_MAX; }

  // Runs `read` in one read transaction on db_, a snapshot of the file.
  // Caller holds mutex_.
  template <typename Read>
  absl::Status InSnapshotLocked(Read read) const {
    if (absl::Status begun = Exec("BEGIN"); !begun.ok()) return begun;
    absl::Status status = read();
    absl::Status ended = Exec("COMMIT");  // ends the snapshot; nothing was written
    if (!ended.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status.ok() ? ended : status;
  }

  // Takes the writer lock: an exclusive flock on PATH-lock, held until
  // the store is destroyed. FailedPrecondition if another store holds it.
  absl::Status LockWriter() {
    const std::string lock_path = path_ + "-lock";
    lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
      return absl::UnavailableError(
          absl::StrCat("sqlite journal ", path_, ": cannot open its writer lock ", lock_path, ": ", strerror(errno)));
    }
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      char holder[32] = {};
      const ssize_t got = pread(lock_fd_, holder, sizeof holder - 1, 0);
      close(lock_fd_);
      lock_fd_ = -1;
      if (error != EWOULDBLOCK) {
        return absl::UnavailableError(
            absl::StrCat("sqlite journal ", path_, ": cannot lock ", lock_path, ": ", strerror(error)));
      }
      std::string pid(holder, got > 0 ? static_cast<size_t>(got) : 0);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\0')) pid.pop_back();
      return absl::FailedPreconditionError(absl::StrCat(
          "sqlite journal ", path_, " is already open for writing",
          pid.empty() ? "" : absl::StrCat(" (by process ", pid, ")"),
          ": one writer per journal file; open it read-only to read it (its writer lock is ", lock_path, ")"));
    }
    // Who holds it, for the message above; the lock itself is the flock.
    const std::string pid = absl::StrCat(getpid(), "\n");
    if (ftruncate(lock_fd_, 0) != 0 || pwrite(lock_fd_, pid.data(), pid.size(), 0) < 0) {
      // Informational only: the lock holds without it.
    }
    return absl::OkStatus();
  }

  // DataLoss for a damaged file (SQLite finds its pages malformed or
  // missing), Unavailable for everything else.
  // `connection` is the one that failed (db_ if null).
  absl::Status Error(absl::string_view doing, int rc, sqlite3* connection = nullptr) const {
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
      return absl::DataLossError(absl::StrCat("sqlite journal ", path_, ": damaged file: ", doing, ": ",
                                              sqlite3_errstr(rc)));
    }
    if (connection == nullptr) connection = db_;
    return absl::UnavailableError(
        absl::StrCat("sqlite journal ", path_, ": ", doing, ": ", sqlite3_errstr(rc),
                     connection != nullptr ? absl::StrCat(" (", sqlite3_errmsg(connection), ")") : ""));
  }

  absl::Status Exec(const char* sql, sqlite3* connection = nullptr) const {
    if (connection == nullptr) connection = db_;
    int rc = sqlite3_exec(connection, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(sql, rc, connection);
  }

  absl::Status Prepare(const char* sql, Statement* statement) const {
    int rc = sqlite3_prepare_v2(db_, sql, -1, statement->out(), nullptr);
    return rc == SQLITE_OK ? absl::OkStatus() : Error(sql, rc);
  }

  // The value of a loyalty_meta key, or nullopt.
  absl::StatusOr<std::optional<std::string>> Meta(const char* key) const {
    Statement select;
    if (absl::Status s = Prepare("SELECT value FROM loyalty_meta WHERE key = ?", &select); !s.ok()) return s;
    sqlite3_bind_text(select.get(), 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(select.get());
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return Error("read loyalty_meta", rc);
    const unsigned char* text = sqlite3_column_text(select.get(), 0);
    return std::optional<std::string>(text == nullptr ? "" : reinterpret_cast<const char*>(text));
  }

  // Writes checkpoint `info` and its parts on writer_, in the transaction
  // the caller began.
  absl::Status WriteCheckpointLocked(const CheckpointInfo& info, absl::FunctionRef<bool(std::string*)> next_part) {
    Statement insert;
    auto prepare = [&](const char* sql, Statement* statement) {
      int rc = sqlite3_prepare_v2(writer_, sql, -1, statement->out(), nullptr);
      return rc == SQLITE_OK ? absl::OkStatus() : Error(sql, rc, writer_);
    };
    const auto seq = static_cast<sqlite3_int64>(info.seq);
    Statement clear;
    if (absl::Status s = prepare("DELETE FROM loyalty_checkpoint_parts WHERE seq = ?", &clear); !s.ok()) return s;
    sqlite3_bind_int64(clear.get(), 1, seq);
    if (int rc = sqlite3_step(clear.get()); rc != SQLITE_DONE) return Error("clear a checkpoint", rc, writer_);
    if (absl::Status s = prepare("INSERT INTO loyalty_checkpoint_parts VALUES(?, ?, ?)", &insert); !s.ok()) return s;
    uint64_t parts = 0;
    for (std::string part; next_part(&part); ++parts) {
      sqlite3_bind_int64(insert.get(), 1, seq);
      sqlite3_bind_int64(insert.get(), 2, static_cast<sqlite3_int64>(parts));
      sqlite3_bind_blob64(insert.get(), 3, part.data(), part.size(), SQLITE_STATIC);
      int rc = sqlite3_step(insert.get());
      sqlite3_reset(insert.get());
      if (rc != SQLITE_DONE) return Error("write a checkpoint part", rc, writer_);
    }
    if (parts != info.parts) return absl::InvalidArgumentError("the checkpoint's parts are not as many as it says");
    Statement head;
    if (absl::Status s = prepare("INSERT OR REPLACE INTO loyalty_checkpoints VALUES(?, ?, ?, ?)", &head); !s.ok()) {
      return s;
    }
    sqlite3_bind_int64(head.get(), 1, seq);
    sqlite3_bind_blob(head.get(), 2, info.head_hash.data(), static_cast<int>(info.head_hash.size()), SQLITE_STATIC);
    sqlite3_bind_blob(head.get(), 3, info.digest.data(), static_cast<int>(info.digest.size()), SQLITE_STATIC);
    sqlite3_bind_int64(head.get(), 4, static_cast<sqlite3_int64>(parts));
    if (int rc = sqlite3_step(head.get()); rc != SQLITE_DONE) return Error("write a checkpoint", rc, writer_);
    return absl::OkStatus();
  }

  // Writes every key of the index in memory into loyalty_keys and records
  // that it holds the keys of the entries up to `through`, on writer_, in
  // the transaction the caller began (under append_mutex_).
  absl::Status WriteKeysLocked(uint64_t through) {
    absl::Status status = Exec(
        "CREATE TABLE IF NOT EXISTS loyalty_keys(key BLOB PRIMARY KEY, first INTEGER NOT NULL,"
        " count INTEGER NOT NULL) WITHOUT ROWID",
        writer_);
    if (!status.ok()) return status;
    Statement insert;
    if (int rc = sqlite3_prepare_v2(writer_, "INSERT INTO loyalty_keys VALUES(?, ?, ?)", -1, insert.out(), nullptr);
        rc != SQLITE_OK) {
      return Error("prepare the key index", rc, writer_);
    }
    std::vector<std::pair<absl::string_view, KeyRecord>> keys;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      keys = keys_.Sorted();
    }
    for (const auto& [key, record] : keys) {
      sqlite3_bind_blob(insert.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert.get(), 2, static_cast<sqlite3_int64>(record.first));
      sqlite3_bind_int64(insert.get(), 3, static_cast<sqlite3_int64>(record.count));
      int rc = sqlite3_step(insert.get());
      sqlite3_reset(insert.get());
      if (rc != SQLITE_DONE) return Error(absl::StrCat("index idempotency key \"", key, "\""), rc, writer_);
    }
    return Exec(absl::StrCat("INSERT OR REPLACE INTO loyalty_meta VALUES('keys_through', '", through, "')").c_str(),
                writer_);
  }

  // The record of `key` in loyalty_keys, read with `find` (a prepared
  // "SELECT first, count ... WHERE key = ?"); nullopt if absent or unreadable.
  static std::optional<KeyRecord> FindIndexedKey(sqlite3_stmt* find, absl::string_view key) {
    sqlite3_bind_blob(find, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    std::optional<KeyRecord> record;
    if (sqlite3_step(find) == SQLITE_ROW) {
      record = KeyRecord{static_cast<uint64_t>(sqlite3_column_int64(find, 0)),
                         static_cast<uint32_t>(sqlite3_column_int64(find, 1))};
    }
    sqlite3_reset(find);
    return record;
  }

  // Every checkpoint recorded, by ascending seq. Caller holds mutex_.
  absl::StatusOr<std::vector<CheckpointInfo>> CheckpointsLocked() const {
    std::vector<CheckpointInfo> out;
    if (!HasCheckpointsLocked()) return out;
    Statement select;
    if (absl::Status s = Prepare("SELECT seq, head_hash, digest, parts FROM loyalty_checkpoints ORDER BY seq", &select);
        !s.ok()) {
      return s;
    }
    int rc;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      CheckpointInfo info;
      info.seq = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0));
      info.parts = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 3));
      if (!ColumnHash(select.get(), 1, &info.head_hash) || !ColumnHash(select.get(), 2, &info.digest)) {
        return absl::DataLossError(absl::StrCat("sqlite journal ", path_, ": checkpoint at entry ", info.seq,
                                                " has a malformed hash"));
      }
      out.push_back(info);
    }
    if (rc != SQLITE_DONE) return Error("read loyalty_checkpoints", rc);
    return out;
  }


  // Whether a checkpoint was ever saved (its table exists).
  bool HasCheckpointsLocked() const { return HasTableLocked("loyalty_checkpoints"); }

  bool HasTableLocked(const char* name) const {
    Statement select;
    if (!Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", &select).ok()) return false;
    sqlite3_bind_text(select.get(), 1, name, -1, SQLITE_STATIC);
    return sqlite3_step(select.get()) == SQLITE_ROW;
  }

  static bool ColumnHash(sqlite3_stmt* statement, int column, Sha256* hash) {
    if (sqlite3_column_bytes(statement, column) != static_cast<int>(hash->size())) return false;
    std::memcpy(hash->data(), sqlite3_column_blob(statement, column), hash->size());
    return true;
  }

  // What opening without create_if_missing finds where no journal is.
  absl::Status NoJournal() const { return absl::NotFoundError(absl::StrCat("no journal at ", path_)); }

  absl::Status NotAJournal(absl::string_view why) const {
    return absl::FailedPreconditionError(absl::StrCat(path_, " is not a loyalty journal: ", why));
  }

  absl::Status Init(const std::string& path, SqliteOptions options) {
    path_ = path;
    auto chain = internal::Chain::For(options.journal_key);
    if (!chain.ok()) return chain.status();
    chain_ = *std::move(chain);
    read_only_ = options.read_only || !options.verify_on_open;
    const bool create = options.create_if_missing && !read_only_;
    if (struct stat file; !create && stat(path.c_str(), &file) != 0) return NoJournal();
    // The writer's lock comes first: nothing is read or written before it.
    if (!read_only_) {
      if (absl::Status locked = LockWriter(); !locked.ok()) return locked;
    }
    // db_ is only used under mutex_ (or before the store is returned), so
    // SQLite's own lock around every call on it (about a tenth of reading
    // a journal) is left out. A reader opens the file read-write (WAL
    // readers share the -shm index) but never writes.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      bool missing = (rc & 0xff) == SQLITE_CANTOPEN && db_ != nullptr && sqlite3_system_errno(db_) == ENOENT;
      return missing && !create ? NoJournal() : Error("open", rc);
    }
    sqlite3_busy_timeout(db_, 5000);
    // The first read tells a database from any other file.
    Statement tables;
    if (absl::Status s = Prepare("SELECT name FROM sqlite_master WHERE type = 'table'", &tables); !s.ok()) {
      if (sqlite3_errcode(db_) == SQLITE_NOTADB) return NotAJournal("not an SQLite database");
      return s;
    }
    bool has_meta = false;
    std::vector<std::string> other;
    while ((rc = sqlite3_step(tables.get())) == SQLITE_ROW) {
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(tables.get(), 0));
      if (name == "loyalty_meta") has_meta = true;
      else if (name != "journal") other.push_back(name);
    }
    if (rc != SQLITE_DONE) {
      if (rc == SQLITE_NOTADB) return NotAJournal("not an SQLite database");
      return Error("read schema", rc);
    }
    if (!has_meta && !other.empty()) return NotAJournal(absl::StrCat("it holds table ", other.front()));
    if (!has_meta && !create) return NoJournal();  // an empty file: nothing written to it
    if (!read_only_) {
      if (absl::Status s = Exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
      if (absl::Status s = Exec(SynchronousPragma(options)); !s.ok()) return s;
    }
    if (!has_meta) {
      std::string create = absl::StrCat(
          "BEGIN IMMEDIATE;"
          "CREATE TABLE loyalty_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
          "CREATE TABLE journal(seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, hash BLOB NOT NULL,"
          " member_prev INTEGER NOT NULL);"
          "INSERT INTO loyalty_meta VALUES('format', '", kFormat, "'), ('schema_version', '",
          chain_.keyed() ? kKeyedSchemaVersion : kSchemaVersion, "'), ('head', '0:", ToHex(Sha256{}), "')",
          chain_.keyed() ? absl::StrCat(", ('chain', '", kKeyedChain, "'), ('key_check', '",
                                        ToHex(*chain_.KeyCheck()), "'), ('head_mac', '",
                                        ToHex(*chain_.HeadMac(0, Sha256{})), "')")
                         : "",
          ";COMMIT;");
      if (absl::Status s = Exec(create.c_str()); !s.ok()) return s;
    }
    auto format = Meta("format");
    if (!format.ok()) return format.status();
    if (*format != std::string(kFormat)) return NotAJournal("its loyalty_meta has no loyalty-journal format");
    auto version = Meta("schema_version");
    if (!version.ok()) return version.status();
    int number = 0;
    if (!absl::SimpleAtoi(version->value_or(""), &number) || number < kUnlinkedSchemaVersion ||
        number > kKeyedSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(path_, ": journal schema version ", version->value_or("?"),
                                                        " is not a version (", kUnlinkedSchemaVersion, " to ",
                                                        kKeyedSchemaVersion,
                                                        ") this library reads (written by a newer version?)"));
    }
    if (number == kKeyedSchemaVersion || number == kUnauthenticatedKeyedSchemaVersion ||
        number == kUnlinkedKeyedSchemaVersion) {
      if (absl::Status s = ReadKeyCheck(); !s.ok()) return s;
    }
    linked_ = number >= kSchemaVersion;
    head_authenticated_ = number == kKeyedSchemaVersion;
    if (absl::Status s = internal::CheckKey(chain_, key_check_, absl::StrCat("sqlite journal ", path_)); !s.ok()) {
      return s;
    }
    verified_ = options.verify_on_open;
    if (!verified_) return LoadRecordedHead();
    if (absl::Status s = Load(options.verify_from_first_entry); !s.ok()) return s;
    if (read_only_) return absl::OkStatus();
    if (!linked_) {
      if (absl::Status s = AddMemberLinks(); !s.ok()) return s;
    }
    if (chain_.keyed() && !head_authenticated_) {
      if (absl::Status s = AuthenticateHead(); !s.ok()) return s;
    }
    return OpenWriter(options);
  }

  // Upgrades a keyed journal of schema version 4 to 5: records the MAC of
  // its head (verified by Load) and the version, in one transaction, so
  // that from now on a rewritten head is detected.
  absl::Status AuthenticateHead() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string upgrade = absl::StrCat(
        "BEGIN IMMEDIATE; INSERT OR REPLACE INTO loyalty_meta VALUES('head_mac', '",
        ToHex(*chain_.HeadMac(last_seq_, head_)), "'); UPDATE loyalty_meta SET value = '", kKeyedSchemaVersion,
        "' WHERE key = 'schema_version'; COMMIT;");
    if (absl::Status s = Exec(upgrade.c_str()); !s.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    head_authenticated_ = true;
    return absl::OkStatus();
  }

  // Migrates a journal of schema version 1 or 2 to 3 or 4: adds
  // journal.member_prev and fills it from the entries, in one transaction
  // (on db_, before the writer's statements are prepared).
  absl::Status AddMemberLinks() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (absl::Status s = Exec("BEGIN IMMEDIATE; ALTER TABLE journal ADD COLUMN member_prev INTEGER NOT NULL DEFAULT 0;");
        !s.ok()) {
      return s;
    }
    absl::Status status = [&]() -> absl::Status {
      std::vector<std::pair<uint64_t, uint64_t>> links;  // (seq, member_prev) where not 0
      internal::MemberLinks members;
      absl::Status read = ReadLocked(1, UINT64_MAX, [&](const Entry& entry, absl::string_view) {
        if (uint64_t link = members.Next(entry); link != 0) links.emplace_back(entry.seq, link);
        return absl::OkStatus();
      });
      if (!read.ok()) return read;
      Statement update;
      if (absl::Status s = Prepare("UPDATE journal SET member_prev = ? WHERE seq = ?", &update); !s.ok()) return s;
      for (const auto& [seq, prev] : links) {
        sqlite3_bind_int64(update.get(), 1, static_cast<sqlite3_int64>(prev));
        sqlite3_bind_int64(update.get(), 2, static_cast<sqlite3_int64>(seq));
        int rc = sqlite3_step(update.get());
        sqlite3_reset(update.get());
        if (rc != SQLITE_DONE) return Error(absl::StrCat("link journal entry ", seq, " to its member's previous"), rc);
      }
      return Exec(absl::StrCat("UPDATE loyalty_meta SET value = '",
                               chain_.keyed() ? kUnauthenticatedKeyedSchemaVersion : kSchemaVersion,
                               "' WHERE key = 'schema_version'; COMMIT;")
                      .c_str());
    }();
    if (!status.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return status;
    }
    linked_ = true;
    return absl::OkStatus();
  }

  // synchronous is a setting of each connection.
  static const char* SynchronousPragma(const SqliteOptions& options) {
    return options.synchronous == SqliteOptions::Synchronous::kFull ? "PRAGMA synchronous=FULL"
                                                                      : "PRAGMA synchronous=NORMAL";
  }

  // Opens writer_, the connection appends use, so that an append can write
  // while readers read committed entries on db_.
  absl::Status OpenWriter(const SqliteOptions& options) {
    int rc = sqlite3_open_v2(path_.c_str(), &writer_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return Error("open for appending", rc, writer_);
    sqlite3_busy_timeout(writer_, 5000);
    if (absl::Status s = Exec(SynchronousPragma(options), writer_); !s.ok()) return s;
    for (auto [sql, statement] : {std::pair{"INSERT INTO journal(seq, entry, hash, member_prev) VALUES(?, ?, ?, ?)",
                                            &insert_},
                                  std::pair{"UPDATE loyalty_meta SET value = ? WHERE key = 'head'", &update_head_},
                                  std::pair{"UPDATE loyalty_meta SET value = ? WHERE key = 'head_mac'",
                                            &update_head_mac_}}) {
      rc = sqlite3_prepare_v2(writer_, sql, -1, statement->out(), nullptr);
      if (rc != SQLITE_OK) return Error(sql, rc, writer_);
    }
    return absl::OkStatus();
  }

  // Reads the chain kind and key check value of a keyed journal into
  // key_check_.
  absl::Status ReadKeyCheck() {
    auto kind = Meta("chain");
    if (!kind.ok()) return kind.status();
    if (*kind != std::string(kKeyedChain)) {
      return NotAJournal(absl::StrCat("a keyed journal (schema version 2, 4 or 5) needs chain = ", kKeyedChain,
                                      " in its loyalty_meta, found \"", kind->value_or("(none)"), "\""));
    }
    auto check = Meta("key_check");
    if (!check.ok()) return check.status();
    std::string bytes = absl::HexStringToBytes(check->value_or(""));
    Sha256 value{};
    if (bytes.size() == value.size()) std::memcpy(value.data(), bytes.data(), value.size());
    if (bytes.size() != value.size() || ToHex(value) != check->value_or("")) {
      return NotAJournal(absl::StrCat("its key_check \"", check->value_or("(none)"), "\" is not 64 hex digits"));
    }
    key_check_ = value;
    return absl::OkStatus();
  }

  // Reads the journal, verifying the chain and building the key index: from
  // the first entry, or (by default, where the file has one) from the
  // anchor, the checkpoint up to which the keys are indexed on disk. The
  // links are checked on a second thread (LinkCheck). The first entry at
  // fault is reported, as a check of one entry at a time would: a bad link
  // precedes whatever this thread found at the same entry or later.
  absl::Status Load(bool from_first_entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    return InSnapshotLocked([&]() -> absl::Status {
      if (absl::Status s = ReadKeysThroughLocked(); !s.ok()) return s;
      std::optional<CheckpointInfo> anchor;
      if (!from_first_entry && keys_through_ > 0) {
        auto found = CheckpointAtLocked(keys_through_);
        if (!found.ok()) return found.status();
        anchor = *std::move(found);
      }
      return LoadLocked(anchor);
    });
  }

  // Load's work, in its snapshot. Caller holds mutex_.
  absl::Status LoadLocked(const std::optional<CheckpointInfo>& anchor) {
    Sha256 previous = anchor ? anchor->head_hash : Sha256{};
    uint64_t expected = anchor ? anchor->seq : 1;
    internal::LinkCheck links(chain_, previous);
    absl::Status status = ReadRowsLocked(expected, UINT64_MAX, [&](const Row& row) -> absl::Status {
      if (row.seq != expected) {
        return absl::DataLossError(absl::StrCat(path_, ": journal entry ", expected,
                                                ": missing or reordered (found ", row.seq, " in its place)"));
      }
      if (anchor && row.seq == anchor->seq) {
        // The anchor's own entry is not checked again: only its hash is
        // matched against the checkpoint's.
        if (row.hash != anchor->head_hash) {
          return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq,
                                                  ": its hash is not the one its checkpoint recorded (the entry or "
                                                  "the checkpoint was modified)"));
        }
        ++expected;
        return absl::OkStatus();
      }
      // Only the key is decoded here; whoever reads the entry decodes it whole.
      auto key = internal::DecodeEntryKey(row.bytes);
      if (!key.ok()) {
        return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq, ": ", key.status().message()));
      }
      if (key->seq != row.seq) {
        return absl::DataLossError(
            absl::StrCat(path_, ": journal entry ", row.seq, ": reordered (it holds entry ", key->seq, ")"));
      }
      keys_.Prefetch(key->idempotency_key);  // overlapped with copying the row for the link check
      // False only once an earlier link failed, which Finish reports.
      if (!links.Add(row.seq, row.bytes, row.hash)) return absl::CancelledError("a link does not verify");
      if (row.seq > keys_through_) {  // the keys up to it are indexed on disk
        if (absl::Status keys = keys_.AddNext(row.seq, key->idempotency_key); !keys.ok()) {
          return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq, ": ", keys.message()));
        }
      }
      previous = row.hash;
      ++expected;
      return absl::OkStatus();
    });
    if (std::optional<uint64_t> bad = links.Finish()) {
      return absl::DataLossError(absl::StrCat(path_, ": ", internal::ModifiedDetail(*bad)));
    }
    if (!status.ok()) return status;
    if (anchor && expected == anchor->seq) {
      return absl::DataLossError(absl::StrCat(path_, ": journal truncated: it ends before entry ", anchor->seq,
                                              ", where it has a checkpoint"));
    }
    auto head = Meta("head");
    if (!head.ok()) return head.status();
    std::string expected_head = absl::StrCat(expected - 1, ":", ToHex(previous));
    if (*head != expected_head) {
      return absl::DataLossError(absl::StrCat(path_, ": journal truncated or rewritten: it ends at entry ",
                                              expected - 1, " but its recorded head is ", head->value_or("?")));
    }
    if (head_authenticated_) {
      auto mac = RecordedHeadMac();
      if (!mac.ok()) return mac.status();
      if (*mac != chain_.HeadMac(expected - 1, previous)) {
        return absl::DataLossError(absl::StrCat(path_, ": journal truncated or rewritten: its recorded head ",
                                                expected_head, " is not authentic (its MAC does not verify)"));
      }
    }
    head_ = previous;
    last_seq_ = expected - 1;
    return absl::OkStatus();
  }

  // Reads keys_through_ from loyalty_meta (0 if the file records none).
  // DataLoss if it is not a number, or the key index it names is missing.
  absl::Status ReadKeysThroughLocked() {
    auto through = RecordedKeysThroughLocked();
    if (!through.ok()) return through.status();
    keys_through_ = *through;
    key_table_ = keys_through_ > 0;
    return absl::OkStatus();
  }

  // The keys_through the file records (0 if none). DataLoss if it is not
  // a number, or the key index it names is missing. Caller holds mutex_.
  absl::StatusOr<uint64_t> RecordedKeysThroughLocked() const {
    auto text = Meta("keys_through");
    if (!text.ok()) return text.status();
    uint64_t through = 0;
    if (!text->has_value()) return through;
    if (!absl::SimpleAtoi(**text, &through) || through == 0 || !HasTableLocked("loyalty_keys")) {
      return absl::DataLossError(absl::StrCat(path_, ": its key index (keys_through \"", **text,
                                              "\" in loyalty_meta, table loyalty_keys) is damaged"));
    }
    return through;
  }

  // The checkpoint at `seq`, if one is recorded (the key index is written
  // with one, in one transaction; checkpoints deleted since leave the index
  // usable and the open verifies from the first entry).
  absl::StatusOr<std::optional<CheckpointInfo>> CheckpointAtLocked(uint64_t seq) const {
    auto all = CheckpointsLocked();
    if (!all.ok()) return all.status();
    for (const CheckpointInfo& info : *all) {
      if (info.seq == seq) return info;
    }
    return std::nullopt;
  }

  // For an unverified open: takes LastSeq and HeadHash from the head the
  // file records ("<seq>:<hex hash>").
  absl::Status LoadRecordedHead() {
    std::lock_guard<std::mutex> lock(mutex_);
    auto head = RecordedHead();
    if (!head.ok()) return head.status();
    head_ = head->hash;
    last_seq_ = head->seq;
    return absl::OkStatus();
  }

  // The head the file records, with its MAC for a journal that records
  // one (32 zero bytes if its record is missing or not 64 hex digits, so
  // that it fails the check). FailedPrecondition if the head is not
  // "<seq>:<hex hash>".
  absl::StatusOr<JournalHead> RecordedHead() const {
    auto text = Meta("head");
    if (!text.ok()) return text.status();
    auto head = JournalHead::Parse(text->value_or(""));
    if (!head.ok()) {
      return NotAJournal(absl::StrCat("its recorded head \"", text->value_or(""), "\" is not <seq>:<sha-256 hex>"));
    }
    if (head_authenticated_) {
      auto mac = RecordedHeadMac();
      if (!mac.ok()) return mac.status();
      head->mac = mac->value_or(Sha256{});
    }
    return head;
  }

  // The head_mac the file records; nullopt if absent or not 64 hex digits.
  absl::StatusOr<std::optional<Sha256>> RecordedHeadMac() const {
    auto text = Meta("head_mac");
    if (!text.ok()) return text.status();
    std::string bytes = absl::HexStringToBytes(text->value_or(""));
    Sha256 mac{};
    if (bytes.size() != mac.size() || absl::BytesToHexString(bytes) != text->value_or("")) {
      return std::optional<Sha256>();
    }
    std::memcpy(mac.data(), bytes.data(), mac.size());
    return std::optional<Sha256>(mac);
  }

  // A journal row as stored: the views point into SQLite's row buffer and
  // are valid only during the visit.
  struct Row {
    uint64_t seq = 0;
    absl::string_view bytes;  // the encoded entry
    Sha256 hash{};
    uint64_t member_prev = 0;  // 0 in a journal not linked yet
  };

  // Visits the rows with seq in [from, to], in order, undecoded.
  absl::Status ReadRowsLocked(uint64_t from, uint64_t to, absl::FunctionRef<absl::Status(const Row&)> visit) const {
    Statement select;
    if (absl::Status s = Prepare(linked_ ? "SELECT seq, entry, hash, member_prev FROM journal"
                                           " WHERE seq >= ? AND seq <= ? ORDER BY seq"
                                         : "SELECT seq, entry, hash, 0 FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq",
                                 &select);
        !s.ok()) {
      return s;
    }
    sqlite3_bind_int64(select.get(), 1, static_cast<sqlite3_int64>(std::min<uint64_t>(from, INT64_MAX)));
    sqlite3_bind_int64(select.get(), 2, static_cast<sqlite3_int64>(std::min<uint64_t>(to, INT64_MAX)));
    int rc;
    uint64_t next = from;  // the entry a damaged page would have held
    Row row;
    while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
      row.seq = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0));
      next = row.seq + 1;
      const char* blob = static_cast<const char*>(sqlite3_column_blob(select.get(), 1));
      row.bytes = absl::string_view(blob, static_cast<size_t>(sqlite3_column_bytes(select.get(), 1)));
      const void* hash = sqlite3_column_blob(select.get(), 2);
      if (sqlite3_column_bytes(select.get(), 2) != static_cast<int>(row.hash.size()) || hash == nullptr) {
        return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq, ": hash is not 32 bytes"));
      }
      std::memcpy(row.hash.data(), hash, row.hash.size());
      row.member_prev = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 3));
      if (absl::Status status = visit(row); !status.ok()) return status;
    }
    return rc == SQLITE_DONE ? absl::OkStatus() : Error(absl::StrCat("read journal entry ", next), rc);
  }

  // Visits entries with seq in [from, to]. Entries are decoded, and the row's
  // seq must match the decoded one (else the rows were reordered), except in
  // a journal opened for inspection, whose damage CheckChain reports.
  // Calls `visit` with each row's entry (member_prev 0 in a journal not
  // linked yet) and its stored bytes.
  absl::Status ReadLocked(uint64_t from, uint64_t to,
                          absl::FunctionRef<absl::Status(const Entry&, absl::string_view)> visit) const {
    return ReadRowsLocked(from, to, [&](const Row& row) -> absl::Status {
      auto entry = internal::DecodeEntry(row.bytes);
      if (!entry.ok()) {
        return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq, ": ", entry.status().message()));
      }
      if (verified_ && entry->seq != row.seq) {
        return absl::DataLossError(absl::StrCat(path_, ": journal entry ", row.seq, ": reordered (it holds entry ",
                                                entry->seq, ")"));
      }
      entry->hash = row.hash;
      // Not checked here: the engine checks the link as it reads.
      entry->member_prev = row.member_prev;
      return visit(*entry, row.bytes);
    });
  }

  // Checkpoints. SQLite copies the WAL into the database within the COMMIT
  // that leaves 1,000 pages or more in it (its automatic checkpoint). The
  // COMMIT of a large append in pieces leaves that to a thread of the
  // store's own instead (a passive checkpoint, on a connection of its
  // own), so that the copy and its sync overlap the decisions of the next
  // batch rather than lengthen this one.
  static constexpr int kCheckpointFrames = 1000;  // SQLite's default

  // SQLite's WAL hook during such a COMMIT.
  static int AfterLargeCommit(void* self, sqlite3*, const char*, int frames) {
    if (frames >= kCheckpointFrames) static_cast<SqliteStore*>(self)->RequestCheckpoint();
    return SQLITE_OK;
  }

  void RequestCheckpoint() {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mutex_);
      checkpoint_requested_ = true;
    }
    if (checkpointer_.joinable()) {
      checkpoint_due_.notify_one();
      return;
    }
    try {
      checkpointer_ = std::thread([this] { Checkpoint(); });
    } catch (const std::system_error&) {
      // No thread to be had: checkpoint here, as SQLite would.
      sqlite3_wal_checkpoint_v2(writer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
  }

  // The checkpointer's loop. A checkpoint that cannot finish (a reader or
  // the writer is busy) is retried on the next request; an error leaves
  // the pages in the WAL, where they are as durable.
  void Checkpoint() {
    sqlite3* connection = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &connection, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      sqlite3_close_v2(connection);
      connection = nullptr;
    }
    if (connection != nullptr) {
      sqlite3_busy_timeout(connection, 5000);
      // A connection finds the WAL (and can checkpoint it) once it has read
      // the database.
      sqlite3_exec(connection, "PRAGMA journal_mode", nullptr, nullptr, nullptr);
    }
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(checkpoint_mutex_);
        checkpoint_due_.wait(lock, [&] { return checkpoint_requested_ || closing_; });
        if (closing_) break;
        checkpoint_requested_ = false;
      }
      if (connection != nullptr) {
        sqlite3_wal_checkpoint_v2(connection, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
    }
    sqlite3_close_v2(connection);
  }

  // An append in pieces (see Store::Appender). It holds append_mutex_ for
  // its whole life and writes in one transaction on writer_, begun at
  // once: from the second piece on, on a thread of its own while the
  // caller decides the next pieces; what is left, at Commit. Readers (on
  // db_) see nothing of it before the COMMIT, which is done under mutex_
  // with the new head: FindKey ignores the keys recorded beyond last_seq_.
  class PipelinedAppender final : public Appender {
   public:
    explicit PipelinedAppender(SqliteStore& store) : store_(store), append_lock_(store.append_mutex_) {
      if (store_.read_only_) {
        status_ = absl::FailedPreconditionError(absl::StrCat(
            "sqlite journal ", store_.path_,
            store_.verified_ ? " was opened read-only" : " was opened for inspection without verification",
            "; appends are refused"));
        return;
      }
      {
        std::lock_guard<std::mutex> lock(store_.mutex_);
        previous_ = store_.head_;
        next_seq_ = store_.last_seq_ + 1;
      }
      status_ = store_.Exec("BEGIN IMMEDIATE", store_.writer_);
      began_ = status_.ok();
    }

    // Without a successful Commit: rolls back (if the transaction began)
    // and forgets the keys recorded, so that the batch can be tried again.
    ~PipelinedAppender() override {
      StopWorker();
      if (appended_) return;
      if (began_) sqlite3_exec(store_.writer_, "ROLLBACK", nullptr, nullptr, nullptr);
      std::lock_guard<std::mutex> lock(store_.mutex_);
      for (size_t i = 0; i < keyed_; ++i) store_.keys_.Remove(pieces_[i]);
    }

    // Records the piece's keys at once (FindKey ignores them until the
    // commit makes last_seq_ reach them), and has its entries written.
    void Add(std::span<Entry> entries) override {
      if (keys_status_.ok()) {
        std::lock_guard<std::mutex> lock(store_.mutex_);
        keys_status_ = store_.keys_.Add(entries);
        if (keys_status_.ok()) ++keyed_;
      }
      {
        std::lock_guard<std::mutex> lock(queue_mutex_);
        pieces_.push_back(entries);
      }
      if (worker_.joinable()) {
        queued_.notify_one();
      } else if (pieces_.size() == 2) {
        try {
          worker_ = std::thread([this] { WritePieces(); });
          worker_used_ = true;
        } catch (const std::system_error&) {
          // No thread to be had: the pieces are written at Commit.
        }
      }
    }

    absl::Status Commit() override {
      LOYALTY_CHECK(!committed_);
      committed_ = true;
      StopWorker();
      WritePieces();  // what the worker did not write, or everything
      if (!keys_status_.ok()) return keys_status_;
      if (!status_.ok()) return status_;
      std::lock_guard<std::mutex> lock(store_.mutex_);
      sqlite3_stmt* update = store_.update_head_.get();
      std::string head = absl::StrCat(next_seq_ - 1, ":", ToHex(previous_));
      sqlite3_bind_text(update, 1, head.data(), static_cast<int>(head.size()), SQLITE_STATIC);
      int rc = sqlite3_step(update);
      sqlite3_reset(update);
      if (rc == SQLITE_DONE && store_.head_authenticated_) {
        // The head's MAC, in the same transaction as the head.
        sqlite3_stmt* update_mac = store_.update_head_mac_.get();
        std::string mac = ToHex(*store_.chain_.HeadMac(next_seq_ - 1, previous_));
        sqlite3_bind_text(update_mac, 1, mac.data(), static_cast<int>(mac.size()), SQLITE_STATIC);
        rc = sqlite3_step(update_mac);
        sqlite3_reset(update_mac);
      }
      absl::Status status = rc == SQLITE_DONE ? absl::OkStatus() : store_.Error("append", rc, store_.writer_);
      if (status.ok()) {
        if (worker_used_) sqlite3_wal_hook(store_.writer_, &SqliteStore::AfterLargeCommit, &store_);
        status = store_.Exec("COMMIT", store_.writer_);
        if (worker_used_) sqlite3_wal_autocheckpoint(store_.writer_, kCheckpointFrames);
      }
      if (!status.ok()) return status;  // the destructor rolls back and forgets the keys
      appended_ = true;
      store_.head_ = previous_;
      store_.last_seq_ = next_seq_ - 1;
      return absl::OkStatus();
    }

   private:
    // Writes the pieces not written yet, in order: on the worker, until
    // StopWorker; on the caller's thread, those there are.
    void WritePieces() {
      for (;;) {
        std::span<Entry> piece;
        {
          std::unique_lock<std::mutex> lock(queue_mutex_);
          queued_.wait(lock, [&] { return written_ < pieces_.size() || stopped_; });
          if (written_ == pieces_.size()) return;
          piece = pieces_[written_++];
        }
        if (status_.ok()) status_ = WritePiece(piece);
      }
    }

    absl::Status WritePiece(std::span<Entry> piece) {
      sqlite3_stmt* insert = store_.insert_.get();
      for (size_t i = 0; i < piece.size(); ++i) {
        Entry& entry = piece[i];
        LOYALTY_CHECK(entry.seq == next_seq_);
        if (i == 0 || entry.idempotency_key != piece[i - 1].idempotency_key) {
          if (absl::Status unused = CheckKeyNotIndexed(entry.idempotency_key); !unused.ok()) return unused;
        }
        ++next_seq_;
        entry.hash = store_.chain_.EncodeAndHash(previous_, entry, &bytes_);
        previous_ = entry.hash;
        sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(entry.seq));
        sqlite3_bind_blob(insert, 2, bytes_.data(), static_cast<int>(bytes_.size()), SQLITE_STATIC);
        sqlite3_bind_blob(insert, 3, entry.hash.data(), static_cast<int>(entry.hash.size()), SQLITE_STATIC);
        sqlite3_bind_int64(insert, 4, static_cast<sqlite3_int64>(entry.member_prev));
        int rc = sqlite3_step(insert);
        sqlite3_reset(insert);
        if (rc != SQLITE_DONE) return store_.Error("append", rc, store_.writer_);
      }
      return absl::OkStatus();
    }

    // AlreadyExists if `key` is in the index on disk (the index in memory
    // only holds the keys after it).
    absl::Status CheckKeyNotIndexed(absl::string_view key) {
      if (!store_.key_table_) return absl::OkStatus();
      Statement& find = store_.find_key_writer_;
      if (find.get() == nullptr) {
        if (int rc = sqlite3_prepare_v2(store_.writer_, kFindKeySql, -1, find.out(), nullptr); rc != SQLITE_OK) {
          return store_.Error("read the key index", rc, store_.writer_);
        }
      }
      if (!FindIndexedKey(find.get(), key)) return absl::OkStatus();
      return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", key, "\" is already used"));
    }

    // Lets the worker, if any, write what is queued and end.
    void StopWorker() {
      {
        std::lock_guard<std::mutex> lock(queue_mutex_);
        stopped_ = true;
      }
      if (!worker_.joinable()) return;
      queued_.notify_one();
      worker_.join();
    }

    SqliteStore& store_;
    std::lock_guard<std::mutex> append_lock_;
    absl::Status status_;  // the first error writing; written by the worker while it runs
    absl::Status keys_status_;  // AlreadyExists if a piece's keys were used before
    bool began_ = false;   // a transaction was begun on writer_
    bool committed_ = false;  // Commit was called
    bool appended_ = false;   // and succeeded
    Sha256 previous_{};    // the hash of the last entry written
    uint64_t next_seq_ = 0;
    std::string bytes_;    // the entry being written, encoded
    std::mutex queue_mutex_;
    std::condition_variable queued_;
    std::vector<std::span<Entry>> pieces_;  // added; the first written_ taken to be written
    size_t written_ = 0;
    size_t keyed_ = 0;  // the first keyed_ pieces have their keys recorded
    bool stopped_ = false;
    std::thread worker_;
    bool worker_used_ = false;
  };

  std::string path_;
  sqlite3* db_ = nullptr;      // reads, and the schema at open; under mutex_
  sqlite3* writer_ = nullptr;  // appends; under append_mutex_
  std::mutex append_mutex_;    // held by an append throughout; taken before mutex_
  mutable std::mutex mutex_;
  Statement insert_;
  Statement update_head_;
  Statement update_head_mac_;  // keyed journals of schema version 5
  // The idempotency keys of the entries after keys_through_ (all of them
  // in a journal that never moved its keys to disk); those up to it are in
  // the table loyalty_keys, which exists if key_table_.
  internal::KeyIndex keys_;
  uint64_t keys_through_ = 0;
  bool key_table_ = false;
  mutable Statement find_key_;  // kFindKeySql on db_, prepared by the first FindKey that needs it
  Statement find_key_writer_;   // kFindKeySql on writer_, for appends
  std::thread checkpointer_;  // started by the first checkpoint requested
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_due_;
  bool checkpoint_requested_ = false;
  bool closing_ = false;
  internal::Chain chain_;             // how entries are hashed (keyed or not)
  std::optional<Sha256> key_check_;  // recorded by a keyed journal
  bool verified_ = true;  // false: opened for inspection (verify_on_open = false)
  bool read_only_ = false;  // a reader: no writer lock, no writes, reads stop at the head of its open
  bool head_authenticated_ = false;  // a keyed journal that records its head's MAC (schema version 5)
  bool linked_ = true;    // journal.member_prev exists (schema version 3 and later)
  int lock_fd_ = -1;      // PATH-lock, flocked by a writer
  Sha256 head_{};
  uint64_t last_seq_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, SqliteOptions options) {
  return SqliteStore::Open(path, options);
}

}  // namespace loyalty
