// Permute: the blob's axes reordered by order_type (parameter 0). ncnn names each order by the input axes that
// become the output's axes, innermost first: for 2 dims 0 = w h (unchanged), 1 = h w; for 3 dims 0 = w h c ...
// 5 = c h w; for 4 dims 0 = w h d c ... 23 = c d h w (the tables below). 1-dim blobs pass through.
#include <string>

#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace permute {

// ncnn's order names for blobs of 2, 3 or 4 dims, innermost output axis first, indexed by order_type.
const std::vector<std::string>& order_names(int64_t dims) {
  static const std::vector<std::string> names2 = {"wh", "hw"};
  static const std::vector<std::string> names3 = {"whc", "hwc", "wch", "cwh", "hcw", "chw"};
  static const std::vector<std::string> names4 = {"whdc", "hwdc", "wdhc", "dwhc", "hdwc", "dhwc", "whcd", "hwcd",
                                                  "wchd", "cwhd", "hcwd", "chwd", "wdch", "dwch", "wcdh", "cwdh",
                                                  "dcwh", "cdwh", "hdcw", "dhcw", "hcdw", "chdw", "dchw", "cdhw"};
  return dims == 2 ? names2 : dims == 3 ? names3 : names4;
}

// The torch permutation for an order name: output axis i (outermost first) is input axis permutation[i].
std::vector<int64_t> permutation(const std::string& order) {
  const std::string torch_axes = order.size() == 2 ? "hw" : order.size() == 3 ? "chw" : "cdhw";
  std::vector<int64_t> axes;
  for (auto name = order.rbegin(); name != order.rend(); ++name)
    axes.push_back(static_cast<int64_t>(torch_axes.find(*name)));
  return axes;
}

class PermuteLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    order_type_ = params.get_int(0, 0);
    if (order_type_ < 0 || order_type_ >= static_cast<int>(order_names(4).size()))
      params.fail(0, "unsupported order_type " + std::to_string(order_type_));
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    if (blob.dim() == 1) return {blob};
    const std::vector<std::string>& names = order_names(blob.dim());
    if (static_cast<size_t>(order_type_) >= names.size())
      layer_error(*this, "order_type " + std::to_string(order_type_) + " does not exist for a blob of shape " +
                             shape_text(blob));
    return {blob.permute(permutation(names[order_type_])).contiguous()};
  }

 private:
  int order_type_ = 0;
};

}  // namespace permute

std::unique_ptr<Layer> make_permute_layer() { return std::make_unique<permute::PermuteLayer>(); }

}  // namespace uprez::ncnn
