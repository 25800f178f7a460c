// ncnn's InnerProduct (fully connected): 0 num_output, 1 bias_term, 2 weight_data_size, 9/10 fused activation.
// A 2-D (h, w) blob whose width is the input size maps each row, giving (h, num_output); any other blob is
// flattened into one input vector, giving (num_output). Weights are (num_output, inputs), then num_output biases.
// int8 models (param 8) are refused.
#include "ncnn/fused_activation.h"
#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace inner_product {

class InnerProduct final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    num_output_ = params.get_int(0, 0);
    bias_term_ = params.get_int(1, 0) != 0;
    const int64_t weight_data_size = params.get_int(2, 0);
    if (params.get_int(8, 0) != 0) params.fail(8, "int8 quantized inner products are not supported");
    activation_ = FusedActivation::load(params);
    if (num_output_ <= 0) params.fail(0, "num_output must be positive");
    if (weight_data_size <= 0 || weight_data_size % num_output_ != 0)
      params.fail(2, "weight_data_size " + std::to_string(weight_data_size) +
                         " is not a positive multiple of num_output " + std::to_string(num_output_));
    num_input_ = weight_data_size / num_output_;
  }

  void load_model(ModelBin& bin) override {
    weight_ = bin.load(num_output_ * num_input_, 0).view({num_output_, num_input_});
    if (bias_term_) bias_ = bin.load(num_output_, 1);
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    weight_ = weight_.to(device, dtype);
    if (bias_.defined()) bias_ = bias_.to(device, dtype);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    const bool row_wise = input.dim() == 2 && input.size(1) == num_input_;
    if (!row_wise && input.numel() != num_input_)
      layer_error(*this, "expects " + std::to_string(num_input_) + " values (or rows of them), got shape " +
                               shape_text(input));
    const torch::Tensor rows = row_wise ? input : input.reshape({num_input_});
    return {activation_.apply(torch::linear(rows, weight_, bias_))};
  }

 private:
  int64_t num_output_ = 0;
  int64_t num_input_ = 0;
  bool bias_term_ = false;
  FusedActivation activation_;
  torch::Tensor weight_, bias_;
};

}  // namespace inner_product

std::unique_ptr<Layer> make_inner_product_layer() { return std::make_unique<inner_product::InnerProduct>(); }

}  // namespace uprez::ncnn
