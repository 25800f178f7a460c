// Separable resampling: per output pixel of an axis, a run of input pixels and their weights computed once,
// applied with plain loops on CPU and with one index_select + multiply-add per tap on other devices.
#include "image/resize.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/image_tensor.h"

namespace uprez {
namespace resampling {

constexpr double kPi = 3.14159265358979323846;

double sinc(double x) { return x == 0.0 ? 1.0 : std::sin(kPi * x) / (kPi * x); }
double lanczos3(double x) { return x > -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0; }
double keys_cubic(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For every output position of one axis, the run of consecutive input pixels it reads and their weights
// (zero-padded to the longest run). The weights of each output position sum to 1.
struct Taps {
  int64_t width = 0;           // the longest run
  std::vector<int64_t> start;  // first input index, per output position
  std::vector<int64_t> count;  // run length, per output position
  std::vector<double> weight;  // out_size * width
};

Taps compute_taps(int64_t in_size, int64_t out_size, ResizeFilter filter) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  std::vector<std::vector<double>> runs(out_size);
  Taps taps;
  taps.start.resize(out_size);
  taps.count.resize(out_size);
  for (int64_t i = 0; i < out_size; ++i) {
    std::vector<double>& run = runs[i];
    int64_t first;
    if (filter == ResizeFilter::Nearest) {
      first = std::min<int64_t>(static_cast<int64_t>((i + 0.5) * scale), in_size - 1);
      run.push_back(1.0);
    } else if (filter == ResizeFilter::Area) {
      // Exact overlap of the output pixel's footprint [lo, hi) with each input pixel [j, j + 1).
      const double lo = i * scale, hi = (i + 1) * scale;
      first = std::min<int64_t>(static_cast<int64_t>(std::floor(lo)), in_size - 1);
      const int64_t end = std::max<int64_t>(first + 1, std::min<int64_t>(in_size, static_cast<int64_t>(std::ceil(hi))));
      for (int64_t j = first; j < end; ++j)
        run.push_back(std::max(0.0, std::min(hi, j + 1.0) - std::max(lo, double(j))));
    } else {
      // PIL's scheme: kernel centred on the output pixel's centre, stretched by the scale when shrinking,
      // clipped to the image.
      const bool lanczos = filter == ResizeFilter::Lanczos;
      const double stretch = std::max(scale, 1.0), support = (lanczos ? 3.0 : 2.0) * stretch;
      const double center = (i + 0.5) * scale;
      first = std::clamp<int64_t>(static_cast<int64_t>(std::floor(center - support + 0.5)), 0, in_size - 1);
      const int64_t end =
          std::clamp<int64_t>(static_cast<int64_t>(std::floor(center + support + 0.5)), first + 1, in_size);
      for (int64_t j = first; j < end; ++j) {
        const double x = (j - center + 0.5) / stretch;
        run.push_back(lanczos ? lanczos3(x) : keys_cubic(x));
      }
    }
    double total = 0.0;
    for (double w : run) total += w;
    if (total == 0.0) run.assign(1, total = 1.0);  // cannot happen for these kernels; stay finite regardless
    for (double& w : run) w /= total;
    taps.start[i] = first;
    taps.count[i] = static_cast<int64_t>(run.size());
    taps.width = std::max(taps.width, taps.count[i]);
  }
  taps.weight.assign(out_size * taps.width, 0.0);
  for (int64_t i = 0; i < out_size; ++i)
    std::copy(runs[i].begin(), runs[i].end(), taps.weight.begin() + i * taps.width);
  return taps;
}

// CPU: plain loops over contiguous memory, split over rows (columns pass) or output rows (rows pass).
template <typename T>
torch::Tensor resize_axis_cpu(const torch::Tensor& input, int64_t dim, int64_t out_size, const Taps& taps) {
  const torch::Tensor x = input.contiguous();
  std::vector<int64_t> sizes = x.sizes().vec();
  const int64_t in_size = sizes[dim];
  sizes[dim] = out_size;
  torch::Tensor y = torch::empty(sizes, x.options());
  const std::vector<T> weight(taps.weight.begin(), taps.weight.end());
  const T* in = x.data_ptr<T>();
  T* out = y.data_ptr<T>();
  if (dim == 3) {
    at::parallel_for(0, sizes[0] * sizes[1] * sizes[2], 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* src = in + r * in_size;
        T* dst = out + r * out_size;
        for (int64_t o = 0; o < out_size; ++o) {
          const T* s = src + taps.start[o];
          const T* w = weight.data() + o * taps.width;
          T sum = 0;
          for (int64_t k = 0; k < taps.count[o]; ++k) sum += s[k] * w[k];
          dst[o] = sum;
        }
      }
    });
  } else {
    const int64_t width = sizes[3];
    at::parallel_for(0, sizes[0] * sizes[1] * out_size, 4, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t plane = i / out_size, o = i % out_size;
        T* dst = out + i * width;
        std::fill(dst, dst + width, T(0));
        for (int64_t k = 0; k < taps.count[o]; ++k) {
          const T* src = in + (plane * in_size + taps.start[o] + k) * width;
          const T w = weight[o * taps.width + k];
          for (int64_t c = 0; c < width; ++c) dst[c] += w * src[c];
        }
      }
    });
  }
  return y;
}

// Other devices: one index_select and multiply-add per tap.
torch::Tensor resize_axis_any(const torch::Tensor& x, int64_t dim, int64_t out_size, const Taps& taps) {
  const int64_t in_size = x.size(dim);
  torch::Tensor weight =
      torch::from_blob(const_cast<double*>(taps.weight.data()), {out_size, taps.width}, torch::kFloat64)
          .to(x.device(), x.scalar_type());
  if (dim == 2) weight = weight.unsqueeze(1);  // (out, 1, taps): broadcasts over the columns
  std::vector<int64_t> index(out_size);
  torch::Tensor result;
  for (int64_t k = 0; k < taps.width; ++k) {
    for (int64_t o = 0; o < out_size; ++o)
      index[o] = std::min(taps.start[o] + k, in_size - 1);  // weight 0 past the run
    const torch::Tensor idx = torch::tensor(index, torch::kLong).to(x.device());
    torch::Tensor term = x.index_select(dim, idx) * weight.select(-1, k);
    result = k == 0 ? term : result.add_(term);
  }
  return result;
}

// Resamples dimension `dim` (2 = rows, 3 = columns) of `x` to `out_size`.
torch::Tensor resize_axis(const torch::Tensor& x, int64_t dim, int64_t out_size, ResizeFilter filter, bool generic) {
  if (x.size(dim) == out_size) return x;
  const Taps taps = compute_taps(x.size(dim), out_size, filter);
  if (generic || !x.device().is_cpu()) return resize_axis_any(x, dim, out_size, taps);
  if (x.scalar_type() == torch::kFloat64) return resize_axis_cpu<double>(x, dim, out_size, taps);
  return resize_axis_cpu<float>(x, dim, out_size, taps);
}

torch::Tensor resize_passes(const torch::Tensor& nchw, int width, int height, ResizeFilter filter, bool clamp,
                            bool generic = false) {
  if (nchw.dim() != 4 || !nchw.is_floating_point())
    throw Error("resize: expected a floating-point (N, C, H, W) tensor, got shape " + c10::str(nchw.sizes()));
  if (width < 1 || height < 1)
    throw Error("resize: target size " + std::to_string(width) + "x" + std::to_string(height) + " is invalid");
  // Half-precision inputs are resampled in float32 and converted back.
  const bool narrow = nchw.scalar_type() == torch::kHalf || nchw.scalar_type() == torch::kBFloat16;
  torch::Tensor x = narrow ? nchw.to(torch::kFloat32) : nchw;
  x = resize_axis(x, 3, width, filter, generic);
  if (clamp && x.size(2) != height) x = x.clamp(0.0, 1.0);
  x = resize_axis(x, 2, height, filter, generic);
  return narrow ? x.to(nchw.scalar_type()) : x;
}

}  // namespace resampling

torch::Tensor resize(const torch::Tensor& nchw, int width, int height, ResizeFilter filter) {
  return resampling::resize_passes(nchw, width, height, filter, false);
}

namespace detail {
torch::Tensor resize_generic(const torch::Tensor& nchw, int width, int height, ResizeFilter filter) {
  return resampling::resize_passes(nchw, width, height, filter, false, true);
}
}  // namespace detail

Image resize_image(const Image& image, int width, int height, ResizeFilter filter) {
  if (width == image.width && height == image.height) return image;
  Image out(width, height, image.channels, image.bit_depth);
  out.icc_profile = image.icc_profile;
  torch::Tensor x = image_to_tensor(image, 0, image.channels);
  const bool premultiply = image.has_alpha() && filter != ResizeFilter::Nearest;
  const int64_t colors = image.color_channels();
  if (premultiply) x.narrow(1, 0, colors).mul_(x.narrow(1, colors, 1));
  x = resampling::resize_passes(x, width, height, filter, true);
  if (premultiply) {
    const torch::Tensor alpha = x.narrow(1, colors, 1).clamp(0.0, 1.0);
    x.narrow(1, 0, colors).copy_(torch::where(alpha > 0, x.narrow(1, 0, colors) / alpha, torch::zeros_like(alpha)));
  }
  store_tensor_rows(out, x, 0, 0);
  return out;
}

}  // namespace uprez
