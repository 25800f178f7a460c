// Random training patches: HR crops drawn from the training images (each image weighted by its area; flat crops
// optionally redrawn), flipped and rotated at random, with LR inputs made by degradation.h. Batch k depends only on the
// seed and k, so the order is reproducible and a resumed run sees the same batches.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "degradation.h"

namespace uprez::train {

struct PatchBatch {
  torch::Tensor lr;  // (N, 3, patch / scale, patch / scale) float32 in [0, 1]
  torch::Tensor hr;  // (N, 3, patch, patch) float32 in [0, 1]
};

constexpr int kMaxCropDraws = 10;

struct SamplerOptions {
  int patch_size = 128;  // HR pixels, a multiple of the scale
  int batch_size = 16;
  uint64_t seed = 1;
  // A crop whose gray standard deviation (values in [0, 1]) is below this is drawn again, up to
  // kMaxCropDraws times in all, so that flat skies and gradients do not dominate; 0 accepts every crop.
  double min_patch_std = 0.0;
  DegradationOptions degradation;
};

class PatchSampler {
 public:
  // `images` are (3, H, W) uint8 tensors, each at least min_image_side(options) on both sides. Throws Error for
  // invalid options, no images or an image that is too small.
  PatchSampler(std::vector<torch::Tensor> images, const SamplerOptions& options);

  // Batch number `index` (any index >= 0, in any order).
  PatchBatch batch(int64_t index) const;

  // The smallest width and height an image needs to give patches (the patch plus the degradation margin).
  static int min_image_side(const SamplerOptions& options);

 private:
  std::vector<torch::Tensor> images_;
  std::vector<double> image_weights_;  // number of crop positions of each image
  SamplerOptions options_;
};

}  // namespace uprez::train
