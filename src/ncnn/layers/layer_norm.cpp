// LayerNorm: (x - mean) / sqrt(var + eps) over the innermost axes, times gamma plus beta when affine (parameter
// 2, default 1). affine_size (parameter 0) says which axes: the innermost one (always for 1- and 2-dim blobs),
// the innermost two when it equals h * w, the innermost three of a 4-dim blob otherwise. eps is parameter 1
// (default 0.001). gamma and beta (affine_size values each, raw fp32) come from the .bin.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace layer_norm {

class LayerNormLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    affine_size_ = params.get_int(0, 0);
    eps_ = params.get_float(1, 0.001f);
    affine_ = params.get_int(2, 1) != 0;
    if (affine_ && affine_size_ < 1)
      params.fail(0, "affine_size must be at least 1 with affine, got " + std::to_string(affine_size_));
  }

  void load_model(ModelBin& bin) override {
    if (!affine_) return;
    gamma_ = bin.load(affine_size_, 1);
    beta_ = bin.load(affine_size_, 1);
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    if (!affine_) return;
    gamma_ = gamma_.to(device, dtype);
    beta_ = beta_.to(device, dtype);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    const std::vector<int64_t> normalized_shape(blob.sizes().end() - normalized_axes(blob), blob.sizes().end());
    if (!affine_) return {torch::layer_norm(blob, normalized_shape, {}, {}, eps_)};
    const int64_t normalized_count = c10::multiply_integers(normalized_shape);
    if (normalized_count != affine_size_)
      layer_error(*this,
                  "affine_size " + std::to_string(affine_size_) + " does not fit a blob of shape " + shape_text(blob));
    return {
        torch::layer_norm(blob, normalized_shape, gamma_.view(normalized_shape), beta_.view(normalized_shape), eps_)};
  }

 private:
  // How many innermost axes are normalized together, chosen by affine_size as ncnn does.
  int64_t normalized_axes(const torch::Tensor& blob) const {
    const int64_t dims = blob.dim();
    const int64_t w = blob.size(-1);
    if (dims <= 2 || affine_size_ == w) return 1;
    if (dims == 3 || affine_size_ == w * blob.size(-2)) return 2;
    return 3;
  }

  int affine_size_ = 0;
  float eps_ = 0.001f;
  bool affine_ = true;
  torch::Tensor gamma_, beta_;
};

}  // namespace layer_norm

std::unique_ptr<Layer> make_layer_norm_layer() { return std::make_unique<layer_norm::LayerNormLayer>(); }

}  // namespace uprez::ncnn
