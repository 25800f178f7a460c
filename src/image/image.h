// A decoded still image: interleaved 8- or 16-bit samples with 1-4 channels (gray, gray+alpha, RGB, RGBA)
// and the metadata uprez carries from input to output (ICC profile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace uprez {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth = 8;  // 8 or 16; 16-bit samples are native-endian uint16_t
  std::vector<uint8_t> data;  // height rows of width*channels samples, no row padding
  std::string icc_profile;    // raw ICC profile bytes; empty when the file had none

  Image() = default;
  // Allocates a zeroed image; throws Error for sizes or channel counts out of range.
  Image(int width, int height, int channels, int bit_depth);

  bool has_alpha() const { return channels == 2 || channels == 4; }
  int color_channels() const { return has_alpha() ? channels - 1 : channels; }
  size_t sample_bytes() const { return bit_depth == 16 ? 2 : 1; }
  size_t row_bytes() const { return static_cast<size_t>(width) * channels * sample_bytes(); }
  uint8_t* row(int y) { return data.data() + static_cast<size_t>(y) * row_bytes(); }
  const uint8_t* row(int y) const { return data.data() + static_cast<size_t>(y) * row_bytes(); }
};

// Throws Error (naming the size, not a file) unless an image of this shape is within image_limits.h's limits and
// has 1-4 channels of 8 or 16 bits. Checks a header's size before any pixel memory is allocated.
void check_image_shape(int width, int height, int channels, int bit_depth);

// `image` itself when it already has `channels` channels and `bit_depth` bits, else a converted copy kept in
// `storage`: alpha dropped or added (opaque), gray replicated to RGB, 16 -> 8 bits rounded to nearest,
// 8 -> 16 bits scaled by 257. Colour -> gray is not offered (no codec needs it). The ICC profile is kept.
const Image& with_layout(const Image& image, int channels, int bit_depth, Image& storage);

}  // namespace uprez
