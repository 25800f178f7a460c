// Factories of the NCNN layer types, one per file in this folder (src/ncnn/layer_registry.cpp lists them).
#pragma once

#include <memory>

#include "ncnn/layer.h"

namespace uprez::ncnn {

std::unique_ptr<Layer> make_input_layer();
std::unique_ptr<Layer> make_convolution_layer();
std::unique_ptr<Layer> make_convolution_depthwise_layer();
std::unique_ptr<Layer> make_deconvolution_layer();
std::unique_ptr<Layer> make_inner_product_layer();
std::unique_ptr<Layer> make_pooling_layer();
std::unique_ptr<Layer> make_interp_layer();
std::unique_ptr<Layer> make_pixel_shuffle_layer();
std::unique_ptr<Layer> make_crop_layer();
std::unique_ptr<Layer> make_padding_layer();
std::unique_ptr<Layer> make_split_layer();
std::unique_ptr<Layer> make_concat_layer();
std::unique_ptr<Layer> make_eltwise_layer();
std::unique_ptr<Layer> make_binary_op_layer();
std::unique_ptr<Layer> make_scale_layer();
std::unique_ptr<Layer> make_prelu_layer();
std::unique_ptr<Layer> make_relu_layer();
std::unique_ptr<Layer> make_sigmoid_layer();
std::unique_ptr<Layer> make_clip_layer();
std::unique_ptr<Layer> make_swish_layer();
std::unique_ptr<Layer> make_hard_swish_layer();
std::unique_ptr<Layer> make_reshape_layer();
std::unique_ptr<Layer> make_permute_layer();
std::unique_ptr<Layer> make_softmax_layer();
std::unique_ptr<Layer> make_layer_norm_layer();
std::unique_ptr<Layer> make_mat_mul_layer();
std::unique_ptr<Layer> make_gemm_layer();

}  // namespace uprez::ncnn
