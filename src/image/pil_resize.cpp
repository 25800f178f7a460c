#include "image/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace uprez {
namespace pil_resize {

// Pillow's filters (libImaging/Resample.c), with its exact arithmetic: the results must match bit for bit.
constexpr double kPi = 3.14159265358979323846;

double box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x = x * kPi;
  return std::sin(x) / x * (double(0.54f) + double(0.46f) * std::cos(x));  // Pillow's constants are floats
}

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * kPi;
  return std::sin(x) / x;
}

double lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct Kernel {
  double (*weight)(double);
  double support;
};

Kernel kernel_of(PilFilter filter) {
  switch (filter) {
    case PilFilter::Box: return {box, 0.5};
    case PilFilter::Bilinear: return {bilinear, 1.0};
    case PilFilter::Hamming: return {hamming, 1.0};
    case PilFilter::Bicubic: return {bicubic, 2.0};
    case PilFilter::Lanczos: return {lanczos, 3.0};
    case PilFilter::Nearest: break;
  }
  throw Error("pil_resize_8bit: the filter has no kernel");
}

constexpr int kPrecisionBits = 32 - 8 - 2;

// One axis's taps: output i reads `count[i]` inputs from `first[i]` with weights[i * ksize ...] (fixed point).
struct Taps {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

int32_t to_fixed(double w) {
  const double scaled = w * (1 << kPrecisionBits);
  return static_cast<int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
}

// Pillow's precompute_coeffs (box = the whole axis) followed by normalize_coeffs_8bpc.
Taps precompute(int in_size, int out_size, const Kernel& kernel) {
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = kernel.support * filterscale;
  Taps taps;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.weights.assign(static_cast<size_t>(out_size) * taps.ksize, 0);
  std::vector<double> k(taps.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int n = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double ww = 0.0;
    for (int x = 0; x < n; ++x) {
      k[x] = kernel.weight((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < n; ++x) {
      if (ww != 0.0) k[x] /= ww;
      taps.weights[static_cast<size_t>(xx) * taps.ksize + x] = to_fixed(k[x]);
    }
    taps.first.push_back(xmin);
    taps.count.push_back(n);
  }
  return taps;
}

uint8_t clip8(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255)); }

// How one pass walks the bytes: `lines` independent lines, along each the resampled position advances by
// `step_in` / `step_out` bytes and carries `inner` consecutive samples.
struct Walk {
  int lines;
  size_t line_in, line_out, step_in, step_out, inner;
};

void resample_pass(const uint8_t* in, uint8_t* out, const Taps& taps, const Walk& walk) {
  const int out_size = static_cast<int>(taps.first.size());
  for (int line = 0; line < walk.lines; ++line)
    for (int i = 0; i < out_size; ++i) {
      const int32_t* k = taps.weights.data() + static_cast<size_t>(i) * taps.ksize;
      const uint8_t* src = in + line * walk.line_in + taps.first[i] * walk.step_in;
      uint8_t* dst = out + line * walk.line_out + i * walk.step_out;
      for (size_t c = 0; c < walk.inner; ++c) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        for (int t = 0; t < taps.count[i]; ++t) sum += src[t * walk.step_in + c] * k[t];
        dst[c] = clip8(sum);
      }
    }
}

// Pillow's ImagingResampleInner: horizontal pass into an 8-bit image of only the rows the vertical pass reads,
// then the vertical pass; a pass whose axis keeps its size is skipped.
Image resample(const Image& image, int width, int height, const Kernel& kernel) {
  const size_t channels = image.channels;
  Taps vertical = precompute(image.height, height, kernel);
  Image horizontal;
  const Image* source = &image;
  if (width != image.width) {
    const int first = vertical.first.front(), last = vertical.first.back() + vertical.count.back();
    for (int& f : vertical.first) f -= first;
    horizontal = Image(width, last - first, image.channels, 8);
    resample_pass(image.row(first), horizontal.data.data(), precompute(image.width, width, kernel),
                  {last - first, image.row_bytes(), horizontal.row_bytes(), channels, channels, channels});
    source = &horizontal;
  }
  if (height == image.height) return *source;
  Image out(width, height, image.channels, 8);
  resample_pass(source->data.data(), out.data.data(), vertical,
                {1, 0, 0, source->row_bytes(), out.row_bytes(), out.row_bytes()});
  return out;
}

// Pillow's ImagingScaleAffine positions: the source index of each output index, accumulated as Pillow does
// (start at half a step, add a step); -1 where it falls outside (Pillow leaves those pixels zero).
std::vector<int> nearest_positions(int in_size, int out_size) {
  const double step = static_cast<double>(static_cast<float>(in_size)) / out_size;
  std::vector<int> positions(out_size);
  double position = step * 0.5;
  for (int& p : positions) {
    p = position < 0.0 || position >= in_size ? -1 : static_cast<int>(position);
    position += step;
  }
  return positions;
}

Image nearest(const Image& image, int width, int height) {
  const std::vector<int> xs = nearest_positions(image.width, width), ys = nearest_positions(image.height, height);
  Image out(width, height, image.channels, 8);
  const size_t channels = image.channels;
  for (int y = 0; y < height; ++y) {
    if (ys[y] < 0) continue;
    for (int x = 0; x < width; ++x)
      if (xs[x] >= 0) std::copy_n(image.row(ys[y]) + xs[x] * channels, channels, out.row(y) + x * channels);
  }
  return out;
}

// Pillow's RGBA <-> RGBa (and LA <-> La) conversions: colour times alpha / 255 rounded (MULDIV255); back:
// 255 * colour / alpha truncated and clipped, colour kept as it is where alpha is 0 or 255.
void convert_alpha(Image& image, bool premultiply) {
  const int colors = image.channels - 1;
  for (size_t i = 0; i < image.data.size(); i += image.channels) {
    uint8_t* pixel = image.data.data() + i;
    const unsigned alpha = pixel[colors];
    for (int c = 0; c < colors; ++c) {
      if (premultiply) {
        const unsigned t = pixel[c] * alpha + 128;
        pixel[c] = static_cast<uint8_t>(((t >> 8) + t) >> 8);
      } else if (alpha != 0 && alpha != 255) {
        pixel[c] = static_cast<uint8_t>(std::min(255 * pixel[c] / alpha, 255u));
      }
    }
  }
}

Image resize_any(const Image& image, int width, int height, PilFilter filter) {
  if (width == image.width && height == image.height) return image;
  if (filter == PilFilter::Nearest) return nearest(image, width, height);
  if (!image.has_alpha()) return resample(image, width, height, kernel_of(filter));
  Image premultiplied = image;
  convert_alpha(premultiplied, true);
  Image out = resample(premultiplied, width, height, kernel_of(filter));
  convert_alpha(out, false);
  return out;
}

}  // namespace pil_resize

Image pil_resize_8bit(const Image& image, int width, int height, PilFilter filter) {
  if (image.bit_depth != 8)
    throw Error("pil_resize_8bit: only 8-bit images can be resized as PIL does, got " +
                std::to_string(image.bit_depth) + "-bit");
  if (width < 1 || height < 1)
    throw Error("pil_resize_8bit: target size " + std::to_string(width) + "x" + std::to_string(height) +
                " is invalid");
  Image out = pil_resize::resize_any(image, width, height, filter);
  out.icc_profile = image.icc_profile;
  return out;
}

}  // namespace uprez
