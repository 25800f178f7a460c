// Pooling against LibTorch's pooling and hand-computed values: global and adaptive pooling, ncnn's pad modes (full
// padding's extra bottom/right rows, valid, SAME_UPPER / SAME_LOWER), averages with and without the padding, and
// ncnn's quirk of counting SAME padding in averages that exclude padding.
#include <limits>

#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace pooling_test {

namespace F = torch::nn::functional;

TEST(NcnnPoolingTest, GlobalPoolingGivesOneValuePerChannel) {
  const torch::Tensor input = random_blob({5, 7, 6});
  expect_close(run_one(*load_layer("Pooling", "0=0 4=1"), input), input.amax({1, 2}));
  expect_close(run_one(*load_layer("Pooling", "0=1 4=1"), input), input.mean({1, 2}), 1e-6);
}

TEST(NcnnPoolingTest, FullPaddingCoversTheLastPixels) {
  // 5 x 5 with kernel 2, stride 2: ncnn adds a bottom row and right column so that the output is 3 x 3.
  const torch::Tensor input = random_blob({2, 5, 5}) - 3;  // all negative: max pooling pads with -FLT_MAX
  expect_close(run_one(*load_layer("Pooling", "0=0 1=2 2=2"), input),
               F::max_pool2d(input, F::MaxPool2dFuncOptions(2).stride(2).ceil_mode(true)));
  // Excluding padding, the tail windows average the pixels they cover.
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 2=2"), input),
               F::avg_pool2d(input, F::AvgPool2dFuncOptions(2).stride(2).ceil_mode(true).count_include_pad(false)),
               1e-6);
  // Including padding, every window divides by the kernel area, the tail's zeros included.
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 2=2 6=1"), input),
               F::avg_pool2d(torch::constant_pad_nd(input, {0, 1, 0, 1}), F::AvgPool2dFuncOptions(2).stride(2)), 1e-6);
}

TEST(NcnnPoolingTest, ExplicitPadsAndRectangularKernels) {
  const torch::Tensor input = random_blob({3, 9, 8});
  // Kernel 3 x 2 (11=3), stride 2, pads 1 all round; (9 + 2 - 3) and (8 + 2 - 2) are multiples of 2: no tail.
  const auto average = [&](bool count_include_pad) {
    return F::avg_pool2d(input,
                         F::AvgPool2dFuncOptions({3, 2}).stride(2).padding(1).count_include_pad(count_include_pad));
  };
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 11=3 2=2 3=1"), input), average(false), 1e-6);
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 11=3 2=2 3=1 6=1"), input), average(true), 1e-6);
  expect_close(run_one(*load_layer("Pooling", "0=0 1=2 11=3 2=2 3=1"), input),
               F::max_pool2d(input, F::MaxPool2dFuncOptions({3, 2}).stride(2).padding(1)));
  // Valid padding (pad_mode 1) drops the rows and columns that do not fill a window.
  expect_close(run_one(*load_layer("Pooling", "0=0 1=3 2=2 5=1"), input),
               F::max_pool2d(input, F::MaxPool2dFuncOptions(3).stride(2)));
}

TEST(NcnnPoolingTest, AsymmetricPadsWithFullPadding) {
  // pad_left 1, pad_right 0 (14), pad_top 0 (13), pad_bottom 2 (15): 4 + 1 - 3 = 2 columns and 5 + 2 - 3 = 4 rows
  // are multiples of the stride 2, so no tail.
  const torch::Tensor input = random_blob({1, 5, 4});
  const torch::Tensor output = run_one(*load_layer("Pooling", "0=1 1=3 2=2 3=1 14=0 13=0 15=2"), input);
  const torch::Tensor sums = F::avg_pool2d(torch::constant_pad_nd(input, {1, 0, 0, 2}),
                                           F::AvgPool2dFuncOptions(3).stride(2).divisor_override(1));
  const torch::Tensor counts = F::avg_pool2d(torch::constant_pad_nd(torch::ones_like(input), {1, 0, 0, 2}),
                                             F::AvgPool2dFuncOptions(3).stride(2).divisor_override(1));
  expect_close(output, sums / counts, 1e-6);
}

TEST(NcnnPoolingTest, SamePaddingCountsTheAddedBordersInAverages) {
  // 3 x 3, kernel 2, stride 2: 2 + 2 - 3 = 1 extra row and column, after (SAME_UPPER) or before (SAME_LOWER).
  const torch::Tensor input = tensor_of({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  // ncnn counts only pixels inside the pads given as params (none here), so the added zeros are averaged too.
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 2=2 5=2"), input),
               tensor_of({3, 9.f / 4, 15.f / 4, 9.f / 4}, {1, 2, 2}));
  expect_close(run_one(*load_layer("Pooling", "0=1 1=2 2=2 5=3"), input),
               tensor_of({1.f / 4, 5.f / 4, 11.f / 4, 7}, {1, 2, 2}));
  expect_close(run_one(*load_layer("Pooling", "0=0 1=2 2=2 5=3"), -input), tensor_of({-1, -2, -4, -5}, {1, 2, 2}));
}

TEST(NcnnPoolingTest, AdaptivePooling) {
  const torch::Tensor input = random_blob({2, 7, 10});
  expect_close(run_one(*load_layer("Pooling", "0=1 7=1 8=3 18=4"), input), torch::adaptive_avg_pool2d(input, {4, 3}),
               1e-6);
  expect_close(run_one(*load_layer("Pooling", "0=0 7=1 8=4"), input),
               std::get<0>(torch::adaptive_max_pool2d(input, {4, 4})));
  // -233 keeps that axis's size.
  expect_close(run_one(*load_layer("Pooling", "0=1 7=1 8=-233 18=2"), input),
               torch::adaptive_avg_pool2d(input, {2, 10}), 1e-6);
}

TEST(NcnnPoolingTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("Pooling", "0=2 1=2"); }, "parameter 0: unsupported pooling type 2");
  expect_layer_error([] { load_layer("Pooling", "0=0 1=2 5=4"); }, "parameter 5: unsupported pad_mode 4");
  expect_layer_error([] { load_layer("Pooling", "0=0 1=0"); }, "parameter 1: kernel size");
  expect_layer_error([] { load_layer("Pooling", "0=0 7=1"); }, "parameter 8: adaptive output size");
  const auto layer = load_layer("Pooling", "0=0 1=3 5=1");
  expect_layer_error([&] { run_one(*layer, random_blob({1, 2, 5})); }, "smaller than the kernel");
  expect_layer_error([&] { run_one(*layer, random_blob({5, 5})); }, "expects a 3-D (c, h, w) blob, got shape (5, 5)");
}

}  // namespace pooling_test
}  // namespace uprez::ncnn::test
