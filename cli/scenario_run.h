// Runs a scenario (loyalty/scenario.h) on an engine over a journal: each step
// on a FakeClock set to the step's time, versions published when the
// timeline says, then the reports asked for, with every expected figure
// checked. Deterministic: the same scenario on an empty journal gives the
// same RunReport, byte for byte once rendered.
#ifndef LOYALTY_CLI_SCENARIO_RUN_H_
#define LOYALTY_CLI_SCENARIO_RUN_H_

#include <memory>

#include "absl/status/statusor.h"
#include "loyalty/scenario.h"
#include "loyalty/store.h"
#include "report.h"

namespace loyalty::cli {

// Runs `scenario` against `store` (which should be empty; a journal that
// already holds the scenario's commands replays them idempotently). Errors:
// a step that fails unexpectedly (or succeeds where `expect_error` says it
// must fail) is FailedPrecondition naming the step's path and the engine's
// error; the store's and the audit's errors as they are. Expected figures
// that differ do not stop the run: they are listed in RunReport::failures.
// `journal_key`: the key of a keyed journal, for the reports that replay it.
absl::StatusOr<RunReport> RunScenario(const Scenario& scenario, std::unique_ptr<Store> store,
                                      const std::optional<std::string>& journal_key = std::nullopt);

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_SCENARIO_RUN_H_
