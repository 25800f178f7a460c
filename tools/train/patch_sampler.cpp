#include "patch_sampler.h"

#include <random>
#include <string>
#include <utility>

#include <torch/torch.h>

#include "core/error.h"

namespace uprez::train {

int PatchSampler::min_image_side(const SamplerOptions& options) {
  return options.patch_size + 2 * kDegradationMarginLr * options.degradation.scale;
}

PatchSampler::PatchSampler(std::vector<torch::Tensor> images, const SamplerOptions& options)
    : images_(std::move(images)), options_(options) {
  validate(options.degradation);
  if (options.patch_size < options.degradation.scale || options.patch_size % options.degradation.scale != 0)
    throw Error("patch size: must be a positive multiple of the scale");
  if (options.batch_size < 1) throw Error("batch size: must be at least 1");
  if (!(options.min_patch_std >= 0.0)) throw Error("minimum patch standard deviation: must not be negative");
  if (images_.empty()) throw Error("no training images");
  const int side = min_image_side(options);
  for (const torch::Tensor& image : images_) {
    if (image.dim() != 3 || image.size(0) != 3 || image.scalar_type() != torch::kUInt8)
      throw Error("training images must be (3, H, W) uint8 tensors");
    if (image.size(1) < side || image.size(2) < side)
      throw Error("a training image is smaller than " + std::to_string(side) + " pixels");
    image_weights_.push_back(static_cast<double>(image.size(1) - side + 1) *
                             static_cast<double>(image.size(2) - side + 1));
  }
}

PatchBatch PatchSampler::batch(int64_t index) const {
  const auto seed = options_.seed, step = static_cast<uint64_t>(index);
  std::seed_seq sequence{seed & 0xffffffffu, seed >> 32, step & 0xffffffffu, step >> 32};
  std::mt19937_64 rng(sequence);
  std::discrete_distribution<size_t> pick_image(image_weights_.begin(), image_weights_.end());

  const int side = min_image_side(options_);
  const int64_t margin = kDegradationMarginLr * options_.degradation.scale, patch = options_.patch_size;
  const auto draw_crop = [&] {
    const torch::Tensor& image = images_[pick_image(rng)];
    const int64_t y = std::uniform_int_distribution<int64_t>(0, image.size(1) - side)(rng);
    const int64_t x = std::uniform_int_distribution<int64_t>(0, image.size(2) - side)(rng);
    return image.slice(1, y, y + side).slice(2, x, x + side);
  };
  const auto flat = [&](const torch::Tensor& crop) {  // judged on the HR patch itself, without the margin
    const torch::Tensor hr = crop.slice(1, margin, margin + patch).slice(2, margin, margin + patch);
    return options_.min_patch_std > 0.0 &&
           hr.to(torch::kFloat32).mean(0).std().item<double>() / 255.0 < options_.min_patch_std;
  };
  std::vector<torch::Tensor> crops;
  for (int i = 0; i < options_.batch_size; ++i) {
    torch::Tensor crop = draw_crop();
    for (int draws = 1; draws < kMaxCropDraws && flat(crop); ++draws) crop = draw_crop();
    const int symmetry = std::uniform_int_distribution<int>(0, 7)(rng);  // one of the 8 flips and rotations
    if (symmetry & 1) crop = crop.flip({2});
    if (symmetry & 2) crop = crop.flip({1});
    if (symmetry & 4) crop = crop.transpose(1, 2);
    crops.push_back(crop);
  }
  const torch::Tensor hr_with_margin = torch::stack(crops).to(torch::kFloat32).div_(255);
  PatchBatch batch;
  batch.lr = degrade(hr_with_margin, options_.degradation, rng);
  batch.hr = hr_with_margin.slice(2, margin, margin + patch).slice(3, margin, margin + patch).contiguous();
  return batch;
}

}  // namespace uprez::train
