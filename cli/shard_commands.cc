// The commands of a program sharded by member over PostgreSQL databases
// (docs/scaling.md): `shards`, the audit (each shard's journal verified on
// its own, then the transfers between shards paired over all of them), and
// `move-shard`, one pass of a shard's move to another database.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "loyalty/audit.h"
#include "loyalty/io.h"
#include "loyalty/store.h"

namespace loyalty::cli {
namespace {

struct ShardArguments {
  std::string map;      // --shards: the shard map file
  std::string program;  // --program: the rules that need it
  bool json = false;
};

Json TransfersJson(const TransferReconciliation& r) {
  return Json{{"transfers", r.transfers},
              {"pending", r.pending},
              {"sent", r.sent.value()},
              {"received", r.received.value()},
              {"returned", r.returned.value()},
              {"in_flight", r.in_flight.value()},
              {"faults", r.faults}};
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<Store>>> OpenShardsToRead(const ShardMap& map) {
  std::vector<std::unique_ptr<Store>> stores;
  for (uint32_t shard = 0; shard < map.shards(); ++shard) {
    auto store = OpenShardStore(map, shard, {.read_only = true});
    if (!store.ok()) return absl::Status(store.status().code(), absl::StrCat("shard ", shard, ": ", store.status().message()));
    stores.push_back(*std::move(store));
  }
  return stores;
}

namespace {

int AuditShards(const ShardArguments& a) {
  auto map = LoadShardMapFile(a.map);
  if (!map.ok()) return Fail(a.map, map.status());
  std::optional<Program> program;
  if (!a.program.empty()) {
    auto loaded = LoadProgramFile(a.program);
    if (!loaded.ok()) return Fail(a.program, loaded.status());
    program = *std::move(loaded);
  }
  auto stores = OpenShardsToRead(*map);
  if (!stores.ok()) return Fail(a.map, stores.status());
  Json document{{"shards", Json::array()}};
  bool findings = false;
  for (uint32_t shard = 0; shard < map->shards(); ++shard) {
    JournalVerification verified = VerifyJournal(*(*stores)[shard], std::nullopt, std::nullopt,
                                                 program ? &*program : nullptr);
    Json row = ToJson(verified);
    row["shard"] = shard;
    document["shards"].push_back(row);
    findings = findings || !verified.ok();
  }
  document["transfers"] = nullptr;
  if (!findings) {
    std::vector<const Store*> journals;
    for (const auto& store : *stores) journals.push_back(store.get());
    auto reconciled = ReconcileTransfers(journals);
    if (!reconciled.ok()) return Fail(a.map, reconciled.status());
    document["transfers"] = TransfersJson(*reconciled);
    findings = !reconciled->ok();
  }
  Print("shards", document, a.json);
  return findings ? kExitFindings : kExitOk;
}

struct MoveArguments {
  std::string map;  // --shards: the shard map file, as it is before the move
  uint32_t shard = 0;
  std::string to;   // --to: the connection string of the new database
  bool json = false;
};

// One pass of a shard's move: what the source journal holds and the target
// lacks, copied and verified link by link (CopyJournal).
int MoveShard(const MoveArguments& a) {
  auto map = LoadShardMapFile(a.map);
  if (!map.ok()) return Fail(a.map, map.status());
  if (a.shard >= map->shards()) {
    return Fail("--shard", absl::InvalidArgumentError(
                               absl::StrCat("shard ", a.shard, " is past the map's ", map->shards(), " shards")));
  }
  auto from = OpenShardStore(*map, a.shard, {.read_only = true});
  if (!from.ok()) return Fail(absl::StrCat("shard ", a.shard), from.status());
  auto to = OpenPostgresStore(a.to, {.schema = ShardSchema(a.shard)});
  if (!to.ok()) return Fail("--to", to.status());
  auto copied = CopyJournal(**from, **to);
  if (!copied.ok()) return Fail(absl::StrCat("shard ", a.shard), copied.status());
  const JournalHead source = (*from)->Head(), target = (*to)->Head();
  Json document{{"shard", a.shard},
                {"copied", *copied},
                {"source_head", source.ToString()},
                {"target_head", target.ToString()},
                {"caught_up", source.seq == target.seq && source.hash == target.hash}};
  Print("move-shard", document, a.json);
  return kExitOk;
}

}  // namespace

void AddShardCommands(CLI::App& app, Outcome& outcome) {
  auto move_args = std::make_shared<MoveArguments>();
  CLI::App* move = app.add_subcommand(
      "move-shard",
      "Copy a logical shard's journal to another database, verified link by link; run it while the shard takes "
      "commands, again after stopping its writers, then point the map at the new database (docs/scaling.md)");
  move->add_option("--shards", move_args->map, "The shard map (JSON) as it is before the move")->required();
  move->add_option("--shard", move_args->shard, "The logical shard to move")->required();
  move->add_option("--to", move_args->to, "Connection string of the database it moves to (the shard's schema there)")
      ->required();
  move->add_flag("--json", move_args->json, "Machine-readable JSON output");
  move->callback([move_args, &outcome] { outcome.exit_code = MoveShard(*move_args); });

  auto args = std::make_shared<ShardArguments>();
  CLI::App* shards = app.add_subcommand(
      "shards", "Audit a sharded program: verify every shard's journal, then pair the transfers between shards "
                "(exit 1 naming a shard that does not verify or a transfer that does not pair)");
  shards->add_option("--shards", args->map, "The shard map (JSON, docs/scaling.md); every shard is opened read-only")
      ->required();
  shards->add_option("--program", args->program,
                     "The program (JSON) that wrote the journals: also check tiers and inactivity lapses against it");
  shards->add_flag("--json", args->json, "Machine-readable JSON output");
  shards->callback([args, &outcome] { outcome.exit_code = AuditShards(*args); });
}

}  // namespace loyalty::cli
