#include "diffusion/blocks/upsample.h"

namespace uprez {

Upsample2DImpl::Upsample2DImpl(int64_t channels, int64_t out_channels) {
  conv = register_module("conv", FastConv2d(channels, out_channels, 3, 1, 1));
}

torch::Tensor Upsample2DImpl::forward(const torch::Tensor& x, const std::vector<int64_t>& size) {
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().mode(torch::kNearest);
  if (size.empty()) {
    options.scale_factor(std::vector<double>{2.0, 2.0});
  } else {
    options.size(size);
  }
  return conv->forward(F::interpolate(x, options));
}

}  // namespace uprez
