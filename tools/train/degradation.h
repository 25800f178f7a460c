// How training LR inputs are made from HR patches: an optional Gaussian blur, bicubic down-sampling
// (antialiased: PIL's BICUBIC, close to MATLAB's imresize), optional Gaussian noise, rounding to 8 bits and an
// optional JPEG round trip through uprez's own codec.
#pragma once

#include <random>

#include <torch/types.h>

namespace uprez::train {

struct DegradationOptions {
  int scale = 4;
  double blur_probability = 0.0;   // chance that a patch is blurred before down-sampling
  double blur_sigma_max = 1.0;     // HR pixels, at most kMaxBlurSigma; sigma is drawn from [0.2, max]
  double noise_probability = 0.0;  // chance of Gaussian noise (independent per channel) after down-sampling
  double noise_sigma_max = 2.0;    // 8-bit levels; sigma is drawn from [0, max]
  double jpeg_probability = 0.0;   // chance of a JPEG round trip at the end
  int jpeg_quality_min = 75;       // quality is drawn from [min, 95]
};

// The largest blur sigma (HR pixels) whose kernel still fits in the margin that degrade() expects.
constexpr double kMaxBlurSigma = 2.0;
// The margin, in LR pixels, that degrade() crops from each side of its input: enough for the blur and the
// bicubic kernel to read only real image data for every pixel they keep.
constexpr int kDegradationMarginLr = 3;

// Throws Error naming the option when `options` are out of range.
void validate(const DegradationOptions& options);

// A floating-point (N, C, H, W) tensor down-sampled by `scale` with the antialiased bicubic kernel (H and W
// must be multiples of scale).
torch::Tensor bicubic_downscale(const torch::Tensor& hr, int scale);

// Values clamped to [0, 1] and rounded to the nearest of 256 levels, as an 8-bit image would store them.
torch::Tensor quantize_8bit(const torch::Tensor& x);

// A (3, H, W) float tensor in [0, 1] encoded as JPEG at `quality` and decoded again, in memory.
torch::Tensor jpeg_roundtrip(const torch::Tensor& chw, int quality);

// The LR inputs for a float (N, 3, H, W) batch of HR patches in [0, 1] that carry kDegradationMarginLr * scale
// extra pixels on every side: (N, 3, H / scale - 2 * margin, W / scale - 2 * margin), rounded to 8 bits. Every
// random choice comes from `rng`.
torch::Tensor degrade(const torch::Tensor& hr_with_margin, const DegradationOptions& options, std::mt19937_64& rng);

}  // namespace uprez::train
