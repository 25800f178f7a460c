#include "ncnn/upscale_graph.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace uprez::ncnn {

namespace upscale_graph {

bool is_convolution(const std::string& type) {
  return type == "Convolution" || type == "Convolution1D" || type == "ConvolutionDepthWise";
}
bool is_deconvolution(const std::string& type) {
  return type == "Deconvolution" || type == "DeconvolutionDepthWise";
}

}  // namespace upscale_graph

UpscaleGraph describe_upscale_graph(const ParamFile& file, const std::string& path) {
  double scale = 1;
  int pixel_shuffle = 1;
  const ParamLayer* first_convolution = nullptr;
  const ParamLayer* last_convolution = nullptr;
  for (size_t i = 0; i < file.layers.size(); ++i) {
    const ParamLayer& layer = file.layers[i];
    const ParamDict& params = layer.params;
    if (layer.type == "Interp") {
      // dgenerate counts an Interp unless a BinaryOp follows it (a residual branch) or its resize type is 0.
      const bool last = i + 1 == file.layers.size();
      if (last || (file.layers[i + 1].type != "BinaryOp" && params.get_int(0, 0) != 0))
        scale *= params.get_float(2, 1.f);
    } else if (layer.type == "PixelShuffle") {
      const int factor = params.get_int(0, 1);
      scale *= factor;
      pixel_shuffle *= factor;
    } else if (upscale_graph::is_convolution(layer.type) || upscale_graph::is_deconvolution(layer.type)) {
      if (first_convolution == nullptr) first_convolution = &layer;
      last_convolution = &layer;
      const int stride = params.get_int(3, 1);
      if (stride < 1) params.fail(3, "stride must be positive");
      scale = upscale_graph::is_convolution(layer.type) ? scale / stride : scale * stride;
    }
  }
  if (last_convolution == nullptr) throw Error(path + ": unsupported NCNN model: it has no Convolution layers");

  const ParamDict& first = first_convolution->params;
  if (!first.has(0) || !first.has(1) || !first.has(6))
    throw Error(first.context() + ": unsupported NCNN model: num_output, kernel_w or weight_data_size missing");
  const int filters = first.get_int(0, 0), kernel_w = first.get_int(1, 0), kernel_h = first.get_int(11, kernel_w);
  if (filters < 1 || kernel_w < 1 || kernel_h < 1)
    throw Error(first.context() + ": unsupported NCNN model: invalid convolution shape");
  UpscaleGraph graph;
  graph.input_channels = first.get_int(6, 0) / filters / kernel_w / kernel_h;
  graph.output_channels = last_convolution->params.get_int(0, 0) / (pixel_shuffle * pixel_shuffle);
  if (scale < 1 || scale != std::floor(scale))
    throw Error(path + ": unsupported NCNN model: scale " + std::to_string(scale) +
                " is not an integer or is less than 1");
  graph.scale = static_cast<int>(scale);
  return graph;
}

}  // namespace uprez::ncnn
