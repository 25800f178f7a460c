// Concat: the input blobs joined along `axis` (parameter 0, default 0; negative counts from the last axis). The
// blobs must have the same dims and agree on every other axis. As in ncnn, 1-dim blobs join along their only
// axis whatever `axis` says.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace concat {

class ConcatLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override { axis_ = params.get_int(0, 0); }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    if (inputs.empty()) layer_error(*this, "expects at least 1 input blob");
    const torch::Tensor& first = inputs[0];
    expect_mat_dims(*this, first);
    const int64_t dims = first.dim();
    const int64_t axis = dims == 1 ? 0 : axis_ < 0 ? axis_ + dims : axis_;
    if (axis < 0 || axis >= dims)
      layer_error(*this, "axis " + std::to_string(axis_) + " is out of range for a blob of shape " + shape_text(first));
    for (const torch::Tensor& blob : inputs) {
      bool fits = blob.dim() == dims;
      for (int64_t other = 0; fits && other < dims; ++other)
        fits = other == axis || blob.size(other) == first.size(other);
      if (!fits)
        layer_error(*this, "cannot join blobs of shapes " + shape_text(first) + " and " + shape_text(blob) +
                               " along axis " + std::to_string(axis));
    }
    return {torch::cat(inputs, axis)};
  }

  // Channel concatenation of (c, h, w) blobs; other shapes and axes take the tensor path.
  MapUse map_use() const override { return axis_ == 0 || axis_ == -3 ? MapUse::WhenMapped : MapUse::Never; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    for (const FeatureMap& map : inputs)
      if (map.height() != inputs[0].height() || map.width() != inputs[0].width()) return {};
    return {FeatureMap::cat(inputs)};
  }

 private:
  int axis_ = 0;
};

}  // namespace concat

std::unique_ptr<Layer> make_concat_layer() { return std::make_unique<concat::ConcatLayer>(); }

}  // namespace uprez::ncnn
