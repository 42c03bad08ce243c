// Test support: values written as the tests write them by hand, crashing
// (a test bug) on a malformed literal.
//
//   At("2025-03-03T09:00:00Z"), Id("ann"), Eur(500)  // EUR 5.00
#ifndef LOYALTY_TESTS_TEST_VALUES_H_
#define LOYALTY_TESTS_TEST_VALUES_H_

#include <cstdint>
#include <string>

#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty::test {

inline Instant At(const char* text) { return *Instant::Parse(text); }
inline MemberId Id(const std::string& text) { return MemberId::FromValid(text); }
// `cents` minor units of EUR.
inline Money Eur(int64_t cents) { return Money(cents, *Currency::FromCode("EUR")); }

}  // namespace loyalty::test

#endif  // LOYALTY_TESTS_TEST_VALUES_H_
