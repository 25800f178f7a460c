// Helpers shared by the codecs: channel/bit-depth conversion of whole images and checked stream writes.
#include <stdexcept>

#include "core/error.h"
#include "image/codecs.h"

namespace uprez::codec {

const Image& with_layout(const Image& image, int channels, int bit_depth, Image& storage) {
  if (image.channels == channels && image.bit_depth == bit_depth) return image;
  const int src_color = image.color_channels();
  const int dst_color = channels == 2 || channels == 4 ? channels - 1 : channels;
  if (src_color != dst_color && !(src_color == 1 && dst_color == 3))
    throw std::logic_error("with_layout: colour to gray conversion is not supported");

  // For each destination channel, the source channel it copies; -1 means opaque alpha.
  int source[4];
  for (int c = 0; c < dst_color; ++c) source[c] = src_color == dst_color ? c : 0;
  if (channels > dst_color) source[dst_color] = image.has_alpha() ? src_color : -1;

  Image& out = storage;
  out = Image(image.width, image.height, channels, bit_depth);
  out.icc_profile = image.icc_profile;
  const bool in16 = image.bit_depth == 16, out16 = bit_depth == 16;
  const uint32_t opaque = out16 ? 65535 : 255;
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  const uint8_t* src = image.data.data();
  uint8_t* dst = out.data.data();
  for (size_t i = 0; i < pixels; ++i) {
    for (int c = 0; c < channels; ++c) {
      uint32_t v = opaque;
      if (source[c] >= 0) {
        const size_t s = i * image.channels + source[c];
        v = in16 ? get_u16(src + 2 * s) : src[s];
        if (in16 && !out16) v = (v * 255 + 32767) / 65535;
        if (!in16 && out16) v *= 257;
      }
      const size_t d = i * channels + c;
      if (out16) put_u16(dst + 2 * d, static_cast<uint16_t>(v));
      else dst[d] = static_cast<uint8_t>(v);
    }
  }
  return out;
}

void write_bytes(std::FILE* out, const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, out) != size) throw Error("write failed (disk full?)");
}

}  // namespace uprez::codec
