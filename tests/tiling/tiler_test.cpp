#include "tiling/tiler.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"

namespace uprez {
namespace tiler_test {

namespace F = torch::nn::functional;

TileOptions tiling(int tile, int overlap, int align = 1) { return TileOptions{tile, overlap, align}; }

torch::Tensor random_image(int channels, int height, int width, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({1, channels, height, width});
}

// A deterministic stand-in for an upscaler with a small receptive field: a 3x3 convolution, tanh, a 3x3
// convolution to out_channels * scale^2 channels, a pixel shuffle and a 3x3 convolution at the output
// resolution, all with zero padding and fixed random weights. An output pixel depends on input pixels at most
// 3 away (2 before the shuffle, 1 output pixel after it), so overlap >= 12 hides every tile edge.
class ConvUpscaler {
 public:
  ConvUpscaler(int in_channels, int out_channels, int scale) : scale_(scale) {
    torch::manual_seed(1234);
    constexpr int features = 8;
    head_ = torch::randn({features, in_channels, 3, 3}) / (3.0 * in_channels);
    body_ = torch::randn({out_channels * scale * scale, features, 3, 3}) / (3.0 * features);
    tail_ = torch::randn({out_channels, out_channels, 3, 3}) / (3.0 * out_channels);
  }

  torch::Tensor operator()(const torch::Tensor& tile) const {
    const auto same_size = F::Conv2dFuncOptions().padding(1);
    torch::Tensor x = torch::tanh(F::conv2d(tile, head_, same_size));
    x = torch::pixel_shuffle(F::conv2d(x, body_, same_size), scale_);
    return F::conv2d(x, tail_, same_size);
  }

 private:
  int scale_;
  torch::Tensor head_, body_, tail_;
};

// What a run handed over, with the output assembled from the sink's rows.
struct TiledRun {
  torch::Tensor output;              // (C', H * scale, W * scale)
  std::vector<int64_t> band_sizes;   // rows per sink call, in order
  int64_t largest_band_storage = 0;  // elements of the largest tensor storage the sink saw
};

// Runs the tiler and checks the sink contract on the way: rows arrive in order, each once, as float32 CPU
// tensors of the full output width and one channel count.
TiledRun run_and_collect(const torch::Tensor& input, int scale, const TileOptions& options,
                         const TileFunction& upscale, const TileProgress& progress = {}) {
  TiledRun result;
  std::vector<torch::Tensor> bands;
  int64_t next_row = 0;
  const int64_t width = input.size(3) * scale;
  run_tiled(
      input, scale, options, upscale,
      [&](int y0, const torch::Tensor& rows) {
        EXPECT_EQ(y0, next_row);
        ASSERT_EQ(rows.dim(), 3);
        ASSERT_GE(rows.size(1), 1);
        EXPECT_EQ(rows.size(2), width);
        EXPECT_EQ(rows.scalar_type(), torch::kFloat32);
        EXPECT_TRUE(rows.device().is_cpu());
        if (!bands.empty()) {
          EXPECT_EQ(rows.size(0), bands.front().size(0));
        }
        next_row = y0 + rows.size(1);
        result.band_sizes.push_back(rows.size(1));
        result.largest_band_storage = std::max<int64_t>(
            result.largest_band_storage, static_cast<int64_t>(rows.storage().nbytes() / sizeof(float)));
        bands.push_back(rows.clone());
      },
      progress);
  EXPECT_EQ(next_row, input.size(2) * scale);
  result.output = torch::cat(bands, 1);
  return result;
}

struct Case {
  int width, height;
  int in_channels, out_channels;
  int scale;
  TileOptions options;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::to_string(c.width) + "x" + std::to_string(c.height) + "_c" + std::to_string(c.in_channels) + "to" +
         std::to_string(c.out_channels) + "_x" + std::to_string(c.scale) + "_tile" + std::to_string(c.options.tile) +
         "_overlap" + std::to_string(c.options.overlap) + "_align" + std::to_string(c.options.align);
}

class TiledMatchesUntiled : public ::testing::TestWithParam<Case> {};

TEST_P(TiledMatchesUntiled, WhenTheReceptiveFieldFitsInAQuarterOfTheOverlap) {
  const Case& c = GetParam();
  const ConvUpscaler model(c.in_channels, c.out_channels, c.scale);
  const torch::Tensor input = random_image(c.in_channels, c.height, c.width, 7);
  const torch::Tensor expected = model(input)[0];

  int calls = 0;
  int last_done = 0;
  const TiledRun tiled = run_and_collect(
      input, c.scale, c.options,
      [&](const torch::Tensor& tile) {
        ++calls;
        EXPECT_TRUE(tile.is_contiguous());
        return model(tile);
      },
      [&](int done, int total) {
        EXPECT_EQ(done, last_done + 1);
        EXPECT_EQ(total, count_tiles(c.width, c.height, c.options));
        last_done = done;
      });

  EXPECT_EQ(calls, count_tiles(c.width, c.height, c.options));
  EXPECT_EQ(last_done, calls);
  ASSERT_EQ(tiled.output.sizes(), expected.sizes());
  EXPECT_LT((tiled.output - expected).abs().max().item<float>(), 1e-4f);
  // The band never exceeds one tile of output rows across the full output width.
  if (c.options.tile > 0) {
    EXPECT_LE(tiled.largest_band_storage,
              static_cast<int64_t>(c.out_channels) * c.options.tile * c.scale * c.width * c.scale);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tiler, TiledMatchesUntiled,
    ::testing::Values(Case{1, 1, 3, 3, 4, tiling(64, 16)}, Case{3, 2, 3, 3, 2, tiling(64, 16)},
                      Case{23, 17, 1, 1, 3, tiling(64, 16)}, Case{97, 61, 4, 4, 2, tiling(64, 16)},
                      Case{64, 64, 3, 3, 4, tiling(64, 16)}, Case{65, 65, 3, 3, 1, tiling(64, 16)},
                      Case{300, 200, 3, 3, 2, tiling(64, 16)}, Case{200, 300, 1, 3, 4, tiling(64, 16)},
                      Case{161, 97, 4, 4, 8, tiling(64, 16)}, Case{97, 61, 3, 3, 3, tiling(32, 12)},
                      Case{509, 97, 3, 3, 1, tiling(48, 16)}, Case{200, 150, 3, 3, 2, tiling(64, 32)},
                      Case{300, 200, 3, 3, 2, tiling(64, 16, 8)}, Case{301, 203, 3, 3, 2, tiling(64, 16, 8)},
                      Case{300, 40, 3, 3, 2, tiling(64, 16)}, Case{40, 300, 3, 3, 2, tiling(64, 16)},
                      Case{130, 70, 3, 3, 4, tiling(0, 16)}),
    case_name);

// A model whose receptive field (a 41x41 box blur that averages what lies inside the tile) is wider than the
// overlap cannot match the untiled output: near a tile edge the cut window shifts the blurred brightness ramp.
// The weights must still spread the difference between neighbouring tiles so that no seam appears.
TEST(Tiler, NoSeamWhenTheReceptiveFieldExceedsTheOverlap) {
  constexpr int scale = 2;
  constexpr int radius = 20;
  const auto blur_and_upscale = [](const torch::Tensor& tile) {
    const torch::Tensor blurred = F::avg_pool2d(
        tile, F::AvgPool2dFuncOptions(2 * radius + 1).stride(1).padding(radius).count_include_pad(false));
    return blurred.repeat_interleave(scale, 2).repeat_interleave(scale, 3);
  };
  const torch::Tensor input = torch::linspace(0, 1, 200).expand({1, 3, 96, 200}).contiguous();
  // The largest step between adjacent output columns (averaged over rows and channels), away from the image
  // borders where the untiled blur's window is cut too.
  const auto largest_column_step = [](const torch::Tensor& output) {
    const int64_t border = 2 * radius * scale;
    const torch::Tensor inner = output.narrow(2, border, output.size(2) - 2 * border);
    const torch::Tensor steps = inner.narrow(2, 1, inner.size(2) - 1) - inner.narrow(2, 0, inner.size(2) - 1);
    return steps.abs().mean(std::vector<int64_t>{0, 1}).max().item<float>();
  };
  const float untiled = largest_column_step(blur_and_upscale(input)[0]);
  const float blended = largest_column_step(run_and_collect(input, scale, tiling(64, 16), blur_and_upscale).output);
  // Overlap 0 switches between neighbouring tiles from one column to the next: the seams blending must avoid.
  const float cut = largest_column_step(run_and_collect(input, scale, tiling(64, 0), blur_and_upscale).output);
  EXPECT_LT(blended, 1.5f * untiled);
  EXPECT_GT(cut, 4.0f * untiled);
}

TEST(Tiler, PassesFullSizeTilesAndHandsOverBandsOfAtMostOneTile) {
  const int scale = 2;
  const TileOptions options = tiling(64, 16);
  std::vector<std::vector<int64_t>> tile_shapes;
  const TiledRun result = run_and_collect(random_image(1, 200, 300, 3), scale, options, [&](const torch::Tensor& tile) {
    tile_shapes.push_back(tile.sizes().vec());
    return tile.repeat_interleave(scale, 2).repeat_interleave(scale, 3);
  });
  EXPECT_EQ(tile_shapes.size(), static_cast<size_t>(count_tiles(300, 200, options)));
  for (const std::vector<int64_t>& shape : tile_shapes) EXPECT_EQ(shape, (std::vector<int64_t>{1, 1, 64, 64}));
  EXPECT_EQ(result.band_sizes.size(), 4u);  // one per row of tiles
  for (int64_t rows : result.band_sizes) EXPECT_LE(rows, options.tile * scale);
}

TEST(Tiler, RunsOnceOnTheWholeImageWithoutTiling) {
  for (const TileOptions& options : {tiling(0, 32), tiling(512, 32)}) {
    int calls = 0;
    const torch::Tensor input = random_image(3, 40, 50, 5);
    const TiledRun result = run_and_collect(input, 2, options, [&](const torch::Tensor& tile) {
      ++calls;
      EXPECT_TRUE(tile.equal(input));
      return tile.repeat_interleave(2, 2).repeat_interleave(2, 3);
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(result.band_sizes, (std::vector<int64_t>{80}));
  }
}

TEST(Tiler, HandsALargeUntiledOutputOverInBands) {
  // 64 channels x 1024 columns: 256 rows make 64 MiB of float32. The output is a broadcast view: no memory.
  const auto wide_zeros = [](const torch::Tensor& tile) {
    return torch::zeros({1, 1, 1, 1}).expand({1, 64, tile.size(2) * 4, tile.size(3) * 4});
  };
  std::vector<std::pair<int, int64_t>> bands;
  run_tiled(torch::zeros({1, 1, 80, 256}), 4, tiling(0, 0), wide_zeros,
            [&](int y0, const torch::Tensor& rows) { bands.emplace_back(y0, rows.size(1)); });
  EXPECT_EQ(bands, (std::vector<std::pair<int, int64_t>>{{0, 256}, {256, 64}}));
}

TEST(Tiler, SupportsEveryScaleAndChannelCount) {
  for (int scale : {1, 2, 3, 4, 8})
    for (int channels : {1, 3, 4}) {
      SCOPED_TRACE("scale " + std::to_string(scale) + ", channels " + std::to_string(channels));
      const torch::Tensor input = random_image(channels, 70, 90, 9);
      const auto nearest = [&](const torch::Tensor& tile) {
        return tile.repeat_interleave(scale, 2).repeat_interleave(scale, 3);
      };
      const TiledRun result = run_and_collect(input, scale, tiling(32, 8), nearest);
      EXPECT_TRUE(result.output.allclose(nearest(input)[0], 0, 1e-6));
    }
}

// Expects `action` to throw Error whose message starts with `prefix`.
template <typename Action>
void expect_error(const Action& action, const std::string& prefix) {
  try {
    action();
    ADD_FAILURE() << "expected an error starting with: " << prefix;
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).rfind(prefix, 0), 0u) << error.what();
  }
}

TEST(Tiler, RejectsInvalidArgumentsWithErrors) {
  const torch::Tensor input = random_image(3, 100, 100, 1);
  const auto twice = [](const torch::Tensor& tile) { return tile.repeat_interleave(2, 2).repeat_interleave(2, 3); };
  const auto run_with = [&](const TileOptions& options, int scale = 2) {
    return [&input, &twice, options, scale] {
      run_tiled(input, scale, options, twice, [](int, const torch::Tensor&) {});
    };
  };
  expect_error(run_with(tiling(64, 64)), "tile must be greater than overlap");
  expect_error(run_with(tiling(64, -1)), "overlap must not be negative");
  expect_error(run_with(tiling(63, 16)), "tile must be divisible by 2");
  expect_error(run_with(tiling(8, 2)), "tile is too small");
  expect_error(run_with(tiling(64, 16), 0), "scale must be at least 1");
  expect_error([&] { count_tiles(100, 100, tiling(32, 32)); }, "tile must be greater than overlap");
  expect_error([&] { run_tiled(input[0], 2, tiling(64, 16), twice, [](int, const torch::Tensor&) {}); },
               "input must be a (1, C, H, W) image tensor");
}

TEST(Tiler, RejectsTileOutputsOfTheWrongShape) {
  const torch::Tensor input = random_image(3, 100, 100, 1);
  const auto expect_rejected = [&](const TileFunction& upscale) {
    expect_error([&] { run_tiled(input, 2, tiling(64, 16), upscale, [](int, const torch::Tensor&) {}); },
                 "scale: the model turned a tile of shape [1, 3, 64, 64] into");
  };
  expect_rejected([](const torch::Tensor& tile) { return tile; });
  expect_rejected([](const torch::Tensor& tile) { return tile.repeat_interleave(2, 2).repeat_interleave(2, 3)[0]; });
  expect_rejected([](const torch::Tensor&) { return torch::Tensor(); });
  int calls = 0;
  expect_rejected([&](const torch::Tensor& tile) {
    const torch::Tensor upscaled = tile.repeat_interleave(2, 2).repeat_interleave(2, 3);
    return ++calls == 1 ? upscaled : upscaled.narrow(1, 0, 1);  // the channel count changes after one tile
  });
}

}  // namespace tiler_test
}  // namespace uprez
