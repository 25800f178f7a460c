// Eltwise: element-wise product (op_type 0), sum (1) or maximum (2) of two or more blobs of one shape (parameter
// 0). A sum may weight each blob by a coefficient (parameter 1, an array with one value per input blob).
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace eltwise {

enum class EltwiseOp { kProduct = 0, kSum = 1, kMax = 2 };

class EltwiseLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    const int op = params.get_int(0, 0);
    if (op < 0 || op > 2) params.fail(0, "unsupported op_type " + std::to_string(op) + " (0 prod, 1 sum, 2 max)");
    op_ = static_cast<EltwiseOp>(op);
    coefficients_ = params.get_floats(1);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    if (inputs.size() < 2) layer_error(*this, "expects at least 2 input blobs, got " + std::to_string(inputs.size()));
    for (const torch::Tensor& blob : inputs)
      if (!blob.sizes().equals(inputs[0].sizes()))
        layer_error(*this, "blobs of shapes " + shape_text(inputs[0]) + " and " + shape_text(blob) + " differ");
    check_coefficients(inputs.size());
    return {combine(inputs)};
  }

  // Maps of one shape and layout combine the same way (their zero padding channels stay zero).
  MapUse map_use() const override { return MapUse::WhenMapped; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    if (inputs.size() < 2) return {};
    std::vector<torch::Tensor> data;
    for (const FeatureMap& map : inputs) {
      if (map.blocked() != inputs[0].blocked() || !map.data().sizes().equals(inputs[0].data().sizes())) return {};
      data.push_back(map.data());
    }
    check_coefficients(inputs.size());
    return {inputs[0].map([&](const torch::Tensor&) { return combine(data); })};
  }

  // A sum of two blobs folds into the convolution producing one of them.
  std::optional<Epilogue> epilogue() const override {
    if (op_ != EltwiseOp::kSum || coefficients_.size() == 1) return std::nullopt;
    Epilogue epilogue;
    epilogue.weighted_sum = true;
    if (coefficients_.size() >= 2) epilogue.coefficients = {coefficients_[0], coefficients_[1]};
    return epilogue;
  }

 private:
  bool weighted() const { return op_ == EltwiseOp::kSum && !coefficients_.empty(); }

  void check_coefficients(size_t input_count) const {
    if (weighted() && coefficients_.size() < input_count)
      layer_error(*this, std::to_string(coefficients_.size()) + " coefficients for " + std::to_string(input_count) +
                             " input blobs");
  }

  // The operation over tensors of one shape.
  torch::Tensor combine(const std::vector<torch::Tensor>& inputs) const {
    torch::Tensor result = weighted() ? inputs[0] * coefficients_[0] : inputs[0];
    for (size_t b = 1; b < inputs.size(); ++b) {
      switch (op_) {
        case EltwiseOp::kProduct: result = result * inputs[b]; break;
        case EltwiseOp::kSum: result = torch::add(result, inputs[b], weighted() ? coefficients_[b] : 1.f); break;
        case EltwiseOp::kMax: result = torch::maximum(result, inputs[b]); break;
      }
    }
    return result;
  }

  EltwiseOp op_ = EltwiseOp::kProduct;
  std::vector<float> coefficients_;
};

}  // namespace eltwise

std::unique_ptr<Layer> make_eltwise_layer() { return std::make_unique<eltwise::EltwiseLayer>(); }

}  // namespace uprez::ncnn
