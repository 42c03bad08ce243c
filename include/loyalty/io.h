// JSON program definitions (and shard maps, at the end): parse one program
// version or a whole history of versions, load a program file, and
// fingerprint each version by the SHA-256 of its canonical JSON. The format is documented field by field in
// docs/program-format.md.
//
//   auto program = LoadProgramFile("examples/programs/miles-and-more-2011.json");
//   if (!program.ok()) {
//     std::cerr << program.status().message() << "\n";  // every problem, one per line
//   }
//   const ProgramVersion& v = program->InForceAt(at);
//   std::string fingerprint = ToHex(v.content_hash);
//
// Validation is complete, not first-error: on bad input the functions return
// InvalidArgument whose message lists every problem found, one per line, each
// as `<json path>: <reason>`, for example
//
//   versions[1].accrual[3].effect.rate: "1,5" is not a decimal: unexpected character ','
//   versions[1].redemption.award_chart[0].to_region: "NA" is not a region of any airport in airport_regions
//
// Paths name fields with dots and array elements with [index], starting at
// the document's top level (`versions[0]...` for ParseProgram, the version's
// own fields for ParseProgramVersion); a problem with the document as a
// whole (malformed JSON, not an object, arrays and objects nested more than
// 64 deep, which is refused before parsing) has the path `(root)`. Amounts are
// never read from JSON floating-point numbers: rates and money are decimal
// strings ("0.5", "25.99"), points are JSON integers.
//
// Content hash: ProgramVersion::content_hash is the SHA-256 of the version
// object serialized canonically (keys sorted, no insignificant whitespace,
// strings as UTF-8). Whitespace and key order do not change it; any value,
// including a field written out with its default value, does.
//
// Thread safety: the functions keep no state and may be called concurrently.
#ifndef LOYALTY_IO_H_
#define LOYALTY_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loyalty/program.h"
#include "loyalty/shard_map.h"

namespace loyalty {

// Parses one version object (`{"id": "mm-2011", ...}`) and sets its
// content_hash. InvalidArgument listing every problem (paths relative to the
// version object) if the text is not valid JSON, has unknown or duplicate
// fields, misses required ones, has values of the wrong type or out of range,
// or references that do not resolve (see docs/program-format.md). Checks that
// need the neighbouring versions (increasing effective_from, same zone and
// currency) are left to ParseProgram / Program::FromVersions.
absl::StatusOr<ProgramVersion> ParseProgramVersion(absl::string_view json_text);

// Parses a program document `{"versions": [ ... ]}` (oldest version first)
// into Program::FromVersions, each version with its content_hash.
// InvalidArgument listing every problem of every version, plus: no versions,
// a version id used twice, effective_from not strictly increasing, or a time
// zone or currency that differs from the first version's.
absl::StatusOr<Program> ParseProgram(absl::string_view json_text);

// Reads the file at `path` and parses it as ParseProgram does. The error of
// a file that cannot be read carries the canonical code of its errno
// (NotFound, PermissionDenied, ...) and names the path; InvalidArgument
// messages prefix every line with `<path>: `.
absl::StatusOr<Program> LoadProgramFile(const std::string& path);

// A shard map (loyalty/shard_map.h) from its JSON form:
//
//   {"shards": 256,
//    "databases": [{"conninfo": "postgresql:///loyalty?host=/run/pg-a", "shards": ["0-127"]},
//                  {"conninfo": "postgresql:///loyalty?host=/run/pg-b", "shards": ["128-254", 255]}]}
//
// "shards" is the number of logical shards (1 to kMaxShards); each
// database's "shards" lists shard numbers and ranges "first-last". Every
// shard must be held by exactly one database. InvalidArgument listing every
// problem as `<json path>: <reason>` (for example `databases[1].shards[0]:
// shard 200 is held by databases[0] already`).
absl::StatusOr<ShardMap> ParseShardMap(absl::string_view json_text);
// ParseShardMap of the file at `path`, with errors as LoadProgramFile's.
absl::StatusOr<ShardMap> LoadShardMapFile(const std::string& path);

}  // namespace loyalty

#endif  // LOYALTY_IO_H_
