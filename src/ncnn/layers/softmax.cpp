// Softmax: exp(x - max) / sum(exp(x - max)) along `axis` (parameter 0, default 0; negative counts from the last
// axis; a 1-dim blob always uses its only axis). ncnn refuses a non-zero axis unless fixbug0 (parameter 1) is set:
// its original softmax handled axes of 3-dim blobs wrongly, and such .param files must be regenerated.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace softmax {

class SoftmaxLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    axis_ = params.get_int(0, 0);
    if (axis_ != 0 && params.get_int(1, 0) == 0)
      params.fail(1, "axis " + std::to_string(axis_) + " without fixbug0=1: the .param is too old, regenerate it");
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    const int64_t dims = blob.dim();
    const int64_t axis = dims == 1 ? 0 : axis_ < 0 ? axis_ + dims : axis_;
    if (axis < 0 || axis >= dims)
      layer_error(*this, "axis " + std::to_string(axis_) + " is out of range for a blob of shape " + shape_text(blob));
    return {torch::softmax(blob, axis)};
  }

 private:
  int axis_ = 0;
};

}  // namespace softmax

std::unique_ptr<Layer> make_softmax_layer() { return std::make_unique<softmax::SoftmaxLayer>(); }

}  // namespace uprez::ncnn
