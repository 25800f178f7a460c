// Training data: image discovery, patch batches (shapes, reproducibility, the clean bicubic degradation) and the
// optional degradations.
#include "patch_sampler.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "image/image_io.h"
#include "image/image_tensor.h"
#include "image/resize.h"
#include "image_set.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez::train {
namespace patch_sampler_test {

torch::Tensor synthetic_uint8(int width, int height) {
  return (image_to_tensor(test::synthetic_image(width, height, 3, 8), 0, 3)[0] * 255).round().to(torch::kUInt8);
}

SamplerOptions small_options() {
  SamplerOptions options;
  options.patch_size = 32;
  options.batch_size = 4;
  options.seed = 7;
  return options;
}

TEST(ImageSet, FindsImagesRecursivelySortedAndReadsGrayAsRgb) {
  const std::string root = test::temp_dir();
  std::filesystem::create_directories(root + "/b/c");
  write_image(test::synthetic_image(20, 10, 1, 8), root + "/b/c/gray.png");
  write_image(test::synthetic_image(20, 10, 4, 8), root + "/a.webp");
  write_image(test::synthetic_image(20, 10, 3, 8), root + "/b/z.jpg");
  std::ofstream(root + "/b/notes.txt") << "not an image";
  const std::vector<std::string> files = find_image_files({root, root + "/a.webp"});
  ASSERT_EQ(files, (std::vector<std::string>{root + "/a.webp", root + "/b/c/gray.png", root + "/b/z.jpg"}));
  const torch::Tensor gray = read_rgb(files[1]);
  ASSERT_EQ(gray.sizes(), (std::vector<int64_t>{1, 3, 10, 20}));
  EXPECT_TRUE(torch::equal(gray[0][0], gray[0][2]));
  EXPECT_EQ(read_rgb(files[0]).size(1), 3);  // alpha dropped
  EXPECT_EQ(load_training_image(files[2], 10).sizes(), (std::vector<int64_t>{3, 5, 10}));
  EXPECT_THROW(load_training_image(files[0], 0), Error);  // transparent pixels: no ground truth under them
  EXPECT_THROW(find_image_files({root + "/missing"}), Error);
}

TEST(PatchSampler, BatchesHaveTheRightShapesAndDependOnlyOnSeedAndIndex) {
  const PatchSampler sampler({synthetic_uint8(96, 80), synthetic_uint8(64, 64)}, small_options());
  const PatchBatch first = sampler.batch(3);
  EXPECT_EQ(first.hr.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_EQ(first.lr.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
  sampler.batch(0);
  EXPECT_TRUE(torch::equal(sampler.batch(3).lr, first.lr));
  EXPECT_TRUE(torch::equal(sampler.batch(3).hr, first.hr));
  EXPECT_FALSE(torch::equal(sampler.batch(4).hr, first.hr));
  SamplerOptions other = small_options();
  other.seed = 8;
  EXPECT_FALSE(
      torch::equal(PatchSampler({synthetic_uint8(96, 80), synthetic_uint8(64, 64)}, other).batch(3).hr, first.hr));
}

TEST(PatchSampler, CleanLrIsTheRoundedBicubicDownscaleOfTheImage) {
  // One image exactly the size of a patch plus its margin: the only crop is the whole image.
  SamplerOptions options = small_options();
  const int side = PatchSampler::min_image_side(options), margin = kDegradationMarginLr;
  const torch::Tensor image = synthetic_uint8(side, side);
  const PatchBatch batch = PatchSampler({image}, options).batch(0);
  const torch::Tensor whole = bicubic_downscale(image.unsqueeze(0).to(torch::kFloat32) / 255, 4);
  const torch::Tensor expected = quantize_8bit(whole.slice(2, margin, -margin).slice(3, margin, -margin));
  for (int64_t i = 0; i < batch.lr.size(0); ++i) {
    // Each patch is one of the 8 flips/rotations of the same crop: compare against all of them.
    bool matched = false;
    for (int symmetry = 0; symmetry < 8 && !matched; ++symmetry) {
      torch::Tensor candidate = expected[0];
      if (symmetry & 1) candidate = candidate.flip({2});
      if (symmetry & 2) candidate = candidate.flip({1});
      if (symmetry & 4) candidate = candidate.transpose(1, 2);
      // Flipping before or after resampling sums in another order: allow one 8-bit level of rounding.
      matched = (candidate - batch.lr[i]).abs().max().item<float>() < 1.01f / 255;
    }
    EXPECT_TRUE(matched) << "patch " << i;
  }
}

TEST(PatchSampler, LrAndHrAreAligned) {
  // The bicubic upscale of the LR input is closer to the HR patch than to any shifted copy of it.
  SamplerOptions options = small_options();
  options.batch_size = 8;
  const PatchBatch batch = PatchSampler({synthetic_uint8(200, 160)}, options).batch(0);
  const torch::Tensor upscaled = resize(batch.lr, 32, 32, ResizeFilter::Bicubic);
  const auto error = [&](int dy, int dx) {
    const auto inner = [](const torch::Tensor& x, int y0, int x0) {
      return x.slice(2, 2 + y0, 30 + y0).slice(3, 2 + x0, 30 + x0);
    };
    return (inner(upscaled, 0, 0) - inner(batch.hr, dy, dx)).abs().mean().item<double>();
  };
  const double aligned = error(0, 0);
  for (const auto& [dy, dx] : {std::pair{1, 0}, {-1, 0}, {0, 1}, {0, -1}}) EXPECT_LT(aligned, error(dy, dx));
}

TEST(PatchSampler, RedrawsFlatCropsWhenAsked) {
  // Left half flat gray, right half the synthetic picture: without the threshold about half the crops are flat.
  torch::Tensor image = synthetic_uint8(400, 100);
  image.slice(2, 0, 200).fill_(128);
  SamplerOptions options = small_options();
  options.batch_size = 32;
  const auto flat_crops = [&](const SamplerOptions& o) {
    const torch::Tensor hr = PatchSampler({image}, o).batch(0).hr;
    return (hr.mean(1).flatten(1).std(1) < 1e-6).sum().item<int64_t>();
  };
  EXPECT_GT(flat_crops(options), 4);
  options.min_patch_std = 0.01;
  EXPECT_EQ(flat_crops(options), 0);
}

TEST(PatchSampler, RejectsTooSmallImagesAndBadOptions) {
  SamplerOptions options = small_options();
  const int side = PatchSampler::min_image_side(options);
  EXPECT_THROW(PatchSampler({synthetic_uint8(side - 1, side)}, options), Error);
  EXPECT_THROW(PatchSampler({}, options), Error);
  options.patch_size = 30;
  EXPECT_THROW(PatchSampler({synthetic_uint8(64, 64)}, options), Error);
  options = small_options();
  options.degradation.blur_sigma_max = 3.0;
  EXPECT_THROW(PatchSampler({synthetic_uint8(64, 64)}, options), Error);
}

TEST(Degradation, BlurNoiseAndJpegChangeTheLrButStayNearIt) {
  const torch::Tensor hr = image_to_tensor(test::synthetic_image(56, 56, 3, 8), 0, 3);
  std::mt19937_64 clean_rng(1), degraded_rng(1);
  const torch::Tensor clean = degrade(hr, DegradationOptions{}, clean_rng);
  EXPECT_EQ(clean.sizes(), (std::vector<int64_t>{1, 3, 8, 8}));
  DegradationOptions options;
  options.blur_probability = options.noise_probability = options.jpeg_probability = 1.0;
  const torch::Tensor degraded = degrade(hr, options, degraded_rng);
  const float difference = (degraded - clean).abs().mean().item<float>();
  EXPECT_GT(difference, 0.0f);
  EXPECT_LT(difference, 0.15f);  // blur erases the finest stripes, hence more than the noise alone
  EXPECT_TRUE(torch::equal(degraded, quantize_8bit(degraded)));
}

TEST(Degradation, JpegRoundTripKeepsTheImageAtHighQuality) {
  const torch::Tensor image = image_to_tensor(test::synthetic_image(32, 24, 3, 8), 0, 3)[0];
  const torch::Tensor decoded = jpeg_roundtrip(image, 95);
  ASSERT_EQ(decoded.sizes(), image.sizes());
  EXPECT_LT((decoded - image).abs().mean().item<float>(), 0.05f);
  EXPECT_GT((jpeg_roundtrip(image, 10) - image).abs().mean().item<float>(),
            (decoded - image).abs().mean().item<float>());
}

}  // namespace patch_sampler_test
}  // namespace uprez::train
