// `impact` (devaluation impact of a price change on a journal's members) and
// `population` (a synthetic log-normal population, written into a journal or
// straight into an impact report).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "commands.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "loyalty/store.h"

namespace loyalty::cli {
namespace {

struct ImpactArguments {
  std::string db, program, from, to, as_of, value = "0";
  std::vector<std::string> rewards;
  bool json = false;
  int64_t members = 0, median = 0, total = 0;
  std::string sigma;
  std::string key_file;  // --key-file: the key of a keyed journal
};

// A bar on stderr when it is a terminal and the output is not JSON.
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, bool json)
      : label_(std::move(label)), total_(total), shown_(!json && isatty(STDERR_FILENO) && total > 0) {}
  void Update(int64_t done) {
    if (!shown_) return;
    int width = 40, filled = static_cast<int>(done * width / total_);
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_));
    if (done == total_) std::fputc('\n', stderr);
  }

 private:
  std::string label_;
  int64_t total_;
  bool shown_;
};

int ImpactOf(const ImpactArguments& a, const Program& program, const std::vector<const MemberState*>* members,
             std::span<const int64_t> balances, const std::string& basis) {
  auto currency = program.versions().front()->currency;
  auto value = Money::Parse(a.value, currency);
  if (!value.ok()) return Fail("--value", value.status());
  Json reports = Json::array();
  for (const std::string& reward : a.rewards) {
    auto transition = TransitionOf(program, a.from, a.to, reward);
    if (!transition.ok()) return Fail(absl::StrCat("--reward ", reward), transition.status());
    ImpactOptions options{.value_per_award = *value, .as_of = transition->effective_from};
    if (!a.as_of.empty()) {
      auto as_of = ParseWhen(a.as_of, program.zone());
      if (!as_of.ok()) return Fail("--as-of", as_of.status());
      options.as_of = *as_of;
    }
    auto impact = members != nullptr ? ImpactOnMembers(*transition, *members, options)
                                     : ImpactOfBalances(*transition, balances, options);
    if (!impact.ok()) return Fail("impact", impact.status());
    ReportSection section{.where = "impact", .title = reward, .result = ImpactResult{basis, *std::move(impact)}};
    reports.push_back(ToJson(section)["result"]);
  }
  // One report reads as itself, several as a table; a program always gets
  // the list.
  const Json text = reports.size() == 1 ? reports[0] : reports;
  Print("impact", Json{{"reports", reports}}, a.json, &text);
  return kExitOk;
}

int Impact(const ImpactArguments& a) {
  auto program = LoadProgramFile(a.program);
  if (!program.ok()) return Fail("--program", program.status());
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  auto store = OpenSqliteStore(a.db, {.journal_key = *key, .read_only = true});
  if (!store.ok()) return Fail(a.db, store.status());
  Instant until = Instant::Max();
  if (!a.as_of.empty()) {
    auto as_of = ParseWhen(a.as_of, program->zone());
    if (!as_of.ok()) return Fail("--as-of", as_of.status());
    until = *as_of;
  }
  auto replayed = Replay(**store, until, *key);
  if (!replayed.ok()) return Fail(a.db, replayed.status());
  for (const auto& [id, hash] : replayed->published) {
    const ProgramVersion* version = program->Find(id);
    if (version != nullptr && version->content_hash != hash) {
      std::cerr << "loyalty: " << a.program << ": version " << id << " differs from the one published in " << a.db
                << "\n";
      return kExitFindings;
    }
  }
  std::vector<const MemberState*> members = replayed->States();
  return ImpactOf(a, *program, &members, {}, absl::StrCat("journal ", a.db, until == Instant::Max() ? ", every entry" : " as of " + until.ToString()));
}

// A new journal written under a temporary name beside its destination and
// moved there only once complete, so that a writer that fails midway leaves
// nothing behind: the destination appears whole or not at all. (A process
// killed midway leaves the temporary file, never a partial destination.)
class StagedJournal {
 public:
  // Reserves a temporary file beside `destination`. AlreadyExists if
  // `destination` exists: only a new journal is written this way.
  static absl::StatusOr<std::unique_ptr<StagedJournal>> Create(const std::string& destination) {
    struct stat existing;
    if (stat(destination.c_str(), &existing) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(destination, " exists; a population is written into a new journal only (all or nothing)"));
    }
    std::string name = destination + ".partial-XXXXXX";
    int fd = mkstemp(name.data());
    if (fd < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot create a temporary journal beside ", destination));
    }
    // The permissions of any new file (mkstemp's are owner-only).
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    close(fd);
    return std::unique_ptr<StagedJournal>(new StagedJournal(destination, std::move(name)));
  }
  StagedJournal(const StagedJournal&) = delete;
  StagedJournal& operator=(const StagedJournal&) = delete;
  // Removes the temporary journal and SQLite's files beside it, unless
  // published.
  ~StagedJournal() {
    if (published_) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", "-lock"}) unlink((path_ + suffix).c_str());
  }

  // Where to write the journal.
  const std::string& path() const { return path_; }

  // Moves the written journal, which must be closed, to the destination.
  // AlreadyExists if a file appeared there meanwhile (it is left alone);
  // FailedPrecondition if the journal still has a write-ahead log (SQLite
  // did not fold it in on close) that the move would leave behind.
  absl::Status Publish() {
    if (access((path_ + "-wal").c_str(), F_OK) == 0) {
      return absl::FailedPreconditionError(absl::StrCat(path_, "-wal remains after closing the journal"));
    }
    // link, unlike rename, never replaces a file that appeared meanwhile.
    if (link(path_.c_str(), destination_.c_str()) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot move the new journal to ", destination_));
    }
    published_ = true;
    for (const char* suffix : {"", "-lock"}) unlink((path_ + suffix).c_str());
    return absl::OkStatus();
  }

 private:
  StagedJournal(std::string destination, std::string path)
      : destination_(std::move(destination)), path_(std::move(path)) {}

  std::string destination_;
  std::string path_;
  bool published_ = false;
};

// Enrolls member P-i with balances[i] for every i, into `engine`, in
// appends of a few thousand commands; the first error stops it.
absl::Status WriteMembers(Engine& engine, Instant at, const std::vector<int64_t>& balances, bool json) {
  const int64_t members = static_cast<int64_t>(balances.size());
  ProgressBar writing("writing members", members, json);
  constexpr int64_t kBatch = 5000;
  for (int64_t first = 0; first < members; first += kBatch) {
    std::vector<Command> commands;
    for (int64_t i = first; i < std::min(members, first + kBatch); ++i) {
      MemberId id = MemberId::FromValid(absl::StrCat("P-", i));
      commands.push_back(Enroll{.idempotency_key = absl::StrCat("population/enroll/", i), .member = id, .at = at});
      if (balances[i] > 0) {
        commands.push_back(Credit{.idempotency_key = absl::StrCat("population/credit/", i), .member = id, .at = at,
                                  .amount = Points(balances[i]), .source = "synthetic population"});
      }
    }
    for (auto& result : engine.ExecuteBatch(commands)) {
      if (!result.ok()) return result.status();
    }
    writing.Update(std::min(members, first + kBatch));
  }
  return absl::OkStatus();
}

// `population --db FILE`: the members written into a new journal, all or
// nothing.
int PopulationJournal(const ImpactArguments& a, const Program& program, const std::vector<int64_t>& balances,
                      StagedJournal& staged) {
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  auto store = OpenSqliteStore(staged.path(), {.synchronous = SqliteOptions::Synchronous::kNormal, .journal_key = *key});
  if (!store.ok()) return Fail(a.db, store.status());
  Instant at = program.versions().front()->effective_from;
  FakeClock clock(at);
  auto engine = Engine::Open(*std::move(store), clock, program);
  if (!engine.ok()) return Fail(a.db, engine.status());
  if (absl::Status written = WriteMembers(**engine, at, balances, a.json); !written.ok()) {
    return Fail(a.db, written);
  }
  const JournalHead head = (*engine)->store().Head();
  engine->reset();  // closes the journal before it moves
  if (absl::Status published = staged.Publish(); !published.ok()) return Fail(a.db, published);
  Print("population",
        Json{{"db", a.db}, {"members", a.members}, {"total", a.total}, {"entries", head.seq}, {"head", head.ToString()}},
        a.json);
  return kExitOk;
}

int Population(const ImpactArguments& a) {
  std::unique_ptr<StagedJournal> staged;
  if (!a.db.empty()) {
    auto created = StagedJournal::Create(a.db);
    if (!created.ok()) return Fail(a.db, created.status());
    staged = *std::move(created);
  }
  auto sigma = Rate::Parse(a.sigma);
  if (!sigma.ok()) return Fail("--sigma", sigma.status());
  ProgressBar generating("generating balances", 1, a.json);
  auto balances = SyntheticBalances({.members = a.members, .median = Points(a.median), .sigma = *sigma,
                                     .total = Points(a.total)});
  if (!balances.ok()) return Fail("population", balances.status());
  generating.Update(1);
  auto program = LoadProgramFile(a.program);
  if (!program.ok()) return Fail("--program", program.status());
  if (staged != nullptr) return PopulationJournal(a, *program, *balances, *staged);
  return ImpactOf(a, *program, nullptr, *balances,
                  absl::StrCat("synthetic population: ", Grouped(a.members), " members, median ", Grouped(a.median),
                               ", sigma ", a.sigma, ", total ", Grouped(a.total)));
}

void AddImpactOptions(CLI::App* command, ImpactArguments& a, bool required) {
  auto* from = command->add_option("--from", a.from, "Version before the change");
  auto* to = command->add_option("--to", a.to, "Version after the change");
  auto* reward = command->add_option("--reward", a.rewards, "Reward id (repeatable)");
  if (required) {
    from->required();
    to->required();
    reward->required();
  }
  command->add_option("--value", a.value, "Reference value of one award in the program's currency (\"3000\")");
  command->add_option("--as-of", a.as_of, "Balances as of (YYYY-MM-DD or RFC 3339; default: the change)");
  command->add_flag("--json", a.json, "Machine-readable JSON output");
  AddKeyFileOption(command, &a.key_file);
}

}  // namespace

void AddImpactCommands(CLI::App& app, Outcome& outcome) {
  auto impact_args = std::make_shared<ImpactArguments>();
  CLI::App* impact = app.add_subcommand("impact", "Devaluation impact of a price change on a journal's members");
  impact->add_option("--db", impact_args->db, "Existing SQLite journal (never created)")->required();
  impact->add_option("--program", impact_args->program, "Program JSON whose versions the journal used")->required();
  AddImpactOptions(impact, *impact_args, true);
  impact->callback([impact_args, &outcome] { outcome.exit_code = Impact(*impact_args); });

  auto population_args = std::make_shared<ImpactArguments>();
  auto& p = *population_args;
  CLI::App* population = app.add_subcommand(
      "population", "A synthetic log-normal population: into a journal (--db) or into an impact report");
  population->add_option("--members", p.members, "Number of members")->required();
  population->add_option("--median", p.median, "Median balance")->required();
  population->add_option("--sigma", p.sigma, "Sigma of the log-normal (\"1.8\")")->required();
  population->add_option("--total", p.total, "Total points, exactly")->required();
  population->add_option("--program", p.program, "Program JSON")->required();
  population->add_option("--db", p.db,
                         "Write the members into this new SQLite journal (all or nothing; the file must not exist) "
                         "instead of reporting");
  AddImpactOptions(population, p, false);
  population->callback([population_args, &outcome] {
    const ImpactArguments& a = *population_args;
    if (a.db.empty() && (a.from.empty() || a.to.empty() || a.rewards.empty())) {
      std::cerr << "loyalty: population: give --db FILE, or --from, --to and --reward for an impact report\n";
      outcome.exit_code = kExitUsage;
      return;
    }
    outcome.exit_code = Population(a);
  });
}

}  // namespace loyalty::cli
