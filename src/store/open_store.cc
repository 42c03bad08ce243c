// OpenStore: picks the journal store named by a URI (memory, SQLite file or
// PostgreSQL database), so that an application chooses it in configuration.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "loyalty/store.h"

namespace loyalty {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri) {
  if (uri == "memory:") return NewMemoryStore();
  if (absl::StartsWith(uri, "sqlite:")) {
    std::string path = uri.substr(std::string("sqlite:").size());
    if (path.empty()) return absl::InvalidArgumentError("store uri \"sqlite:\": names no file (sqlite:PATH)");
    return OpenSqliteStore(path);
  }
  if (absl::StartsWith(uri, "postgresql://") || absl::StartsWith(uri, "postgres://")) return OpenPostgresStore(uri);
  return absl::InvalidArgumentError(absl::StrCat(
      "store uri \"", uri, "\": unknown scheme (expected memory:, sqlite:PATH, postgresql://... or postgres://...)"));
}

}  // namespace loyalty
