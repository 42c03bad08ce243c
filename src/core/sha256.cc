// SHA-256 and HMAC-SHA-256 through OpenSSL's libcrypto.
// SHA256_Init/Update/Final are deprecated in OpenSSL 3 (see Sha256Of
// below); this must precede every OpenSSL header.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "core/sha256.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "loyalty/check.h"

namespace loyalty::internal {

// Through the low-level interface: the hot inputs (a command's record, an
// entry of a few hundred bytes) are one to four blocks, for which the EVP interface
// costs about as much again as the hashing (about 70 ns a call: provider
// dispatch, re-initialising and cleansing its context). OpenSSL's
// low-level SHA-256 runs the same assembly (SHA-NI where the CPU has it)
// without that; OpenSSL 3 marks it deprecated but keeps it.
Sha256 Sha256Of(std::initializer_list<absl::string_view> parts) {
  SHA256_CTX context;
  bool ok = SHA256_Init(&context) == 1;
  for (absl::string_view part : parts) ok = ok && SHA256_Update(&context, part.data(), part.size()) == 1;
  Sha256 hash;
  ok = ok && SHA256_Final(hash.data(), &context) == 1;
  LOYALTY_CHECK(ok);
  return hash;
}

// One MAC context per thread.
Sha256 HmacSha256(absl::string_view key, std::initializer_list<absl::string_view> parts) {
  static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  LOYALTY_CHECK(kHmac != nullptr);
  struct Context {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(kHmac);
    ~Context() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Context context;
  LOYALTY_CHECK(context.ctx != nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Sha256 hash;
  size_t size = 0;
  bool ok = EVP_MAC_init(context.ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1;
  for (absl::string_view part : parts) {
    ok = ok && EVP_MAC_update(context.ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) == 1;
  }
  ok = ok && EVP_MAC_final(context.ctx, hash.data(), &size, hash.size()) == 1 && size == hash.size();
  LOYALTY_CHECK(ok);
  return hash;
}

struct Sha256Stream::Context {
  SHA256_CTX sha;
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  LOYALTY_CHECK(SHA256_Init(&context_->sha) == 1);
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(absl::string_view bytes) {
  LOYALTY_CHECK(SHA256_Update(&context_->sha, bytes.data(), bytes.size()) == 1);
}

Sha256 Sha256Stream::Finish() {
  Sha256 hash;
  LOYALTY_CHECK(SHA256_Final(hash.data(), &context_->sha) == 1);
  return hash;
}

Sha256 Sha256Of(absl::string_view bytes) { return Sha256Of({bytes}); }

}  // namespace loyalty::internal
