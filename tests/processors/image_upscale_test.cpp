#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/error.h"
#include "processors/image_upscale.h"
#include "support/test_assets.h"

namespace uprez {
namespace image_upscale_test {

// A "model" whose exact output is known: nearest-neighbour upscaling of each input channel, to
// `output_channels` channels (the mean of the inputs when the counts differ).
UpscaleModel nearest_model(int scale, int input_channels, int output_channels) {
  UpscaleModel model;
  model.scale = scale;
  model.input_channels = input_channels;
  model.output_channels = output_channels;
  model.run = [=](const torch::Tensor& x) {
    EXPECT_EQ(x.size(1), input_channels);
    torch::Tensor y = torch::nn::functional::interpolate(
        x, torch::nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{double(scale), double(scale)}).mode(torch::kNearest));
    return input_channels == output_channels ? y : y.mean(1, true).expand({1, output_channels, -1, -1});
  };
  return model;
}

int sample(const Image& image, int x, int y, int c) {
  const size_t i = (static_cast<size_t>(y) * image.width + x) * image.channels + c;
  return image.bit_depth == 16 ? reinterpret_cast<const uint16_t*>(image.data.data())[i] : image.data[i];
}

// Every output pixel equals the input pixel it was upscaled from.
void expect_nearest_copy(const Image& input, const Image& output, int scale) {
  ASSERT_EQ(output.width, input.width * scale);
  ASSERT_EQ(output.height, input.height * scale);
  ASSERT_EQ(output.channels, input.channels);
  ASSERT_EQ(output.bit_depth, input.bit_depth);
  for (int y = 0; y < output.height; ++y)
    for (int x = 0; x < output.width; ++x)
      for (int c = 0; c < output.channels; ++c)
        ASSERT_EQ(sample(output, x, y, c), sample(input, x / scale, y / scale, c)) << x << "," << y << "," << c;
}

TEST(ImageUpscale, ThreeChannelModelKeepsGrayAlphaAndBitDepth) {
  for (int channels : {1, 2, 3, 4})
    for (int depth : {8, 16}) {
      const Image input = test::synthetic_image(37, 29, channels, depth);
      for (int tile : {0, 16}) {
        TileOptions tiles;
        tiles.tile = tile;
        tiles.overlap = 2;
        expect_nearest_copy(input, upscale_image(input, nearest_model(2, 3, 3), tiles, {}), 2);
      }
    }
}

TEST(ImageUpscale, OneChannelModelOnGrayAndAlpha) {
  for (int channels : {1, 2}) {
    const Image input = test::synthetic_image(9, 7, channels, 8);
    expect_nearest_copy(input, upscale_image(input, nearest_model(3, 1, 1), TileOptions{}, {}), 3);
  }
}

TEST(ImageUpscale, OneChannelModelTurnsColorIntoLuma) {
  const Image input = test::synthetic_image(8, 8, 3, 8);
  const Image output = upscale_image(input, nearest_model(1, 1, 1), TileOptions{}, {});
  ASSERT_EQ(output.channels, 1);
  const double luma = 0.299 * sample(input, 3, 2, 0) + 0.587 * sample(input, 3, 2, 1) + 0.114 * sample(input, 3, 2, 2);
  EXPECT_NEAR(sample(output, 3, 2, 0), luma, 0.51);
}

TEST(ImageUpscale, FourChannelModelGetsOpaqueAlphaForRgb) {
  const Image input = test::synthetic_image(6, 5, 3, 8);
  const Image output = upscale_image(input, nearest_model(2, 4, 4), TileOptions{}, {});
  ASSERT_EQ(output.channels, 4);
  EXPECT_EQ(sample(output, 5, 5, 3), 255);
  EXPECT_EQ(sample(output, 5, 5, 0), sample(input, 2, 2, 0));
}

TEST(ImageUpscale, TwoChannelModelIsAnError) {
  const Image input = test::synthetic_image(4, 4, 3, 8);
  EXPECT_THROW(upscale_image(input, nearest_model(2, 2, 2), TileOptions{}, {}), Error);
}

TEST(ImageUpscale, ProgressCountsTilesOfAllPasses) {
  const Image input = test::synthetic_image(40, 40, 4, 8);
  TileOptions tiles;
  tiles.tile = 16;
  tiles.overlap = 4;
  int64_t last_done = 0, last_total = 0;
  upscale_image(input, nearest_model(1, 3, 3), tiles, [&](int64_t done, int64_t total) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
  });
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(last_total, 2 * count_tiles(40, 40, tiles));
}

}  // namespace image_upscale_test
}  // namespace uprez
