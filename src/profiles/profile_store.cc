// Profile stores (memory, SQLite) and the validation of profile fields:
// personal data kept apart from the journal.
//
// SQLite schema: loyalty_profiles_meta(key PRIMARY KEY, value) with format
// = "loyalty-profiles"; profile(member PRIMARY KEY, name, email, birthday
// "YYYY-MM-DD" or NULL, attributes as a JSON object).
#include <sqlite3.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "loyalty/profiles.h"

namespace loyalty {

namespace {

constexpr int64_t kMicrosPerDay = int64_t{86'400'000'000};

// True if `text` is well-formed UTF-8: the JSON writer's two ways of
// handling a bad sequence (replace it, drop it) agree only when there is
// none.
bool IsUtf8(const std::string& text) {
  using Json = nlohmann::json;
  return Json(text).dump(-1, ' ', false, Json::error_handler_t::replace) ==
         Json(text).dump(-1, ' ', false, Json::error_handler_t::ignore);
}

bool HasControl(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// local@domain with a dot-atom local part and a domain of at least two
// labels (letters, digits, hyphens inside), the last one letters only.
absl::Status ValidateEmail(absl::string_view email) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("email: \"", email, "\" ", why));
  };
  if (email.size() > 254) return bad("is longer than 254 bytes");
  size_t at = email.find('@');
  if (at == absl::string_view::npos || email.find('@', at + 1) != absl::string_view::npos) {
    return bad("must have exactly one @");
  }
  absl::string_view local = email.substr(0, at);
  absl::string_view domain = email.substr(at + 1);
  if (local.empty() || local.size() > 64) return bad("must have 1 to 64 bytes before the @");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != absl::string_view::npos) {
    return bad("has a misplaced dot before the @");
  }
  for (char c : local) {
    if (!absl::ascii_isalnum(c) && absl::string_view(".!#$%&'*+/=?^_`{|}~-").find(c) == absl::string_view::npos) {
      return bad(absl::StrCat("has the character '", std::string(1, c), "' before the @"));
    }
  }
  size_t dots = 0;
  absl::string_view last;
  for (size_t start = 0;; ++dots) {
    size_t dot = domain.find('.', start);
    absl::string_view label = domain.substr(start, dot == absl::string_view::npos ? domain.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return bad("has an empty or malformed domain label");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return bad("has a domain that is not letters, digits, - and .");
    }
    last = label;
    if (dot == absl::string_view::npos) break;
    start = dot + 1;
  }
  if (dots < 1) return bad("needs a domain with a dot (example.org)");
  if (last.size() < 2 || !std::all_of(last.begin(), last.end(), [](char c) { return absl::ascii_isalpha(c); })) {
    return bad("needs a top-level domain of letters");
  }
  return absl::OkStatus();
}

class MemoryProfileStore final : public ProfileStore {
 public:
  absl::Status Put(const MemberId& member, const Profile& profile, Instant now) override {
    if (absl::Status valid = ValidateProfile(profile, now); !valid.ok()) return valid;
    std::lock_guard<std::mutex> lock(mutex_);
    profiles_[member] = profile;
    return absl::OkStatus();
  }

  absl::StatusOr<Profile> Get(const MemberId& member) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = profiles_.find(member);
    if (it == profiles_.end()) return absl::NotFoundError(absl::StrCat("member ", member.value(), ": no profile held"));
    return it->second;
  }

  absl::Status Erase(const MemberId& member) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (profiles_.erase(member) == 0) {
      return absl::NotFoundError(absl::StrCat("member ", member.value(), ": no profile held"));
    }
    return absl::OkStatus();
  }

 private:
  mutable std::mutex mutex_;
  absl::flat_hash_map<MemberId, Profile> profiles_;
};

class SqliteProfileStore final : public ProfileStore {
 public:
  ~SqliteProfileStore() override { sqlite3_close_v2(db_); }

  static absl::StatusOr<std::unique_ptr<ProfileStore>> Open(const std::string& path) {
    auto store = std::unique_ptr<SqliteProfileStore>(new SqliteProfileStore());
    if (absl::Status status = store->Init(path); !status.ok()) return status;
    return std::unique_ptr<ProfileStore>(std::move(store));
  }

  absl::Status Put(const MemberId& member, const Profile& profile, Instant now) override {
    if (absl::Status valid = ValidateProfile(profile, now); !valid.ok()) return valid;
    std::string attributes = nlohmann::json(profile.attributes).dump();
    std::string birthday = profile.birthday ? profile.birthday->ToString() : "";
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(
        db_, "INSERT OR REPLACE INTO profile(member, name, email, birthday, attributes) VALUES(?, ?, ?, ?, ?)", -1,
        &statement, nullptr);
    if (rc == SQLITE_OK) {
      const std::string& id = member.value();
      sqlite3_bind_text(statement, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(statement, 2, profile.name.data(), static_cast<int>(profile.name.size()), SQLITE_STATIC);
      sqlite3_bind_text(statement, 3, profile.email.data(), static_cast<int>(profile.email.size()), SQLITE_STATIC);
      if (profile.birthday) {
        sqlite3_bind_text(statement, 4, birthday.data(), static_cast<int>(birthday.size()), SQLITE_STATIC);
      } else {
        sqlite3_bind_null(statement, 4);
      }
      sqlite3_bind_text(statement, 5, attributes.data(), static_cast<int>(attributes.size()), SQLITE_STATIC);
      rc = sqlite3_step(statement);
    }
    sqlite3_finalize(statement);
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("write profile", rc);
  }

  absl::StatusOr<Profile> Get(const MemberId& member) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT name, email, birthday, attributes FROM profile WHERE member = ?", -1,
                                &statement, nullptr);
    if (rc != SQLITE_OK) return Error("read profile", rc);
    const std::string& id = member.value();
    sqlite3_bind_text(statement, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    rc = sqlite3_step(statement);
    if (rc != SQLITE_ROW) {
      sqlite3_finalize(statement);
      if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("member ", id, ": no profile held"));
      return Error("read profile", rc);
    }
    auto text = [&](int column) {
      const unsigned char* value = sqlite3_column_text(statement, column);
      return value == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(value));
    };
    Profile profile{text(0), text(1), std::nullopt, {}};
    std::string birthday = text(2);
    std::string attributes = text(3);
    sqlite3_finalize(statement);
    if (!birthday.empty()) {
      auto date = Date::Parse(birthday);
      if (!date.ok()) {
        return absl::DataLossError(absl::StrCat("member ", id, ": stored birthday \"", birthday, "\" is not a date"));
      }
      profile.birthday = *date;
    }
    nlohmann::json parsed = nlohmann::json::parse(attributes, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      return absl::DataLossError(absl::StrCat("member ", id, ": stored attributes are not a JSON object"));
    }
    for (const auto& [key, value] : parsed.items()) {
      if (!value.is_string()) {
        return absl::DataLossError(absl::StrCat("member ", id, ": stored attribute ", key, " is not a string"));
      }
      profile.attributes[key] = value.get<std::string>();
    }
    return profile;
  }

  absl::Status Erase(const MemberId& member) override {
    std::lock_guard<std::mutex> lock(mutex_);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, "DELETE FROM profile WHERE member = ?", -1, &statement, nullptr);
    if (rc == SQLITE_OK) {
      const std::string& id = member.value();
      sqlite3_bind_text(statement, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      rc = sqlite3_step(statement);
    }
    sqlite3_finalize(statement);
    if (rc != SQLITE_DONE) return Error("erase profile", rc);
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(absl::StrCat("member ", member.value(), ": no profile held"));
    }
    return absl::OkStatus();
  }

 private:
  SqliteProfileStore() = default;

  absl::Status Error(absl::string_view doing, int rc) const {
    return absl::UnavailableError(absl::StrCat("profile store ", path_, ": ", doing, ": ", sqlite3_errstr(rc)));
  }

  absl::Status Init(const std::string& path) {
    path_ = path;
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) return Error("open", rc);
    sqlite3_busy_timeout(db_, 5000);
    sqlite3_stmt* tables = nullptr;
    rc = sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &tables, nullptr);
    if (rc != SQLITE_OK) {
      return sqlite3_errcode(db_) == SQLITE_NOTADB
                 ? absl::FailedPreconditionError(absl::StrCat(path, " is not a profile store: not an SQLite database"))
                 : Error("read schema", rc);
    }
    bool has_meta = false;
    std::string other;
    while ((rc = sqlite3_step(tables)) == SQLITE_ROW) {
      std::string name = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
      if (name == "loyalty_profiles_meta") has_meta = true;
      else if (name != "profile" && other.empty()) other = name;
    }
    sqlite3_finalize(tables);
    if (rc != SQLITE_DONE) {
      return rc == SQLITE_NOTADB
                 ? absl::FailedPreconditionError(absl::StrCat(path, " is not a profile store: not an SQLite database"))
                 : Error("read schema", rc);
    }
    if (!other.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is not a profile store: it holds table ", other,
          other == "journal" || other == "loyalty_meta" ? " (a loyalty journal: keep profiles in a file of their own)"
                                                         : ""));
    }
    if ((rc = Exec("PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON;")) != SQLITE_OK) return Error("configure", rc);
    if (!has_meta) {
      rc = Exec(
          "BEGIN IMMEDIATE;"
          "CREATE TABLE loyalty_profiles_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
          "CREATE TABLE profile(member TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, birthday TEXT,"
          " attributes TEXT NOT NULL) WITHOUT ROWID;"
          "INSERT INTO loyalty_profiles_meta VALUES('format', 'loyalty-profiles');COMMIT;");
      if (rc != SQLITE_OK) return Error("create schema", rc);
    }
    return absl::OkStatus();
  }

  int Exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

  std::string path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
};

}  // namespace

absl::Status ValidateProfile(const Profile& profile, Instant now) {
  if (profile.name.size() > 200) return absl::InvalidArgumentError("name: is longer than 200 bytes");
  if (HasControl(profile.name)) return absl::InvalidArgumentError("name: has a control character");
  if (!IsUtf8(profile.name)) return absl::InvalidArgumentError("name: is not valid UTF-8");
  if (!profile.email.empty()) {
    if (absl::Status email = ValidateEmail(profile.email); !email.ok()) return email;
  }
  if (profile.birthday) {
    int64_t micros = now.unix_micros();
    int64_t days = micros / kMicrosPerDay - (micros % kMicrosPerDay < 0 ? 1 : 0);
    Date today = Date::FromDaysSinceEpoch(static_cast<int32_t>(days));
    if (*profile.birthday > today) {
      return absl::InvalidArgumentError(absl::StrCat("birthday: ", profile.birthday->ToString(),
                                                     " is in the future (today is ", today.ToString(), ")"));
    }
    if (profile.birthday->year() < today.year() - 150) {
      return absl::InvalidArgumentError(
          absl::StrCat("birthday: ", profile.birthday->ToString(), " is more than 150 years ago"));
    }
  }
  for (const auto& [key, value] : profile.attributes) {
    if (key.empty() || key.size() > 64 || HasControl(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("attributes.", key, ": a key needs 1 to 64 bytes without control characters"));
    }
    if (!IsUtf8(key)) return absl::InvalidArgumentError("attributes: a key is not valid UTF-8");
    if (value.size() > 1000 || !IsUtf8(value)) {
      return absl::InvalidArgumentError(absl::StrCat("attributes.", key, ": value is longer than 1000 bytes or not valid UTF-8"));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<ProfileStore> NewMemoryProfileStore() { return std::make_unique<MemoryProfileStore>(); }

absl::StatusOr<std::unique_ptr<ProfileStore>> OpenSqliteProfileStore(const std::string& path) {
  return SqliteProfileStore::Open(path);
}

}  // namespace loyalty
