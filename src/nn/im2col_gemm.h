// Convolution as im2col + GEMM (ncnn's use_sgemm_convolution): oneDNN's JIT sgemm over column matrices of about
// 16 MiB, output rows in bands. CPU float32, ungrouped convolutions with zero padding.
#pragma once

#include <torch/torch.h>

#include "nn/onednn_conv.h"

namespace uprez {

// conv2d(x, weight, bias) with the geometry `g` (groups 1) on an NCHW or channels_last float32 CPU tensor; the
// result is NCHW contiguous.
torch::Tensor im2col_gemm_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 const ConvGeometry& g);

}  // namespace uprez
