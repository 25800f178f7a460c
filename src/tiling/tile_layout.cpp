#include "tiling/tile_layout.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "core/error.h"

namespace uprez {

namespace tile_layout {

constexpr int kMinimumTile = 16;

int64_t ceil_div(int64_t numerator, int64_t denominator) { return (numerator + denominator - 1) / denominator; }

// The crossover between tiles k and k+1, in output pixels: their weights are 1 - r and r, with r rising
// linearly from 0 at `begin` to 1 at `end` (a step at `begin` when they are equal).
struct Ramp {
  double begin = 0;
  double end = 0;

  float rise(int64_t pixel) const {
    const double centre = static_cast<double>(pixel) + 0.5;
    if (centre <= begin) return 0.0f;
    if (centre >= end) return 1.0f;
    return static_cast<float>((centre - begin) / (end - begin));
  }
};

// One ramp per pair of neighbours, centred in their overlap region, overlap/2 input pixels wide unless the
// next ramp's centre is closer than that.
std::vector<Ramp> crossover_ramps(const std::vector<TileSpan>& spans, int overlap, int scale) {
  std::vector<double> centres;
  for (size_t k = 0; k + 1 < spans.size(); ++k) centres.push_back((spans[k + 1].start + spans[k].end()) / 2.0);

  std::vector<Ramp> ramps;
  for (size_t k = 0; k < centres.size(); ++k) {
    double half_width = overlap / 4.0;
    if (k > 0) half_width = std::min(half_width, (centres[k] - centres[k - 1]) / 2);
    if (k + 1 < centres.size()) half_width = std::min(half_width, (centres[k + 1] - centres[k]) / 2);
    ramps.push_back({(centres[k] - half_width) * scale, (centres[k] + half_width) * scale});
  }
  return ramps;
}

}  // namespace tile_layout

void validate_tile_options(const TileOptions& options) {
  const std::string tile = std::to_string(options.tile);
  const std::string overlap = std::to_string(options.overlap);
  const std::string align = std::to_string(options.align);
  if (options.align < 1) throw Error("align must be at least 1, got " + align);
  if (options.overlap < 0) throw Error("overlap must not be negative, got " + overlap);
  if (options.tile < 0) throw Error("tile must be 0 (no tiling) or a positive size, got " + tile);
  if (options.tile == 0) return;
  if (options.tile < tile_layout::kMinimumTile)
    throw Error("tile is too small: must be at least " + std::to_string(tile_layout::kMinimumTile) + ", got " + tile);
  if (options.tile % 2 != 0) throw Error("tile must be divisible by 2, got " + tile);
  if (options.tile % options.align != 0)
    throw Error("tile must be a multiple of " + align + " (the model's size multiple), got " + tile);
  if (options.overlap >= options.tile)
    throw Error("tile must be greater than overlap (tile " + tile + ", overlap " + overlap + ")");
  if (options.overlap > options.tile / 2)
    throw Error("overlap must be at most half of tile (" + std::to_string(options.tile / 2) + "), got " + overlap);
  if (options.overlap > 0 && options.tile < 2 * options.align)
    throw Error("tile must be at least " + std::to_string(2 * options.align) + " (twice the model's size multiple) " +
                "when overlap is not 0, got " + tile);
}

std::vector<TileSpan> place_tiles(int length, const TileOptions& options) {
  if (options.tile == 0 || length <= options.tile) return {{0, length}};

  // In units of `align`: tile_units > overlap_units (validated) and units > tile_units, so count >= 2.
  const int64_t units = tile_layout::ceil_div(length, options.align);
  const int64_t tile_units = options.tile / options.align;
  const int64_t overlap_units = tile_layout::ceil_div(options.overlap, options.align);
  const int64_t count = tile_layout::ceil_div(units - overlap_units, tile_units - overlap_units);
  const int64_t last_start = units - tile_units;

  std::vector<TileSpan> spans;
  spans.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t start_units = (2 * i * last_start + count - 1) / (2 * (count - 1));  // rounded to nearest
    const int start = static_cast<int>(start_units * options.align);
    spans.push_back({start, std::min(options.tile, length - start)});
  }
  return spans;
}

std::vector<AxisTile> layout_axis(int length, const TileOptions& options, int scale) {
  const std::vector<TileSpan> spans = place_tiles(length, options);
  const std::vector<tile_layout::Ramp> ramps = tile_layout::crossover_ramps(spans, options.overlap, scale);

  std::vector<AxisTile> tiles;
  tiles.reserve(spans.size());
  for (size_t k = 0; k < spans.size(); ++k) {
    const int64_t first_pixel = static_cast<int64_t>(spans[k].start) * scale;
    std::vector<float> weights(static_cast<size_t>(spans[k].length) * scale);
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t pixel = first_pixel + static_cast<int64_t>(i);
      const float rising = k > 0 ? ramps[k - 1].rise(pixel) : 1.0f;
      const float falling = k + 1 < spans.size() ? 1.0f - ramps[k].rise(pixel) : 1.0f;
      weights[i] = std::min(rising, falling);
    }
    const auto is_nonzero = [](float weight) { return weight != 0.0f; };
    const auto nonzero_begin = std::find_if(weights.begin(), weights.end(), is_nonzero);
    const auto nonzero_end =
        std::find_if(weights.rbegin(), std::make_reverse_iterator(nonzero_begin), is_nonzero).base();
    tiles.push_back({spans[k], first_pixel + (nonzero_begin - weights.begin()),
                     std::vector<float>(nonzero_begin, nonzero_end)});
  }
  return tiles;
}

}  // namespace uprez
