// The journal store: append-only storage of entries behind one interface,
// with a SHA-256 hash chain over the entries' canonical bytes.
//
//   auto store = OpenSqliteStore("journal.db");   // verifies the chain
//   if (!store.ok()) ...                           // names the first bad entry
//   auto engine = Engine::Open(*std::move(store), clock, program);
//
// Each entry's hash is SHA-256(previous hash || canonical bytes of the
// entry), the first entry's previous hash being 32 zero bytes; so any edit,
// deletion or reordering of stored entries is detected when the journal is
// opened or verified.
//
// Keyed journal: with a journal_key (a secret of at least 16 bytes that the
// host keeps outside the database, e.g. in a key store), each entry's hash
// is HMAC-SHA-256(key, previous hash || canonical bytes) instead, so that
// someone who can write the database file but does not hold the key cannot
// forge a consistent history: an entry rewritten with recomputed plain
// SHA-256 (or HMAC under another key) hashes is reported as DataLoss naming
// it. A keyed journal records that it is keyed and a key check value
// (HMAC-SHA-256(key, "loyalty journal key check"), which reveals nothing of
// the key), so that opening or verifying it without its key, with another
// key, or an unkeyed journal with a key, is FailedPrecondition, never taken
// for corruption. Without a key, entries are chained with plain SHA-256,
// and a journal that records no key check opens without one.
//
//   SqliteOptions options{.journal_key = host_secret};   // 32 random bytes
//   auto store = OpenSqliteStore("journal.db", options);
//   auto verified = VerifyChain(**store, host_secret);
//
// A keyed SQLite journal also authenticates its head record: the head
// (last seq and hash) is stored with HMAC-SHA-256(key, seq, hash), so that
// cutting entries off the end and rewriting the head to match is DataLoss
// too. What no journal can reveal by itself is a whole older copy put in
// its place (a rollback): for that, record the heads an application is
// given (Store::Head, printed by every command of the `loyalty` tool that
// writes) outside the database, and verify against the latest one
// (VerifyJournal with an expected head, `loyalty verify --expect-head`).
// docs/security.md says what each mode detects.
//
// Idempotency keys are indexed in memory rather than by a unique index in
// the database, so that random keys do not slow appends down. An SQLite
// journal moves them to an index on disk with each checkpoint of its head
// (written sorted, in the checkpoint's transaction), so that memory holds
// only the keys since the latest checkpoint, and a retry of an older
// command is still found (one look-up in the index on disk).
//
// Opening an SQLite or PostgreSQL journal that has a checkpoint reads and
// verifies only the entries from that checkpoint on (its recorded hash
// must be the entry's), so that a start does not grow with the history;
// the entries before it are verified by VerifyChain (`loyalty verify`), or,
// for SQLite, on open with SqliteOptions::verify_from_first_entry.
//
// Thread safety: every method may be called from any thread; appends are
// serialized inside the store.
#ifndef LOYALTY_STORE_H_
#define LOYALTY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/ledger.h"
#include "loyalty/shard_map.h"

namespace loyalty {

// The entries one command wrote: seqs first .. first + count - 1.
struct KeyRecord {
  uint64_t first = 0;
  uint32_t count = 0;
};

// A journal's head: its last entry's seq and chain hash (seq 0 and 32 zero
// bytes for an empty journal). A head receipt is its text form, "seq:hash"
// with the hash in lowercase hex; recorded outside the database, it lets a
// verification tell a journal that was cut back or replaced by an older
// copy ("rolled back").
struct JournalHead {
  uint64_t seq = 0;
  Sha256 hash{};
  // For a keyed SQLite journal, the MAC recorded with the head (checked by
  // the chain verification); nullopt where the store records none.
  std::optional<Sha256> mac;

  // "seq:hash" (the MAC is not part of a receipt).
  std::string ToString() const;
  // Parses "seq:hash" (64 hex digits); InvalidArgument saying what is wrong.
  static absl::StatusOr<JournalHead> Parse(absl::string_view text);
  friend bool operator==(const JournalHead&, const JournalHead&) = default;
};

// A checkpoint of the projection (every member's state and the published
// versions) after entry `seq`, whose chain hash was `head_hash`: an engine
// opens from the latest one and applies only the entries after it. Its
// content is a sequence of parts whose SHA-256 is `digest` (the engine's
// StateDigest at that seq); `loyalty verify --full` rebuilds the state from
// the first entry and compares it with every checkpoint's.
struct CheckpointInfo {
  uint64_t seq = 0;
  Sha256 head_hash{};
  Sha256 digest{};
  uint64_t parts = 0;
  friend bool operator==(const CheckpointInfo&, const CheckpointInfo&) = default;
};

// Every store keeps each entry's member_prev (the engine's back link to the
// member's previous entry) beside the entry, outside the chain, and gives
// it back with the entry.
class Store {
 public:
  virtual ~Store() = default;

  // Appends `batch` atomically and durably (as durable as the store is).
  // Preconditions (checked): the entries carry seqs LastSeq() + 1, + 2, ...
  // Sets each entry's hash. AlreadyExists if an entry's idempotency key was
  // used by an earlier command (the entries of one command, which share its
  // key, must be adjacent). Aborted if the journal is shared with other
  // writers and one of them appended after LastSeq(): the batch was decided
  // on a stale state; CatchUp, decide again and retry. On any error nothing
  // is appended.
  virtual absl::Status Append(std::span<Entry> batch) = 0;

  // One append given in pieces, so that a store can write the first pieces
  // while its caller decides the next ones: a large batch then takes about
  // as long as the slower of deciding and writing, on two cores, instead of
  // their sum. Obtained from BeginAppend; used by one thread.
  class Appender {
   public:
    // Without a successful Commit, nothing is appended.
    virtual ~Appender() = default;
    // Adds the next entries of the batch: seqs LastSeq() + 1, + 2, ...
    // continuing the pieces added before (checked). The entries of one
    // command must come in one piece. They must stay where they are,
    // unread and unchanged by the caller, until Commit returns: the store
    // may encode them and set their hashes on another thread meanwhile.
    virtual void Add(std::span<Entry> entries) = 0;
    // Appends all pieces atomically and durably, with the errors and
    // effects of Append (each entry's hash set; on any error nothing is
    // appended). Called at most once.
    virtual absl::Status Commit() = 0;
  };
  // Starts an append in pieces. Appends are serialized: the store's other
  // appends wait until this one is committed or dropped, and nothing of it
  // is visible before Commit. The default collects the pieces and calls
  // Append with them at Commit.
  virtual std::unique_ptr<Appender> BeginAppend();

  // For a journal shared with other writers (PostgreSQL): reads the entries
  // they appended after LastSeq(), verifies that they continue the chain,
  // records their keys, advances LastSeq and HeadHash, and calls `visit`
  // with each, in order (under the store's lock: `visit` must not call the
  // store). DataLoss naming the entry if they do not chain; Unavailable if
  // the database cannot be read. A store with a single writer has nothing
  // to read and returns OK.
  virtual absl::Status CatchUp(absl::FunctionRef<absl::Status(const Entry&)> visit) {
    (void)visit;
    return absl::OkStatus();
  }
  // True if other writers may append to this journal (CatchUp may read).
  virtual bool Shared() const { return false; }
  // For a shared journal: waits until this writer has the journal to
  // itself and keeps it until EndTurn, so that a catch-up, decision and
  // append made in between cannot be overtaken by another instance (their
  // appends wait). A writer overtaken again and again takes a turn so that
  // it cannot starve. Unavailable if the database cannot be reached. A
  // store with a single writer has nothing to wait for.
  virtual absl::Status WaitForTurn() { return absl::OkStatus(); }
  // Ends a turn that WaitForTurn began; called once per successful wait.
  virtual void EndTurn() {}

  // Calls `visit` for each entry with seq >= `from`, in order; stops at and
  // returns the first error `visit` returns.
  virtual absl::Status Read(uint64_t from,
                            absl::FunctionRef<absl::Status(const Entry&)> visit) const = 0;
  // As Read, passing with each entry the bytes it is stored as (its
  // encoding, which the hash chain covers), so that checking the chain
  // needs no second encoding. The default encodes what Read gives; stores
  // that keep the bytes pass them as they are.
  virtual absl::Status ReadStored(
      uint64_t from, absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const;

  // As ReadStored, reading the entries and the head the journal records in
  // one consistent snapshot, so that a journal appended to meanwhile (by
  // this or another process) is never taken for a damaged one: `*head` is
  // set to the head of that snapshot before the first visit, and the
  // entries visited are those of the same snapshot. A store opened for
  // inspection may hold rows past its recorded head, and visits them; the
  // others visit no entry past `*head`. The default takes Head() and stops
  // at its seq.
  virtual absl::Status ReadSnapshot(
      uint64_t from, JournalHead* head,
      absl::FunctionRef<absl::Status(const Entry&, absl::string_view stored)> visit) const;

  // The entry with this seq; NotFound if there is none.
  virtual absl::StatusOr<Entry> Get(uint64_t seq) const = 0;

  // The entries recorded under `key`, if any.
  virtual std::optional<KeyRecord> FindKey(absl::string_view key) const = 0;

  virtual uint64_t LastSeq() const = 0;
  // The hash of the last entry (32 zero bytes for an empty journal).
  virtual Sha256 HeadHash() const = 0;
  // LastSeq and HeadHash together, as one append left them: the head
  // receipt of the journal as this store has it (mac unset). The default
  // reads them under no common lock; stores that append override it.
  virtual JournalHead Head() const { return JournalHead{LastSeq(), HeadHash(), std::nullopt}; }

  // For a keyed journal, its key check value (see above); nullopt for a
  // journal chained with plain SHA-256 (the default implementation).
  virtual std::optional<Sha256> KeyCheck() const { return std::nullopt; }

  // Checkpoints. A store that keeps none (the default) has none, and
  // refuses SaveCheckpoint with Unimplemented; a store opened read-only
  // refuses it with FailedPrecondition.
  //
  // Stores `info` and its parts, which `next_part` gives one at a time
  // (false when there are no more), atomically; replaces a checkpoint
  // with the same seq.
  virtual absl::Status SaveCheckpoint(const CheckpointInfo& info,
                                      absl::FunctionRef<bool(std::string* part)> next_part);
  // Every checkpoint kept, by ascending seq.
  virtual absl::StatusOr<std::vector<CheckpointInfo>> Checkpoints() const;
  // Calls `visit` with each part of the checkpoint at `seq`, in order;
  // NotFound if there is none.
  virtual absl::Status ReadCheckpoint(uint64_t seq,
                                      absl::FunctionRef<absl::Status(absl::string_view part)> visit) const;
  // Deletes the checkpoint at `seq` and its parts (OK if there is none),
  // so that old ones do not pile up (EngineOptions::checkpoints_kept).
  // FailedPrecondition for a checkpoint the store's open starts from (the
  // SQLite store's latest checkpoint of its head); Unimplemented (the
  // default) for a store without checkpoints.
  virtual absl::Status DeleteCheckpoint(uint64_t seq);

  // The index of idempotency keys the store keeps on disk (see above):
  // sets `*through` to the seq up to which it holds every command's key
  // (0 if it keeps none, the default) and then calls `visit` with each key
  // and its record, in no particular order, from one snapshot, under the
  // store's lock (`visit` must not call the store). Replay compares it with
  // the entries.
  virtual absl::Status ReadKeyIndex(
      uint64_t* through, absl::FunctionRef<absl::Status(absl::string_view key, const KeyRecord& record)> visit) const {
    (void)visit;
    *through = 0;
    return absl::OkStatus();
  }

  // False only for a journal written before Entry::member_prev and opened
  // without being migrated (an SQLite journal of schema 1 or 2 opened for
  // inspection): its entries read back with member_prev 0, not their links.
  virtual bool KeepsMemberLinks() const { return true; }
};

// A store that keeps the journal in memory; for tests, scenarios and
// benchmarks.
std::unique_ptr<Store> NewMemoryStore();
// A keyed journal in memory, chained with HMAC-SHA-256 under `journal_key`.
// InvalidArgument if the key has fewer than 16 bytes.
absl::StatusOr<std::unique_ptr<Store>> NewKeyedMemoryStore(const std::string& journal_key);

struct SqliteOptions {
  // FULL (the default) syncs the WAL on every commit: a committed append
  // survives power loss. NORMAL syncs only at checkpoints: a committed
  // append survives a crash of the process but may be lost on power loss;
  // appends are faster.
  enum class Synchronous { kFull, kNormal };
  Synchronous synchronous = Synchronous::kFull;
  // true (the default): the journal is read and its chain verified on
  // open, as below. false opens a possibly damaged journal for inspection
  // only (the audit's VerifyJournal names what is wrong with it): nothing
  // is verified, LastSeq and HeadHash are the head the file records, rows
  // are returned as stored even where a row holds another entry's seq,
  // FindKey finds nothing, and Append returns FailedPrecondition.
  bool verify_on_open = true;
  // false (the default): a verified open of a journal with a checkpoint
  // reads and verifies the entries from the latest checkpoint of its head
  // (the one its idempotency keys were indexed on disk with) on, and takes
  // the entries before it as verified by an earlier open or by
  // VerifyChain. true: reads and verifies every entry from the first.
  bool verify_from_first_entry = false;
  // The secret of a keyed journal (at least 16 bytes; see above). A new
  // journal created with a key is keyed for good (schema version 5, its
  // head authenticated; versions of this library before that refuse to
  // open it); nullopt (the default) creates and opens journals chained
  // with plain SHA-256 (schema version 3). Checked on every open, also
  // with verify_on_open = false. A writer's open migrates journals of
  // versions 1 and 2 (before Entry::member_prev) to 3 and 4, and keyed
  // journals of version 4 (head not authenticated) to 5.
  std::optional<std::string> journal_key{};
  // true (the default): a path where no file exists, or an empty file,
  // becomes a new journal. false: only an existing journal is opened; a
  // missing path, or a file that holds no journal yet, is NotFound ("no
  // journal at PATH") and nothing is created or written. read_only implies
  // false.
  bool create_if_missing = true;
  // false (the default): the store is the journal's one writer. It holds
  // an exclusive lock on the side file PATH-lock for as long as it is open,
  // and an open while another store (in any process) holds it is refused
  // as FailedPrecondition. true: a reader. Never creates a journal (as
  // create_if_missing = false), never changes the file (a journal of schema
  // 1 or 2 is read unmigrated, a keyed one of schema 4 keeps its
  // unauthenticated head), takes no lock, so it may be opened while a
  // writer appends, and sees the journal as it was when opened: Read, Get
  // and LastSeq stop at the head read then. Append returns
  // FailedPrecondition. verify_on_open = false implies read_only. Readers
  // (audits, verification) open this way, so that a mistyped path is
  // refused rather than taken for an empty journal.
  bool read_only = false;
};

// Opens (creating if absent, unless create_if_missing is false or
// read_only) the journal in the SQLite file at `path`, in WAL mode, reads
// it and verifies the chain, reading the entries and the head in one
// transaction (one snapshot of the file), as every later read does.
// Errors:
//   InvalidArgument     journal_key is shorter than 16 bytes
//   NotFound            create_if_missing is false, or read_only (or
//                       verify_on_open = false), and there is no journal at
//                       `path` (no file, or an empty one): "no journal at
//                       PATH"
//   FailedPrecondition  the file is not a loyalty journal, or was written
//                       by a newer schema version; or the key does not fit:
//                       a keyed journal opened without journal_key or with
//                       another key, or an unkeyed one with a key; or
//                       (not read_only) another store holds the journal's
//                       writer lock: one writer per file
//   DataLoss            the chain does not verify; the message names the
//                       first bad entry and what is wrong (modified,
//                       missing, reordered); or the head record does not
//                       match the entries, or (keyed journal) its MAC
//   Unavailable         SQLite could not open or read the file
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                       SqliteOptions options = {});

// Opens (creating or migrating its schema if needed) the journal in the
// PostgreSQL database named by `conninfo`, a libpq connection string or URI
// ("postgresql:///loyalty?host=/run/postgresql"), reads it and verifies the
// chain from its latest checkpoint (loading the idempotency keys of the
// commands before it from the database). Several stores, in any number of processes, may share one
// database: appends are serialized by a row lock on the journal's head, an
// append decided on a stale state is refused as Aborted (see Append and
// CatchUp), and idempotency keys are unique in the database. Every commit
// is as durable as the server's synchronous_commit makes it. Errors:
//   FailedPrecondition  the database holds loyalty tables that are not a
//                       journal, or a schema written by a newer version
//   DataLoss            the chain does not verify (names the entry); the
//                       latest checkpoint's entry is missing or has another
//                       hash; a key row cannot be a command's
//   Unavailable         the server cannot be reached or fails a query
// Checkpoints() lists those up to the entries the store has read (another
// instance may have saved one past them). Every command's key is held in
// memory: a look-up on the server per new command would cost a round trip.
// With options.schema, the journal's tables live in that schema (created if
// needed), and its advisory locks are its own: a database holds as many
// independent journals, e.g. the logical shards of a program; InvalidArgument
// for a schema name that is not lower-case letters, digits and _.
// Thread safety: as every Store; one connection, used under a lock.
struct PostgresOptions {
  std::string schema{};  // empty: the connection's search_path, as before
  // A reader: nothing is created or migrated, the session is read-only,
  // and appends and checkpoints are FailedPrecondition. NotFound if there
  // is no journal; FailedPrecondition if it awaits a migration.
  bool read_only = false;
};
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const std::string& conninfo,
                                                         const PostgresOptions& options = {});

// The journal of logical shard `shard` of `map`: OpenPostgresStore of the
// database the map names for it, in schema ShardSchema(shard) (which
// replaces options.schema). Precondition: shard < map.shards().
absl::StatusOr<std::unique_ptr<Store>> OpenShardStore(const ShardMap& map, uint32_t shard,
                                                      PostgresOptions options = {});

// Opens the store named by `uri`:
//   "memory:"                            NewMemoryStore()
//   "sqlite:PATH"                        OpenSqliteStore(PATH)
//   "postgresql://..." / "postgres://..." OpenPostgresStore(uri)
// InvalidArgument naming the uri for any other scheme; Unimplemented for a
// PostgreSQL uri if the library was built without its PostgreSQL store
// (LOYALTY_WITH_POSTGRES=OFF); otherwise the errors of the store opened.
// Linked with loyalty::loyalty (CMake), which holds every store built.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri);

// Reads every entry of `store` and checks the chain from the first entry:
// contiguous seqs, each entry's stored hash equal to the recomputed one,
// the last one the recorded head (its MAC too, where one is recorded),
// all in one snapshot (Store::ReadSnapshot).
// Hashes are recomputed with `journal_key` (HMAC-SHA-256) if given, else
// with plain SHA-256. Returns the number of entries, or DataLoss naming the
// first bad entry; FailedPrecondition if the key does not fit the store's
// key check value (as for OpenSqliteStore); InvalidArgument for a key
// shorter than 16 bytes. With `expected_head` (a head receipt recorded
// earlier), a journal that ends before it or holds another entry at its
// seq is DataLoss saying it was rolled back.
absl::StatusOr<uint64_t> VerifyChain(const Store& store, const std::optional<std::string>& journal_key = std::nullopt,
                                     const std::optional<JournalHead>& expected_head = std::nullopt);

// Copies `from` into `to`, to move a journal (a logical shard) to another
// database: appends the entries after to.LastSeq(), in batches, and then
// the checkpoints of `from` that `to` lacks, up to its head. Each entry's
// link is checked before its batch is appended: a stored hash that does not
// match its content and predecessor is DataLoss naming the entry, so `to`
// holds exactly `from`'s chain, verified. It may run while `from` takes
// commands, and again to copy what came since: stop the shard's writers,
// copy the rest, then switch the shard map. Nothing else may write `to`
// meanwhile. `from` is read up to the head it knows: open it again (or
// catch it up) to copy what other instances appended since it was opened.
// FailedPrecondition, copying nothing, if `to` holds entries
// that are not `from`'s (its head differs from `from`'s entry at that seq,
// or lies past its end); Unimplemented for keyed journals. Returns the
// number of entries copied.
absl::StatusOr<uint64_t> CopyJournal(const Store& from, Store& to);

}  // namespace loyalty

#endif  // LOYALTY_STORE_H_
