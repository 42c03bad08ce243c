// The failure path of LOYALTY_CHECK.
#include "loyalty/check.h"

#include <cstdio>
#include <cstdlib>

namespace loyalty::internal {
void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, condition);
  std::abort();
}
}  // namespace loyalty::internal
