// Clip: every element clamped to [min, max] (parameters 0 and 1, defaults -FLT_MAX and FLT_MAX). As in ncnn, a
// min above max sets every element to max.
#include <cfloat>

#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace clip {

class ClipLayer : public ElementwiseLayer {
 public:
  void load_param(const ParamDict& params) override {
    min_ = params.get_float(0, -FLT_MAX);
    max_ = params.get_float(1, FLT_MAX);
  }

 protected:
  torch::Tensor apply(const torch::Tensor& blob) const override { return torch::clamp(blob, min_, max_); }

 private:
  float min_ = -FLT_MAX;
  float max_ = FLT_MAX;
};

}  // namespace clip

std::unique_ptr<Layer> make_clip_layer() { return std::make_unique<clip::ClipLayer>(); }

}  // namespace uprez::ncnn
