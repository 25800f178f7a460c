// Clip: elements clamped to [min, max] (parameters 0 and 1), unbounded by default.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace clip_test {

using namespace test;

TEST(ClipLayerTest, ClampsToMinAndMax) {
  const auto layer = make_layer("Clip", {{0, float_param(-1)}, {1, float_param(0.5)}});
  expect_close(run(*layer, {tensor_of({-3, -1, 0, 0.25, 0.5, 7}, {2, 3})}),
               tensor_of({-1, -1, 0, 0.25, 0.5, 0.5}, {2, 3}));
}

TEST(ClipLayerTest, DefaultsLeaveValuesAlone) {
  const auto layer = make_layer("Clip");
  const torch::Tensor blob = tensor_of({-1e30f, 0, 1e30f}, {3});
  expect_close(run(*layer, {blob}), blob);
}

TEST(ClipLayerTest, OnlyMaxGiven) {
  const auto layer = make_layer("Clip", {{1, int_param(6)}});
  expect_close(run(*layer, {tensor_of({-10, 3, 9}, {3})}), tensor_of({-10, 3, 6}, {3}));
}

TEST(ClipLayerTest, MinAboveMaxGivesMaxAsInNcnn) {
  const auto layer = make_layer("Clip", {{0, float_param(2)}, {1, float_param(1)}});
  expect_close(run(*layer, {tensor_of({0, 1.5, 3}, {3})}), tensor_of({1, 1, 1}, {3}));
}

}  // namespace clip_test
}  // namespace uprez::ncnn
