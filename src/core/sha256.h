// Internal: SHA-256 and HMAC-SHA-256 (OpenSSL's libcrypto), for the
// journal's chain, command digests, program content hashes and the
// projection digest.
#ifndef LOYALTY_SRC_CORE_SHA256_H_
#define LOYALTY_SRC_CORE_SHA256_H_

#include <initializer_list>
#include <memory>

#include "absl/strings/string_view.h"
#include "loyalty/value.h"

namespace loyalty::internal {

// SHA-256(bytes).
Sha256 Sha256Of(absl::string_view bytes);
// SHA-256 of the concatenation of `parts`, without gathering them.
Sha256 Sha256Of(std::initializer_list<absl::string_view> parts);
// HMAC-SHA-256 under `key` of the concatenation of `parts`. Thread-safe.
Sha256 HmacSha256(absl::string_view key, std::initializer_list<absl::string_view> parts);

// SHA-256 over bytes given in pieces, for inputs too large to gather in
// one string. Not copyable; one per thread at a time.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(absl::string_view bytes);
  // The digest of everything given; the stream cannot be used after.
  Sha256 Finish();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_CORE_SHA256_H_
