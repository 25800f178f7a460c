// Sigmoid: 1 / (1 + exp(-x)) of every element.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace sigmoid {

class SigmoidLayer : public ElementwiseLayer {
 protected:
  torch::Tensor apply(const torch::Tensor& blob) const override { return torch::sigmoid(blob); }
};

}  // namespace sigmoid

std::unique_ptr<Layer> make_sigmoid_layer() { return std::make_unique<sigmoid::SigmoidLayer>(); }

}  // namespace uprez::ncnn
