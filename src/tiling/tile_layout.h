// Tile options and the one-dimensional tiling math: where tiles go along an axis and how their outputs are
// blended. A 2-D tiling is the product of one layout per axis, and so are its blend weights.
#pragma once

#include <cstdint>
#include <vector>

namespace uprez {

// How an image is cut into tiles, in input pixels (dgenerate's `tile` and `overlap`).
struct TileOptions {
  // Tile side; 0 turns tiling off. Otherwise even, at least 16 and a multiple of `align`.
  int tile = 512;
  // Minimum overlap between neighbouring tiles; 0 to tile/2 (larger overlaps are rejected: they would cost
  // more than 4x the work for no better seams).
  int overlap = 32;
  // Tile starts are multiples of `align` (the model's size multiple), so that a model that works on blocks
  // of `align` pixels sees the same blocks in every tile as on the whole image. The last tile stays flush
  // with the image end when the image length is a multiple of `align`; otherwise it is cut at the end and
  // the model pads it. With a non-zero overlap, `tile` must be at least 2 * align.
  int align = 1;
};

// Throws Error naming the argument (`tile`, `overlap` or `align`) when `options` break the rules above.
void validate_tile_options(const TileOptions& options);

// Input pixels [start, start + length) along one axis.
struct TileSpan {
  int start = 0;
  int length = 0;
  int end() const { return start + length; }
};

// Where the tiles go along an axis of `length` input pixels, in order (options must be valid):
// - tiling off or length <= tile: one tile [0, length);
// - else n = ceil((length - overlap) / (tile - overlap)) tiles of `tile` pixels (computed on the axis in
//   units of `align`), the first at 0, the last ending at `length`, the starts spread evenly in between.
//   No tile is thinner than the others, and neighbours overlap by at least `overlap` pixels.
std::vector<TileSpan> place_tiles(int length, const TileOptions& options);

// One tile along one axis with its blend weights over output pixels (input pixels * scale).
struct AxisTile {
  TileSpan span;
  // The weights are zero outside output pixels [weight_begin, weight_end()), and `weights` holds them inside.
  int64_t weight_begin = 0;
  std::vector<float> weights;
  int64_t weight_end() const { return weight_begin + static_cast<int64_t>(weights.size()); }
};

// The tiles of place_tiles() with their blend weights. At every output pixel the weights of all tiles sum to
// 1 (a partition of unity), and at most two of them are non-zero. Between neighbours the weight crosses over
// along a linear ramp of overlap/2 input pixels centred in their overlap region, sampled at output pixel
// centres (the rising side is r, the falling side 1 - r). So a tile's weight is exactly 0 within overlap/4
// input pixels of an edge it shares with a neighbour (where its output lacks context), and 1 up to the image
// border. Should the ramps of an odd aligned layout come closer than overlap/2, they are narrowed so that
// neighbouring ramps never intersect.
std::vector<AxisTile> layout_axis(int length, const TileOptions& options, int scale);

}  // namespace uprez
