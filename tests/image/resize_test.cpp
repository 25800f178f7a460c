// resize / resize_image: constants stay constant, exact box averages, agreement with PIL's LANCZOS and BICUBIC
// (reference numbers from an emulation of Pillow's 8-bit fixed-point resampler), nearest neighbour, alpha.
#include "image/resize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "core/error.h"
#include "image_test_util.h"

namespace uprez {
namespace resize_test {

using test::sample;
using Grid = std::vector<std::vector<int>>;

const ResizeFilter kFilters[] = {ResizeFilter::Lanczos, ResizeFilter::Area, ResizeFilter::Bicubic,
                                 ResizeFilter::Nearest};

TEST(Resize, ConstantStaysConstant) {
  const torch::Tensor x = torch::full({2, 3, 17, 23}, 0.37f);
  for (ResizeFilter filter : kFilters)
    for (auto [w, h] : {std::pair{5, 4}, std::pair{23, 40}, std::pair{64, 9}, std::pair{1, 1}, std::pair{7, 17}}) {
      const torch::Tensor y = resize(x, w, h, filter);
      ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, h, w}));
      EXPECT_LT((y - 0.37f).abs().max().item<float>(), 1e-6f) << static_cast<int>(filter) << " " << w << "x" << h;
    }
}

TEST(Resize, SameSizeIsIdentity) {
  const torch::Tensor x = torch::rand({1, 2, 9, 11});
  for (ResizeFilter filter : kFilters) EXPECT_TRUE(torch::equal(resize(x, 11, 9, filter), x));
}

TEST(Resize, AreaHalvingIsTheMeanOfTwoByTwoBlocks) {
  const torch::Tensor x = torch::rand({1, 3, 10, 14}, torch::kFloat64);
  const torch::Tensor expected = x.view({1, 3, 5, 2, 7, 2}).mean({3, 5});
  EXPECT_TRUE(torch::allclose(resize(x, 7, 5, ResizeFilter::Area), expected, 0, 1e-12));

  const Image image = test::noise_image(8, 6, 2, 16);
  const Image half = resize_image(image, 4, 3, ResizeFilter::Area);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {  // gray+alpha: the colour is the alpha-weighted mean
      double alpha = 0, weighted = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          alpha += sample(image, 2 * x + dx, 2 * y + dy, 1);
          weighted += double(sample(image, 2 * x + dx, 2 * y + dy, 0)) * sample(image, 2 * x + dx, 2 * y + dy, 1);
        }
      EXPECT_NEAR(sample(half, x, y, 1), alpha / 4, 0.5 + 1e-6);
      if (alpha > 0) {
        EXPECT_NEAR(sample(half, x, y, 0), weighted / alpha, 1.0);
      }
    }
}

TEST(Resize, AreaFractionalFactorUsesExactOverlaps) {
  // 3 -> 2: output 0 covers [0, 1.5) = 1 * a + 0.5 * b, output 1 covers [1.5, 3) = 0.5 * b + 1 * c.
  const torch::Tensor x = torch::tensor({3.0, 6.0, 12.0}, torch::kFloat64).view({1, 1, 1, 3});
  const torch::Tensor y = resize(x, 2, 1, ResizeFilter::Area);
  EXPECT_DOUBLE_EQ(y[0][0][0][0].item<double>(), (3.0 + 0.5 * 6.0) / 1.5);
  EXPECT_DOUBLE_EQ(y[0][0][0][1].item<double>(), (0.5 * 6.0 + 12.0) / 1.5);
  // 2 -> 3 (enlarging): output 1 covers [2/3, 4/3): half of each input.
  const torch::Tensor up =
      resize(torch::tensor({0.0, 9.0}, torch::kFloat64).view({1, 1, 1, 2}), 3, 1, ResizeFilter::Area);
  EXPECT_NEAR(up[0][0][0][0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(up[0][0][0][1].item<double>(), 4.5, 1e-12);
  EXPECT_NEAR(up[0][0][0][2].item<double>(), 9.0, 1e-12);
}

TEST(Resize, NearestPicksThePixelUnderEachCentre) {
  const torch::Tensor x = torch::arange(6, torch::kFloat32).view({1, 1, 1, 6});
  const torch::Tensor down = resize(x, 4, 1, ResizeFilter::Nearest);  // centres 0.75, 2.25, 3.75, 5.25
  EXPECT_TRUE(torch::equal(down.flatten(), torch::tensor({0.0f, 2.0f, 3.0f, 5.0f})));
  const torch::Tensor up = resize(x.narrow(3, 0, 2), 5, 1, ResizeFilter::Nearest);  // centres 0.2 ... 1.8
  EXPECT_TRUE(torch::equal(up.flatten(), torch::tensor({0.0f, 0.0f, 1.0f, 1.0f, 1.0f})));
}

// The source of the PIL references: 12x9 8-bit gray with wrap-around edges (strong overshoot and clipping).
Image reference_source() {
  Image image(12, 9, 1, 8);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 12; ++x) test::set_sample(image, x, y, 0, (x * 37 + y * 59 + (x * y) % 13 * 11) % 256);
  return image;
}

void expect_near_pil(ResizeFilter filter, const Grid& pil) {
  const int h = static_cast<int>(pil.size()), w = static_cast<int>(pil[0].size());
  const Image out = resize_image(reference_source(), w, h, filter);
  int worst = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) worst = std::max(worst, std::abs(static_cast<int>(sample(out, x, y, 0)) - pil[y][x]));
  EXPECT_LE(worst, 1) << w << "x" << h;
}

TEST(Resize, LanczosMatchesPil) {
  expect_near_pil(
      ResizeFilter::Lanczos,
      {{78, 150, 138, 136, 105}, {171, 156, 144, 97, 120}, {128, 123, 99, 128, 113}, {122, 120, 113, 125, 122}});
  expect_near_pil(ResizeFilter::Lanczos, {{13, 75, 141, 203, 37, 68, 139},
                                          {75, 164, 215, 65, 160, 186, 48},
                                          {154, 177, 70, 187, 170, 197, 82},
                                          {211, 115, 161, 163, 62, 34, 117},
                                          {152, 134, 218, 143, 23, 138, 152},
                                          {76, 209, 74, 66, 118, 115, 134},
                                          {152, 69, 55, 123, 188, 186, 12},
                                          {96, 155, 102, 150, 113, 134, 122},
                                          {152, 91, 200, 79, 43, 118, 163}});
  expect_near_pil(ResizeFilter::Lanczos,
                  {{0, 8, 36, 61, 78, 96, 116, 146, 189, 255, 214, 37, 0, 28, 50, 77, 118, 150, 162},
                   {18, 34, 64, 84, 116, 164, 206, 188, 120, 136, 150, 76, 62, 99, 137, 121, 78, 95, 123},
                   {64, 81, 122, 161, 177, 194, 245, 206, 61, 37, 103, 140, 166, 203, 255, 198, 33, 29, 83},
                   {104, 113, 165, 248, 197, 75, 85, 133, 128, 158, 179, 159, 159, 215, 255, 229, 51, 49, 110},
                   {125, 175, 232, 210, 117, 42, 76, 128, 141, 216, 229, 114, 86, 148, 157, 116, 65, 97, 139},
                   {168, 224, 236, 102, 52, 132, 200, 189, 131, 175, 179, 40, 19, 80, 32, 9, 72, 132, 155},
                   {255, 200, 103, 71, 127, 204, 210, 208, 223, 183, 85, 0, 5, 83, 106, 98, 107, 145, 172},
                   {197, 117, 50, 142, 240, 232, 130, 121, 215, 144, 23, 33, 52, 82, 179, 167, 81, 152, 236},
                   {38, 64, 136, 208, 236, 182, 52, 17, 98, 79, 50, 123, 119, 88, 172, 137, 19, 130, 255},
                   {32, 123, 212, 137, 60, 54, 64, 62, 50, 84, 135, 160, 166, 180, 218, 157, 31, 33, 78},
                   {111, 143, 162, 115, 36, 4, 70, 115, 94, 155, 187, 110, 156, 255, 230, 136, 60, 19, 14},
                   {168, 79, 33, 191, 218, 87, 42, 93, 164, 208, 147, 24, 105, 255, 180, 65, 60, 123, 172},
                   {216, 123, 35, 115, 185, 168, 130, 137, 178, 146, 54, 0, 65, 176, 143, 71, 78, 173, 242},
                   {231, 180, 84, 29, 90, 195, 206, 180, 161, 81, 1, 2, 55, 123, 134, 100, 91, 170, 232}});
}

TEST(Resize, BicubicMatchesPil) {
  expect_near_pil(
      ResizeFilter::Bicubic,
      {{81, 150, 139, 132, 105}, {168, 148, 147, 101, 114}, {129, 122, 101, 131, 112}, {123, 122, 113, 124, 121}});
  expect_near_pil(ResizeFilter::Bicubic,
                  {{0, 9, 35, 58, 81, 104, 125, 153, 188, 232, 211, 37, 0, 31, 52, 81, 116, 144, 159},
                   {21, 36, 66, 91, 122, 158, 194, 187, 124, 140, 152, 78, 68, 103, 138, 129, 78, 97, 119},
                   {62, 83, 119, 152, 176, 194, 242, 209, 61, 54, 100, 133, 164, 195, 247, 192, 34, 43, 77},
                   {99, 122, 165, 230, 186, 70, 95, 129, 129, 164, 187, 151, 160, 203, 255, 216, 53, 66, 104},
                   {136, 174, 217, 195, 132, 57, 94, 134, 144, 197, 216, 111, 101, 152, 163, 131, 66, 96, 131},
                   {175, 215, 237, 102, 66, 132, 186, 192, 134, 170, 181, 42, 26, 80, 28, 19, 74, 125, 155},
                   {245, 186, 106, 97, 137, 203, 196, 195, 222, 171, 88, 5, 16, 82, 107, 111, 104, 146, 179},
                   {191, 129, 66, 143, 203, 222, 147, 126, 210, 136, 39, 37, 53, 84, 161, 161, 83, 151, 216},
                   {35, 72, 136, 207, 223, 179, 62, 17, 96, 76, 53, 123, 121, 89, 163, 142, 20, 133, 241},
                   {54, 120, 192, 131, 81, 60, 64, 68, 64, 97, 134, 147, 164, 184, 208, 157, 35, 46, 76},
                   {109, 139, 164, 107, 48, 12, 71, 109, 90, 142, 179, 116, 160, 252, 215, 142, 58, 28, 22},
                   {160, 89, 32, 190, 206, 91, 62, 89, 169, 187, 148, 34, 101, 247, 159, 82, 65, 125, 176},
                   {204, 128, 45, 121, 163, 158, 136, 136, 175, 135, 67, 5, 66, 180, 134, 89, 83, 162, 224},
                   {229, 169, 83, 49, 97, 196, 196, 178, 163, 84, 7, 0, 50, 125, 124, 107, 95, 171, 233}});
}

TEST(Resize, LanczosWeightsPeakAtTheCentreWhenEnlargingByTwo) {
  // An impulse enlarged 2x: a symmetric, normalised kernel centred between output pixels 2k and 2k+1.
  torch::Tensor x = torch::zeros({1, 1, 1, 9}, torch::kFloat64);
  x[0][0][0][4] = 1.0;
  const torch::Tensor y = resize(x, 18, 1, ResizeFilter::Lanczos).flatten();
  EXPECT_NEAR(y.sum().item<double>(), 2.0, 1e-2);  // each input pixel feeds about two outputs
  EXPECT_NEAR(y[8].item<double>(), y[9].item<double>(), 1e-12);
  EXPECT_NEAR(y[7].item<double>(), y[10].item<double>(), 1e-12);
  EXPECT_GT(y[8].item<double>(), 0.8);
  EXPECT_LT(y[6].item<double>(), 0.0);  // the negative lobe
}

TEST(Resize, ResizeImageKeepsFormatAndProfile) {
  Image image = test::noise_image(20, 10, 3, 16);
  image.icc_profile = "profile";
  const Image out = resize_image(image, 7, 33, ResizeFilter::Lanczos);
  EXPECT_EQ(out.width, 7);
  EXPECT_EQ(out.height, 33);
  EXPECT_EQ(out.channels, 3);
  EXPECT_EQ(out.bit_depth, 16);
  EXPECT_EQ(out.icc_profile, "profile");
  EXPECT_TRUE(resize_image(image, 20, 10, ResizeFilter::Bicubic).data == image.data);
}

TEST(Resize, TransparentColourDoesNotBleed) {
  // Left half opaque blue, right half fully transparent red: shrinking must not tint the edge red.
  Image image(8, 2, 4, 8);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 8; ++x) {
      test::set_sample(image, x, y, x < 4 ? 2 : 0, 255);
      test::set_sample(image, x, y, 3, x < 4 ? 255 : 0);
    }
  const Image out = resize_image(image, 3, 1, ResizeFilter::Lanczos);
  for (int x = 0; x < 3; ++x)
    if (sample(out, x, 0, 3) > 0) {
      EXPECT_LE(sample(out, x, 0, 0), 1u) << x;
    }
}

TEST(Resize, DeviceIndependentPathMatchesTheCpuLoops) {
  const torch::Tensor x = torch::rand({2, 3, 13, 17}, torch::kFloat64);
  for (ResizeFilter filter : kFilters)
    for (auto [w, h] : {std::pair{5, 4}, std::pair{40, 29}, std::pair{17, 6}, std::pair{1, 1}}) {
      const torch::Tensor a = resize(x, w, h, filter), b = detail::resize_generic(x, w, h, filter);
      EXPECT_TRUE(torch::allclose(a, b, 0, 1e-12)) << static_cast<int>(filter) << " " << w << "x" << h;
    }
}

TEST(Resize, NonContiguousInput) {
  const torch::Tensor x = torch::rand({1, 9, 11, 3}).permute({0, 3, 1, 2});  // (1, 3, 9, 11), channels-last memory
  EXPECT_TRUE(
      torch::allclose(resize(x, 5, 4, ResizeFilter::Lanczos), resize(x.contiguous(), 5, 4, ResizeFilter::Lanczos)));
}

TEST(Resize, HalfPrecisionAndBadArguments) {
  const torch::Tensor x = torch::rand({1, 1, 8, 8}).to(torch::kHalf);
  const torch::Tensor y = resize(x, 4, 4, ResizeFilter::Lanczos);
  EXPECT_EQ(y.scalar_type(), torch::kHalf);
  EXPECT_THROW(resize(x, 0, 4, ResizeFilter::Area), Error);
  EXPECT_THROW(resize(torch::rand({8, 8}), 4, 4, ResizeFilter::Area), Error);
  EXPECT_THROW(resize(torch::ones({1, 1, 8, 8}, torch::kInt), 4, 4, ResizeFilter::Area), Error);
}

}  // namespace resize_test
}  // namespace uprez
