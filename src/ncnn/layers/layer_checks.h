// Checks of a layer's input blobs with one-line errors that name the layer ("<param file>:<line>: <type> <name>:
// ..."), shared by every NCNN layer.
#pragma once

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

}  // namespace uprez::ncnn
