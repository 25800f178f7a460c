#include "degradation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "image/codecs.h"
#include "image/image_tensor.h"
#include "image/resize.h"

namespace uprez::train {

namespace degradation {

constexpr double kMinBlurSigma = 0.2;
constexpr int kMaxJpegQuality = 95;

// A separable Gaussian blur of a (1, C, H, W) tensor; zero padding, so only pixels at least ceil(3 sigma) from
// the edges are exact.
torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
  const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma)), channels = x.size(1);
  torch::Tensor kernel = torch::arange(-radius, radius + 1, torch::kFloat64);
  kernel = torch::exp(-kernel * kernel / (2.0 * sigma * sigma));
  kernel = (kernel / kernel.sum()).to(x.scalar_type());
  const torch::Tensor horizontal = kernel.view({1, 1, 1, -1}).expand({channels, 1, 1, 2 * radius + 1});
  const torch::Tensor vertical = kernel.view({1, 1, -1, 1}).expand({channels, 1, 2 * radius + 1, 1});
  const torch::Tensor rows =
      torch::conv2d(x, horizontal, torch::Tensor(), 1, torch::IntArrayRef({0, radius}), 1, channels);
  return torch::conv2d(rows, vertical, torch::Tensor(), 1, torch::IntArrayRef({radius, 0}), 1, channels);
}

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}
bool chance(std::mt19937_64& rng, double probability) { return uniform(rng, 0.0, 1.0) < probability; }

void check_probability(double value, const char* name) {
  if (!(value >= 0.0 && value <= 1.0)) throw Error(std::string(name) + ": must be within [0, 1]");
}

}  // namespace degradation

void validate(const DegradationOptions& options) {
  if (options.scale < 1 || options.scale > 8) throw Error("scale: must be within [1, 8]");
  degradation::check_probability(options.blur_probability, "blur probability");
  degradation::check_probability(options.noise_probability, "noise probability");
  degradation::check_probability(options.jpeg_probability, "JPEG probability");
  if (!(options.blur_sigma_max >= degradation::kMinBlurSigma && options.blur_sigma_max <= kMaxBlurSigma))
    throw Error("blur sigma: must be within [0.2, 2]");
  if (!(options.noise_sigma_max >= 0.0)) throw Error("noise sigma: must not be negative");
  if (options.jpeg_quality_min < 1 || options.jpeg_quality_min > degradation::kMaxJpegQuality)
    throw Error("JPEG quality: must be within [1, 95]");
}

torch::Tensor bicubic_downscale(const torch::Tensor& hr, int scale) {
  if (hr.size(2) % scale != 0 || hr.size(3) % scale != 0)
    throw Error("bicubic down-sampling: the size must be a multiple of the scale");
  return resize(hr, static_cast<int>(hr.size(3) / scale), static_cast<int>(hr.size(2) / scale), ResizeFilter::Bicubic);
}

torch::Tensor quantize_8bit(const torch::Tensor& x) { return x.clamp(0, 1).mul(255).round_().div_(255); }

torch::Tensor jpeg_roundtrip(const torch::Tensor& chw, int quality) {
  Image image(static_cast<int>(chw.size(2)), static_cast<int>(chw.size(1)), 3, 8);
  store_tensor_rows(image, chw, 0, 0);
  char* buffer = nullptr;
  size_t size = 0;
  const codec::Cleanup free_buffer([&] { std::free(buffer); });  // runs after the stream below is closed
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(open_memstream(&buffer, &size), &std::fclose);
  if (!stream) throw Error("JPEG round trip: cannot open a memory stream");
  ImageWriteOptions options;
  options.quality = quality;
  codec::encode_jpeg(image, options, stream.get());
  stream.reset();  // flushes: buffer and size are final
  const Image decoded = codec::decode_jpeg(reinterpret_cast<const uint8_t*>(buffer), size);
  return image_to_tensor(decoded, 0, 3)[0];
}

torch::Tensor degrade(const torch::Tensor& hr_with_margin, const DegradationOptions& options, std::mt19937_64& rng) {
  const int64_t count = hr_with_margin.size(0);
  std::vector<torch::Tensor> blurred;
  for (int64_t i = 0; i < count; ++i) {
    const torch::Tensor patch = hr_with_margin.narrow(0, i, 1);
    const bool blur = degradation::chance(rng, options.blur_probability);
    blurred.push_back(blur ? degradation::gaussian_blur(patch, degradation::uniform(rng, degradation::kMinBlurSigma, options.blur_sigma_max)) : patch);
  }
  const int64_t margin = kDegradationMarginLr;
  torch::Tensor lr = bicubic_downscale(torch::cat(blurred), options.scale);
  lr = lr.slice(2, margin, lr.size(2) - margin).slice(3, margin, lr.size(3) - margin).contiguous();

  std::vector<float> noise_sigmas;
  for (int64_t i = 0; i < count; ++i)
    noise_sigmas.push_back(degradation::chance(rng, options.noise_probability)
                               ? static_cast<float>(degradation::uniform(rng, 0.0, options.noise_sigma_max) / 255.0)
                               : 0.0f);
  if (std::any_of(noise_sigmas.begin(), noise_sigmas.end(), [](float sigma) { return sigma > 0.0f; })) {
    const at::Generator generator = at::detail::createCPUGenerator(rng());
    const torch::Tensor sigmas = torch::tensor(noise_sigmas).view({count, 1, 1, 1});
    lr = lr + torch::randn(lr.sizes(), generator, lr.options()) * sigmas;
  }
  lr = quantize_8bit(lr);

  for (int64_t i = 0; i < count; ++i) {
    if (!degradation::chance(rng, options.jpeg_probability)) continue;
    const int quality = std::uniform_int_distribution<int>(options.jpeg_quality_min, degradation::kMaxJpegQuality)(rng);
    lr[i].copy_(jpeg_roundtrip(lr[i], quality));
  }
  return lr;
}

}  // namespace uprez::train
