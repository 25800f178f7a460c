#include "tiling/tile_layout.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace uprez {
namespace tile_layout_test {

TileOptions tiling(int tile, int overlap, int align = 1) { return TileOptions{tile, overlap, align}; }

std::vector<int> starts_of(const std::vector<TileSpan>& spans) {
  std::vector<int> starts;
  for (const TileSpan& span : spans) starts.push_back(span.start);
  return starts;
}

bool is_valid(const TileOptions& options) {
  try {
    validate_tile_options(options);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Checks every promise of tile_layout.h for one axis; returns after the first tile with a failure.
void expect_valid_layout(int length, const TileOptions& options, int scale) {
  SCOPED_TRACE("length " + std::to_string(length) + ", tile " + std::to_string(options.tile) + ", overlap " +
               std::to_string(options.overlap) + ", align " + std::to_string(options.align) + ", scale " +
               std::to_string(scale));
  const std::vector<AxisTile> tiles = layout_axis(length, options, scale);
  ASSERT_FALSE(tiles.empty());
  EXPECT_EQ(tiles.front().span.start, 0);
  EXPECT_EQ(tiles.back().span.end(), length);
  if (tiles.size() == 1) {
    EXPECT_EQ(tiles.front().span.length, length);
  }

  const int64_t pixels = static_cast<int64_t>(length) * scale;
  const double quarter = options.overlap / 4.0;
  std::vector<double> weight_sums(static_cast<size_t>(pixels), 0.0);
  std::vector<int> nonzero_tiles(static_cast<size_t>(pixels), 0);
  for (size_t k = 0; k < tiles.size(); ++k) {
    const TileSpan& span = tiles[k].span;
    const bool has_previous = k > 0;
    const bool has_next = k + 1 < tiles.size();
    // Placement: aligned starts, full-size tiles (the last may be cut at an unaligned end), enough overlap.
    EXPECT_EQ(span.start % options.align, 0);
    if (tiles.size() > 1) {
      if (has_next || length % options.align == 0) {
        EXPECT_EQ(span.length, options.tile);
      } else {
        EXPECT_GT(span.length, options.tile - options.align);
      }
    }
    if (has_previous) {
      EXPECT_GT(span.start, tiles[k - 1].span.start);
      EXPECT_GE(tiles[k - 1].span.end() - span.start, options.overlap);
    }
    // Weights: inside the tile, in (0, 1], zero within overlap/4 of an edge shared with a neighbour.
    EXPECT_GE(tiles[k].weight_begin, static_cast<int64_t>(span.start) * scale);
    EXPECT_LE(tiles[k].weight_end(), static_cast<int64_t>(span.end()) * scale);
    for (size_t i = 0; i < tiles[k].weights.size(); ++i) {
      const float weight = tiles[k].weights[i];
      const int64_t pixel = tiles[k].weight_begin + static_cast<int64_t>(i);
      const double centre = (static_cast<double>(pixel) + 0.5) / scale;  // in input pixels
      EXPECT_GT(weight, 0.0f) << "pixel " << pixel;
      EXPECT_LE(weight, 1.0f) << "pixel " << pixel;
      if (has_previous) {
        EXPECT_GT(centre, span.start + quarter) << "pixel " << pixel;
      }
      if (has_next) {
        EXPECT_LT(centre, span.end() - quarter) << "pixel " << pixel;
      }
      weight_sums[static_cast<size_t>(pixel)] += weight;
      ++nonzero_tiles[static_cast<size_t>(pixel)];
    }
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(tiles.front().weights.front(), 1.0f);
  EXPECT_EQ(tiles.back().weights.back(), 1.0f);
  EXPECT_EQ(tiles.back().weight_end(), pixels);
  for (int64_t pixel = 0; pixel < pixels; ++pixel) {
    ASSERT_NEAR(weight_sums[static_cast<size_t>(pixel)], 1.0, 1e-6) << "pixel " << pixel;
    ASSERT_LE(nonzero_tiles[static_cast<size_t>(pixel)], 2) << "pixel " << pixel;
  }
}

TEST(TileLayout, OneTileWhenTheAxisFitsOrTilingIsOff) {
  for (int length : {1, 2, 97, 511, 512}) {
    const std::vector<TileSpan> spans = place_tiles(length, tiling(512, 32));
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].start, 0);
    EXPECT_EQ(spans[0].length, length);
  }
  EXPECT_EQ(place_tiles(100000, tiling(0, 32)).size(), 1u);
}

TEST(TileLayout, SpreadsFullSizeTilesEvenly) {
  // ceil((160 - 16) / 48) = 3 tiles that overlap by exactly 16.
  EXPECT_EQ(starts_of(place_tiles(160, tiling(64, 16))), (std::vector<int>{0, 48, 96}));
  // One pixel more needs a fourth tile; the four share the slack instead of leaving a 1-pixel sliver.
  EXPECT_EQ(starts_of(place_tiles(161, tiling(64, 16))), (std::vector<int>{0, 32, 65, 97}));
  // A tile plus one pixel: two full tiles, offset by one.
  EXPECT_EQ(starts_of(place_tiles(513, tiling(512, 32))), (std::vector<int>{0, 1}));
  // Starts are rounded to the nearest pixel.
  EXPECT_EQ(starts_of(place_tiles(113, tiling(64, 16))), (std::vector<int>{0, 25, 49}));
}

TEST(TileLayout, AlignsStarts) {
  // The length is a multiple of the alignment: aligned starts and a last tile flush with the end.
  EXPECT_EQ(starts_of(place_tiles(200, tiling(64, 16, 8))), (std::vector<int>{0, 48, 88, 136}));
  // It is not: the last tile keeps an aligned start and is cut at the end (the model pads it).
  const std::vector<TileSpan> cut = place_tiles(203, tiling(64, 16, 8));
  EXPECT_EQ(starts_of(cut), (std::vector<int>{0, 48, 96, 144}));
  EXPECT_EQ(cut.back().length, 59);
}

TEST(TileLayout, RampIsCentredInTheOverlapAndZeroInItsOuterQuarters) {
  // Tiles [0, 64), [48, 112), [96, 160): overlaps of exactly 16, ramps over [52, 60] and [100, 108].
  for (int scale : {1, 2, 3}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    const std::vector<AxisTile> tiles = layout_axis(160, tiling(64, 16), scale);
    ASSERT_EQ(tiles.size(), 3u);
    for (const AxisTile& tile : tiles) {
      const int64_t ramp_in = tile.span.start == 0 ? 0 : (tile.span.start + 4) * scale;
      const int64_t ramp_out = tile.span.end() == 160 ? 160 * scale : (tile.span.end() - 4) * scale;
      EXPECT_EQ(tile.weight_begin, ramp_in);  // zero in the outer quarter, positive from there on
      EXPECT_EQ(tile.weight_end(), ramp_out);
    }
    // The middle tile's weight at the first output pixel of its rising ramp: half a pixel into 8 * scale.
    EXPECT_FLOAT_EQ(tiles[1].weights.front(), 0.5f / (8 * scale));
    // Both sides of a crossover sum to 1 where they meet.
    const AxisTile& left = tiles[0];
    const AxisTile& right = tiles[1];
    const int64_t pixel = 56 * scale;
    EXPECT_EQ(left.weights[static_cast<size_t>(pixel - left.weight_begin)] +
                  right.weights[static_cast<size_t>(pixel - right.weight_begin)],
              1.0f);
  }
}

TEST(TileLayout, ZeroOverlapCutsBetweenNeighbours) {
  const std::vector<AxisTile> tiles = layout_axis(128, tiling(64, 0), 2);
  ASSERT_EQ(tiles.size(), 2u);
  EXPECT_EQ(tiles[0].weight_end(), 128);
  EXPECT_EQ(tiles[1].weight_begin, 128);
  for (const AxisTile& tile : tiles)
    for (float weight : tile.weights) EXPECT_EQ(weight, 1.0f);
}

TEST(TileLayout, EveryValidCombinationKeepsItsPromises) {
  const std::vector<int> lengths = {1,   2,   7,   15,  16,  17,  31,  32,  33,  47,  63,  64,  65,  97,
                                    100, 113, 127, 128, 129, 160, 161, 255, 257, 509, 512, 513, 1021, 2053};
  int checked = 0;
  for (int tile : {16, 32, 48, 64, 96, 512})
    for (int overlap : {0, 1, 2, 3, 8, 15, 16, 24, 32, 48, 256})
      for (int align : {1, 2, 4, 8, 16}) {
        const TileOptions options = tiling(tile, overlap, align);
        if (!is_valid(options)) continue;
        for (int scale : {1, 2, 3, 4, 8})
          for (int length : lengths) {
            expect_valid_layout(length, options, scale);
            if (HasFailure()) return;
            ++checked;
          }
      }
  EXPECT_GT(checked, 10000);
}

struct InvalidOptions {
  TileOptions options;
  std::string message;
};

class TileOptionErrors : public ::testing::TestWithParam<InvalidOptions> {};

TEST_P(TileOptionErrors, AreErrorsNamingTheArgument) {
  try {
    validate_tile_options(GetParam().options);
    FAIL() << "expected: " << GetParam().message;
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()).rfind(GetParam().message, 0), 0u) << error.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    TileLayout, TileOptionErrors,
    ::testing::Values(InvalidOptions{tiling(-2, 0), "tile must be 0 (no tiling) or a positive size, got -2"},
                      InvalidOptions{tiling(1, 0), "tile is too small: must be at least 16, got 1"},
                      InvalidOptions{tiling(14, 0), "tile is too small"},
                      InvalidOptions{tiling(17, 0), "tile must be divisible by 2, got 17"},
                      InvalidOptions{tiling(513, 32), "tile must be divisible by 2"},
                      InvalidOptions{tiling(64, 64), "tile must be greater than overlap (tile 64, overlap 64)"},
                      InvalidOptions{tiling(64, 100), "tile must be greater than overlap"},
                      InvalidOptions{tiling(64, 33), "overlap must be at most half of tile (32), got 33"},
                      InvalidOptions{tiling(64, -1), "overlap must not be negative, got -1"},
                      InvalidOptions{tiling(0, -1), "overlap must not be negative"},
                      InvalidOptions{tiling(100, 16, 8), "tile must be a multiple of 8"},
                      InvalidOptions{tiling(16, 4, 16), "tile must be at least 32"},
                      InvalidOptions{tiling(64, 16, 0), "align must be at least 1, got 0"}));

TEST(TileLayout, AcceptsTheEdgesOfTheRules) {
  EXPECT_NO_THROW(validate_tile_options(TileOptions{}));
  EXPECT_NO_THROW(validate_tile_options(tiling(16, 8)));
  EXPECT_NO_THROW(validate_tile_options(tiling(64, 32)));
  EXPECT_NO_THROW(validate_tile_options(tiling(16, 0, 16)));
  EXPECT_NO_THROW(validate_tile_options(tiling(0, 1000)));  // tiling off: the overlap is unused
}

}  // namespace tile_layout_test
}  // namespace uprez
