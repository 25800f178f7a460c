// InnerProduct against LibTorch's linear: flattened blobs of any dims, row-wise (h, w) blobs, fused activations as
// in Real-CUGAN's squeeze-and-excitation blocks, and refused parameters.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace inner_product_test {

TEST(NcnnInnerProductTest, FlattensImagesInChannelOrder) {
  const torch::Tensor weight = random_blob({4, 24}, 3), bias = random_blob({4}, 4);
  const auto layer = load_layer("InnerProduct", "0=4 1=1 2=96 9=1", {flagged_buffer(weight), raw_buffer(bias)});
  const torch::Tensor input = random_blob({2, 3, 4});
  expect_close(run_one(*layer, input), torch::relu(torch::linear(input.flatten(), weight, bias)));
}

TEST(NcnnInnerProductTest, SqueezeAndExcitationPairWithoutBias) {
  // Real-CUGAN: global pooling to (64), InnerProduct 64 -> 8 with ReLU, then 8 -> 64 with Sigmoid, no biases.
  const torch::Tensor squeeze = random_blob({8, 64}, 5), excite = random_blob({64, 8}, 6);
  const auto first = load_layer("InnerProduct", "0=8 1=0 2=512 9=1", {flagged_buffer(squeeze)});
  const auto second = load_layer("InnerProduct", "0=64 1=0 2=512 9=4", {flagged_buffer(excite)});
  const torch::Tensor input = random_blob({64});
  const torch::Tensor output = run_one(*second, run_one(*first, input));
  expect_close(output, torch::sigmoid(torch::linear(torch::relu(torch::linear(input, squeeze)), excite)));
}

TEST(NcnnInnerProductTest, MapsEachRowOfTwoDimensionalBlobs) {
  const torch::Tensor weight = random_blob({3, 5}, 7), bias = random_blob({3}, 8);
  const auto layer = load_layer("InnerProduct", "0=3 1=1 2=15", {flagged_buffer(weight), raw_buffer(bias)});
  const torch::Tensor rows = random_blob({4, 5});
  expect_close(run_one(*layer, rows), torch::linear(rows, weight, bias));
  // A (h, w) blob whose width is not the input size is flattened.
  const torch::Tensor flattened = random_blob({5, 1});
  expect_close(run_one(*layer, flattened), torch::linear(flattened.flatten(), weight, bias));
}

TEST(NcnnInnerProductTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("InnerProduct", "0=3 2=15 8=1"); }, "parameter 8: int8");
  expect_layer_error([] { load_layer("InnerProduct", "0=4 2=15"); }, "parameter 2: weight_data_size 15");
  expect_layer_error([] { load_layer("InnerProduct", "0=2 2=10 9=9"); }, "parameter 9: unsupported activation");
  const auto layer = load_layer("InnerProduct", "0=3 2=15", {flagged_buffer(random_blob({3, 5}))});
  const torch::Tensor wrong_width = random_blob({2, 4});
  expect_layer_error([&] { run_one(*layer, wrong_width); }, "expects 5 values (or rows of them), got shape (2, 4)");
}

}  // namespace inner_product_test
}  // namespace uprez::ncnn::test
