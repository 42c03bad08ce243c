// Journal subcommands: `verify` (hash chain), `replay` (rebuild every member
// and the state digest), `statement` (one member's entries with running
// balance) and `liability` (roll-forward over a period).
#include <iostream>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "loyalty/audit.h"
#include "loyalty/io.h"
#include "loyalty/store.h"

namespace loyalty::cli {
namespace {

struct JournalArguments {
  std::string db;
  std::string shards;   // liability: the shard map of a sharded program, instead of --db
  std::string program;  // verify: the rules that need it; replay: re-rate under this program
  std::string without;  // replay: ... without this version of it
  bool json = false;
  std::string member;
  std::string from, to;
  // Empty when not given: the command's default, or the program's.
  std::string value_per_point;
  std::string currency;
  std::string zone;
  std::string key_file;     // --key-file: the key of a keyed journal
  std::string expect_head;  // verify: SEQ:HASH the journal must still hold
  bool full = false;        // verify: also rebuild the state and compare every checkpoint
};

// The existing journal at `db`, opened as a reader (it may be appended to
// meanwhile) with the key from --key-file, if given; NotFound if there is
// none (a reading command never creates one).
absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& db, const std::optional<std::string>& key) {
  return OpenSqliteStore(db, {.journal_key = key, .read_only = true});
}

// `verify --full`: the state rebuilt from the first entry and compared with
// every checkpoint the journal keeps; how many. A checkpoint that is not the
// state its entries build is DataLoss naming it (a finding).
absl::StatusOr<uint64_t> CheckpointsCompared(const std::string& db, const std::optional<std::string>& key) {
  auto store = Open(db, key);
  if (!store.ok()) return store.status();
  auto replayed = Replay(**store, Instant::Max(), key);
  if (!replayed.ok()) return replayed.status();
  return replayed->checkpoints;
}

int Verify(const JournalArguments& a) {
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  std::optional<JournalHead> expected;
  if (!a.expect_head.empty()) {
    auto parsed = JournalHead::Parse(a.expect_head);
    if (!parsed.ok()) return Fail("--expect-head", parsed.status());
    expected = *parsed;
  }
  std::optional<Program> program;
  if (!a.program.empty()) {
    auto loaded = LoadProgramFile(a.program);
    if (!loaded.ok()) return Fail(a.program, loaded.status());
    program = *std::move(loaded);
  }
  auto verification = VerifyJournalFile(a.db, *key, expected, program ? &*program : nullptr);
  if (!verification.ok()) return Fail(a.db, verification.status());
  Json document = ToJson(*verification);
  document["checkpoints"] = nullptr;
  if (a.full && verification->ok()) {
    auto checkpoints = CheckpointsCompared(a.db, *key);
    if (!checkpoints.ok() && !absl::IsDataLoss(checkpoints.status())) return Fail(a.db, checkpoints.status());
    if (!checkpoints.ok()) {
      // The chain verified, but a checkpoint or the index of idempotency
      // keys on disk is not what its entries build.
      const std::string finding(checkpoints.status().message());
      document["result"] = "derived state mismatch";
      document["detail"] = finding;
      document["summary"] = absl::StrCat("the entries verify, but ", finding);
      Print("verify", document, a.json);
      std::cerr << "loyalty: " << a.db << ": " << checkpoints.status().message() << "\n";
      return kExitFindings;
    }
    document["checkpoints"] = *checkpoints;
  }
  Print("verify", document, a.json);
  if (!verification->ok()) {
    std::cerr << "loyalty: " << a.db << ": " << verification->Summary() << "\n";
    return kExitFindings;
  }
  return kExitOk;
}

// The text of a re-rating: `document` with its tiers and rewards as they
// were ("" for none) and each changed command's outcomes in words
// ("debited 105000", "failed: ...").
Json RerateText(const Json& document, const Rerating& rerated) {
  Json text = document;
  text["without"] = document["without"].is_null() ? "" : document["without"];
  for (size_t i = 0; i < rerated.members_changed.size(); ++i) {
    text["members_changed"][i]["recorded_tier"] = rerated.members_changed[i].recorded.tier;
    text["members_changed"][i]["rerated_tier"] = rerated.members_changed[i].rerated.tier;
  }
  for (size_t i = 0; i < rerated.commands_changed.size(); ++i) {
    const CommandRerated& c = rerated.commands_changed[i];
    Json& row = text["commands_changed"][i];
    row["reward"] = c.reward;
    row["recorded"] = absl::StrCat(c.recorded_kind, " ", c.recorded_points.value());
    row["rerated"] = c.rerated_error.ok() ? absl::StrCat(c.rerated_kind, " ", c.rerated_points.value())
                                          : absl::StrCat("failed: ", c.rerated_error.message());
  }
  return text;
}

// `replay --program FILE [--without VERSION]`: the recorded commands decided
// again under that program history, and what would have been different.
int Rerating(const Store& store, const JournalArguments& a, const std::optional<std::string>& key) {
  auto program = LoadProgramFile(a.program);
  if (!program.ok()) return Fail(a.program, program.status());
  if (!a.without.empty()) {
    program = ProgramWithout(*program, a.without);
    if (!program.ok()) return Fail("--without", program.status());
  }
  auto rerated = Rerate(store, *program, key);
  if (!rerated.ok()) return Fail(a.db, rerated.status());
  auto text_or_null = [](const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); };
  Json members = Json::array();
  for (const MemberRerated& m : rerated->members_changed) {
    members.push_back(Json{{"member", m.member.value()},
                           {"recorded_available", m.recorded.available.value()},
                           {"rerated_available", m.rerated.available.value()},
                           {"difference", m.rerated.available.value() - m.recorded.available.value()},
                           {"recorded_tier", text_or_null(m.recorded.tier)},
                           {"rerated_tier", text_or_null(m.rerated.tier)}});
  }
  Json commands = Json::array();
  for (const CommandRerated& c : rerated->commands_changed) {
    Json rerated_entry{{"kind", nullptr}, {"points", nullptr}, {"error", nullptr}};
    if (c.rerated_error.ok()) {
      rerated_entry["kind"] = c.rerated_kind;
      rerated_entry["points"] = c.rerated_points.value();
    } else {
      rerated_entry["error"] = Json{{"code", absl::StatusCodeToString(c.rerated_error.code())},
                                    {"message", std::string(c.rerated_error.message())}};
    }
    commands.push_back(Json{{"entry", c.seq},
                            {"member", c.member.value()},
                            {"key", c.idempotency_key},
                            {"reward", text_or_null(c.reward)},
                            {"recorded", Json{{"kind", c.recorded_kind}, {"points", c.recorded_points.value()}}},
                            {"rerated", rerated_entry}});
  }
  Json document{{"program", a.program},
                {"without", text_or_null(a.without)},
                {"entries", rerated->entries},
                {"commands", rerated->commands},
                {"entries_decided", rerated->entries_decided},
                {"failed", rerated->failed},
                {"members", rerated->members},
                {"recorded_available", rerated->recorded_available.value()},
                {"rerated_available", rerated->rerated_available.value()},
                {"state_digest", ToHex(rerated->state_digest)},
                {"members_changed", members},
                {"commands_changed", commands}};
  Json text = RerateText(document, *rerated);
  Print("rerate", document, a.json, &text);
  return kExitOk;
}

// The members' available, held and debt points added up; OutOfRange
// naming the sum that does not fit in 64 bits.
absl::StatusOr<MemberBalance> Outstanding(const std::vector<const MemberState*>& states) {
  MemberBalance total;
  for (const MemberState* state : states) {
    for (auto [sum, addend, what] : {std::tuple{&total.available, state->balance, "available"},
                                     std::tuple{&total.held, state->held(), "held"},
                                     std::tuple{&total.debt, state->debt(), "debt"}}) {
      auto added = Add(*sum, addend);
      if (!added.ok()) {
        return absl::OutOfRangeError(absl::StrCat("outstanding ", what, ": the members' ", what,
                                                  " points add up to more than ",
                                                  std::numeric_limits<int64_t>::max(), " (",
                                                  added.status().message(), ")"));
      }
      *sum = *added;
    }
  }
  return total;
}

int ReplayJournal(const JournalArguments& a) {
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  auto store = Open(a.db, *key);
  if (!store.ok()) return Fail(a.db, store.status());
  if (!a.program.empty()) return Rerating(**store, a, *key);
  auto replayed = Replay(**store, Instant::Max(), *key);
  if (!replayed.ok()) return Fail(a.db, replayed.status());
  Json versions = Json::array();
  std::vector<std::string> ids;
  for (const auto& [id, hash] : replayed->published) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) versions.push_back(Json{{"version", id}, {"content_hash", ToHex(replayed->published.at(id))}});
  auto total = Outstanding(replayed->States());
  if (!total.ok()) return Fail(a.db, total.status());
  Print("replay", Json{{"entries", replayed->entries}, {"verified", true}, {"head", ToHex(replayed->head)},
             {"members", replayed->members.size()}, {"outstanding", ToJson(*total)},
             {"state_digest", ToHex(replayed->state_digest)}, {"checkpoints", replayed->checkpoints},
             {"published", versions}},
        a.json);
  return kExitOk;
}

int StatementCommand(const JournalArguments& a) {
  auto zone = TimeZone::Load(a.zone.empty() ? "UTC" : a.zone);
  if (!zone.ok()) return Fail("--zone", zone.status());
  auto member = MemberId::Parse(a.member);
  if (!member.ok()) return Fail("member", member.status());
  Instant from = Instant::Min(), to = Instant::Max();
  if (!a.from.empty()) {
    auto parsed = ParseWhen(a.from, *zone);
    if (!parsed.ok()) return Fail("--from", parsed.status());
    from = *parsed;
  }
  if (!a.to.empty()) {
    auto parsed = ParseWhen(a.to, *zone);
    if (!parsed.ok()) return Fail("--to", parsed.status());
    to = *parsed;
  }
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  auto store = Open(a.db, *key);
  if (!store.ok()) return Fail(a.db, store.status());
  auto statement = StatementOf(**store, *member, from, to);
  if (!statement.ok()) return Fail(a.db, statement.status());
  ReportSection section{.where = "statement", .title = "", .result = *std::move(statement)};
  Print("statement", ToJson(section)["result"], a.json);
  return kExitOk;
}

// What the liability is valued in, and where each part came from:
// "program" (--program), "option" (its own option) or "default".
struct LiabilityBasis {
  std::string zone = "UTC", zone_from = "default";
  std::string currency = "EUR", currency_from = "default";
  std::string value_per_point = "0.01", value_per_point_from = "default";
  std::string version;  // the program's version in force at the period's end
};

// The basis from the program, if given (the version in force at `to`: its
// zone, currency and pay-with-points value per point), then the options.
// An option that contradicts the program's zone or currency is an error;
// --value-per-point overrides the program's, which is a redemption value,
// not necessarily the one the accounts use.
absl::StatusOr<LiabilityBasis> BasisOf(const JournalArguments& a, const std::optional<Program>& program,
                                       absl::string_view to_text) {
  LiabilityBasis basis;
  if (program) {
    auto to = ParseWhen(std::string(to_text), program->zone());
    if (!to.ok()) return absl::InvalidArgumentError(absl::StrCat("--to: ", to.status().message()));
    const ProgramVersion& version = program->InForceJustBefore(*to);
    basis.version = version.id;
    basis.zone = version.zone.name();
    basis.zone_from = "program";
    basis.currency = std::string(version.currency.code());
    basis.currency_from = "program";
    if (version.redemption.pay_with_points) {
      basis.value_per_point = version.redemption.pay_with_points->value_per_point.ToString();
      basis.value_per_point_from = "program";
    }
  }
  for (auto [given, option, value, from] :
       {std::tuple{&a.zone, "--zone", &basis.zone, &basis.zone_from},
        std::tuple{&a.currency, "--currency", &basis.currency, &basis.currency_from}}) {
    if (given->empty()) continue;
    if (program && *given != *value) {
      return absl::InvalidArgumentError(
          absl::StrCat(option, ": ", *given, " is not the program's (", *value, "); leave it out or change the program"));
    }
    *value = *given;
    *from = "option";
  }
  if (!a.value_per_point.empty()) {
    basis.value_per_point = a.value_per_point;
    basis.value_per_point_from = "option";
  }
  return basis;
}

Json ToJson(const LiabilityBasis& b) {
  Json json{{"zone", b.zone},
            {"zone_from", b.zone_from},
            {"currency", b.currency},
            {"currency_from", b.currency_from},
            {"value_per_point", b.value_per_point},
            {"value_per_point_from", b.value_per_point_from}};
  json["program_version"] = b.version.empty() ? Json(nullptr) : Json(b.version);
  return json;
}

absl::StatusOr<LiabilityRollForward> RollForwardOfJournal(const std::string& db, const TimeZone& zone,
                                                          const LiabilityOptions& options) {
  auto store = Open(db, options.journal_key);
  if (!store.ok()) return store.status();
  return RollForward(**store, zone, options);
}

// Every shard of the map in `file` read together.
absl::StatusOr<LiabilityRollForward> RollForwardOfShards(const std::string& file, const TimeZone& zone,
                                                         const LiabilityOptions& options) {
  auto map = LoadShardMapFile(file);
  if (!map.ok()) return map.status();
  auto stores = OpenShardsToRead(*map);
  if (!stores.ok()) return stores.status();
  std::vector<const Store*> journals;
  for (const auto& store : *stores) journals.push_back(store.get());
  return RollForwardShards(journals, zone, options);
}

int Liability(const JournalArguments& a) {
  if (a.db.empty() == a.shards.empty()) {
    std::cerr << "loyalty: liability: give either --db or --shards\n";
    return kExitUsage;
  }
  std::optional<Program> program;
  if (!a.program.empty()) {
    auto loaded = LoadProgramFile(a.program);
    if (!loaded.ok()) return Fail(a.program, loaded.status());
    program = *std::move(loaded);
  }
  auto basis = BasisOf(a, program, a.to);
  if (!basis.ok()) return Fail("liability", basis.status());
  auto zone = TimeZone::Load(basis->zone);
  if (!zone.ok()) return Fail("--zone", zone.status());
  LiabilityOptions options;
  auto from = ParseWhen(a.from, *zone);
  if (!from.ok()) return Fail("--from", from.status());
  auto to = ParseWhen(a.to, *zone);
  if (!to.ok()) return Fail("--to", to.status());
  auto rate = Rate::Parse(basis->value_per_point);
  if (!rate.ok()) return Fail("--value-per-point", rate.status());
  auto currency = Currency::FromCode(basis->currency);
  if (!currency.ok()) return Fail("--currency", currency.status());
  options.from = *from;
  options.to = *to;
  options.value_per_point = *rate;
  options.currency = *currency;
  auto key = ReadKeyFile(a.key_file);
  if (!key.ok()) return Fail("--key-file", key.status());
  options.journal_key = *key;
  auto result = a.shards.empty() ? RollForwardOfJournal(a.db, *zone, options) : RollForwardOfShards(a.shards, *zone, options);
  if (!result.ok()) return Fail(a.shards.empty() ? a.db : a.shards, result.status());
  ReportSection section{.where = "liability", .title = "", .result = *std::move(result)};
  Json report = ToJson(section)["result"];
  report["basis"] = ToJson(*basis);
  Print("liability", report, a.json);
  return kExitOk;
}

}  // namespace

void AddJournalCommands(CLI::App& app, Outcome& outcome) {
  auto verify_args = std::make_shared<JournalArguments>();
  CLI::App* verify = app.add_subcommand("verify", "Verify a journal's hash chain (exit 1 naming the first bad entry)");
  verify->add_option("--db", verify_args->db, "Existing SQLite journal (never created)")->required();
  verify->add_flag("--json", verify_args->json, "Machine-readable JSON output");
  AddKeyFileOption(verify, &verify_args->key_file);
  verify->add_option("--expect-head", verify_args->expect_head,
                     "SEQ:HASH, a head printed by a command that wrote the journal: exit 1 (\"rolled back\") if the "
                     "journal ends before it or holds another entry at SEQ");
  verify->add_option("--program", verify_args->program,
                     "The program (JSON) that wrote the journal: also check tiers and inactivity lapses against it, "
                     "as the engine does when it opens the journal");
  verify->add_flag("--full", verify_args->full,
                   "Also rebuild every member from the first entry and compare the state with each checkpoint the "
                   "journal keeps (exit 1 naming a checkpoint that is not the state its entries build)");
  verify->callback([verify_args, &outcome] { outcome.exit_code = Verify(*verify_args); });

  auto replay_args = std::make_shared<JournalArguments>();
  CLI::App* replay = app.add_subcommand("replay", "Replay a journal: verify it, rebuild every member, print the state digest");
  replay->add_option("--db", replay_args->db, "Existing SQLite journal (never created)")->required();
  replay->add_flag("--json", replay_args->json, "Machine-readable JSON output");
  AddKeyFileOption(replay, &replay_args->key_file);
  replay->add_option("--program", replay_args->program,
                     "Re-rate: decide the recorded commands again under this program (JSON) and show what differs");
  replay->add_option("--without", replay_args->without,
                     "With --program: as if this version of it had never been published")
      ->needs("--program");
  replay->callback([replay_args, &outcome] { outcome.exit_code = ReplayJournal(*replay_args); });

  auto statement_args = std::make_shared<JournalArguments>();
  CLI::App* statement = app.add_subcommand("statement", "A member's entries with the running balance");
  statement->add_option("--db", statement_args->db, "Existing SQLite journal (never created)")->required();
  statement->add_option("member", statement_args->member, "Member id")->required();
  statement->add_option("--from", statement_args->from, "First day (YYYY-MM-DD) or instant (RFC 3339)");
  statement->add_option("--to", statement_args->to, "End, exclusive");
  statement->add_option("--zone", statement_args->zone, "Time zone of dates (default UTC)");
  statement->add_flag("--json", statement_args->json, "Machine-readable JSON output");
  AddKeyFileOption(statement, &statement_args->key_file);
  statement->callback([statement_args, &outcome] { outcome.exit_code = StatementCommand(*statement_args); });

  auto liability_args = std::make_shared<JournalArguments>();
  CLI::App* liability = app.add_subcommand("liability", "Liability roll-forward and breakage over [from, to)");
  liability->add_option("--db", liability_args->db, "Existing SQLite journal (never created)");
  liability->add_option("--shards", liability_args->shards,
                        "Instead of --db: the shard map (JSON) of a sharded program, every shard read together")
      ->excludes("--db");
  liability->add_option("--from", liability_args->from, "Start (YYYY-MM-DD or RFC 3339)")->required();
  liability->add_option("--to", liability_args->to, "End, exclusive")->required();
  liability->add_option("--program", liability_args->program,
                        "The program (JSON): its zone, currency and pay-with-points value per point, as in force "
                        "at --to");
  liability->add_option("--value-per-point", liability_args->value_per_point,
                        "Money per point (default: the program's, else 0.01)");
  liability->add_option("--currency", liability_args->currency, "ISO 4217 code (default: the program's, else EUR)");
  liability->add_option("--zone", liability_args->zone,
                        "Time zone for dates and cohorts (default: the program's, else UTC)");
  liability->add_flag("--json", liability_args->json, "Machine-readable JSON output");
  AddKeyFileOption(liability, &liability_args->key_file);
  liability->callback([liability_args, &outcome] { outcome.exit_code = Liability(*liability_args); });
}

}  // namespace loyalty::cli
