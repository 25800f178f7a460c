// Scale: every element multiplied by the scale of its index along the blob's outermost axis (per element of a
// 1-dim blob, per row of a 2-dim blob, per channel of a 3- or 4-dim blob), plus an optional bias. scale_data_size
// (parameter 0) scales and, with bias_term (parameter 1), as many biases are read from the .bin (raw fp32).
// scale_data_size -233 takes the scales from a second input blob instead (waifu2x's squeeze-and-excitation);
// ncnn has no bias then.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace scale {

constexpr int kScaleFromSecondBlob = -233;

class ScaleLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    scale_count_ = params.get_int(0, 0);
    has_bias_ = params.get_int(1, 0) != 0;
    if (scale_count_ != kScaleFromSecondBlob && scale_count_ < 1)
      params.fail(0, "scale_data_size must be at least 1 or -233, got " + std::to_string(scale_count_));
    if (scale_count_ == kScaleFromSecondBlob && has_bias_)
      params.fail(1, "bias_term is not supported with scale_data_size -233 (ncnn has no bias data then)");
  }

  void load_model(ModelBin& bin) override {
    if (scale_count_ == kScaleFromSecondBlob) return;
    scales_ = bin.load(scale_count_, 1);
    if (has_bias_) biases_ = bin.load(scale_count_, 1);
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    if (scales_.defined()) scales_ = scales_.to(device, dtype);
    if (biases_.defined()) biases_ = biases_.to(device, dtype);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const bool scales_from_blob = scale_count_ == kScaleFromSecondBlob;
    expect_input_count(*this, inputs, scales_from_blob ? 2 : 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    const torch::Tensor scales = scales_from_blob ? inputs[1].reshape(-1) : scales_;
    if (scales.numel() != blob.size(0))
      layer_error(*this, std::to_string(scales.numel()) + " scales do not fit a blob of shape " + shape_text(blob));

    // (n) -> (n, 1, ...): one value per index of the outermost axis.
    std::vector<int64_t> per_outer_axis(blob.dim(), 1);
    per_outer_axis[0] = blob.size(0);
    torch::Tensor scaled = blob * scales.view(per_outer_axis);
    if (biases_.defined()) scaled.add_(biases_.view(per_outer_axis));
    return {scaled};
  }

 private:
  int scale_count_ = 0;
  bool has_bias_ = false;
  torch::Tensor scales_, biases_;
};

}  // namespace scale

std::unique_ptr<Layer> make_scale_layer() { return std::make_unique<scale::ScaleLayer>(); }

}  // namespace uprez::ncnn
