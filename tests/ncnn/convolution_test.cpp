// Convolution and ConvolutionDepthWise against LibTorch's conv2d on explicitly padded inputs: ncnn's padding
// variants (symmetric, asymmetric, pad_value, SAME_UPPER / SAME_LOWER), kernel shapes, stride, dilation, groups,
// fused activations, the flattened-input path, and refused parameters.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace convolution_test {

namespace F = torch::nn::functional;

struct ConvWeights {
  torch::Tensor weight;  // (out, in / group, kernel_h, kernel_w)
  torch::Tensor bias;    // (out) or undefined
};

ConvWeights random_conv_weights(int64_t out, int64_t in_per_group, int64_t kernel_h, int64_t kernel_w, bool bias,
                                uint64_t seed = 7) {
  return {random_blob({out, in_per_group, kernel_h, kernel_w}, seed) * 0.25,
          bias ? random_blob({out}, seed + 1) : torch::Tensor()};
}

std::vector<BinBuffer> conv_bin(const ConvWeights& weights) {
  std::vector<BinBuffer> buffers{flagged_buffer(weights.weight)};
  if (weights.bias.defined()) buffers.push_back(raw_buffer(weights.bias));
  return buffers;
}

// LibTorch's convolution of `input` after constant borders {left, right, top, bottom} of `pad_value`.
torch::Tensor expected_conv(const torch::Tensor& input, const ConvWeights& weights, std::vector<int64_t> borders,
                            double pad_value, std::vector<int64_t> stride, std::vector<int64_t> dilation,
                            int64_t groups = 1) {
  const torch::Tensor padded = torch::constant_pad_nd(input, borders, pad_value);
  return torch::conv2d(padded.unsqueeze(0), weights.weight, weights.bias, stride, std::vector<int64_t>{0, 0}, dilation,
                       groups)
      .squeeze(0);
}

std::string weight_count(const ConvWeights& weights) { return std::to_string(weights.weight.numel()); }

TEST(NcnnConvolutionTest, SymmetricPaddingBiasAndLeakyReluMatchLibTorch) {
  // The configuration of Real-ESRGAN's compact models, large enough for oneDNN's Winograd path.
  const ConvWeights weights = random_conv_weights(32, 32, 3, 3, true);
  const auto layer =
      load_layer("Convolution", "0=32 1=3 4=1 5=1 6=" + weight_count(weights) + " 9=2 -23310=1,0.2", conv_bin(weights));
  const torch::Tensor input = random_blob({32, 40, 36});
  const torch::Tensor expected = torch::leaky_relu(expected_conv(input, weights, {1, 1, 1, 1}, 0, {1, 1}, {1, 1}), 0.2);
  expect_close(run_one(*layer, input), expected, 1e-4);
}

TEST(NcnnConvolutionTest, WithoutBiasOrPadding) {
  const ConvWeights weights = random_conv_weights(5, 3, 3, 3, false);
  const auto layer = load_layer("Convolution", "0=5 1=3 6=" + weight_count(weights), conv_bin(weights));
  const torch::Tensor input = random_blob({3, 9, 7});
  expect_close(run_one(*layer, input), expected_conv(input, weights, {0, 0, 0, 0}, 0, {1, 1}, {1, 1}), 1e-5);
}

TEST(NcnnConvolutionTest, AsymmetricPadsAndPadValue) {
  const ConvWeights weights = random_conv_weights(4, 3, 3, 2, true);
  const torch::Tensor input = random_blob({3, 8, 9});
  // pad_left 2, pad_right 0, pad_top 1, pad_bottom 3; kernel 2 wide, 3 high.
  const auto asymmetric =
      load_layer("Convolution", "0=4 1=2 11=3 4=2 15=0 14=1 16=3 5=1 6=" + weight_count(weights), conv_bin(weights));
  expect_close(run_one(*asymmetric, input), expected_conv(input, weights, {2, 0, 1, 3}, 0, {1, 1}, {1, 1}), 1e-5);
  // Symmetric pads with a non-zero pad value.
  const auto valued =
      load_layer("Convolution", "0=4 1=2 11=3 4=1 18=-1.5 5=1 6=" + weight_count(weights), conv_bin(weights));
  expect_close(run_one(*valued, input), expected_conv(input, weights, {1, 1, 1, 1}, -1.5, {1, 1}, {1, 1}), 1e-5);
}

TEST(NcnnConvolutionTest, StrideDilationAndDefaultsOfHeightParams) {
  const ConvWeights weights = random_conv_weights(6, 4, 3, 3, true);
  const torch::Tensor input = random_blob({4, 17, 14});
  // stride 2 x 3 (13=3), dilation 2 (12 defaults to 2=2), pad 2.
  const auto layer =
      load_layer("Convolution", "0=6 1=3 2=2 3=2 13=3 4=2 5=1 6=" + weight_count(weights), conv_bin(weights));
  expect_close(run_one(*layer, input), expected_conv(input, weights, {2, 2, 2, 2}, 0, {3, 2}, {2, 2}), 1e-5);
}

TEST(NcnnConvolutionTest, SamePadding) {
  const ConvWeights weights = random_conv_weights(2, 2, 3, 3, true);
  const torch::Tensor input = random_blob({2, 8, 7});
  const std::string common = "0=2 1=3 3=2 5=1 6=" + weight_count(weights);
  // ncnn's total border: extent + (size - 1) / stride * stride - size. Kernel 3, stride 2: 3 + 6 - 8 = 1 row
  // (0 above, 1 below with SAME_UPPER) and 3 + 6 - 7 = 2 columns (1, 1).
  const auto upper = load_layer("Convolution", common + " 4=-233", conv_bin(weights));
  expect_close(run_one(*upper, input), expected_conv(input, weights, {1, 1, 0, 1}, 0, {2, 2}, {1, 1}), 1e-5);
  // Dilation 2 (extent 5): 5 + 6 - 8 = 3 rows and 5 + 6 - 7 = 4 columns; the odd row below (upper) or above (lower).
  const auto upper_dilated = load_layer("Convolution", common + " 2=2 4=-233", conv_bin(weights));
  expect_close(run_one(*upper_dilated, input), expected_conv(input, weights, {2, 2, 1, 2}, 0, {2, 2}, {2, 2}), 1e-5);
  const auto lower_dilated = load_layer("Convolution", common + " 2=2 4=-234", conv_bin(weights));
  expect_close(run_one(*lower_dilated, input), expected_conv(input, weights, {2, 2, 2, 1}, 0, {2, 2}, {2, 2}), 1e-5);
}

TEST(NcnnConvolutionTest, ActivationsAppliedAfterTheConvolution) {
  const ConvWeights weights = random_conv_weights(3, 2, 1, 1, true);
  const torch::Tensor input = random_blob({2, 5, 6}) * 4;
  const torch::Tensor linear = expected_conv(input, weights, {0, 0, 0, 0}, 0, {1, 1}, {1, 1});
  const std::string common = "0=3 1=1 5=1 6=" + weight_count(weights);
  expect_close(run_one(*load_layer("Convolution", common + " 9=1", conv_bin(weights)), input), torch::relu(linear));
  expect_close(run_one(*load_layer("Convolution", common + " 9=3 -23310=2,-1.0,0.5", conv_bin(weights)), input),
               linear.clamp(-1, 0.5));
  expect_close(run_one(*load_layer("Convolution", common + " 9=4", conv_bin(weights)), input), torch::sigmoid(linear));
  expect_close(run_one(*load_layer("Convolution", common + " 9=5", conv_bin(weights)), input),
               linear * torch::tanh(torch::softplus(linear)));
  expect_close(run_one(*load_layer("Convolution", common + " 9=6 -23310=2,0.2,0.5", conv_bin(weights)), input),
               linear * (linear * 0.2 + 0.5).clamp(0, 1));
}

TEST(NcnnConvolutionTest, DepthwiseAndGroupedConvolutions) {
  const torch::Tensor input = random_blob({6, 10, 9});
  const ConvWeights depthwise = random_conv_weights(6, 1, 3, 3, true);
  const auto depthwise_layer = load_layer(
      "ConvolutionDepthWise", "0=6 1=3 4=1 5=1 7=6 6=" + weight_count(depthwise) + " 9=1", conv_bin(depthwise));
  expect_close(run_one(*depthwise_layer, input),
               torch::relu(expected_conv(input, depthwise, {1, 1, 1, 1}, 0, {1, 1}, {1, 1}, 6)), 1e-5);

  // 2 groups of 3 input and 4 output channels, stride 2.
  const ConvWeights grouped = random_conv_weights(8, 3, 3, 3, false);
  const auto grouped_layer =
      load_layer("ConvolutionDepthWise", "0=8 1=3 3=2 7=2 6=" + weight_count(grouped), conv_bin(grouped));
  expect_close(run_one(*grouped_layer, input), expected_conv(input, grouped, {0, 0, 0, 0}, 0, {2, 2}, {1, 1}, 2), 1e-5);
}

TEST(NcnnConvolutionTest, ConvolutionIgnoresTheGroupParam) {
  // Param 7 belongs to ConvolutionDepthWise; ncnn's Convolution does not read it.
  const ConvWeights weights = random_conv_weights(4, 4, 1, 1, false);
  const auto layer = load_layer("Convolution", "0=4 1=1 7=4 6=" + weight_count(weights), conv_bin(weights));
  const torch::Tensor input = random_blob({4, 3, 3});
  expect_close(run_one(*layer, input), expected_conv(input, weights, {0, 0, 0, 0}, 0, {1, 1}, {1, 1}), 1e-5);
}

TEST(NcnnConvolutionTest, FlattenedInputRunsAsInnerProduct) {
  const ConvWeights weights = random_conv_weights(3, 5, 1, 1, true);
  const auto layer = load_layer("Convolution", "0=3 1=1 5=1 6=15 9=1", conv_bin(weights));
  const torch::Tensor input = random_blob({5});
  expect_close(run_one(*layer, input), torch::relu(torch::linear(input, weights.weight.view({3, 5}), weights.bias)));
}

TEST(NcnnConvolutionTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("Convolution", "0=4 1=3 6=108 8=1"); }, "parameter 8: int8");
  expect_layer_error([] { load_layer("Convolution", "0=4 1=3 6=108 19=1"); }, "parameter 19: dynamic weights");
  expect_layer_error([] { load_layer("Convolution", "0=4 1=3 6=100"); }, "parameter 6: weight_data_size 100");
  expect_layer_error([] { load_layer("Convolution", "0=4 1=3 6=108 4=-233 15=1"); }, "parameter 4: pads");
  expect_layer_error([] { load_layer("ConvolutionDepthWise", "0=6 1=3 7=4 6=54"); }, "parameter 7: group 4");

  const ConvWeights weights = random_conv_weights(4, 3, 3, 3, false);
  const auto layer = load_layer("Convolution", "0=4 1=3 6=108", conv_bin(weights));
  expect_layer_error([&] { run_one(*layer, random_blob({2, 8, 8})); }, "expects 3 channels, got shape (2, 8, 8)");
  expect_layer_error([&] { run_one(*layer, random_blob({3, 2, 8})); }, "smaller than the kernel");
  expect_layer_error([&] { run_one(*layer, random_blob({1, 3, 8, 8})); }, "expects a 3-D (c, h, w) blob");
}

}  // namespace convolution_test
}  // namespace uprez::ncnn::test
