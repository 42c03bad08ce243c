// Escaping and number formatting for the HTML report (html_text.h).
#include "report/html_text.h"

#include "absl/strings/str_cat.h"

namespace loyalty::internal {

std::string EscapeHtml(absl::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string GroupedDecimal(absl::string_view decimal) {
  size_t start = !decimal.empty() && decimal[0] == '-' ? 1 : 0;
  size_t point = decimal.find('.');
  size_t end = point == absl::string_view::npos ? decimal.size() : point;
  std::string text(decimal.substr(0, start));
  for (size_t i = start; i < end; ++i) {
    if (i > start && (end - i) % 3 == 0) text += ',';
    text += decimal[i];
  }
  absl::StrAppend(&text, decimal.substr(end));
  return text;
}

std::string Grouped(Int128 value) { return GroupedDecimal(Fraction{value, 1}.ToDecimal(0)); }

std::string MoneyText(const Money& money) {
  const int exponent = money.currency().exponent();
  return absl::StrCat(money.currency().code(), " ",
                      GroupedDecimal(Fraction{money.minor_units(), PowerOfTen(exponent)}.ToDecimal(exponent)));
}

std::string PercentText(int64_t part, int64_t whole) {
  if (whole <= 0) return "n/a";
  return absl::StrCat(GroupedDecimal(Fraction{Int128{part} * 100, whole}.ToDecimal(1)), " %");
}

}  // namespace loyalty::internal
