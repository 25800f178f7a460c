// Bounds-checked reading of untrusted binary data: a view of bytes and a cursor over it whose every read
// checks the remaining length first, so that parsers of model files cannot read past their input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"

namespace uprez {

// A non-owning view of bytes (a memory-mapped file or part of one).
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  // The bytes [offset, offset + length); the caller guarantees that they lie inside this view.
  ByteView slice(size_t offset, size_t length) const { return {data + offset, length}; }
  // The bytes from `offset` to the end; the caller guarantees offset <= size.
  ByteView tail(size_t offset) const { return {data + offset, size - offset}; }
  // True when [offset, offset + length) lies inside this view (without overflowing).
  bool contains(uint64_t offset, uint64_t length) const { return offset <= size && length <= size - offset; }
};

// Little-endian loads from unaligned memory.
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}

// Two lowercase hex digits ("9f"), for messages that show bytes.
inline std::string hex_byte(uint8_t byte) {
  static const char digits[] = "0123456789abcdef";
  return {digits[byte >> 4], digits[byte & 15]};
}

// A cursor over a ByteView. A read past the end throws Error("<context>: truncated data ...").
class ByteReader {
 public:
  ByteReader(ByteView bytes, std::string context) : bytes_(bytes), context_(std::move(context)) {}

  size_t position() const { return position_; }
  size_t remaining() const { return bytes_.size - position_; }
  bool at_end() const { return position_ == bytes_.size; }

  uint8_t u8() { return *take(1); }
  uint16_t u16() { return load_le16(take(2)); }
  uint32_t u32() { return load_le32(take(4)); }
  uint64_t u64() { return load_le64(take(8)); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  int64_t i64() { return static_cast<int64_t>(u64()); }
  // The next `length` bytes, in place.
  ByteView bytes(uint64_t length) {
    const uint8_t* start = take(length);
    return {start, static_cast<size_t>(length)};
  }
  std::string string(uint64_t length) {
    const uint8_t* start = take(length);
    return std::string(reinterpret_cast<const char*>(start), static_cast<size_t>(length));
  }
  // The bytes up to the next '\n' (which is consumed but not returned).
  std::string line() {
    const void* newline = at_end() ? nullptr : std::memchr(bytes_.data + position_, '\n', remaining());
    if (!newline) fail_truncated(remaining() + 1);
    const size_t length = static_cast<const uint8_t*>(newline) - (bytes_.data + position_);
    std::string text = string(length);
    ++position_;
    return text;
  }

 private:
  const uint8_t* take(uint64_t length) {
    if (length > remaining()) fail_truncated(length);
    const uint8_t* start = bytes_.data + position_;
    position_ += static_cast<size_t>(length);
    return start;
  }
  [[noreturn]] void fail_truncated(uint64_t wanted) const {
    throw Error(context_ + ": truncated data (needs " + std::to_string(wanted) + " bytes at offset " +
                std::to_string(position_) + ", only " + std::to_string(remaining()) + " left)");
  }

  ByteView bytes_;
  std::string context_;
  size_t position_ = 0;
};

}  // namespace uprez
