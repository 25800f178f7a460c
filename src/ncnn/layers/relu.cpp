// ReLU: x for x >= 0, else x * slope (parameter 0, default 0: plain ReLU; non-zero: leaky ReLU).
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace relu {

class ReLULayer : public ElementwiseLayer {
 public:
  void load_param(const ParamDict& params) override { slope_ = params.get_float(0, 0.f); }

  MapUse map_use() const override { return MapUse::WhenMapped; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    if (inputs.size() != 1) return {};
    return {inputs[0].map([this](const torch::Tensor& data) { return apply(data); })};
  }

  std::optional<Epilogue> epilogue() const override {
    Epilogue epilogue;
    if (slope_ == 0.f)
      epilogue.activation.relu();
    else
      epilogue.activation.leaky_relu(slope_);
    return epilogue;
  }

 protected:
  torch::Tensor apply(const torch::Tensor& blob) const override {
    return slope_ == 0.f ? torch::relu(blob) : torch::leaky_relu(blob, slope_);
  }

 private:
  float slope_ = 0.f;
};

}  // namespace relu

std::unique_ptr<Layer> make_relu_layer() { return std::make_unique<relu::ReLULayer>(); }

}  // namespace uprez::ncnn
