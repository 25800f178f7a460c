// The NCNN layer factory: ncnn's type names mapped to the layer classes of layers/, for create_layer and
// layer_types.
#include <functional>
#include <map>

#include "ncnn/layer.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace layer_registry {

const std::map<std::string, std::function<std::unique_ptr<Layer>()>>& factories() {
  static const std::map<std::string, std::function<std::unique_ptr<Layer>()>> table = {
      {"Input", make_input_layer},
      {"Convolution", make_convolution_layer},
      {"ConvolutionDepthWise", make_convolution_depthwise_layer},
      {"Deconvolution", make_deconvolution_layer},
      {"InnerProduct", make_inner_product_layer},
      {"Pooling", make_pooling_layer},
      {"Interp", make_interp_layer},
      {"PixelShuffle", make_pixel_shuffle_layer},
      {"Crop", make_crop_layer},
      {"Padding", make_padding_layer},
      {"Split", make_split_layer},
      {"Concat", make_concat_layer},
      {"Eltwise", make_eltwise_layer},
      {"BinaryOp", make_binary_op_layer},
      {"Scale", make_scale_layer},
      {"PReLU", make_prelu_layer},
      {"ReLU", make_relu_layer},
      {"Sigmoid", make_sigmoid_layer},
      {"Clip", make_clip_layer},
      {"Swish", make_swish_layer},
      {"HardSwish", make_hard_swish_layer},
      {"Reshape", make_reshape_layer},
      {"Permute", make_permute_layer},
      {"Softmax", make_softmax_layer},
      {"LayerNorm", make_layer_norm_layer},
      {"MatMul", make_mat_mul_layer},
      {"Gemm", make_gemm_layer},
  };
  return table;
}

}  // namespace layer_registry

std::unique_ptr<Layer> create_layer(const std::string& type) {
  const auto found = layer_registry::factories().find(type);
  if (found == layer_registry::factories().end()) return nullptr;
  std::unique_ptr<Layer> layer = found->second();
  if (layer) layer->type = type;
  return layer;
}

std::vector<std::string> layer_types() {
  std::vector<std::string> types;
  for (const auto& entry : layer_registry::factories()) types.push_back(entry.first);
  return types;
}

}  // namespace uprez::ncnn
