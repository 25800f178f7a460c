#include "media/frame.h"

#include <cmath>

#include "core/error.h"

namespace uprez {

void check_frame_size(const StreamInfo& info, const std::string& path) {
  try {
    check_image_shape(info.width, info.height, 4, 8);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

int64_t rescale(int64_t ticks, Rational from, Rational to) {
  // ticks * from / to in long double: exact for the time bases and lengths media files use.
  const long double seconds = static_cast<long double>(ticks) * from.num / from.den;
  return static_cast<int64_t>(std::llround(seconds * to.den / to.num));
}

}  // namespace uprez
