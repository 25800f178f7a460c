// Scale: per-index scale (and bias) along the outermost axis, from the .bin or (scale_data_size -233) from a
// second input blob, as waifu2x cunet's squeeze-and-excitation blocks use it.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace scale_test {

using namespace test;

TEST(ScaleLayerTest, ScalesAndBiasesEachChannel) {
  const auto layer = make_layer("Scale", {{0, int_param(2)}, {1, int_param(1)}}, {2, -1, 0.5f, 10});
  expect_close(run(*layer, {tensor_of({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})}),
               tensor_of({2.5f, 4.5f, 6.5f, 8.5f, 5, 4, 3, 2}, {2, 2, 2}));
}

TEST(ScaleLayerTest, ScalesRowsOfTwoDimsAndElementsOfOneDim) {
  const auto layer = make_layer("Scale", {{0, int_param(2)}}, {2, -1});
  expect_close(run(*layer, {tensor_of({1, 2, 3, 4}, {2, 2})}), tensor_of({2, 4, -3, -4}, {2, 2}));
  expect_close(run(*layer, {tensor_of({3, 4}, {2})}), tensor_of({6, -4}, {2}));
  expect_close(run(*layer, {tensor_of({1, 2, 3, 4}, {2, 1, 1, 2})}), tensor_of({2, 4, -3, -4}, {2, 1, 1, 2}));
}

TEST(ScaleLayerTest, TakesScalesFromSecondBlob) {
  // waifu2x cunet: "Scale Scale1 2 1 conv se Scale1 0=-233" with se a (c) blob from InnerProduct
  const auto layer = make_layer("Scale", {{0, int_param(-233)}});
  const torch::Tensor blob = random_blob({3, 4, 5});
  const torch::Tensor scales = tensor_of({0.5f, 2, -1}, {3});
  expect_close(run(*layer, {blob, scales}), blob * scales.view({3, 1, 1}));
  expect_layer_error([&] { layer->forward({blob}); }, "expects 2 input blobs, got 1");
  expect_layer_error(
      [&] {
        layer->forward({blob, torch::ones({4})});
      },
      "4 scales do not fit a blob of shape (3, 4, 5)");
}

TEST(ScaleLayerTest, RefusesBadParameters) {
  expect_layer_error([&] { make_layer("Scale", {{0, int_param(-233)}, {1, int_param(1)}}); }, "parameter 1: bias_term");
  expect_layer_error([&] { make_layer("Scale"); }, "parameter 0: scale_data_size must be at least 1");
}

TEST(ScaleLayerTest, MovesWeightsWithTo) {
  const auto layer = make_layer("Scale", {{0, int_param(1)}, {1, int_param(1)}}, {3, 1});
  layer->to(torch::kCPU, torch::kDouble);
  expect_close(run(*layer, {tensor_of({2}, {1}).to(torch::kDouble)}), tensor_of({7}, {1}).to(torch::kDouble));
}

}  // namespace scale_test
}  // namespace uprez::ncnn
