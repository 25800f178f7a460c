// Softmax: along each axis of 1- to 4-dim blobs, negative axes, and the fixbug0 guard.
#include <gtest/gtest.h>

#include <cmath>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace softmax_test {

using namespace test;

std::unique_ptr<Layer> softmax(int axis) { return make_layer("Softmax", {{0, int_param(axis)}, {1, int_param(1)}}); }

// softmax by its definition, along `axis`.
torch::Tensor reference(const torch::Tensor& blob, int64_t axis) {
  const torch::Tensor exponentials = torch::exp(blob - std::get<0>(blob.max(axis, true)));
  return exponentials / exponentials.sum(axis, true);
}

TEST(SoftmaxLayerTest, HandComputedValues) {
  const float log3 = std::log(3.f);
  // 1 dim: its only axis whatever the parameter
  expect_close(run(*make_layer("Softmax"), {tensor_of({0, log3}, {2})}), tensor_of({0.25, 0.75}, {2}));
  expect_close(run(*softmax(1), {tensor_of({0, log3}, {2})}), tensor_of({0.25, 0.75}, {2}));
  // 2 dims: axis 0 down the columns, axis 1 along the rows
  const torch::Tensor matrix = tensor_of({0, 0, log3, 0}, {2, 2});
  expect_close(run(*softmax(0), {matrix}), tensor_of({0.25, 0.5, 0.75, 0.5}, {2, 2}));
  expect_close(run(*softmax(1), {matrix}), tensor_of({0.5, 0.5, 0.75, 0.25}, {2, 2}));
}

TEST(SoftmaxLayerTest, EveryAxisOfThreeAndFourDims) {
  const torch::Tensor image = random_blob({3, 4, 5}) * 10;
  for (int axis = 0; axis < 3; ++axis) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    expect_close(run(*softmax(axis), {image}), reference(image, axis));
    expect_close(run(*softmax(axis - 3), {image}), reference(image, axis));
  }
  const torch::Tensor volume = random_blob({2, 3, 4, 5}) * 10;
  for (int axis = 0; axis < 4; ++axis) {
    SCOPED_TRACE("axis " + std::to_string(axis));
    expect_close(run(*softmax(axis), {volume}), reference(volume, axis));
  }
}

TEST(SoftmaxLayerTest, RefusesOldParamsAndBadAxes) {
  expect_layer_error([] { make_layer("Softmax", {{0, int_param(1)}}); }, "parameter 1: axis 1 without fixbug0=1");
  expect_layer_error(
      [] {
        softmax(3)->forward({torch::zeros({2, 3, 4})});
      },
      "axis 3 is out of range for a blob of shape (2, 3, 4)");
}

}  // namespace softmax_test
}  // namespace uprez::ncnn
