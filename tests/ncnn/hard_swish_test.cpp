// HardSwish: 0 below -beta/alpha, x above (1 - beta)/alpha, x * (alpha x + beta) between; ncnn's defaults are
// alpha 0.2 and beta 0.5.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace hard_swish_test {

using namespace test;

TEST(HardSwishLayerTest, UsesNcnnDefaults) {
  const auto layer = make_layer("HardSwish");
  // lower -2.5, upper 2.5
  expect_close(run(*layer, {tensor_of({-3, -2.5, -1, 0, 1, 2.5, 3}, {7})}),
               tensor_of({0, 0, -0.3f, 0, 0.7f, 2.5, 3}, {7}));
}

TEST(HardSwishLayerTest, PyTorchParametersMatchTorchHardswish) {
  const auto layer = make_layer("HardSwish", {{0, float_param(1.0 / 6)}, {1, float_param(0.5)}});
  const torch::Tensor blob = random_blob({2, 3, 4}) * 3;
  expect_close(run(*layer, {blob}), torch::hardswish(blob));
}

}  // namespace hard_swish_test
}  // namespace uprez::ncnn
