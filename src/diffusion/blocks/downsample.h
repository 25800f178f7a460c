// diffusers' Downsample2D with a convolution: 3x3 stride 2, padding 1 (UNet) or padding 0 after padding the right
// and bottom by one (VAE encoder).
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "nn/fast_conv.h"

namespace uprez {

class Downsample2DImpl : public torch::nn::Module {
 public:
  Downsample2DImpl(int64_t channels, int64_t out_channels, int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);
  FastConv2d conv{nullptr};

 private:
  int64_t padding_;
};
TORCH_MODULE(Downsample2D);

}  // namespace uprez
