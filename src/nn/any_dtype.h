// Operations for every dtype: on the CPU, LibTorch 1.13 lacks float16/bfloat16 kernels the networks use (reflect
// and replicate padding, Mish, grid_sample), so those compute in float32 and convert back; nearest upscaling.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace uprez {

// Whether `x` is float16/bfloat16 on the CPU, where LibTorch 1.13 lacks kernels the networks use (reflect and
// replicate padding, Mish) or gets them wrong (transposed convolution): those compute in float32 instead.
bool reduced_precision_on_cpu(const torch::Tensor& x);

// Mish for every dtype; torch::nn::Functional(mish_any_dtype) is the layer.
torch::Tensor mish_any_dtype(const torch::Tensor& x);

// F::grid_sample for every dtype.
torch::Tensor grid_sample_any_dtype(const torch::Tensor& x, const torch::Tensor& grid,
                                    const torch::nn::functional::GridSampleFuncOptions& options);

// Nearest-neighbour upscaling by an integer factor, as F.interpolate(x, scale_factor=s, mode="nearest").
torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t scale);

}  // namespace uprez
