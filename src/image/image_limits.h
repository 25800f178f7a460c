// The hard size limits every uprez image obeys; decoders check them before allocating pixel memory,
// so a corrupt or hostile header can never ask for more than kMaxImageBytes.
#pragma once

#include <cstdint>

namespace uprez {

inline constexpr int kMaxImageDimension = 65535;               // per side, in pixels
inline constexpr uint64_t kMaxImageBytes = uint64_t{1} << 32;  // width * height * channels * sample bytes

// Whether an image of this shape is within the limits above (and has a valid channel count / bit depth).
inline bool image_shape_ok(int64_t width, int64_t height, int channels, int bit_depth) {
  if (width < 1 || height < 1 || width > kMaxImageDimension || height > kMaxImageDimension) return false;
  if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16)) return false;
  return static_cast<uint64_t>(width) * static_cast<uint64_t>(height) * static_cast<uint64_t>(channels) *
             static_cast<uint64_t>(bit_depth / 8) <=
         kMaxImageBytes;
}

}  // namespace uprez
