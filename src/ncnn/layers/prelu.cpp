// PReLU: x for x >= 0, else x * slope. num_slope (parameter 0) slopes are read from the .bin (raw fp32); one slope
// is shared by every element, otherwise there is one per index of the blob's outermost axis (per element of a
// 1-dim blob, per row of a 2-dim blob, per channel of a 3- or 4-dim blob).
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace prelu {

class PReLULayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    slope_count_ = params.get_int(0, 0);
    if (slope_count_ < 1) params.fail(0, "num_slope must be at least 1, got " + std::to_string(slope_count_));
  }

  void load_model(ModelBin& bin) override { slopes_ = bin.load(slope_count_, 1); }

  void to(const torch::Device& device, torch::Dtype dtype) override { slopes_ = slopes_.to(device, dtype); }

  std::optional<Epilogue> epilogue() const override {
    Epilogue epilogue;
    epilogue.activation.prelu(slopes_);
    return epilogue;
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    if (slope_count_ > 1 && blob.size(0) != slope_count_)
      layer_error(*this, std::to_string(slope_count_) + " slopes do not fit a blob of shape " + shape_text(blob));
    // torch::prelu takes axis 1 as the channel axis; a leading axis of 1 puts the blob's outermost axis there.
    return {torch::prelu(blob.unsqueeze(0), slopes_).squeeze(0)};
  }

 private:
  int slope_count_ = 0;
  torch::Tensor slopes_;
};

}  // namespace prelu

std::unique_ptr<Layer> make_prelu_layer() { return std::make_unique<prelu::PReLULayer>(); }

}  // namespace uprez::ncnn
