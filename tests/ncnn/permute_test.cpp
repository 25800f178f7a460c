// Permute: every order_type of 2- and 3-dim blobs and a selection of 4-dim ones, against torch permutations
// worked out from ncnn's order names.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace permute_test {

using namespace test;

torch::Tensor permute(int order_type, const torch::Tensor& blob) {
  return run(*make_layer("Permute", {{0, int_param(order_type)}}), {blob});
}

TEST(PermuteLayerTest, TwoDims) {
  const torch::Tensor blob = torch::arange(6, torch::kFloat32).reshape({2, 3});
  expect_close(permute(0, blob), blob);
  expect_close(permute(1, blob), tensor_of({0, 3, 1, 4, 2, 5}, {3, 2}));
}

TEST(PermuteLayerTest, ThreeDims) {
  const torch::Tensor blob = random_blob({2, 3, 4});
  // order_type: ncnn's name (innermost first) -> torch permutation of (c, h, w)
  const std::vector<std::vector<int64_t>> permutations = {
      {0, 1, 2},  // w h c
      {0, 2, 1},  // h w c
      {1, 0, 2},  // w c h
      {1, 2, 0},  // c w h
      {2, 0, 1},  // h c w
      {2, 1, 0},  // c h w
  };
  for (int order_type = 0; order_type < 6; ++order_type) {
    SCOPED_TRACE("order_type " + std::to_string(order_type));
    expect_close(permute(order_type, blob), blob.permute(permutations[order_type]));
  }
  // order_type 3 by hand: output (w, c, h) is (h, w, c) in torch order
  const torch::Tensor small = torch::arange(4, torch::kFloat32).reshape({2, 1, 2});
  expect_close(permute(3, small), tensor_of({0, 2, 1, 3}, {1, 2, 2}));
}

TEST(PermuteLayerTest, FourDims) {
  const torch::Tensor blob = random_blob({2, 3, 4, 5});
  // order_type, ncnn's name, torch permutation of (c, d, h, w)
  const std::vector<std::pair<int, std::vector<int64_t>>> cases = {
      {0, {0, 1, 2, 3}},   // w h d c
      {1, {0, 1, 3, 2}},   // h w d c
      {5, {0, 3, 2, 1}},   // d h w c
      {6, {1, 0, 2, 3}},   // w h c d
      {9, {1, 2, 3, 0}},   // c w h d
      {14, {2, 1, 0, 3}},  // w c d h
      {18, {3, 0, 1, 2}},  // h d c w
      {23, {3, 2, 1, 0}},  // c d h w
  };
  for (const auto& [order_type, torch_permutation] : cases) {
    SCOPED_TRACE("order_type " + std::to_string(order_type));
    expect_close(permute(order_type, blob), blob.permute(torch_permutation));
  }
}

TEST(PermuteLayerTest, OneDimPassesThrough) {
  const torch::Tensor blob = tensor_of({1, 2, 3}, {3});
  expect_close(permute(5, blob), blob);
}

TEST(PermuteLayerTest, RefusesUnknownOrders) {
  expect_layer_error(
      [] {
        permute(2, torch::zeros({2, 3}));
      },
      "order_type 2 does not exist for a blob of shape (2, 3)");
  expect_layer_error([] { permute(6, torch::zeros({2, 3, 4})); }, "order_type 6 does not exist");
  expect_layer_error([] { make_layer("Permute", {{0, int_param(24)}}); }, "parameter 0: unsupported order_type 24");
}

}  // namespace permute_test
}  // namespace uprez::ncnn
