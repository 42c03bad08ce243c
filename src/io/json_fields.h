// The JSON-path reading shared by the program and scenario loaders
// (program_json.cc, scenario_json.cc): the list of problems, the paths and
// wording of messages, readers of typed values that report what is wrong
// with them, the object-field reader, and parsing a document with its
// duplicate keys. One wording for both loaders, so that a mistake reads the
// same in a program file and in a scenario:
//
//   Problems problems;
//   std::optional<Json> document = ParseDocument(text, problems);
//   Fields f(*document, "", problems, {"id", "versions"});
//   std::optional<std::string> id = f.String("id", kRequired);  // "id: required field is missing"
//   if (!problems.empty()) return problems.ToStatus();
//
// Thread safety: functions keep no state; a Problems or Fields object is
// used by one thread.
#ifndef LOYALTY_SRC_IO_JSON_FIELDS_H_
#define LOYALTY_SRC_IO_JSON_FIELDS_H_

#include <algorithm>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "loyalty/time.h"
#include "loyalty/value.h"
#include "nlohmann/json.hpp"

namespace loyalty::internal {

using Json = nlohmann::json;

enum class Need { kOptional, kRequired };
inline constexpr Need kOptional = Need::kOptional;
inline constexpr Need kRequired = Need::kRequired;

inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// The problems found so far, each a line `<path>: <reason>` ("(root)" for
// the document itself), in the order found.
class Problems {
 public:
  void Add(absl::string_view path, absl::string_view reason);
  // A line already formatted (a problem of a nested loader, re-pathed).
  void AddLine(std::string line) { lines_.push_back(std::move(line)); }
  void Append(const Problems& other) { lines_.insert(lines_.end(), other.lines_.begin(), other.lines_.end()); }
  bool empty() const { return lines_.empty(); }
  // InvalidArgument with every line. Precondition: !empty().
  absl::Status ToStatus() const { return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n")); }

 private:
  std::vector<std::string> lines_;
};

// `text` as a JSON string literal, for quoting input in messages.
std::string Quote(absl::string_view text);

// The path of member `key` of the object at `path`: "a.b", or a["b.c"] for
// keys that are not plain words (letters, digits, '_', '-').
std::string FieldPath(absl::string_view path, absl::string_view key);

// The path of element `index` of the array at `path`: "a[3]".
std::string Element(absl::string_view path, size_t index);

// What a JSON value is, for "expected X, got Y".
absl::string_view Kind(const Json& value);

// "a, b, c" for messages that list the accepted words.
template <typename Words>
std::string Listing(const Words& words) {
  return absl::StrJoin(words, ", ", [](std::string* out, const auto& word) { absl::StrAppend(out, word); });
}

template <typename Words>
bool Contains(const Words& words, absl::string_view word) {
  return std::find(std::begin(words), std::end(words), word) != std::end(words);
}

// ------------------------------------------------------------ value readers
// Each reads one JSON value at `path`, reports what is wrong with it, and
// returns nothing if it is unusable.

// A string; with `non_empty`, "" is a problem.
std::optional<std::string> ReadString(const Json& value, const std::string& path, Problems& problems,
                                      bool non_empty = true);
std::optional<bool> ReadBool(const Json& value, const std::string& path, Problems& problems);
// A JSON integer in min..max. Floating-point numbers are rejected, never
// converted.
std::optional<int64_t> ReadInteger(const Json& value, const std::string& path, Problems& problems, int64_t min,
                                   int64_t max);
// Points: a non-negative JSON integer.
std::optional<Points> ReadPoints(const Json& value, const std::string& path, Problems& problems);
// A rate: a decimal string, never a JSON number.
std::optional<Rate> ReadRate(const Json& value, const std::string& path, Problems& problems);
// A non-negative amount of `currency` as a decimal string.
std::optional<Money> ReadMoney(const Json& value, const std::string& path, Problems& problems,
                               const Currency& currency);
// RFC 3339 instant, civil date, member id: strings parsed by the value types.
std::optional<Instant> ReadInstant(const Json& value, const std::string& path, Problems& problems);
std::optional<Date> ReadDate(const Json& value, const std::string& path, Problems& problems);
std::optional<MemberId> ReadMemberId(const Json& value, const std::string& path, Problems& problems);

// Checks a word against an optional rule; returns the reason it fails, or "".
using WordCheck = std::string (*)(absl::string_view word);

// An array of non-empty strings, each passing `check` if given; with
// `unique`, a string listed twice is a problem. Returns the good strings
// even when some are reported, so that later checks still see them, and
// their paths in `paths` if given.
std::optional<std::vector<std::string>> ReadStrings(const Json& value, const std::string& path, Problems& problems,
                                                    WordCheck check = nullptr, bool unique = false,
                                                    std::vector<std::string>* paths = nullptr);

// An object of rates by key ({"J": "1.5"}); keys pass `check` if given.
std::optional<std::map<std::string, Rate>> ReadRates(const Json& value, const std::string& path,
                                                     Problems& problems, WordCheck check = nullptr);

// ------------------------------------------------------------ objects

// The members of one JSON object: reports unknown ones (listing the known)
// when constructed, missing required ones when asked for. If the value is
// not an object, that is reported once and every getter returns nothing.
// `value` and `problems` must outlive the Fields.
class Fields {
 public:
  Fields(const Json& value, std::string path, Problems& problems, std::initializer_list<absl::string_view> known);
  Fields(const Json& value, std::string path, Problems& problems, const std::vector<std::string>& known);

  bool ok() const { return object_ != nullptr; }
  const std::string& path() const { return path_; }
  std::string PathOf(absl::string_view key) const { return FieldPath(path_, key); }
  bool Has(absl::string_view key) const { return object_ != nullptr && object_->contains(std::string(key)); }

  // The value of `key`, or nullptr if absent (a problem if required).
  const Json* Get(absl::string_view key, Need need = kOptional) const;

  std::optional<std::string> String(absl::string_view key, Need need = kOptional, bool non_empty = true) const;
  std::optional<bool> Bool(absl::string_view key) const;
  std::optional<int64_t> Integer(absl::string_view key, int64_t min, int64_t max, Need need = kOptional) const;
  std::optional<Points> PointsField(absl::string_view key, Need need = kOptional) const;
  std::optional<Rate> RateField(absl::string_view key, Need need = kOptional) const;
  std::optional<Money> MoneyField(absl::string_view key, const Currency& currency, Need need = kOptional) const;
  std::optional<Instant> InstantField(absl::string_view key, Need need = kOptional) const;
  std::optional<Date> DateField(absl::string_view key) const;
  std::optional<MemberId> MemberField(absl::string_view key, Need need = kOptional) const;
  std::optional<std::vector<std::string>> Strings(absl::string_view key, WordCheck check = nullptr,
                                                  bool unique = false,
                                                  std::vector<std::string>* paths = nullptr) const;
  std::optional<std::map<std::string, Rate>> Rates(absl::string_view key, WordCheck check = nullptr) const;
  // The elements of an array field, or none (a problem if it is not an array).
  const Json* Array(absl::string_view key) const;

 private:
  template <typename Words>
  void CheckKnown(const Words& known);

  const Json* object_;
  std::string path_;
  Problems& problems_;
};

// ------------------------------------------------------------ documents

// How deep arrays and objects may nest in a document. The formats nest
// about ten deep at most (a program inlined in a scenario); a JSON value is
// copied, compared and printed by recursion, one stack frame per level, so
// an unbounded depth would let a file overflow the stack.
inline constexpr size_t kMaxDocumentDepth = 64;

// Parses `text` into a document, reporting malformed JSON (with the parser's
// position), a document nested deeper than kMaxDocumentDepth (checked
// before parsing, with the line and column where it goes too deep), or, for
// a document that parses, every duplicate key: a later value would silently
// replace the earlier one.
std::optional<Json> ParseDocument(absl::string_view text, Problems& problems);

// The whole file at `path`; the error carries the canonical code of errno
// and says "cannot open <what> <path>" or "cannot read <what> <path>".
absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what);

// An InvalidArgument status with every line prefixed by `<path>: `; other
// statuses unchanged.
absl::Status PrefixLines(const absl::Status& status, absl::string_view path);

// The status for an exception that escaped a loader's own checks, which
// loads a `what` ("program", "scenario"): ResourceExhausted for bad_alloc,
// InvalidArgument at (root) for a JSON library exception, Internal else.
absl::Status StatusOfException(std::exception_ptr thrown, absl::string_view what);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_IO_JSON_FIELDS_H_
