// Padding against LibTorch's padding and hand-computed values: constant (one value, or per output channel from the
// .bin), replicate and reflect, on blobs of 1 to 4 dims including front/behind along c or d.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace padding_test {

namespace F = torch::nn::functional;

torch::Tensor torch_pad(const torch::Tensor& input, std::vector<int64_t> pads, F::PadFuncOptions::mode_t mode) {
  // LibTorch pads the last dims of batched inputs: add the batch (and a channel) dim that its modes expect.
  const int64_t extra = static_cast<int64_t>(pads.size()) / 2 + 2 - input.dim();
  torch::Tensor batched = input;
  for (int64_t i = 0; i < extra; ++i) batched = batched.unsqueeze(0);
  torch::Tensor padded = F::pad(batched, F::PadFuncOptions(pads).mode(mode));
  for (int64_t i = 0; i < extra; ++i) padded = padded.squeeze(0);
  return padded;
}

TEST(NcnnPaddingTest, ConstantOnImages) {
  const torch::Tensor input = random_blob({3, 4, 5});
  // top 1, bottom 2, left 3, right 0, value 0.5, front 1, behind 2.
  const auto layer = load_layer("Padding", "0=1 1=2 2=3 3=0 5=0.5 7=1 8=2");
  expect_close(run_one(*layer, input), torch::constant_pad_nd(input, {3, 0, 1, 2, 1, 2}, 0.5), 0);
}

TEST(NcnnPaddingTest, PerChannelValuesFollowOutputChannels) {
  const torch::Tensor input = tensor_of({1, 2}, {2, 1, 1});
  // One constant per output channel (front 1 + 2 channels): the added channel and each channel's borders.
  const auto layer = load_layer("Padding", "0=1 3=1 5=9.0 6=3 7=1", {raw_buffer(tensor_of({-1, -2, -3}, {3}))});
  const torch::Tensor expected = tensor_of({-1, -1, -1, -1,  //
                                            -2, -2, 1, -2,   //
                                            -3, -3, 2, -3},
                                           {3, 2, 2});
  expect_close(run_one(*layer, input), expected, 0);
  // (c, d, h, w) blobs are padded along d; the constants are per channel.
  const auto volume_layer = load_layer("Padding", "2=1 6=2 8=1", {raw_buffer(tensor_of({5, 6}, {2}))});
  const torch::Tensor volume = tensor_of({1, 2}, {2, 1, 1, 1});
  expect_close(run_one(*volume_layer, volume), tensor_of({5, 1, 5, 5, 6, 2, 6, 6}, {2, 2, 1, 2}), 0);
}

TEST(NcnnPaddingTest, ReplicateAndReflect) {
  const torch::Tensor image = random_blob({4, 5, 6});
  const std::string pads = "0=2 1=1 2=3 3=4 7=1 8=2";
  // LibTorch's 3-D padding of a (1, 1, c, h, w) batch pads c too.
  expect_close(run_one(*load_layer("Padding", pads + " 4=1"), image),
               torch_pad(image.unsqueeze(0), {3, 4, 2, 1, 1, 2}, torch::kReplicate).squeeze(0), 0);
  expect_close(run_one(*load_layer("Padding", pads + " 4=2"), image),
               torch_pad(image.unsqueeze(0), {3, 4, 2, 1, 1, 2}, torch::kReflect).squeeze(0), 0);
  // (c, d, h, w): front and behind pad d.
  const torch::Tensor volume = random_blob({2, 3, 4, 5});
  expect_close(run_one(*load_layer("Padding", "0=1 2=2 7=2 4=2"), volume),
               torch_pad(volume, {2, 0, 1, 0, 2, 0}, torch::kReflect), 0);
}

TEST(NcnnPaddingTest, VectorsAndRows) {
  const torch::Tensor values = tensor_of({1, 2, 3}, {3});
  // (w) blobs take left and right only.
  expect_close(run_one(*load_layer("Padding", "0=5 2=1 3=2 4=2"), values), tensor_of({2, 1, 2, 3, 2, 1}, {6}), 0);
  const torch::Tensor rows = random_blob({3, 4});
  expect_close(run_one(*load_layer("Padding", "0=1 1=2 2=1 4=1 7=3"), rows),
               torch_pad(rows.unsqueeze(0), {1, 0, 1, 2}, torch::kReplicate).squeeze(0), 0);
  expect_close(run_one(*load_layer("Padding", "1=1 3=2 5=-1.0"), rows), torch::constant_pad_nd(rows, {0, 2, 0, 1}, -1),
               0);
}

TEST(NcnnPaddingTest, NoPadsReturnTheInput) {
  const torch::Tensor input = random_blob({2, 3, 3});
  EXPECT_TRUE(run_one(*load_layer("Padding", "4=2 5=1.0"), input).is_same(input));
}

TEST(NcnnPaddingTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("Padding", "4=3"); }, "parameter 4: unsupported padding type 3");
  expect_layer_error([] { load_layer("Padding", "0=-1"); }, "parameter 0: pads must not be negative");
  const torch::Tensor input = random_blob({2, 3, 3});
  expect_layer_error([&] { run_one(*load_layer("Padding", "2=3 4=2"), input); },
                     "reflect padding needs pads smaller than the input (2, 3, 3)");
  const auto per_channel = load_layer("Padding", "0=1 6=2 7=1", {raw_buffer(torch::zeros({2}))});
  expect_layer_error([&] { run_one(*per_channel, input); }, "has 2 per-channel pad values for 3 output channels");
}

}  // namespace padding_test
}  // namespace uprez::ncnn::test
