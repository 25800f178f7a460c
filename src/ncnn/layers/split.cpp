// Split: one input blob handed on as each of the layer's outputs (the same tensor or map, not copies).
#include "core/error.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace split {

class SplitLayer : public Layer {
 public:
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    if (inputs.size() != 1) throw Error(context + ": takes one input, got " + std::to_string(inputs.size()));
    return std::vector<torch::Tensor>(static_cast<size_t>(output_count), inputs[0]);
  }

  MapUse map_use() const override { return MapUse::WhenMapped; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    if (inputs.size() != 1) return {};
    return std::vector<FeatureMap>(static_cast<size_t>(output_count), inputs[0]);
  }
};

}  // namespace split

std::unique_ptr<Layer> make_split_layer() { return std::make_unique<split::SplitLayer>(); }

}  // namespace uprez::ncnn
