#include "diffusion/blocks/downsample.h"

namespace uprez {

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t out_channels, int64_t padding) : padding_(padding) {
  conv = register_module("conv", FastConv2d(channels, out_channels, 3, 2, padding));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  if (padding_ != 0) return conv->forward(x);
  return conv->forward(torch::constant_pad_nd(x, {0, 1, 0, 1}, 0));
}

}  // namespace uprez
