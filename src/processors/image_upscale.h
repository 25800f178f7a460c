// Runs an upscaling model over a whole Image: maps the image's channels onto the model's (gray, RGB, alpha
// as dgenerate does, but alpha is upscaled and kept), tiles, and writes the rows straight into an output
// image of the input's bit depth. Shared by every upscaler processor.
#pragma once

#include <functional>

#include <torch/types.h>

#include "image/image.h"
#include "processors/processor.h"
#include "tiling/tiler.h"

namespace uprez {

struct UpscaleModel {
  int scale = 1;
  int input_channels = 3;
  int output_channels = 3;
  // (1, input_channels, h, w) float32 in [0, 1] on the CPU -> (1, output_channels, h*scale, w*scale) in [0, 1].
  std::function<torch::Tensor(const torch::Tensor&)> run;
};

// Upscales `image`; `tiles.tile == 0` runs untiled. Throws Error for channel counts the mapping cannot serve
// (2-channel models, more than 4).
Image upscale_image(const Image& image, const UpscaleModel& model, const TileOptions& tiles,
                    const ProgressCallback& progress);

// `upscaled` (the model's result for `source`) resized to `scale` times `source`'s size when the model's own
// scale differs (Lanczos up, area down); `upscaled` itself when the sizes already match.
Image resize_to_scale(Image upscaled, const Image& source, double scale);

}  // namespace uprez
