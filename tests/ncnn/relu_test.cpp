// ReLU: negative values become 0, or are scaled by the leaky slope (parameter 0).
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace relu_test {

using namespace test;

TEST(ReLULayerTest, ZeroesNegativeValuesByDefault) {
  const auto layer = make_layer("ReLU");
  expect_close(run(*layer, {tensor_of({-2, -0.5, 0, 1.5}, {4})}), tensor_of({0, 0, 0, 1.5}, {4}));
}

TEST(ReLULayerTest, ScalesNegativeValuesBySlope) {
  const auto layer = make_layer("ReLU", {{0, float_param(0.1)}});
  expect_close(run(*layer, {tensor_of({-2, -0.5, 0, 1.5, 3, -1}, {1, 2, 3})}),
               tensor_of({-0.2, -0.05, 0, 1.5, 3, -0.1}, {1, 2, 3}));
}

TEST(ReLULayerTest, NeedsOneInput) {
  const auto layer = make_layer("ReLU");
  expect_layer_error([&] { layer->forward({}); }, "expects 1 input blob, got 0");
}

}  // namespace relu_test
}  // namespace uprez::ncnn
