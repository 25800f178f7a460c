// image_to_tensor / store_tensor_rows: exact 8- and 16-bit round trips, channel ranges, row offsets, clamping,
// rounding, other dtypes, and shape errors.
#include "image/image_tensor.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "core/error.h"
#include "image_test_util.h"

namespace uprez {
namespace image_tensor_test {

using test::sample;

TEST(ImageTensor, LayoutAndScale) {
  Image image(3, 2, 4, 8);
  test::set_sample(image, 2, 1, 1, 255);
  test::set_sample(image, 0, 1, 3, 51);
  const torch::Tensor t = image_to_tensor(image, 0, 4);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 4, 2, 3}));
  EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(t[0][1][1][2].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(t[0][3][1][0].item<float>(), 51.0f / 255.0f);
  EXPECT_FLOAT_EQ(t.sum().item<float>(), 1.0f + 51.0f / 255.0f);

  const torch::Tensor alpha = image_to_tensor(image, 3, 1);
  ASSERT_EQ(alpha.sizes(), (std::vector<int64_t>{1, 1, 2, 3}));
  EXPECT_FLOAT_EQ(alpha[0][0][1][0].item<float>(), 51.0f / 255.0f);
}

TEST(ImageTensor, SixteenBitScale) {
  Image image(1, 1, 1, 16);
  test::set_sample(image, 0, 0, 0, 65535);
  EXPECT_FLOAT_EQ(image_to_tensor(image, 0, 1).item<float>(), 1.0f);
  test::set_sample(image, 0, 0, 0, 257);
  EXPECT_FLOAT_EQ(image_to_tensor(image, 0, 1).item<float>(), 257.0f / 65535.0f);
}

TEST(ImageTensor, EveryValueRoundTripsExactly) {
  for (int depth : {8, 16}) {
    const int values = depth == 8 ? 256 : 65536;
    Image image(values / 16, 16, 1, depth);  // every sample value exactly once
    for (int i = 0; i < values; ++i) test::set_sample(image, i % image.width, i / image.width, 0, i);
    Image back(image.width, image.height, 1, depth);
    store_tensor_rows(back, image_to_tensor(image, 0, 1), 0, 0);
    EXPECT_TRUE(back.data == image.data) << depth;
  }
}

TEST(ImageTensor, ChannelSubsetsAndRowBandsRoundTrip) {
  for (int depth : {8, 16}) {
    const Image image = test::noise_image(29, 31, 4, depth);
    Image back(29, 31, 4, depth);
    const torch::Tensor color = image_to_tensor(image, 0, 3);
    const torch::Tensor alpha = image_to_tensor(image, 3, 1);
    for (int y0 = 0; y0 < 31; y0 += 8) {  // bands of 8 rows (the last one shorter), 3-D and 4-D inputs
      const int64_t rows = std::min(8, 31 - y0);
      store_tensor_rows(back, color[0].narrow(1, y0, rows), y0, 0);
      store_tensor_rows(back, alpha.narrow(2, y0, rows), y0, 3);
    }
    EXPECT_TRUE(back.data == image.data) << depth;
  }
}

TEST(ImageTensor, StoreClampsRoundsAndAcceptsOtherDtypes) {
  Image image(6, 1, 1, 8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const torch::Tensor values = torch::tensor({-0.5f, 1.5f, nan, 0.5f, 10.4f / 255.0f, 10.6f / 255.0f}).view({1, 1, 6});
  store_tensor_rows(image, values, 0, 0);
  const uint32_t expected[6] = {0, 255, 0, 128, 10, 11};
  for (int x = 0; x < 6; ++x) EXPECT_EQ(sample(image, x, 0, 0), expected[x]) << x;

  Image wide(6, 1, 1, 16);
  store_tensor_rows(wide, values.to(torch::kFloat64), 0, 0);
  EXPECT_EQ(sample(wide, 3, 0, 0), 32768u);
  store_tensor_rows(image, torch::full({1, 1, 6}, 0.2, torch::kHalf), 0, 0);
  EXPECT_EQ(sample(image, 0, 0, 0), 51u);
  store_tensor_rows(image, torch::ones({1, 1, 12}).slice(2, 0, 12, 2), 0, 0);  // non-contiguous
  EXPECT_EQ(sample(image, 5, 0, 0), 255u);
}

TEST(ImageTensor, ShapeMismatchesAreErrors) {
  Image image(4, 3, 3, 8);
  EXPECT_THROW(image_to_tensor(image, 2, 2), Error);
  EXPECT_THROW(image_to_tensor(image, -1, 1), Error);
  EXPECT_THROW(image_to_tensor(image, 0, 0), Error);
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({3, 2, 5}), 0, 0), Error);     // width
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({3, 2, 4}), 2, 0), Error);     // rows past the bottom
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({2, 2, 4}), 0, 2), Error);     // channels past the end
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({2, 3, 2, 4}), 0, 0), Error);  // batch of 2
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({2, 4}), 0, 0), Error);
  EXPECT_THROW(store_tensor_rows(image, torch::zeros({1, 2, 4}, torch::kInt), 0, 0), Error);
  EXPECT_NO_THROW(store_tensor_rows(image, torch::zeros({1, 0, 4}), 3, 0));  // nothing to store
}

}  // namespace image_tensor_test
}  // namespace uprez
