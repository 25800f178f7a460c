// Sigmoid: 1 / (1 + exp(-x)) element by element, stable for large magnitudes.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace sigmoid_test {

using namespace test;

TEST(SigmoidLayerTest, MapsEveryElement) {
  const auto layer = make_layer("Sigmoid");
  expect_close(run(*layer, {tensor_of({0, 2, -2, 100, -100, 1}, {2, 3})}),
               tensor_of({0.5f, 0.880797f, 0.119203f, 1, 0, 0.731059f}, {2, 3}));
}

TEST(SigmoidLayerTest, KeepsDtype) {
  const auto layer = make_layer("Sigmoid");
  const torch::Tensor blob = random_blob({2, 3, 4}).to(torch::kDouble);
  expect_close(run(*layer, {blob}), 1 / (1 + torch::exp(-blob)), 1e-12);
}

}  // namespace sigmoid_test
}  // namespace uprez::ncnn
