// Swish: x / (1 + exp(-x)) element by element.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace swish_test {

using namespace test;

TEST(SwishLayerTest, MapsEveryElement) {
  const auto layer = make_layer("Swish");
  expect_close(run(*layer, {tensor_of({0, 1, -1, 20}, {4})}), tensor_of({0, 0.731059f, -0.268941f, 20}, {4}));
  const torch::Tensor blob = random_blob({3, 4, 5, 2});
  expect_close(run(*layer, {blob}), blob / (1 + torch::exp(-blob)));
}

}  // namespace swish_test
}  // namespace uprez::ncnn
