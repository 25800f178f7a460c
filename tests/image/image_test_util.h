// Helpers shared by the image tests: deterministic test pictures, sample access, PSNR, ICC blobs, file bytes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image/image.h"

namespace uprez::test {

inline uint32_t sample(const Image& image, int x, int y, int c) {
  const size_t i = (static_cast<size_t>(y) * image.width + x) * image.channels + c;
  if (image.bit_depth == 8) return image.data[i];
  uint16_t v;
  std::memcpy(&v, image.data.data() + 2 * i, 2);
  return v;
}

inline void set_sample(Image& image, int x, int y, int c, uint32_t value) {
  const size_t i = (static_cast<size_t>(y) * image.width + x) * image.channels + c;
  if (image.bit_depth == 8) {
    image.data[i] = static_cast<uint8_t>(value);
  } else {
    const uint16_t v = static_cast<uint16_t>(value);
    std::memcpy(image.data.data() + 2 * i, &v, 2);
  }
}

// Busy, full-range values (good for exact round trips); alpha gets its own pattern including 0 and max.
inline Image noise_image(int width, int height, int channels, int depth) {
  Image image(width, height, channels, depth);
  const uint32_t max = depth == 16 ? 65535 : 255;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        uint32_t v = (x * 2654435761u + y * 40503u + c * 977u + x * y * 31u) >> 7;
        set_sample(image, x, y, c, v % (max + 1));
      }
  return image;
}

// Smooth gradients (good for lossy codecs); alpha is a smooth ramp too.
inline Image smooth_image(int width, int height, int channels, int depth) {
  Image image(width, height, channels, depth);
  const double max = depth == 16 ? 65535.0 : 255.0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        const double v = 0.5 + 0.4 * std::sin(x / 9.0 + c * 1.3) * std::cos(y / 13.0 - c * 0.7);
        set_sample(image, x, y, c, static_cast<uint32_t>(std::lround(v * max)));
      }
  return image;
}

// PSNR in dB over the first `channels` channels, comparing on a 0-255 scale.
inline double psnr(const Image& a, const Image& b, int channels) {
  double sum = 0.0;
  size_t n = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < channels; ++c) {
        const double va = sample(a, x, y, c) * 255.0 / (a.bit_depth == 16 ? 65535.0 : 255.0);
        const double vb = sample(b, x, y, c) * 255.0 / (b.bit_depth == 16 ? 65535.0 : 255.0);
        sum += (va - vb) * (va - vb);
        ++n;
      }
  return sum == 0.0 ? 1e9 : 10.0 * std::log10(255.0 * 255.0 / (sum / n));
}

// A structurally valid ICC profile (v2 header, no tags) for colour space "RGB " or "GRAY", padded with a
// recognisable payload so its bytes can be compared after a round trip.
inline std::string make_icc(const char* color_space, size_t payload = 300) {
  std::string icc(132 + payload, '\0');
  auto put32 = [&icc](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) icc[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put32(0, static_cast<uint32_t>(icc.size()));
  put32(8, 0x02100000);
  std::memcpy(&icc[12], "mntr", 4);
  std::memcpy(&icc[16], color_space, 4);
  std::memcpy(&icc[20], "XYZ ", 4);
  std::memcpy(&icc[36], "acsp", 4);
  put32(68, 0x0000F6D6), put32(72, 0x00010000), put32(76, 0x0000D32D);  // D50
  for (size_t i = 132; i < icc.size(); ++i) icc[i] = static_cast<char>(i * 7 + 3);
  return icc;
}

inline std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace uprez::test
