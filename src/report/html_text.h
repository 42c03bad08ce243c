// Internal: text for HTML pages: escaping, and numbers and money written the
// way a reader expects them (thousands separators, currency code).
#ifndef LOYALTY_SRC_REPORT_HTML_TEXT_H_
#define LOYALTY_SRC_REPORT_HTML_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "loyalty/value.h"

namespace loyalty::internal {

// `text` with & < > " ' replaced by character references: safe in element
// content and in quoted attribute values.
std::string EscapeHtml(absl::string_view text);

// "-1,234,567": the integer with a comma every three digits.
std::string Grouped(Int128 value);

// A plain decimal ("-1234567.29", as Fraction::ToDecimal writes it) with its
// integer part grouped: "-1,234,567.29".
std::string GroupedDecimal(absl::string_view decimal);

// "EUR 942,857,142.86", "JPY 1,000": the amount in major units with the
// currency's minor digits.
std::string MoneyText(const Money& money);

// `part` as a percentage of `whole` with one decimal, rounded half-even:
// "12.5 %"; "n/a" if whole is not positive.
std::string PercentText(int64_t part, int64_t whole);

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_REPORT_HTML_TEXT_H_
