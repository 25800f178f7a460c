// PReLU: negative values scaled by one shared slope or one slope per index of the outermost axis, slopes read
// from the .bin as raw fp32.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace prelu_test {

using namespace test;

TEST(PReLULayerTest, SharedSlope) {
  const auto layer = make_layer("PReLU", {{0, int_param(1)}}, {0.25f});
  expect_close(run(*layer, {tensor_of({-4, 2, -1, 0, 3, -8}, {3, 1, 2})}),
               tensor_of({-1, 2, -0.25, 0, 3, -2}, {3, 1, 2}));
}

TEST(PReLULayerTest, OneSlopePerChannel) {
  const auto layer = make_layer("PReLU", {{0, int_param(2)}}, {0.5f, -1.f});
  expect_close(run(*layer, {tensor_of({-2, 2, -4, 4, -1, 1, -3, 3}, {2, 2, 2})}),
               tensor_of({-1, 2, -2, 4, 1, 1, 3, 3}, {2, 2, 2}));
  // 4 dims: per channel too
  expect_close(run(*layer, {tensor_of({-2, 2, -4, 4, -1, 1, -3, 3}, {2, 2, 1, 2})}),
               tensor_of({-1, 2, -2, 4, 1, 1, 3, 3}, {2, 2, 1, 2}));
}

TEST(PReLULayerTest, OneSlopePerRowOrElement) {
  const auto layer = make_layer("PReLU", {{0, int_param(2)}}, {0.5f, 2.f});
  // 2 dims: per row
  expect_close(run(*layer, {tensor_of({-2, -4, -1, 1}, {2, 2})}), tensor_of({-1, -2, -2, 1}, {2, 2}));
  // 1 dim: per element
  expect_close(run(*layer, {tensor_of({-2, -4}, {2})}), tensor_of({-1, -8}, {2}));
}

TEST(PReLULayerTest, SlopeCountMustFitTheBlob) {
  const auto layer = make_layer("PReLU", {{0, int_param(3)}}, {1, 2, 3});
  expect_layer_error(
      [&] {
        layer->forward({torch::zeros({2, 4, 4})});
      },
      "3 slopes do not fit a blob of shape (2, 4, 4)");
  expect_layer_error([&] { make_layer("PReLU"); }, "parameter 0: num_slope must be at least 1");
}

TEST(PReLULayerTest, MovesSlopesWithTo) {
  const auto layer = make_layer("PReLU", {{0, int_param(1)}}, {0.5f});
  layer->to(torch::kCPU, torch::kDouble);
  const torch::Tensor output = run(*layer, {tensor_of({-2, 2}, {2}).to(torch::kDouble)});
  expect_close(output, tensor_of({-1, 2}, {2}).to(torch::kDouble));
}

}  // namespace prelu_test
}  // namespace uprez::ncnn
