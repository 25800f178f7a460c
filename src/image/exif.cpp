// EXIF orientation: finding tag 0x0112 in a JPEG APP1 Exif payload (either byte order, every offset
// bounds-checked) and turning the decoded pixels upright accordingly.
#include <utility>

#include "image/codecs.h"

namespace uprez::codec {

int exif_orientation(const uint8_t* payload, size_t size) {
  static const uint8_t kExifHeader[6] = {'E', 'x', 'i', 'f', 0, 0};
  if (size < 6 + 8 || std::memcmp(payload, kExifHeader, 6) != 0) return 1;
  const uint8_t* tiff = payload + 6;
  const size_t tiff_size = size - 6;
  bool little;
  if (tiff[0] == 'I' && tiff[1] == 'I') little = true;
  else if (tiff[0] == 'M' && tiff[1] == 'M') little = false;
  else return 1;
  if (load_u16(tiff + 2, little) != 42) return 1;
  const uint64_t ifd = load_u32(tiff + 4, little);
  if (ifd + 2 > tiff_size) return 1;
  const unsigned count = load_u16(tiff + ifd, little);
  for (unsigned i = 0; i < count; ++i) {
    const uint64_t entry = ifd + 2 + 12 * uint64_t{i};
    if (entry + 12 > tiff_size) return 1;
    if (load_u16(tiff + entry, little) != 0x0112) continue;
    const unsigned type = load_u16(tiff + entry + 2, little);
    const uint32_t values = load_u32(tiff + entry + 4, little);
    if (type != 3 || values < 1) return 1;  // must be SHORT; a single SHORT sits inline in the value field
    const unsigned value = load_u16(tiff + entry + 8, little);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

namespace exif {

// Copies every output pixel from the source pixel the orientation maps it to, `Bytes` bytes at a time.
template <size_t Bytes>
void reorient(const Image& src, Image& dst, int orientation) {
  const int64_t w = src.width, h = src.height;
  for (int64_t y = 0; y < dst.height; ++y) {
    // Source coordinates of output pixel (0, y) and their change per output step in x.
    int64_t sx, sy, dx = 0, dy = 0;
    switch (orientation) {
      case 2: sx = w - 1, sy = y, dx = -1; break;
      case 3: sx = w - 1, sy = h - 1 - y, dx = -1; break;
      case 4: sx = 0, sy = h - 1 - y, dx = 1; break;
      case 5: sx = y, sy = 0, dy = 1; break;
      case 6: sx = y, sy = h - 1, dy = -1; break;
      case 7: sx = w - 1 - y, sy = h - 1, dy = -1; break;
      default: sx = w - 1 - y, sy = 0, dy = 1; break;  // 8
    }
    const int64_t step = (dy * w + dx) * static_cast<int64_t>(Bytes);
    const uint8_t* in = src.data.data() + (sy * w + sx) * static_cast<int64_t>(Bytes);
    uint8_t* out = dst.row(static_cast<int>(y));
    for (int64_t x = 0; x < dst.width; ++x, in += step, out += Bytes) std::memcpy(out, in, Bytes);
  }
}

}  // namespace exif

Image apply_orientation(const Image& image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  const bool swap = orientation >= 5;
  Image out(swap ? image.height : image.width, swap ? image.width : image.height, image.channels, image.bit_depth);
  out.icc_profile = image.icc_profile;
  switch (image.channels * image.sample_bytes()) {
    case 1: exif::reorient<1>(image, out, orientation); break;
    case 2: exif::reorient<2>(image, out, orientation); break;
    case 3: exif::reorient<3>(image, out, orientation); break;
    case 4: exif::reorient<4>(image, out, orientation); break;
    case 6: exif::reorient<6>(image, out, orientation); break;
    default: exif::reorient<8>(image, out, orientation); break;
  }
  return out;
}

}  // namespace uprez::codec
