// Helpers shared by the element-wise and blob-rearranging layers: ncnn's broadcasting test and the base class of
// the one-input activations (ReLU, Sigmoid, Clip, Swish, HardSwish).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ncnn/layer.h"
#include "ncnn/layers/layer_checks.h"

namespace uprez::ncnn {

// True when shapes `a` and `b`, aligned at their last axes, agree on every axis or have 1 there.
inline bool broadcastable(torch::IntArrayRef a, torch::IntArrayRef b) {
  for (size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
    const int64_t size_a = a[a.size() - i], size_b = b[b.size() - i];
    if (size_a != size_b && size_a != 1 && size_b != 1) return false;
  }
  return true;
}

// A layer that maps one blob to one blob of the same shape, element by element.
class ElementwiseLayer : public Layer {
 public:
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const final {
    expect_input_count(*this, inputs, 1);
    return {apply(inputs[0])};
  }

 protected:
  virtual torch::Tensor apply(const torch::Tensor& blob) const = 0;
};

}  // namespace uprez::ncnn
