// The Image constructor: validates the shape against the limits in image_limits.h and allocates zeroed samples.
#include "image/image.h"

#include "core/error.h"
#include "image/image_limits.h"

namespace uprez {

Image::Image(int width_, int height_, int channels_, int bit_depth_)
    : width(width_), height(height_), channels(channels_), bit_depth(bit_depth_) {
  if (channels < 1 || channels > 4) throw Error("unsupported channel count " + std::to_string(channels) + " (1-4)");
  if (bit_depth != 8 && bit_depth != 16)
    throw Error("unsupported bit depth " + std::to_string(bit_depth) + " (8 or 16)");
  if (!image_shape_ok(width, height, channels, bit_depth))
    throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) + " with " +
                std::to_string(channels) + " channel(s) at " + std::to_string(bit_depth) + " bits is out of range (1-" +
                std::to_string(kMaxImageDimension) + " pixels per side, at most " +
                std::to_string(kMaxImageBytes >> 30) + " GiB of samples)");
  data.assign(static_cast<size_t>(height) * row_bytes(), 0);
}

}  // namespace uprez
