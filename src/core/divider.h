// Internal: exact unsigned 64-bit division by a divisor fixed at run time,
// as a multiplication by a precomputed reciprocal (Granlund and Montgomery,
// "Division by invariant integers using multiplication", 1994, the
// round-up variant with an add step). floor(n / d) for every n, no
// hardware divide in the loop.
#ifndef LOYALTY_SRC_CORE_DIVIDER_H_
#define LOYALTY_SRC_CORE_DIVIDER_H_

#include <cstdint>

#include "loyalty/check.h"

namespace loyalty::internal {

__extension__ typedef unsigned __int128 Uint128;

class Divider {
 public:
  // Precondition (checked): d > 0.
  explicit Divider(uint64_t d) : d_(d) {
    LOYALTY_CHECK(d > 0);
    // l = ceil(log2 d); m = floor(2^64 (2^l - d) / d) + 1 fits in 64 bits.
    int l = 0;
    while (l < 64 && (uint64_t{1} << l) < d) ++l;
    Uint128 two_l = static_cast<Uint128>(1) << l;
    multiplier_ = static_cast<uint64_t>(((two_l - d) << 64) / d + 1);
    shift1_ = l == 0 ? 0 : 1;
    shift2_ = l == 0 ? 0 : l - 1;
  }

  uint64_t divisor() const { return d_; }

  // floor(n / d).
  uint64_t Divide(uint64_t n) const {
    uint64_t t = static_cast<uint64_t>((static_cast<Uint128>(multiplier_) * n) >> 64);
    return (t + ((n - t) >> shift1_)) >> shift2_;
  }

 private:
  uint64_t d_;
  uint64_t multiplier_;
  int shift1_;
  int shift2_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_CORE_DIVIDER_H_
