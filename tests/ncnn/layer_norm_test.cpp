// LayerNorm: normalization over the innermost axes that affine_size selects, with and without gamma/beta.
#include <gtest/gtest.h>

#include <cmath>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace layer_norm_test {

using namespace test;

// (x - mean) / sqrt(var + eps) over the innermost `axes` axes, by its definition.
torch::Tensor normalized(const torch::Tensor& blob, int64_t axes, float eps) {
  std::vector<int64_t> dims;
  for (int64_t axis = blob.dim() - axes; axis < blob.dim(); ++axis) dims.push_back(axis);
  const torch::Tensor mean = blob.mean(dims, true);
  const torch::Tensor variance = (blob - mean).pow(2).mean(dims, true);
  return (blob - mean) / torch::sqrt(variance + eps);
}

TEST(LayerNormLayerTest, HandComputedRowsWithAffine) {
  // rows (1, 2, 3) and (4, 4, 4): mean 2, variance 2/3; mean 4, variance 0
  const auto layer = make_layer("LayerNorm", {{0, int_param(3)}, {1, float_param(1e-5)}}, {1, 2, -1, 0, 0.5, 1});
  const float a = 1 / std::sqrt(2.f / 3 + 1e-5f);
  expect_close(run(*layer, {tensor_of({1, 2, 3, 4, 4, 4}, {2, 3})}), tensor_of({-a, 0.5f, 1 - a, 0, 0.5f, 1}, {2, 3}));
}

TEST(LayerNormLayerTest, AffineSizeChoosesTheAxes) {
  const torch::Tensor image = random_blob({2, 3, 4});
  // affine_size == w: each row
  expect_close(run(*make_layer("LayerNorm", {{0, int_param(4)}, {2, int_param(0)}}), {image}),
               normalized(image, 1, 0.001f));
  // affine_size == w * h: each channel, with gamma and beta of h x w values
  std::vector<float> gamma_beta;
  for (int i = 0; i < 24; ++i) gamma_beta.push_back(0.1f * i);
  const auto per_channel = make_layer("LayerNorm", {{0, int_param(12)}}, gamma_beta);
  const torch::Tensor gamma = tensor_of({gamma_beta.begin(), gamma_beta.begin() + 12}, {3, 4});
  const torch::Tensor beta = tensor_of({gamma_beta.begin() + 12, gamma_beta.end()}, {3, 4});
  expect_close(run(*per_channel, {image}), normalized(image, 2, 0.001f) * gamma + beta);

  const torch::Tensor volume = random_blob({2, 3, 4, 5});
  for (const auto& [affine_size, axes] : std::vector<std::pair<int, int64_t>>{{5, 1}, {20, 2}, {60, 3}}) {
    SCOPED_TRACE("affine_size " + std::to_string(affine_size));
    const auto layer = make_layer("LayerNorm", {{0, int_param(affine_size)}, {2, int_param(0)}});
    expect_close(run(*layer, {volume}), normalized(volume, axes, 0.001f));
  }
}

TEST(LayerNormLayerTest, OneDimBlob) {
  const torch::Tensor vector = random_blob({7});
  expect_close(run(*make_layer("LayerNorm", {{0, int_param(7)}, {2, int_param(0)}}), {vector}),
               normalized(vector, 1, 0.001f));
}

TEST(LayerNormLayerTest, RefusesAffineSizesThatDoNotFit) {
  const auto layer = make_layer("LayerNorm", {{0, int_param(4)}}, std::vector<float>(8, 1.f));
  expect_layer_error(
      [&] {
        layer->forward({torch::zeros({3, 5})});
      },
      "affine_size 4 does not fit a blob of shape (3, 5)");
  expect_layer_error([] { make_layer("LayerNorm"); }, "parameter 0: affine_size must be at least 1");
}

}  // namespace layer_norm_test
}  // namespace uprez::ncnn
