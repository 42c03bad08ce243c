// Fuzzes the scenario loader: ParseScenario must return a scenario or an
// error naming a JSON path for any text, never crash. Program files are
// looked up in a directory that does not exist, so a fuzzed reference to a
// file reads nothing.
#include <cstddef>
#include <cstdint>

#include "loyalty/check.h"
#include "loyalty/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto scenario = loyalty::ParseScenario(text, "/nonexistent-loyalty-fuzz");
  if (scenario.ok()) {
    // Every step of a loaded scenario is in time order.
    for (size_t i = 1; i < scenario->timeline.size(); ++i) {
      LOYALTY_CHECK(scenario->timeline[i - 1].at <= scenario->timeline[i].at);
    }
  } else {
    LOYALTY_CHECK(!scenario.status().message().empty());
  }
  return 0;
}
