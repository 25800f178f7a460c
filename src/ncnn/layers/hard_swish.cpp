// HardSwish: 0 below lower = -beta / alpha, x above upper = 1 / alpha + lower, else x * (x * alpha + beta).
// alpha and beta are parameters 0 and 1 (ncnn's defaults 0.2 and 0.5; PyTorch's hardswish is 1/6 and 0.5).
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace hard_swish {

class HardSwishLayer : public ElementwiseLayer {
 public:
  void load_param(const ParamDict& params) override {
    alpha_ = params.get_float(0, 0.2f);
    beta_ = params.get_float(1, 0.5f);
    lower_ = -beta_ / alpha_;
    upper_ = 1.f / alpha_ + lower_;
  }

 protected:
  torch::Tensor apply(const torch::Tensor& blob) const override {
    const torch::Tensor middle = blob * (blob * alpha_ + beta_);
    return torch::where(blob < lower_, torch::zeros_like(blob), torch::where(blob > upper_, blob, middle));
  }

 private:
  float alpha_ = 0.2f, beta_ = 0.5f;
  float lower_ = -2.5f, upper_ = 2.5f;
};

}  // namespace hard_swish

std::unique_ptr<Layer> make_hard_swish_layer() { return std::make_unique<hard_swish::HardSwishLayer>(); }

}  // namespace uprez::ncnn
