// Deconvolution against a direct port of ncnn's scatter loop (deconvolution() in ncnn's deconvolution.cpp) and
// against LibTorch's conv_transpose2d: kernel, stride and dilation, output pads (bias only), cutting by pads and
// to output_w/output_h with SAME_UPPER / SAME_LOWER, fused activations, refused parameters.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace deconvolution_test {

struct DeconvWeights {
  torch::Tensor weight;  // ncnn's layout: (out, in, kernel_h, kernel_w)
  torch::Tensor bias;    // (out)
};

DeconvWeights random_deconv_weights(int64_t out, int64_t in, int64_t kernel_h, int64_t kernel_w) {
  return {random_blob({out, in, kernel_h, kernel_w}, 11) * 0.25, random_blob({out}, 12)};
}

std::vector<BinBuffer> deconv_bin(const DeconvWeights& weights) {
  return {flagged_buffer(weights.weight), raw_buffer(weights.bias)};
}

// ncnn's full output before cutting: every input pixel scatters its kernel, stride apart, onto a bias-filled
// (out, (h - 1) * stride_h + extent_h + output_pad_bottom, (w - 1) * stride_w + extent_w + output_pad_right) map.
torch::Tensor ncnn_full_deconvolution(const torch::Tensor& input, const DeconvWeights& weights, int64_t stride_h,
                                      int64_t stride_w, int64_t dilation_h, int64_t dilation_w,
                                      int64_t output_pad_bottom = 0, int64_t output_pad_right = 0) {
  const int64_t in = input.size(0), h = input.size(1), w = input.size(2);
  const int64_t out = weights.weight.size(0), kernel_h = weights.weight.size(2), kernel_w = weights.weight.size(3);
  const int64_t out_h = (h - 1) * stride_h + dilation_h * (kernel_h - 1) + 1 + output_pad_bottom;
  const int64_t out_w = (w - 1) * stride_w + dilation_w * (kernel_w - 1) + 1 + output_pad_right;
  torch::Tensor result = weights.bias.view({out, 1, 1}).expand({out, out_h, out_w}).clone();
  auto x = input.accessor<float, 3>();
  auto kernel = weights.weight.accessor<float, 4>();
  auto y = result.accessor<float, 3>();
  for (int64_t p = 0; p < out; ++p)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        for (int64_t q = 0; q < in; ++q)
          for (int64_t ki = 0; ki < kernel_h; ++ki)
            for (int64_t kj = 0; kj < kernel_w; ++kj)
              y[p][i * stride_h + ki * dilation_h][j * stride_w + kj * dilation_w] += x[q][i][j] * kernel[p][q][ki][kj];
  return result;
}

torch::Tensor cut(const torch::Tensor& full, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  return full.narrow(1, top, full.size(1) - top - bottom).narrow(2, left, full.size(2) - left - right);
}

std::string weight_count(const DeconvWeights& weights) { return std::to_string(weights.weight.numel()); }

TEST(NcnnDeconvolutionTest, StrideTwoWithLeakyReluMatchesNcnnAndLibTorch) {
  // Real-CUGAN's upsampling: kernel 2, stride 2, LeakyReLU 0.1.
  const DeconvWeights weights = random_deconv_weights(8, 6, 2, 2);
  const auto layer = load_layer("Deconvolution", "0=8 1=2 3=2 5=1 6=" + weight_count(weights) + " 9=2 -23310=1,0.1",
                                deconv_bin(weights));
  const torch::Tensor input = random_blob({6, 5, 7});
  const torch::Tensor output = run_one(*layer, input);
  expect_close(output, torch::leaky_relu(ncnn_full_deconvolution(input, weights, 2, 2, 1, 1), 0.1), 1e-5);
  const torch::Tensor libtorch =
      torch::conv_transpose2d(input.unsqueeze(0), weights.weight.transpose(0, 1), weights.bias, 2).squeeze(0);
  expect_close(output, torch::leaky_relu(libtorch, 0.1), 1e-5);
}

TEST(NcnnDeconvolutionTest, PadsCutTheFullOutput) {
  // waifu2x / Real-CUGAN's last layer: kernel 4, stride 2, pad 3 on every side.
  const DeconvWeights weights = random_deconv_weights(3, 4, 4, 4);
  const torch::Tensor input = random_blob({4, 6, 5});
  const auto layer = load_layer("Deconvolution", "0=3 1=4 3=2 4=3 5=1 6=" + weight_count(weights), deconv_bin(weights));
  expect_close(run_one(*layer, input), cut(ncnn_full_deconvolution(input, weights, 2, 2, 1, 1), 3, 3, 3, 3), 1e-5);
  // Asymmetric pads (left 1, right 0, top 2, bottom 1) with a rectangular kernel, dilation and stride.
  const DeconvWeights rectangular = random_deconv_weights(2, 4, 2, 3);
  const auto asymmetric = load_layer(
      "Deconvolution", "0=2 1=3 11=2 2=2 12=1 3=3 13=2 4=1 15=0 14=2 16=1 5=1 6=" + weight_count(rectangular),
      deconv_bin(rectangular));
  expect_close(run_one(*asymmetric, input), cut(ncnn_full_deconvolution(input, rectangular, 2, 3, 1, 2), 2, 1, 1, 0),
               1e-5);
}

TEST(NcnnDeconvolutionTest, OutputPadsHoldTheBias) {
  const DeconvWeights weights = random_deconv_weights(2, 3, 3, 3);
  const torch::Tensor input = random_blob({3, 4, 4});
  // Output pads of 3 (right) and 1 (bottom, param 19) exceed the stride, which LibTorch's output_padding forbids.
  const auto layer =
      load_layer("Deconvolution", "0=2 1=3 3=2 18=3 19=1 5=1 6=" + weight_count(weights) + " 9=4", deconv_bin(weights));
  const torch::Tensor output = run_one(*layer, input);
  expect_close(output, torch::sigmoid(ncnn_full_deconvolution(input, weights, 2, 2, 1, 1, 1, 3)), 1e-5);
  expect_close(output.select(2, output.size(2) - 1), torch::sigmoid(weights.bias).view({2, 1}).expand({2, 10}));
}

TEST(NcnnDeconvolutionTest, OutputSizeWithSamePadding) {
  const DeconvWeights weights = random_deconv_weights(2, 3, 3, 3);
  const torch::Tensor input = random_blob({3, 4, 5});
  const torch::Tensor full = ncnn_full_deconvolution(input, weights, 2, 2, 1, 1);  // (2, 9, 11)
  const std::string common = "0=2 1=3 3=2 5=1 6=" + weight_count(weights) + " 20=8 21=6";
  // Cutting 9 -> 6 rows (3) and 11 -> 8 columns (3): SAME_UPPER cuts 1 before and 2 after, SAME_LOWER 2 and 1.
  expect_close(run_one(*load_layer("Deconvolution", common + " 4=-233", deconv_bin(weights)), input),
               cut(full, 1, 2, 1, 2), 1e-5);
  expect_close(run_one(*load_layer("Deconvolution", common + " 4=-234", deconv_bin(weights)), input),
               cut(full, 2, 1, 2, 1), 1e-5);
  // Without an output size, SAME pads leave the full output.
  expect_close(run_one(*load_layer("Deconvolution", "0=2 1=3 3=2 4=-233 5=1 6=54", deconv_bin(weights)), input), full,
               1e-5);
}

TEST(NcnnDeconvolutionTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("Deconvolution", "0=2 1=3 6=54 28=1"); }, "parameter 28: dynamic weights");
  expect_layer_error([] { load_layer("Deconvolution", "0=2 1=3 6=50"); }, "parameter 6: weight_data_size 50");
  expect_layer_error([] { load_layer("Deconvolution", "0=2 1=3 6=54 20=8"); }, "parameter 20: output_w/output_h");
  const DeconvWeights weights = random_deconv_weights(2, 3, 3, 3);
  const auto layer = load_layer("Deconvolution", "0=2 1=3 4=3 5=1 6=54", deconv_bin(weights));
  expect_layer_error([&] { run_one(*layer, random_blob({4, 4, 4})); }, "expects 3 channels, got shape (4, 4, 4)");
  expect_layer_error([&] { run_one(*layer, random_blob({3, 1, 4})); }, "cannot cut a 3x6 output to -3x0");
}

}  // namespace deconvolution_test
}  // namespace uprez::ncnn::test
