#include "media/frame.h"

#include <cmath>

namespace uprez {

int64_t rescale(int64_t ticks, Rational from, Rational to) {
  // ticks * from / to in long double: exact for the time bases and lengths media files use.
  const long double seconds = static_cast<long double>(ticks) * from.num / from.den;
  return static_cast<int64_t>(std::llround(seconds * to.den / to.num));
}

}  // namespace uprez
