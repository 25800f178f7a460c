// Internal interface between image_io.cpp and the per-format codecs, and the few helpers they share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "image/image.h"
#include "image/image_io.h"

// Decoders read a whole file held in memory; encoders write to an open stream. Codecs throw Error with a
// message that does not name the file: image_io.cpp prefixes the path.
namespace uprez::codec {

Image decode_png(const uint8_t* data, size_t size);
Image decode_jpeg(const uint8_t* data, size_t size);
Image decode_webp(const uint8_t* data, size_t size);
Image decode_bmp(const uint8_t* data, size_t size);
Image decode_tiff(const uint8_t* data, size_t size);

void encode_png(const Image& image, const ImageWriteOptions& options, std::FILE* out);
void encode_jpeg(const Image& image, const ImageWriteOptions& options, std::FILE* out);
void encode_webp(const Image& image, const ImageWriteOptions& options, std::FILE* out);
void encode_bmp(const Image& image, const ImageWriteOptions& options, std::FILE* out);
void encode_tiff(const Image& image, const ImageWriteOptions& options, std::FILE* out);

// --- shared helpers (codec_util.cpp) ---

// fwrite that throws Error on a short write.
void write_bytes(std::FILE* out, const void* data, size_t size);

// The EXIF orientation (1-8) in a JPEG APP1 segment's payload ("Exif\0\0" + TIFF structure); 1 when the
// payload is not EXIF, has no orientation tag or is malformed.
int exif_orientation(const uint8_t* payload, size_t size);
// `image` turned upright according to an EXIF orientation value (1-8; anything else is returned as is).
Image apply_orientation(const Image& image, int orientation);

inline uint16_t load_u16(const uint8_t* p, bool little_endian) {
  return little_endian ? static_cast<uint16_t>(p[0] | p[1] << 8) : static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_u32(const uint8_t* p, bool little_endian) {
  return little_endian ? (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24)
                       : (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]});
}
// Runs a cleanup action when the scope ends, however it ends (for the C libraries' handles).
template <typename F>
class Cleanup {
 public:
  explicit Cleanup(F action) : action_(std::move(action)) {}
  ~Cleanup() { action_(); }
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;

 private:
  F action_;
};

inline constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// Native-endian 16-bit sample access without aliasing violations.
inline uint16_t get_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline void put_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace uprez::codec
