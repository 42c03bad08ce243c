// Internal: the byte writer and reader behind the canonical encodings of
// entries (the journal's bytes, hashed into the chain) and of commands
// (their digests). Integers are LEB128 varints, signed ones zigzagged;
// strings are length-prefixed. The reader never reads past its input and
// reports the first problem with the byte offset.
#ifndef LOYALTY_SRC_CORE_ENCODING_H_
#define LOYALTY_SRC_CORE_ENCODING_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace loyalty::internal {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Unsigned(uint64_t value) {
    char buffer[10];  // LEB128: 7 bits a byte
    size_t size = 0;
    while (value >= 0x80) {
      buffer[size++] = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    buffer[size++] = static_cast<char>(value);
    out_->append(buffer, size);
  }
  void Signed(int64_t value) {
    Unsigned((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }
  void Bytes(absl::string_view bytes) {
    Unsigned(bytes.size());
    out_->append(bytes.data(), bytes.size());
  }
  void Raw(const void* data, size_t size) { out_->append(static_cast<const char*>(data), size); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool Unsigned(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail("truncated integer");
      uint8_t byte = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && byte > 1) return Fail("integer overflows 64 bits");
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return Fail("integer longer than 10 bytes");
  }
  bool Signed(int64_t* value) {
    uint64_t raw = 0;
    if (!Unsigned(&raw)) return false;
    *value = static_cast<int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
    return true;
  }
  bool Bytes(std::string* bytes, size_t max_size) {
    absl::string_view view;
    if (!View(&view, max_size)) return false;
    bytes->assign(view.data(), view.size());
    return true;
  }
  // As Bytes, but `*bytes` points into the input instead of copying it.
  bool View(absl::string_view* bytes, size_t max_size) {
    uint64_t size = 0;
    if (!Unsigned(&size)) return false;
    if (size > max_size) return Fail(absl::StrCat("string of ", size, " bytes exceeds ", max_size));
    if (size > in_.size() - pos_) return Fail("truncated string");
    *bytes = in_.substr(pos_, size);
    pos_ += size;
    return true;
  }
  bool Raw(void* data, size_t size) {
    if (size > in_.size() - pos_) return Fail("truncated fixed field");
    in_.copy(static_cast<char*>(data), size, pos_);
    pos_ += size;
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  bool Fail(absl::string_view reason) {
    if (error_.empty()) error_ = absl::StrCat(reason, " at byte ", pos_);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace loyalty::internal

#endif  // LOYALTY_SRC_CORE_ENCODING_H_
