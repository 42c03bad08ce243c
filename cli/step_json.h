// The JSON form of a scenario step's outcome, for `loyalty run --json`: what
// the step wrote (entries, the change of the points, what it created, the
// tier changes), the refusal it met as expected, the version it published
// or the settlement it read. One shape per kind of outcome, told apart by
// "status"; docs/json-output.md describes them and
// docs/json-output.schema.json checks them.
//
//   absl::StatusOr<Json> outcome = DoneJson(*receipt);
//   // {"status": "done", "replayed": false, "entries": [4], "points": 870448, ...}
#ifndef LOYALTY_CLI_STEP_JSON_H_
#define LOYALTY_CLI_STEP_JSON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loyalty/audit.h"
#include "loyalty/engine.h"
#include "report.h"

namespace loyalty::cli {

// A step that ran: {"status": "done", "replayed", "entries" (their seqs),
// "points", "held", "debt" (the changes, summed over members), "created"
// (the credit, debit, hold or quote a later step can name, or null),
// "members" (the same changes per member), "tier_changes"}. OutOfRange if
// a change summed over the entries does not fit in 64 bits.
absl::StatusOr<Json> DoneJson(const Receipt& receipt);

// A step refused as expected: {"status": "refused", "refusal": {"code",
// "message"}}.
Json RefusalJson(const absl::Status& status);

// A publish step: {"status": "published", "version"}.
Json PublishedJson(const std::string& version);

// An estimate step (its receipt's one estimate_revised entry):
// {"status": "revised", "replayed", "entry", "cohort", "expected_redemption_rate", "actor"}.
Json RevisedJson(const Receipt& receipt, const entries::EstimateRevised& revised);

// A settlement step: {"status": "settled", "partners": [...]}, the rows of
// a settlement report.
Json SettledJson(const std::vector<PartnerSettlement>& rows);

}  // namespace loyalty::cli

#endif  // LOYALTY_CLI_STEP_JSON_H_
