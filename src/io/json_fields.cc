// The JSON-path reading shared by the program and scenario loaders
// (json_fields.h): problem lines, paths, typed value readers, the
// object-field reader, documents with their duplicate keys, files.
#include "io/json_fields.h"

#include <cerrno>
#include <cstdio>
#include <new>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace loyalty::internal {

void Problems::Add(absl::string_view path, absl::string_view reason) {
  lines_.push_back(absl::StrCat(path.empty() ? "(root)" : path, ": ", reason));
}

std::string Quote(absl::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string FieldPath(absl::string_view path, absl::string_view key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!plain) return absl::StrCat(path, "[", Quote(key), "]");
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Element(absl::string_view path, size_t index) { return absl::StrCat(path, "[", index, "]"); }

absl::string_view Kind(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number with a fraction or exponent (or beyond 64 bits)";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    default: return "an unsupported value";
  }
}

// ------------------------------------------------------------ value readers
std::optional<std::string> ReadString(const Json& value, const std::string& path, Problems& problems,
                                      bool non_empty) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected a string, got ", Kind(value)));
    return std::nullopt;
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (non_empty && text.empty()) {
    problems.Add(path, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> ReadBool(const Json& value, const std::string& path, Problems& problems) {
  if (!value.is_boolean()) {
    problems.Add(path, absl::StrCat("expected true or false, got ", Kind(value)));
    return std::nullopt;
  }
  return value.get<bool>();
}

std::optional<int64_t> ReadInteger(const Json& value, const std::string& path, Problems& problems,
                                   int64_t min, int64_t max) {
  if (!value.is_number_integer()) {
    problems.Add(path, absl::StrCat("expected an integer, got ", Kind(value)));
    return std::nullopt;
  }
  auto out_of_range = [&](const auto& number, bool below) {
    if (max != kInt64Max) {
      problems.Add(path, absl::StrCat(number, " is not in ", min, "..", max));
    } else if (!below) {
      problems.Add(path, absl::StrCat(number, " does not fit in 64 bits"));
    } else if (min == 0) {
      problems.Add(path, absl::StrCat(number, " is negative"));
    } else {
      problems.Add(path, absl::StrCat(number, " is less than ", min));
    }
    return std::nullopt;
  };
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(max)) return out_of_range(number, false);
    if (min > 0 && number < static_cast<uint64_t>(min)) return out_of_range(number, true);
    return static_cast<int64_t>(number);
  }
  int64_t number = value.get<int64_t>();
  if (number < min || number > max) return out_of_range(number, number < min);
  return number;
}

std::optional<Points> ReadPoints(const Json& value, const std::string& path, Problems& problems) {
  auto number = ReadInteger(value, path, problems, 0, kInt64Max);
  if (!number) return std::nullopt;
  return Points(*number);
}

std::optional<Rate> ReadRate(const Json& value, const std::string& path, Problems& problems) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected a decimal string such as \"1.5\", got ", Kind(value)));
    return std::nullopt;
  }
  auto rate = Rate::Parse(value.get_ref<const std::string&>());
  if (!rate.ok()) {
    problems.Add(path, rate.status().message());
    return std::nullopt;
  }
  return *rate;
}

std::optional<Money> ReadMoney(const Json& value, const std::string& path, Problems& problems,
                               const Currency& currency) {
  if (!value.is_string()) {
    problems.Add(path, absl::StrCat("expected an amount as a decimal string such as \"25.99\", got ", Kind(value)));
    return std::nullopt;
  }
  const std::string& text = value.get_ref<const std::string&>();
  auto money = Money::Parse(text, currency);
  if (!money.ok()) {
    problems.Add(path, money.status().message());
    return std::nullopt;
  }
  if (money->minor_units() < 0) {
    problems.Add(path, absl::StrCat(Quote(text), " is negative"));
    return std::nullopt;
  }
  return *money;
}

std::optional<Instant> ReadInstant(const Json& value, const std::string& path, Problems& problems) {
  auto text = ReadString(value, path, problems);
  if (!text) return std::nullopt;
  auto instant = Instant::Parse(*text);
  if (!instant.ok()) {
    problems.Add(path, instant.status().message());
    return std::nullopt;
  }
  return *instant;
}

std::optional<Date> ReadDate(const Json& value, const std::string& path, Problems& problems) {
  auto text = ReadString(value, path, problems);
  if (!text) return std::nullopt;
  auto date = Date::Parse(*text);
  if (!date.ok()) {
    problems.Add(path, date.status().message());
    return std::nullopt;
  }
  return *date;
}

std::optional<MemberId> ReadMemberId(const Json& value, const std::string& path, Problems& problems) {
  auto text = ReadString(value, path, problems);
  if (!text) return std::nullopt;
  auto member = MemberId::Parse(*text);
  if (!member.ok()) {
    problems.Add(path, member.status().message());
    return std::nullopt;
  }
  return *member;
}

std::optional<std::vector<std::string>> ReadStrings(const Json& value, const std::string& path, Problems& problems,
                                                    WordCheck check, bool unique,
                                                    std::vector<std::string>* paths) {
  if (!value.is_array()) {
    problems.Add(path, absl::StrCat("expected an array of strings, got ", Kind(value)));
    return std::nullopt;
  }
  std::vector<std::string> words;
  for (size_t i = 0; i < value.size(); ++i) {
    std::string at = Element(path, i);
    auto word = ReadString(value[i], at, problems);
    if (!word) continue;
    if (check != nullptr) {
      if (std::string reason = check(*word); !reason.empty()) {
        problems.Add(at, reason);
        continue;
      }
    }
    if (unique && Contains(words, *word)) {
      problems.Add(at, absl::StrCat(Quote(*word), " is listed twice"));
      continue;
    }
    words.push_back(*std::move(word));
    if (paths != nullptr) paths->push_back(std::move(at));
  }
  return words;
}

std::optional<std::map<std::string, Rate>> ReadRates(const Json& value, const std::string& path,
                                                     Problems& problems, WordCheck check) {
  if (!value.is_object()) {
    problems.Add(path, absl::StrCat("expected an object of decimal strings, got ", Kind(value)));
    return std::nullopt;
  }
  std::map<std::string, Rate> rates;
  bool ok = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    std::string at = FieldPath(path, it.key());
    if (it.key().empty()) {
      problems.Add(at, "the key must not be empty");
      ok = false;
      continue;
    }
    if (check != nullptr) {
      if (std::string reason = check(it.key()); !reason.empty()) {
        problems.Add(at, reason);
        ok = false;
        continue;
      }
    }
    auto rate = ReadRate(it.value(), at, problems);
    if (!rate) {
      ok = false;
      continue;
    }
    rates.emplace(it.key(), *rate);
  }
  if (!ok) return std::nullopt;
  return rates;
}

// ------------------------------------------------------------ objects

template <typename Words>
void Fields::CheckKnown(const Words& known) {
  if (object_ == nullptr) return;
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    if (!Contains(known, it.key())) {
      problems_.Add(PathOf(it.key()), absl::StrCat("unknown field; expected one of ", Listing(known)));
    }
  }
}

Fields::Fields(const Json& value, std::string path, Problems& problems, std::initializer_list<absl::string_view> known)
    : object_(value.is_object() ? &value : nullptr), path_(std::move(path)), problems_(problems) {
  if (object_ == nullptr) problems_.Add(path_, absl::StrCat("expected an object, got ", Kind(value)));
  CheckKnown(known);
}

Fields::Fields(const Json& value, std::string path, Problems& problems, const std::vector<std::string>& known)
    : object_(value.is_object() ? &value : nullptr), path_(std::move(path)), problems_(problems) {
  if (object_ == nullptr) problems_.Add(path_, absl::StrCat("expected an object, got ", Kind(value)));
  CheckKnown(known);
}

const Json* Fields::Get(absl::string_view key, Need need) const {
  if (object_ == nullptr) return nullptr;
  auto it = object_->find(std::string(key));
  if (it == object_->end()) {
    if (need == kRequired) problems_.Add(PathOf(key), "required field is missing");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> Fields::String(absl::string_view key, Need need, bool non_empty) const {
  const Json* value = Get(key, need);
  return value ? ReadString(*value, PathOf(key), problems_, non_empty) : std::nullopt;
}
std::optional<bool> Fields::Bool(absl::string_view key) const {
  const Json* value = Get(key);
  return value ? ReadBool(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<int64_t> Fields::Integer(absl::string_view key, int64_t min, int64_t max, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadInteger(*value, PathOf(key), problems_, min, max) : std::nullopt;
}
std::optional<Points> Fields::PointsField(absl::string_view key, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadPoints(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<Rate> Fields::RateField(absl::string_view key, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadRate(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<Money> Fields::MoneyField(absl::string_view key, const Currency& currency, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadMoney(*value, PathOf(key), problems_, currency) : std::nullopt;
}
std::optional<Instant> Fields::InstantField(absl::string_view key, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadInstant(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<Date> Fields::DateField(absl::string_view key) const {
  const Json* value = Get(key);
  return value ? ReadDate(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<MemberId> Fields::MemberField(absl::string_view key, Need need) const {
  const Json* value = Get(key, need);
  return value ? ReadMemberId(*value, PathOf(key), problems_) : std::nullopt;
}
std::optional<std::vector<std::string>> Fields::Strings(absl::string_view key, WordCheck check, bool unique,
                                                        std::vector<std::string>* paths) const {
  const Json* value = Get(key);
  return value ? ReadStrings(*value, PathOf(key), problems_, check, unique, paths) : std::nullopt;
}
std::optional<std::map<std::string, Rate>> Fields::Rates(absl::string_view key, WordCheck check) const {
  const Json* value = Get(key);
  return value ? ReadRates(*value, PathOf(key), problems_, check) : std::nullopt;
}
const Json* Fields::Array(absl::string_view key) const {
  const Json* value = Get(key);
  if (value != nullptr && !value->is_array()) {
    problems_.Add(PathOf(key), absl::StrCat("expected an array, got ", Kind(*value)));
    return nullptr;
  }
  return value;
}

// ------------------------------------------------------------ documents

// Nesting deeper than any field of the format: duplicate keys down there
// are not looked for (the enclosing value is reported as unknown or of the
// wrong type anyway), which keeps the paths of hostile input short.
constexpr size_t kMaxCheckedDepth = 16;

namespace {

// Where the first array or object nested deeper than kMaxDocumentDepth
// opens in `text`, or nullopt. A scan of the brackets outside strings, which
// recurses nowhere and allocates nothing, so that it can run before the
// parser builds a value that copying or printing would walk recursively.
std::optional<size_t> FirstTooDeep(absl::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDocumentDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;  // an unbalanced close is the parser's to report
    }
  }
  return std::nullopt;
}

// "line 3, column 17" of byte `offset` of `text` (both from 1).
std::string LineAndColumn(absl::string_view text, size_t offset) {
  absl::string_view before = text.substr(0, offset);
  size_t line_start = before.rfind('\n');
  size_t column = line_start == before.npos ? offset + 1 : offset - line_start;
  return absl::StrCat("line ", std::count(before.begin(), before.end(), '\n') + 1, ", column ", column);
}

}  // namespace

// Parses `text` into a document, reporting malformed JSON (with the parser's
// position) or, for a document that parses, every duplicate key: a later
// value would silently replace the earlier one.
std::optional<Json> ParseDocument(absl::string_view text, Problems& problems) {
  if (std::optional<size_t> too_deep = FirstTooDeep(text)) {
    problems.Add("", absl::StrCat("arrays and objects nested more than ", kMaxDocumentDepth, " deep (the limit) at ",
                                  LineAndColumn(text, *too_deep)));
    return std::nullopt;
  }
  struct Frame {
    std::string path;  // empty below kMaxCheckedDepth
    bool is_array = false;
    size_t next_index = 0;
    std::string key;
    absl::flat_hash_set<std::string> keys;
  };
  std::vector<Frame> frames;
  Problems duplicates;
  auto child_path = [&]() -> std::string {
    if (frames.empty() || frames.size() >= kMaxCheckedDepth) return "";
    const Frame& top = frames.back();
    return top.is_array ? Element(top.path, top.next_index) : FieldPath(top.path, top.key);
  };
  auto value_done = [&] {
    if (!frames.empty() && frames.back().is_array) ++frames.back().next_index;
  };
  Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: {
        Frame frame;
        frame.path = child_path();
        frame.is_array = event == Json::parse_event_t::array_start;
        frames.push_back(std::move(frame));
        break;
      }
      case Json::parse_event_t::key: {
        if (frames.size() > kMaxCheckedDepth) break;
        Frame& top = frames.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) duplicates.Add(FieldPath(top.path, top.key), "duplicate key");
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames.pop_back();
        value_done();
        break;
      case Json::parse_event_t::value: value_done(); break;
    }
    return true;
  };
  try {
    Json document = Json::parse(text.begin(), text.end(), callback);
    problems.Append(duplicates);
    return document;
  } catch (const Json::parse_error& error) {
    absl::string_view what = error.what();
    if (size_t end = what.find("] "); absl::StartsWith(what, "[json.exception.") && end != what.npos) {
      what.remove_prefix(end + 2);
    }
    problems.Add("", absl::StrCat("malformed JSON: ", what));
    return std::nullopt;
  }
}

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", what, " ", path));
  std::string text;
  char buffer[1 << 16];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, read);
  int error = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (error != 0) return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", what, " ", path));
  return text;
}

absl::Status PrefixLines(const absl::Status& status, absl::string_view path) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return status;
  std::vector<std::string> lines = absl::StrSplit(status.message(), '\n');
  for (std::string& line : lines) line = absl::StrCat(path, ": ", line);
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

absl::Status StatusOfException(std::exception_ptr thrown, absl::string_view what) {
  try {
    std::rethrow_exception(thrown);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("out of memory while loading a ", what));
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("(root): ", error.what()));
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat(what, " loader: ", error.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, " loader: unknown exception"));
  }
}

}  // namespace loyalty::internal
