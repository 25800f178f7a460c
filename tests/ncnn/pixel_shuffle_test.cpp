// PixelShuffle against LibTorch's pixel_shuffle (mode 0) and a port of ncnn's loop (both modes).
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace pixel_shuffle_test {

// ncnn's PixelShuffle::forward: output channel p, sub-pixel (sh, sw) reads input channel q.
torch::Tensor ncnn_pixel_shuffle(const torch::Tensor& input, int64_t factor, int mode) {
  const int64_t h = input.size(1), w = input.size(2), out_channels = input.size(0) / (factor * factor);
  torch::Tensor output = torch::empty({out_channels, h * factor, w * factor});
  for (int64_t p = 0; p < out_channels; ++p)
    for (int64_t sh = 0; sh < factor; ++sh)
      for (int64_t sw = 0; sw < factor; ++sw) {
        const int64_t q = mode == 0 ? p * factor * factor + sh * factor + sw : (sh * factor + sw) * out_channels + p;
        output[p].slice(0, sh, h * factor, factor).slice(1, sw, w * factor, factor).copy_(input[q]);
      }
  return output;
}

TEST(NcnnPixelShuffleTest, ModeZeroIsLibTorchsPixelShuffle) {
  const torch::Tensor input = random_blob({48, 5, 6});
  const torch::Tensor output = run_one(*load_layer("PixelShuffle", "0=4"), input);
  expect_close(output, torch::pixel_shuffle(input, 4), 0);
  expect_close(output, ncnn_pixel_shuffle(input, 4, 0), 0);
}

TEST(NcnnPixelShuffleTest, ModeOneTakesSubPixelMajorChannels) {
  const torch::Tensor input = random_blob({18, 3, 4});
  expect_close(run_one(*load_layer("PixelShuffle", "0=3 1=1"), input), ncnn_pixel_shuffle(input, 3, 1), 0);
}

TEST(NcnnPixelShuffleTest, IgnoresChannelsBeyondTheLastFullGroup) {
  const torch::Tensor input = random_blob({11, 2, 2});
  expect_close(run_one(*load_layer("PixelShuffle", "0=2"), input), torch::pixel_shuffle(input.narrow(0, 0, 8), 2), 0);
  expect_close(run_one(*load_layer("PixelShuffle", "0=2 1=1"), input), ncnn_pixel_shuffle(input, 2, 1), 0);
}

TEST(NcnnPixelShuffleTest, RejectsBadParamsAndInputs) {
  expect_layer_error([] { load_layer("PixelShuffle", "0=0"); }, "parameter 0: upscale_factor must be positive");
  expect_layer_error([] { load_layer("PixelShuffle", "0=2 1=2"); }, "parameter 1: unsupported mode 2");
  const auto layer = load_layer("PixelShuffle", "0=2");
  expect_layer_error([&] { run_one(*layer, random_blob({3, 2, 2})); }, "needs at least 4 channels");
  expect_layer_error([&] { run_one(*layer, random_blob({4, 4})); }, "expects a 3-D (c, h, w) blob");
}

}  // namespace pixel_shuffle_test
}  // namespace uprez::ncnn::test
