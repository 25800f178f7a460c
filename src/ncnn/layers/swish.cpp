// Swish (SiLU): x / (1 + exp(-x)) of every element.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace swish {

class SwishLayer : public ElementwiseLayer {
 protected:
  torch::Tensor apply(const torch::Tensor& blob) const override { return torch::silu(blob); }
};

}  // namespace swish

std::unique_ptr<Layer> make_swish_layer() { return std::make_unique<swish::SwishLayer>(); }

}  // namespace uprez::ncnn
