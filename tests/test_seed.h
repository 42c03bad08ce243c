// The seed of a randomized test: taken from the environment to repeat a
// run, else drawn at random. Each test prints the seed it used, with the
// variable that repeats it.
#ifndef LOYALTY_TESTS_TEST_SEED_H_
#define LOYALTY_TESTS_TEST_SEED_H_

#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <random>

#include "absl/strings/numbers.h"

namespace loyalty {

// The value of `variable` if it is set to a number, else of
// LOYALTY_TEST_SEED, else a random 64-bit seed.
inline uint64_t TestSeed(const char* variable) {
  for (const char* name : {variable, "LOYALTY_TEST_SEED"}) {
    uint64_t seed = 0;
    const char* text = std::getenv(name);
    if (text != nullptr && absl::SimpleAtoi(text, &seed)) return seed;
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace loyalty

#endif  // LOYALTY_TESTS_TEST_SEED_H_
