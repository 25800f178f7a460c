// Interp against LibTorch's interpolate and hand-computed values: nearest by integer and fractional scales and by
// output size, bilinear and bicubic (A = -0.75) at non-integer scales with and without align_corner, the edges of
// tiny images, (h, w) and (w) blobs, the two-input form, and refused parameters.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace interp_test {

namespace F = torch::nn::functional;

// LibTorch's interpolation of a (c, h, w) blob to `size`.
torch::Tensor interpolate(const torch::Tensor& input, std::vector<int64_t> size, F::InterpolateFuncOptions::mode_t mode,
                          bool align_corners = false) {
  auto options = F::InterpolateFuncOptions().size(size).mode(mode);
  if (!c10::get_if<torch::enumtype::kNearest>(&mode)) options.align_corners(align_corners);
  return F::interpolate(input.unsqueeze(0), options).squeeze(0);
}

TEST(NcnnInterpTest, NearestByIntegerScale) {
  // Real-ESRGAN's compact models upscale their input 4x this way.
  const torch::Tensor input = random_blob({3, 5, 7});
  const auto layer = load_layer("Interp", "0=1 1=4.000000e+00 2=4.000000e+00");
  expect_close(run_one(*layer, input), interpolate(input, {20, 28}, torch::kNearest), 0);
}

TEST(NcnnInterpTest, NearestByFractionalScaleUsesTheInverseScale) {
  // 5 columns * 2.5 = 12; column x reads floor(x * (1 / 2.5f)). 3 rows * 1.7 = 5 (truncated); row y reads
  // floor(y * (1 / 1.7f)).
  const torch::Tensor input = random_blob({2, 3, 5});
  const torch::Tensor output = run_one(*load_layer("Interp", "0=1 1=1.7 2=2.5"), input);
  std::vector<int64_t> rows, columns;
  for (int y = 0; y < 5; ++y) rows.push_back(std::min(static_cast<int>(y * (1.f / 1.7f)), 2));
  for (int x = 0; x < 12; ++x) columns.push_back(std::min(static_cast<int>(x * (1.f / 2.5f)), 4));
  expect_close(output, input.index_select(1, torch::tensor(rows)).index_select(2, torch::tensor(columns)), 0);
}

TEST(NcnnInterpTest, NearestToAnOutputSize) {
  // Output size params (3 output_height, 4 output_width) win over the scales; the ratio is in / out.
  const torch::Tensor input = random_blob({2, 6, 5});
  const auto layer = load_layer("Interp", "0=1 1=3.0 2=3.0 3=4 4=7");
  expect_close(run_one(*layer, input), interpolate(input, {4, 7}, torch::kNearest), 0);
}

TEST(NcnnInterpTest, BilinearMatchesLibTorch) {
  const torch::Tensor input = random_blob({3, 6, 9});
  expect_close(run_one(*load_layer("Interp", "0=2 1=2.0 2=2.0"), input), interpolate(input, {12, 18}, torch::kBilinear),
               1e-6);
  expect_close(run_one(*load_layer("Interp", "0=2 3=10 4=4"), input), interpolate(input, {10, 4}, torch::kBilinear),
               1e-6);
  expect_close(run_one(*load_layer("Interp", "0=2 3=10 4=13 6=1"), input),
               interpolate(input, {10, 13}, torch::kBilinear, true), 1e-6);
}

TEST(NcnnInterpTest, BicubicAtNonIntegerScalesMatchesLibTorch) {
  // realesr-animevideov3-x3 ends with a 0.75 bicubic resize of the x4 output; x2 uses 0.5.
  const torch::Tensor input = random_blob({3, 16, 12});
  expect_close(run_one(*load_layer("Interp", "0=3 1=7.500000e-01 2=7.500000e-01"), input),
               interpolate(input, {12, 9}, torch::kBicubic), 1e-5);
  expect_close(run_one(*load_layer("Interp", "0=3 1=5.000000e-01 2=5.000000e-01"), input),
               interpolate(input, {8, 6}, torch::kBicubic), 1e-5);
  expect_close(run_one(*load_layer("Interp", "0=3 1=1.7 2=2.3"), input), interpolate(input, {27, 27}, torch::kBicubic),
               1e-5);
  expect_close(run_one(*load_layer("Interp", "0=3 3=21 4=17 6=1"), input),
               interpolate(input, {21, 17}, torch::kBicubic, true), 1e-5);
}

TEST(NcnnInterpTest, BicubicKeepsConstantsOnTinyImages) {
  // ncnn folds the taps that fall outside the image onto its edge pixels, so weights still sum to 1.
  for (const int64_t width : {1, 2, 3, 4}) {
    SCOPED_TRACE(width);
    const torch::Tensor input = torch::full({2, 3, width}, 0.75f);
    const torch::Tensor output = run_one(*load_layer("Interp", "0=3 1=2.5 2=3.0"), input);
    expect_close(output, torch::full({2, 7, 3 * width}, 0.75f), 1e-6);
  }
}

TEST(NcnnInterpTest, RowsResizeAlongWidthOnly) {
  const torch::Tensor rows = random_blob({4, 6});
  const torch::Tensor output = run_one(*load_layer("Interp", "0=2 1=3.0 2=1.5"), rows);
  const torch::Tensor expected =
      F::interpolate(
          rows.unsqueeze(0),
          F::InterpolateFuncOptions().size(std::vector<int64_t>{9}).mode(torch::kLinear).align_corners(false))
          .squeeze(0);
  expect_close(output, expected, 1e-6);
}

TEST(NcnnInterpTest, VectorsBecomeConstantChannels) {
  const torch::Tensor values = tensor_of({1, 2, 3}, {3});
  const torch::Tensor output = run_one(*load_layer("Interp", "0=1 1=2.0 2=3.0"), values);
  expect_close(output, values.view({3, 1, 1}).expand({3, 2, 3}), 0);
}

TEST(NcnnInterpTest, DynamicTargetSizeTakesTheSecondBlobsSize) {
  const torch::Tensor input = random_blob({2, 4, 5});
  const torch::Tensor reference = random_blob({7, 6, 9});
  const auto bilinear = load_layer("Interp", "0=2 5=1");
  torch::NoGradGuard no_grad;
  expect_close(run(*bilinear, {input, reference}), interpolate(input, {6, 9}, torch::kBilinear), 1e-6);
  // ncnn's nearest sampling uses 1 / scale (here 1) whenever output_width/height are unset, even with a target blob.
  const torch::Tensor nearest = run(*load_layer("Interp", "0=1 5=1"), {input, reference});
  const torch::Tensor rows = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 3, 3});
  const torch::Tensor columns = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 4, 4, 4, 4});
  expect_close(nearest, input.index_select(1, rows).index_select(2, columns), 0);
}

TEST(NcnnInterpTest, SameSizeReturnsTheInput) {
  const torch::Tensor input = random_blob({2, 4, 5});
  EXPECT_TRUE(run_one(*load_layer("Interp", "0=3 3=4 4=5"), input).is_same(input));
}

TEST(NcnnInterpTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("Interp", "0=0"); }, "parameter 0: unsupported resize_type 0");
  expect_layer_error([] { load_layer("Interp", "0=4"); }, "parameter 0: unsupported resize_type 4");
  const auto layer = load_layer("Interp", "0=2 1=0.1 2=0.1");
  expect_layer_error([&] { run_one(*layer, random_blob({1, 5, 5})); }, "output size 0x0 for input (1, 5, 5) is empty");
  expect_layer_error([&] { run_one(*layer, random_blob({1, 2, 5, 5})); }, "expects a (w), (h, w) or (c, h, w) blob");
  const auto dynamic = load_layer("Interp", "0=2 5=1");
  expect_layer_error([&] { run_one(*dynamic, random_blob({1, 5, 5})); }, "expects 2 input blobs, got 1");
}

}  // namespace interp_test
}  // namespace uprez::ncnn::test
