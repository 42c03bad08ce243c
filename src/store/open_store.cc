// OpenStore: picks the journal store named by a URI (memory, SQLite file or
// PostgreSQL database), so that an application chooses it in configuration.
// Part of the umbrella loyalty::loyalty, which links every store built;
// LOYALTY_WITH_POSTGRES (1 or 0) says whether that includes PostgreSQL.
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
  if (absl::StartsWith(uri, "postgresql://") || absl::StartsWith(uri, "postgres://")) {
#if LOYALTY_WITH_POSTGRES
    return OpenPostgresStore(uri);
#else
    // The uri is not repeated: it may hold a password.
    return absl::UnimplementedError(
        "store uri postgresql://...: this build of loyalty has no PostgreSQL store (built with LOYALTY_WITH_POSTGRES=OFF)");
#endif
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "store uri \"", uri, "\": unknown scheme (expected memory:, sqlite:PATH, postgresql://... or postgres://...)"));
}

}  // namespace loyalty
