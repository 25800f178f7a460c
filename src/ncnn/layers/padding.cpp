// ncnn's Padding: 0 top, 1 bottom, 2 left, 3 right, 7 front, 8 behind; 4 type (0 constant, 1 replicate, 2 reflect
// without repeating the edge); 5 value; 6 per_channel_pad_data_size (that many constants in the .bin, one per
// output channel). (w) blobs are padded left/right, (h, w) blobs also top/bottom, (c, h, w) blobs also front/behind
// along c, and (c, d, h, w) blobs front/behind along d, the per-channel constants then indexed by c.
#include <utility>

#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace padding {

enum class PadType { Constant = 0, Replicate = 1, Reflect = 2 };

class Padding final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    top_ = params.get_int(0, 0);
    bottom_ = params.get_int(1, 0);
    left_ = params.get_int(2, 0);
    right_ = params.get_int(3, 0);
    const int type = params.get_int(4, 0);
    if (type < 0 || type > 2)
      params.fail(4, "unsupported padding type " + std::to_string(type) + " (expected 0, 1 or 2)");
    type_ = static_cast<PadType>(type);
    value_ = params.get_float(5, 0.f);
    channel_value_count_ = params.get_int(6, 0);
    front_ = params.get_int(7, 0);
    behind_ = params.get_int(8, 0);
    if (top_ < 0 || bottom_ < 0 || left_ < 0 || right_ < 0 || front_ < 0 || behind_ < 0)
      params.fail(0, "pads must not be negative");
    if (channel_value_count_ < 0) params.fail(6, "per_channel_pad_data_size must not be negative");
  }

  void load_model(ModelBin& bin) override {
    if (channel_value_count_ > 0) channel_values_ = bin.load(channel_value_count_, 1);
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    if (channel_values_.defined()) channel_values_ = channel_values_.to(device, dtype);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    if (input.dim() < 1 || input.dim() > 4)
      layer_error(*this, "expects a blob of 1 to 4 dims, got shape " + shape_text(input));
    if (top_ == 0 && bottom_ == 0 && left_ == 0 && right_ == 0 && front_ == 0 && behind_ == 0) return {input};
    const std::vector<std::pair<int64_t, int64_t>> borders = borders_by_dim(input.dim());
    switch (type_) {
      case PadType::Constant:
        if (channel_values_.defined() && input.dim() >= 3) return {pad_with_channel_values(input, borders)};
        return {torch::constant_pad_nd(input, torch_pads(borders), value_)};
      case PadType::Replicate:
      case PadType::Reflect: return {pad_from_edges(input, borders)};
    }
    return {input};
  }

 private:
  // (before, after) for each dim of a blob with `dims` dims.
  std::vector<std::pair<int64_t, int64_t>> borders_by_dim(int64_t dims) const {
    const std::pair<int64_t, int64_t> rows{top_, bottom_}, columns{left_, right_}, depth{front_, behind_};
    switch (dims) {
      case 1: return {columns};
      case 2: return {rows, columns};
      case 3: return {depth, rows, columns};
      default: return {{0, 0}, depth, rows, columns};
    }
  }

  // LibTorch's pad list: (before, after) pairs from the last dim backwards.
  static std::vector<int64_t> torch_pads(const std::vector<std::pair<int64_t, int64_t>>& borders) {
    std::vector<int64_t> pads;
    for (auto border = borders.rbegin(); border != borders.rend(); ++border) {
      pads.push_back(border->first);
      pads.push_back(border->second);
    }
    return pads;
  }

  static std::vector<int64_t> padded_shape(const torch::Tensor& input,
                                           const std::vector<std::pair<int64_t, int64_t>>& borders) {
    std::vector<int64_t> shape;
    for (int64_t dim = 0; dim < input.dim(); ++dim)
      shape.push_back(borders[dim].first + input.size(dim) + borders[dim].second);
    return shape;
  }

  // Constant padding whose value is the output channel's constant.
  torch::Tensor pad_with_channel_values(const torch::Tensor& input,
                                        const std::vector<std::pair<int64_t, int64_t>>& borders) const {
    const std::vector<int64_t> output_shape = padded_shape(input, borders);
    std::vector<int64_t> values_shape(output_shape.size(), 1);
    values_shape[0] = output_shape[0];
    if (channel_values_.size(0) < output_shape[0])
      layer_error(*this, "has " + std::to_string(channel_values_.size(0)) + " per-channel pad values for " +
                               std::to_string(output_shape[0]) + " output channels");
    torch::Tensor output =
        channel_values_.narrow(0, 0, output_shape[0]).to(input.dtype()).view(values_shape).expand(output_shape).clone();
    torch::Tensor interior = output;
    for (int64_t dim = 0; dim < input.dim(); ++dim)
      interior = interior.narrow(dim, borders[dim].first, input.size(dim));
    interior.copy_(input);
    return output;
  }

  // Replicate or reflect padding, through LibTorch's 3-D padding of a (1, n, d, h, w) view.
  torch::Tensor pad_from_edges(const torch::Tensor& input,
                               const std::vector<std::pair<int64_t, int64_t>>& borders) const {
    if (type_ == PadType::Reflect)
      for (int64_t dim = 0; dim < input.dim(); ++dim)
        if (borders[dim].first >= input.size(dim) || borders[dim].second >= input.size(dim))
          layer_error(*this, "reflect padding needs pads smaller than the input " + shape_text(input));
    std::vector<int64_t> shape5(5 - input.dim(), 1);
    std::vector<std::pair<int64_t, int64_t>> borders5(5 - input.dim(), {0, 0});
    for (int64_t dim = 0; dim < input.dim(); ++dim) shape5.push_back(input.size(dim));
    borders5.insert(borders5.end(), borders.begin(), borders.end());
    std::vector<int64_t> pads = torch_pads(borders5);
    pads.resize(6);  // the last three dims
    namespace F = torch::nn::functional;
    const auto mode = type_ == PadType::Reflect ? F::PadFuncOptions::mode_t(torch::kReflect)
                                                : F::PadFuncOptions::mode_t(torch::kReplicate);
    return F::pad(input.reshape(shape5), F::PadFuncOptions(pads).mode(mode)).view(padded_shape(input, borders));
  }

  int64_t top_ = 0, bottom_ = 0, left_ = 0, right_ = 0, front_ = 0, behind_ = 0;
  PadType type_ = PadType::Constant;
  float value_ = 0.f;
  int64_t channel_value_count_ = 0;
  torch::Tensor channel_values_;
};

}  // namespace padding

std::unique_ptr<Layer> make_padding_layer() { return std::make_unique<padding::Padding>(); }

}  // namespace uprez::ncnn
