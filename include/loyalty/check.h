// Internal-invariant checks. A failed check is a programmer error, never bad
// input: it prints the condition and where it failed, then aborts. Bad input
// is reported with absl::Status instead.
//
//   LOYALTY_CHECK(lot.remaining <= lot.earned) << nothing; it takes no message.
#ifndef LOYALTY_CHECK_H_
#define LOYALTY_CHECK_H_

namespace loyalty::internal {
// Prints "file:line: check failed: condition" to stderr and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace loyalty::internal

#define LOYALTY_CHECK(condition)                                          \
  do {                                                                    \
    if (!(condition)) [[unlikely]]                                        \
      ::loyalty::internal::CheckFailed(__FILE__, __LINE__, #condition);   \
  } while (false)

#endif  // LOYALTY_CHECK_H_
