// Internal: how the value types (points, instants, durations, member ids,
// texts, flags, money) are written and read in the canonical encodings of
// journal entries (entry_codec.cc) and of commands (command_digest.cc,
// command_record.cc). Both encodings are hashed (the chain, the command
// digest), so these bytes must never change; sharing one definition keeps
// the two codecs from drifting apart.
//
// Put(w, value) appends `value` to `w`. Get(r, &value) reads it back and
// returns false when the input is malformed, the reason (with the byte
// offset) left in `r.error()`; a failed Get may leave `value` partly set.
// Neither touches shared state: as thread-safe as the Writer / Reader used.
#ifndef LOYALTY_SRC_JOURNAL_VALUE_CODEC_H_
#define LOYALTY_SRC_JOURNAL_VALUE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "core/encoding.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

namespace loyalty::internal {

// The longest text (and member id) a reader accepts, in bytes.
inline constexpr size_t kMaxText = 4096;

// Points and instants as zigzag varints (instants in Unix microseconds),
// durations likewise in microseconds.
inline void Put(Writer& w, Points points) { w.Signed(points.value()); }
inline void Put(Writer& w, Instant at) { w.Signed(at.unix_micros()); }
inline void Put(Writer& w, absl::Duration duration) { w.Signed(absl::ToInt64Microseconds(duration)); }
// Texts and member ids length-prefixed.
inline void Put(Writer& w, const std::string& text) { w.Bytes(text); }
inline void Put(Writer& w, const MemberId& id) { w.Bytes(id.value()); }
inline void Put(Writer& w, uint64_t value) { w.Unsigned(value); }
inline void Put(Writer& w, int64_t value) { w.Signed(value); }
inline void Put(Writer& w, bool flag) { w.Unsigned(flag ? 1 : 0); }
// Money as its currency code and its minor units.
inline void Put(Writer& w, const Money& money) {
  w.Bytes(money.currency().code());
  w.Signed(money.minor_units());
}
// A rate as its mantissa and scale.
inline void Put(Writer& w, const Rate& rate) {
  w.Signed(rate.mantissa());
  w.Unsigned(static_cast<uint64_t>(rate.scale()));
}
// An optional value as a presence flag (0 or 1), then the value if present.
template <typename T>
void Put(Writer& w, const std::optional<T>& value) {
  w.Unsigned(value.has_value());
  if (value) Put(w, *value);
}

inline bool Get(Reader& r, Points* points) {
  int64_t value = 0;
  if (!r.Signed(&value)) return false;
  *points = Points(value);
  return true;
}
inline bool Get(Reader& r, Instant* at) {
  int64_t micros = 0;
  if (!r.Signed(&micros)) return false;
  *at = Instant::FromUnixMicros(micros);
  return true;
}
inline bool Get(Reader& r, absl::Duration* duration) {
  int64_t micros = 0;
  if (!r.Signed(&micros)) return false;
  *duration = absl::Microseconds(micros);
  return true;
}
// Fails on a text longer than kMaxText.
inline bool Get(Reader& r, std::string* text) { return r.Bytes(text, kMaxText); }
// Fails, with MemberId::Parse's reason, on a text that is not a member id.
inline bool Get(Reader& r, MemberId* id) {
  std::string text;
  if (!Get(r, &text)) return false;
  auto parsed = MemberId::Parse(text);
  if (!parsed.ok()) return r.Fail(parsed.status().message());
  *id = *std::move(parsed);
  return true;
}
inline bool Get(Reader& r, uint64_t* value) { return r.Unsigned(value); }
inline bool Get(Reader& r, int64_t* value) { return r.Signed(value); }
// Fails on anything but 0 or 1.
inline bool Get(Reader& r, bool* flag) {
  uint64_t raw = 0;
  if (!r.Unsigned(&raw)) return false;
  if (raw > 1) return r.Fail("flag is neither 0 nor 1");
  *flag = raw == 1;
  return true;
}
// The value of an optional that is present, read into `value`. Money:
// fails on a currency code longer than 3 bytes or not known to
// Currency::FromCode (with its reason).
inline bool GetPresent(Reader& r, std::optional<Money>* money) {
  std::string code;
  int64_t minor = 0;
  if (!r.Bytes(&code, 3) || !r.Signed(&minor)) return false;
  auto currency = Currency::FromCode(code);
  if (!currency.ok()) return r.Fail(currency.status().message());
  money->emplace(minor, *currency);
  return true;
}
inline bool GetPresent(Reader& r, std::optional<Instant>* at) { return Get(r, &at->emplace()); }

// An optional value: fails on a presence flag other than 0 or 1.
template <typename T>
bool Get(Reader& r, std::optional<T>* value) {
  bool present = false;
  if (!Get(r, &present)) return false;
  if (!present) {
    value->reset();
    return true;
  }
  return GetPresent(r, value);
}

// Money (Money has no empty state to read into).
inline bool Get(Reader& r, Money* money) {
  std::optional<Money> value;
  if (!GetPresent(r, &value)) return false;
  *money = *value;
  return true;
}

// A rate whose parts Rate::FromParts accepts.
inline bool Get(Reader& r, Rate* rate) {
  int64_t mantissa = 0;
  uint64_t scale = 0;
  if (!r.Signed(&mantissa) || !r.Unsigned(&scale)) return false;
  auto parsed = Rate::FromParts(mantissa, scale > Rate::kMaxScale ? -1 : static_cast<int>(scale));
  if (!parsed.ok()) return r.Fail("a rate out of range");
  *rate = *parsed;
  return true;
}

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_JOURNAL_VALUE_CODEC_H_
