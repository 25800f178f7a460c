// Reshape: output dims from the parameters given, 0 keeping an input size, -1 inferred, and the old permute flag
// (channel-last reshape).
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace reshape_test {

using namespace test;

// A Reshape layer with w, h, d, c (parameters 0, 1, 11, 2) where given (not -233).
std::unique_ptr<Layer> reshape(int w, int h = -233, int c = -233, int d = -233, int permute = 0) {
  Params params = {{0, int_param(w)}, {3, int_param(permute)}};
  if (h != -233) params[1] = int_param(h);
  if (c != -233) params[2] = int_param(c);
  if (d != -233) params[11] = int_param(d);
  return make_layer("Reshape", params);
}

const torch::Tensor& image() {  // (c, h, w) = (2, 3, 4)
  static const torch::Tensor blob = torch::arange(24, torch::kFloat32).reshape({2, 3, 4});
  return blob;
}

TEST(ReshapeLayerTest, FlattensWithMinusOne) {
  expect_close(run(*reshape(-1), {image()}), image().reshape({24}));
  expect_close(run(*reshape(24), {image()}), image().reshape({24}));
}

TEST(ReshapeLayerTest, InfersOneSizeOfSeveral) {
  expect_close(run(*reshape(6, -1), {image()}), image().reshape({4, 6}));
  expect_close(run(*reshape(-1, 8), {image()}), image().reshape({8, 3}));
  expect_close(run(*reshape(2, 3, -1), {image()}), image().reshape({4, 3, 2}));
  expect_close(run(*reshape(2, -1, 3, 2), {image()}), image().reshape({3, 2, 2, 2}));
}

TEST(ReshapeLayerTest, ZeroKeepsTheInputSizeOfThatName) {
  // w = 0 keeps w (4), c = 0 keeps c (2)
  expect_close(run(*reshape(0, -1), {image()}), image().reshape({6, 4}));
  expect_close(run(*reshape(0, 1, 0, 3), {image()}), image().reshape({2, 3, 1, 4}));
  expect_close(run(*reshape(12, 1, 0), {image()}), image().reshape({2, 1, 12}));
  // h of a 2-dim blob
  expect_close(run(*reshape(-1, 0, 1), {image().reshape({6, 4})}), image().reshape({1, 6, 4}));
}

TEST(ReshapeLayerTest, PermuteFlagReshapesChannelLast) {
  // Caffe-style flatten of (c, h, w): the elements in h, w, c order.
  expect_close(run(*reshape(-1, -233, -233, -233, 1), {image()}), image().permute({1, 2, 0}).reshape({24}));
  // (2, 3, 4) -> (c, h, w) = (4, 3, 2): channel-last (3, 4, 2) -> (3, 2, 4) -> channel-first
  const torch::Tensor expected = image().permute({1, 2, 0}).reshape({3, 2, 4}).permute({2, 0, 1});
  expect_close(run(*reshape(2, 3, 4, -233, 1), {image()}), expected);
  // 2 dims: transposed before and after
  expect_close(run(*reshape(3, 8, -233, -233, 1), {image().reshape({6, 4})}),
               image().reshape({6, 4}).t().reshape({3, 8}).t());
}

TEST(ReshapeLayerTest, PermuteFlagIsIgnoredWhenTheOuterSizeStays) {
  expect_close(run(*reshape(6, 2, 2, -233, 1), {image()}), image().reshape({2, 2, 6}));
}

TEST(ReshapeLayerTest, RefusesImpossibleShapes) {
  expect_layer_error([&] { reshape(5, -1)->forward({image()}); },
                     "cannot reshape a blob of shape (2, 3, 4) to (-1, 5)");
  expect_layer_error([&] { reshape(7)->forward({image()}); }, "to (7)");
  expect_layer_error([&] { reshape(-1, -1); }, "parameter 0: more than one size is -1");
  expect_layer_error([&] { reshape(-3); }, "parameter 0: size -3 is not allowed");
  expect_layer_error([&] { make_layer("Reshape", {{1, int_param(2)}}); }, "parameter 0: Reshape needs w");
  expect_layer_error(
      [&] {
        make_layer("Reshape", {{0, int_param(-1)}, {12, int_param(0)}});
      },
      "parameter 12: batch axes are not supported");
}

}  // namespace reshape_test
}  // namespace uprez::ncnn
