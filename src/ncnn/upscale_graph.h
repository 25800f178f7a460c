// What an NCNN upscaling graph does to an image, read from its .param layers the way dgenerate's upscaler-ncnn
// reads it: the scale (Interp, PixelShuffle and strided (de)convolutions), and the input and output channels.
#pragma once

#include "ncnn/param_file.h"

namespace uprez::ncnn {

struct UpscaleGraph {
  int scale = 1;
  int input_channels = 0;   // of the first (de)convolution
  int output_channels = 0;  // of the last (de)convolution, divided by the pixel-shuffle factors squared
};

// Throws Error("<param file>: ...") as dgenerate refuses such models: no convolution layer, first convolution
// parameters missing, a scale that is not an integer >= 1.
UpscaleGraph describe_upscale_graph(const ParamFile& file, const std::string& path);

}  // namespace uprez::ncnn
