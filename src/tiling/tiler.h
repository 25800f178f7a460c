// The seamless tiler: runs an upscaler tile by tile over an image too large to process in one piece and blends
// the tiles without seams, streaming finished output rows to the caller instead of assembling the output.
//
// Blending (see tile_layout.h): per axis, each output pixel takes a convex combination of at most two
// neighbouring tiles; the weights cross over along a linear ramp in the middle of their overlap and are exactly
// zero within overlap/4 input pixels of any tile edge inside the image, so a model whose receptive field is at
// most overlap/4 input pixels gives the same output tiled and untiled. The 2-D weight of a tile is the product
// of its row and column weights, which sum to 1 everywhere, so no weight buffer is needed.
//
// Memory: the tiler holds one float32 band of (C', rows, W * scale) with rows <= tile * scale, covering one
// row of tiles; every output row is final once the last row of tiles touching it is done, and is handed over
// then. Together with the caller's output image, that is all the output-sized memory a run needs.
#pragma once

#include <functional>

#include <torch/types.h>

#include "tiling/tile_layout.h"

namespace uprez {

// Upscales a (1, C, h, w) tile to (1, C', h * scale, w * scale), on any device and in any floating dtype.
using TileFunction = std::function<torch::Tensor(const torch::Tensor& tile)>;
// Receives output rows [y0, y0 + n) as a float32 CPU tensor (C', n, W * scale). The tensor may be a
// non-contiguous view into the tiler's band: it is valid only during the call, so copy what you keep.
using RowSink = std::function<void(int y0, const torch::Tensor& rows)>;
// Called after each tile with the number of tiles done so far and the total.
using TileProgress = std::function<void(int done, int total)>;

// Number of tiles run_tiled() runs for a width x height input (1 when tiling is off or the image fits in one
// tile). Throws Error for invalid options.
int count_tiles(int width, int height, const TileOptions& options);

// Upscales `input` (1, C, H, W) by the integer `scale` with `upscale`, tile by tile, and hands every output
// row to `sink` exactly once, in order from top to bottom. Tiles are (1, C, tile, tile) contiguous slices of
// `input` (the last tile along an axis is cut at the image end when the image length is not a multiple of
// options.align; the whole image is one tile when it fits). Without tiling, or when the image fits in one
// tile, `upscale` runs once on the whole image and the sink receives the output in bands of at most 64 MiB.
// Throws Error naming the argument for invalid options, a malformed input or scale, and a tile output whose
// shape is not (1, C', h * scale, w * scale) with the same C' for every tile.
void run_tiled(const torch::Tensor& input, int scale, const TileOptions& options, const TileFunction& upscale,
               const RowSink& sink, const TileProgress& progress = {});

}  // namespace uprez
