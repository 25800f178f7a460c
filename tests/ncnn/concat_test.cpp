// Concat: blobs joined along each axis of 1 to 4 dims, negative axes, and shape mismatches.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace concat_test {

using namespace test;

TEST(ConcatLayerTest, JoinsOneDimBlobsWhateverTheAxis) {
  for (int axis : {0, 1, -1}) {
    const auto layer = make_layer("Concat", {{0, int_param(axis)}});
    expect_close(run(*layer, {tensor_of({1, 2}, {2}), tensor_of({3}, {1}), tensor_of({4, 5}, {2})}),
                 tensor_of({1, 2, 3, 4, 5}, {5}));
  }
}

TEST(ConcatLayerTest, JoinsTwoDimBlobsAlongRowsOrColumns) {
  const torch::Tensor a = tensor_of({1, 2, 3, 4}, {2, 2});
  const torch::Tensor b = tensor_of({5, 6}, {1, 2});
  expect_close(run(*make_layer("Concat"), {a, b}), tensor_of({1, 2, 3, 4, 5, 6}, {3, 2}));
  const torch::Tensor c = tensor_of({7, 8}, {2, 1});
  expect_close(run(*make_layer("Concat", {{0, int_param(1)}}), {a, c}), tensor_of({1, 2, 7, 3, 4, 8}, {2, 3}));
}

TEST(ConcatLayerTest, JoinsThreeDimBlobsAlongEachAxis) {
  const torch::Tensor a = random_blob({2, 3, 4}, 1);
  for (int axis = 0; axis < 3; ++axis) {
    std::vector<int64_t> other_shape = {2, 3, 4};
    other_shape[axis] = 5;
    const torch::Tensor b = random_blob(other_shape, 2);
    const torch::Tensor output = run(*make_layer("Concat", {{0, int_param(axis)}}), {a, b});
    expect_close(output.narrow(axis, 0, a.size(axis)), a);
    expect_close(output.narrow(axis, a.size(axis), 5), b);
    // the same axis counted from the end
    expect_close(run(*make_layer("Concat", {{0, int_param(axis - 3)}}), {a, b}), output);
  }
}

TEST(ConcatLayerTest, JoinsFourDimBlobsAlongEachAxis) {
  const torch::Tensor a = random_blob({2, 3, 4, 5}, 1);
  for (int axis = 0; axis < 4; ++axis) {
    const torch::Tensor b = random_blob({2, 3, 4, 5}, 2);
    const torch::Tensor c = random_blob({2, 3, 4, 5}, 3);
    const torch::Tensor output = run(*make_layer("Concat", {{0, int_param(axis)}}), {a, b, c});
    ASSERT_EQ(output.size(axis), a.size(axis) * 3);
    for (int part = 0; part < 3; ++part)
      expect_close(output.narrow(axis, part * a.size(axis), a.size(axis)), std::vector<torch::Tensor>{a, b, c}[part]);
  }
}

TEST(ConcatLayerTest, RefusesMismatchedBlobs) {
  const auto layer = make_layer("Concat");
  expect_layer_error(
      [&] {
        layer->forward({torch::zeros({2, 3, 4}), torch::zeros({2, 3, 5})});
      },
      "cannot join blobs of shapes (2, 3, 4) and (2, 3, 5) along axis 0");
  expect_layer_error([&] { layer->forward({torch::zeros({2, 3, 4}), torch::zeros({2, 12})}); }, "cannot join");
  expect_layer_error(
      [&] {
        make_layer("Concat", {{0, int_param(3)}})->forward({torch::zeros({2, 3, 4})});
      },
      "axis 3 is out of range for a blob of shape (2, 3, 4)");
  expect_layer_error([&] { layer->forward({}); }, "expects at least 1 input blob");
}

}  // namespace concat_test
}  // namespace uprez::ncnn
