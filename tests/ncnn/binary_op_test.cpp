// BinaryOp: every op_type on same-shape blobs and with a scalar, and ncnn's broadcasting between blobs of
// different shapes and ranks.
#include <gtest/gtest.h>

#include <cmath>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace binary_op_test {

using namespace test;

std::unique_ptr<Layer> binary_op(int op_type) { return make_layer("BinaryOp", {{0, int_param(op_type)}}); }

std::unique_ptr<Layer> binary_op_with_scalar(int op_type, double scalar) {
  return make_layer("BinaryOp", {{0, int_param(op_type)}, {1, int_param(1)}, {2, float_param(scalar)}});
}

struct OpCase {
  int op_type;
  std::vector<float> expected;  // op(a, b) for a = {5, -5, 7, 5}, b = {3, 3, 2, 2}
};

TEST(BinaryOpLayerTest, EveryOpTypeOnSameShapeBlobs) {
  const torch::Tensor a = tensor_of({5, -5, 7, 5}, {2, 2});
  const torch::Tensor b = tensor_of({3, 3, 2, 2}, {2, 2});
  const std::vector<OpCase> cases = {
      {0, {8, -2, 9, 7}},
      {1, {2, -8, 5, 3}},
      {2, {15, -15, 14, 10}},
      {3, {5.f / 3, -5.f / 3, 3.5f, 2.5f}},
      {4, {5, 3, 7, 5}},
      {5, {3, -5, 2, 2}},
      {6, {125, -125, 49, 25}},
      {7, {-2, 8, -5, -3}},
      {8, {0.6f, -0.6f, 2.f / 7, 0.4f}},
      {9, {243, 1.f / 243, 128, 32}},
      {10, {std::atan2(5.f, 3.f), std::atan2(-5.f, 3.f), std::atan2(7.f, 2.f), std::atan2(5.f, 2.f)}},
      {11, {std::atan2(3.f, 5.f), std::atan2(3.f, -5.f), std::atan2(2.f, 7.f), std::atan2(2.f, 5.f)}},
      {12, {2, -2, 1, 1}},  // fmod: sign of the dividend
      {13, {3, 3, 2, 2}},   // rfmod: fmod(b, a)
      {14,
       {5 + std::log1p(std::exp(-2.f)), 3 + std::log1p(std::exp(-8.f)), 7 + std::log1p(std::exp(-5.f)),
        5 + std::log1p(std::exp(-3.f))}},  // logaddexp
      {15, {1, -2, 3, 2}},                 // floor_divide
      {16, {0, -1, 0, 0}},                 // rfloor_divide: floor(b / a)
      {17, {-1, 1, -1, 1}},                // remainder: 5/3 rounds to 2, 7/2 to 4, 5/2 to 2
      {18, {-2, -2, 2, 2}},                // rremainder: 3/5 rounds to 1, 3/-5 to -1
  };
  for (const OpCase& op_case : cases) {
    SCOPED_TRACE("op_type " + std::to_string(op_case.op_type));
    expect_close(run(*binary_op(op_case.op_type), {a, b}), tensor_of(op_case.expected, {2, 2}));
  }
}

TEST(BinaryOpLayerTest, ScalarOperand) {
  const torch::Tensor a = tensor_of({1, 2, 4, 8}, {1, 2, 2});
  expect_close(run(*binary_op_with_scalar(0, 0.5), {a}), tensor_of({1.5, 2.5, 4.5, 8.5}, {1, 2, 2}));
  expect_close(run(*binary_op_with_scalar(1, 1), {a}), tensor_of({0, 1, 3, 7}, {1, 2, 2}));
  expect_close(run(*binary_op_with_scalar(7, 1), {a}), tensor_of({0, -1, -3, -7}, {1, 2, 2}));
  expect_close(run(*binary_op_with_scalar(8, 8), {a}), tensor_of({8, 4, 2, 1}, {1, 2, 2}));
  expect_close(run(*binary_op_with_scalar(9, 2), {a}), tensor_of({2, 4, 16, 256}, {1, 2, 2}));
  expect_close(run(*binary_op_with_scalar(6, 2), {a}), tensor_of({1, 4, 16, 64}, {1, 2, 2}));
  // the scalar defaults to 0
  expect_close(run(*make_layer("BinaryOp", {{0, int_param(4)}, {1, int_param(1)}}), {-a}), torch::zeros({1, 2, 2}));
  expect_layer_error([&] { binary_op_with_scalar(0, 1)->forward({a, a}); }, "expects 1 input blob, got 2");
}

TEST(BinaryOpLayerTest, OneDimBlobAlongChannels) {
  // realcugan: "BinaryOp mul_0 2 1 conv se 14 0=2", a (c, h, w) blob times a (c) blob from InnerProduct
  const torch::Tensor image = random_blob({3, 4, 5});
  const torch::Tensor per_channel = tensor_of({0.5, 2, -1}, {3});
  const torch::Tensor expected = image * per_channel.view({3, 1, 1});
  expect_close(run(*binary_op(2), {image, per_channel}), expected);
  expect_close(run(*binary_op(2), {per_channel, image}), expected);
  // lower rank first with a non-symmetric op
  expect_close(run(*binary_op(1), {per_channel, image}), per_channel.view({3, 1, 1}) - image);
  // the same against 4 dims and 2 dims
  const torch::Tensor volume = random_blob({3, 2, 4, 5});
  expect_close(run(*binary_op(0), {volume, per_channel}), volume + per_channel.view({3, 1, 1, 1}));
  const torch::Tensor matrix = random_blob({3, 5});
  expect_close(run(*binary_op(0), {matrix, per_channel}), matrix + per_channel.view({3, 1}));
}

TEST(BinaryOpLayerTest, OneDimBlobAlongWidthWhenItIsNotTheChannelCount) {
  const torch::Tensor image = random_blob({3, 4, 5});
  const torch::Tensor per_column = tensor_of({1, 2, 3, 4, 5}, {5});
  expect_close(run(*binary_op(0), {image, per_column}), image + per_column.view({1, 1, 5}));
  const torch::Tensor matrix = random_blob({3, 5});
  expect_close(run(*binary_op(3), {matrix, per_column}), matrix / per_column.view({1, 5}));
  const torch::Tensor volume = random_blob({3, 2, 4, 5});
  expect_close(run(*binary_op(0), {volume, per_column}), volume + per_column.view({1, 1, 1, 5}));
}

TEST(BinaryOpLayerTest, LowerRankBlobLinesUpWithOuterAxes) {
  // (c, h) against (c, h, w): the first blob gets a trailing axis
  const torch::Tensor image = random_blob({3, 4, 5});
  const torch::Tensor plane = random_blob({3, 4}, 2);
  expect_close(run(*binary_op(2), {image, plane}), image * plane.view({3, 4, 1}));
  // (c, h, w) and (c, h) against (c, d, h, w)
  const torch::Tensor volume = random_blob({3, 2, 4, 5});
  const torch::Tensor block = random_blob({3, 2, 4}, 3);
  expect_close(run(*binary_op(0), {block, volume}), block.view({3, 2, 4, 1}) + volume);
  const torch::Tensor rows = random_blob({3, 2}, 4);
  expect_close(run(*binary_op(0), {volume, rows}), volume + rows.view({3, 2, 1, 1}));
}

TEST(BinaryOpLayerTest, SizeOneAxesBroadcastBothWays) {
  const torch::Tensor per_channel = random_blob({3, 1, 1});
  const torch::Tensor image = random_blob({3, 4, 5}, 2);
  expect_close(run(*binary_op(2), {image, per_channel}), image * per_channel);
  const torch::Tensor row = random_blob({1, 1, 5}, 3);
  const torch::Tensor column = random_blob({3, 4, 1}, 4);
  expect_close(run(*binary_op(0), {row, column}), row + column);
  expect_close(run(*binary_op(0), {tensor_of({2}, {1}), image}), image + 2);
  expect_close(run(*binary_op(1), {image, tensor_of({2}, {1, 1})}), image - 2);
}

TEST(BinaryOpLayerTest, RefusesShapesThatDoNotBroadcast) {
  expect_layer_error(
      [&] {
        binary_op(0)->forward({torch::zeros({3, 4, 5}), torch::zeros({4})});
      },
      "cannot broadcast blobs of shapes (3, 4, 5) and (4)");
  expect_layer_error(
      [&] {
        binary_op(0)->forward({torch::zeros({3, 4, 5}), torch::zeros({3, 4, 6})});
      },
      "cannot broadcast");
  expect_layer_error([&] { binary_op(0)->forward({torch::zeros({3})}); }, "expects 2 input blobs, got 1");
  expect_layer_error([&] { binary_op(19); }, "parameter 0: unsupported op_type 19");
}

}  // namespace binary_op_test
}  // namespace uprez::ncnn
