// How NCNN graphs that crop their own input (waifu2x's cunet and upconv_7, Real-CUGAN) are fed, as their apps feed
// them: each tile is padded by `prepadding` pixels per side and its bottom/right rounded up to a multiple of
// `align`; the net crops the padding away and returns (aligned size x scale), of which the top-left (size x scale)
// is kept. Real-CUGAN's 4x graphs leave out the model's nearest-neighbour base, which its app adds back.
#pragma once

#include <string>

#include <torch/types.h>

#include "ncnn/net.h"
#include "ncnn/param_file.h"

namespace uprez::ncnn {

struct InputFraming {
  // How the pixels beyond the image edges are made: waifu2x-ncnn-vulkan replicates the edge, realcugan-ncnn-vulkan
  // mirrors without repeating it (reflect101, folded again where the image is smaller than the padding).
  enum class Border { Replicate, Reflect101 };

  int prepadding = 0;
  int align = 1;
  Border border = Border::Replicate;
  bool adds_nearest_base = false;

  bool crops_input() const { return prepadding > 0 || align > 1; }
};

// Whether the graph crops its input: a Crop layer, or a convolution or pooling window that is not padded to keep
// the size. Read from the .param alone; most upscaling graphs (Real-ESRGAN, Compact) do not.
bool graph_crops_input(const ParamFile& file);

// The framing of a graph that crops its input, measured by running `net` on a few blank square inputs: the sizes
// it takes exactly (cropping the least) give `prepadding` (from their output size at `scale`) and `align` (their
// spacing); the border and the 4x base follow the family (Real-CUGAN's pnnx exports crop with start/end slices,
// waifu2x's caffe conversions crop to a reference blob or not at all). Throws Error naming `path` when no two
// probed sizes run exactly or they fit no single padding.
InputFraming measure_input_framing(const Net& net, const ParamFile& file, const std::string& path,
                                   const std::string& input_blob, const std::string& output_blob, int channels,
                                   int scale, const torch::Device& device);

// `image` (c, h, w) padded by (top, bottom, left, right) pixels with `border`.
torch::Tensor pad_image(const torch::Tensor& image, int64_t top, int64_t bottom, int64_t left, int64_t right,
                        InputFraming::Border border);

// Runs `net` on `image` (c, h, w) framed as the app frames a whole-image tile; returns (c', h * scale, w * scale).
torch::Tensor run_framed(const Net& net, const InputFraming& framing, const torch::Tensor& image,
                         const std::string& input_blob, const std::string& output_blob, int scale);

}  // namespace uprez::ncnn
