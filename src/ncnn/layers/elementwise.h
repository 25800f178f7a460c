// Helpers shared by the element-wise and blob-rearranging layers: checks of the input blobs with one-line errors
// that name the layer, and the base class of the one-input activations (ReLU, Sigmoid, Clip, Swish, HardSwish).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"
#include "ncnn/layer.h"

namespace uprez::ncnn {

// "(2, 3, 4)": a blob's shape for error messages.
inline std::string shape_text(const torch::Tensor& blob) {
  std::string text = "(";
  for (int64_t axis = 0; axis < blob.dim(); ++axis) text += (axis ? ", " : "") + std::to_string(blob.size(axis));
  return text + ")";
}

// Throws Error("<context>: <message>").
[[noreturn]] inline void layer_error(const Layer& layer, const std::string& message) {
  throw Error(layer.context + ": " + message);
}

// Throws unless there are exactly `count` input blobs.
inline void expect_input_count(const Layer& layer, const std::vector<torch::Tensor>& inputs, size_t count) {
  if (inputs.size() != count)
    layer_error(layer, "expects " + std::to_string(count) + " input blob" + (count == 1 ? "" : "s") + ", got " +
                           std::to_string(inputs.size()));
}

// Throws unless `blob` has 1 to 4 dims, the shapes an ncnn Mat can have.
inline void expect_mat_dims(const Layer& layer, const torch::Tensor& blob) {
  if (blob.dim() < 1 || blob.dim() > 4) layer_error(layer, "cannot take a blob of shape " + shape_text(blob));
}

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
