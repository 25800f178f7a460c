// The Image constructor (validates the shape against the limits in image_limits.h and allocates zeroed samples),
// and channel/bit-depth conversion of whole images.
#include "image/image.h"

#include <stdexcept>

#include "core/error.h"
#include "image/codecs.h"
#include "image/image_limits.h"

namespace uprez {

void check_image_shape(int width, int height, int channels, int bit_depth) {
  if (channels < 1 || channels > 4) throw Error("unsupported channel count " + std::to_string(channels) + " (1-4)");
  if (bit_depth != 8 && bit_depth != 16)
    throw Error("unsupported bit depth " + std::to_string(bit_depth) + " (8 or 16)");
  if (!image_shape_ok(width, height, channels, bit_depth))
    throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) + " with " +
                std::to_string(channels) + " channel(s) at " + std::to_string(bit_depth) + " bits is out of range (1-" +
                std::to_string(kMaxImageDimension) + " pixels per side, at most " +
                std::to_string(kMaxImageBytes >> 30) + " GiB of samples)");
}

Image::Image(int width_, int height_, int channels_, int bit_depth_)
    : width(width_), height(height_), channels(channels_), bit_depth(bit_depth_) {
  check_image_shape(width, height, channels, bit_depth);
  data.assign(static_cast<size_t>(height) * row_bytes(), 0);
}

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
        v = in16 ? codec::get_u16(src + 2 * s) : src[s];
        if (in16 && !out16) v = (v * 255 + 32767) / 65535;
        if (!in16 && out16) v *= 257;
      }
      const size_t d = i * channels + c;
      if (out16) codec::put_u16(dst + 2 * d, static_cast<uint16_t>(v));
      else dst[d] = static_cast<uint8_t>(v);
    }
  }
  return out;
}

}  // namespace uprez
