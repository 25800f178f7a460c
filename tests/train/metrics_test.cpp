// PSNR and SSIM on the Y channel: known values on simple inputs.
#include "metrics.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"

namespace uprez::train {
namespace metrics_test {

TEST(Metrics, LumaFollowsBt601StudioRange) {
  EXPECT_NEAR(luma_bt601(torch::zeros({1, 3, 2, 2}))[0][0].item<double>(), 16.0, 1e-12);
  EXPECT_NEAR(luma_bt601(torch::ones({1, 3, 2, 2}))[1][1].item<double>(), 235.0, 1e-9);
  EXPECT_NEAR(luma_bt601(torch::tensor({1.0, 0.0, 0.0}).view({3, 1, 1}))[0][0].item<double>(), 16 + 65.481, 1e-9);
}

TEST(Metrics, IdenticalImagesGiveInfinitePsnrAndUnitSsim) {
  torch::manual_seed(1);
  const torch::Tensor image = torch::rand({1, 3, 32, 40}, torch::kFloat64);
  EXPECT_EQ(psnr_y(image, image, 4), std::numeric_limits<double>::infinity());
  EXPECT_NEAR(ssim_y(image, image, 4), 1.0, 1e-12);
}

TEST(Metrics, ConstantOffsetGivesKnownPsnr) {
  torch::manual_seed(2);
  const torch::Tensor image = torch::rand({1, 3, 24, 24}, torch::kFloat64) * 0.5;
  const double offset = 10.0 / 255.0;
  // Every channel shifted by `offset` shifts Y by (65.481 + 128.553 + 24.966) * offset = 219 * offset.
  const double expected = 20.0 * std::log10(255.0 / (219.0 * offset));
  EXPECT_NEAR(psnr_y(image + offset, image, 0), expected, 1e-9);
  EXPECT_NEAR(psnr_y(image + offset, image, 4), expected, 1e-9);
}

TEST(Metrics, SsimOfAConstantOffsetOnFlatImagesDependsOnlyOnTheMeans) {
  const torch::Tensor flat = torch::full({1, 3, 16, 16}, 0.25, torch::kFloat64);
  const double offset = 0.1;
  const double a = luma_bt601(flat)[0][0].item<double>(), b = a + 219.0 * offset, c1 = 2.55 * 2.55;
  EXPECT_NEAR(ssim_y(flat + offset, flat, 0), (2 * a * b + c1) / (a * a + b * b + c1), 1e-12);
}

TEST(Metrics, BorderCropExcludesTheEdges) {
  const torch::Tensor image = torch::full({1, 3, 20, 20}, 0.5);
  torch::Tensor edged = image.clone();
  edged.slice(2, 0, 2).fill_(1.0);
  EXPECT_EQ(psnr_y(edged, image, 2), std::numeric_limits<double>::infinity());
  EXPECT_LT(psnr_y(edged, image, 1), 100.0);
}

TEST(Metrics, RejectsMismatchedSizes) {
  EXPECT_THROW(psnr_y(torch::zeros({1, 3, 8, 8}), torch::zeros({1, 3, 8, 9}), 0), Error);
  EXPECT_THROW(ssim_y(torch::zeros({1, 3, 8, 8}), torch::zeros({1, 3, 8, 8}), 0), Error);  // smaller than 11x11
}

}  // namespace metrics_test
}  // namespace uprez::train
