// diffusers' Upsample2D with a convolution: nearest-neighbour x2 (or to the skip connection's size), then 3x3.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "nn/fast_conv.h"

namespace uprez {

class Upsample2DImpl : public torch::nn::Module {
 public:
  Upsample2DImpl(int64_t channels, int64_t out_channels);
  // `size` (H, W) when the result must match a skip connection that is not exactly twice as large.
  torch::Tensor forward(const torch::Tensor& x, const std::vector<int64_t>& size = {});
  FastConv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace uprez
