// TransposedConv2d: torch::nn::ConvTranspose2d for every dtype (LibTorch 1.13 mis-shapes float16/bfloat16
// transposed convolutions on the CPU, so those compute in float32).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace uprez {

// torch::nn::ConvTranspose2d with the same options and parameters.
class TransposedConv2dImpl : public torch::nn::ConvTranspose2dImpl {
 public:
  using ConvTranspose2dImpl::ConvTranspose2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(TransposedConv2d);

// A transposed convolution with this stride and zero padding (RealCUGAN's and FDAT's upsamplers).
TransposedConv2d transposed_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                 int64_t padding = 0);

}  // namespace uprez
