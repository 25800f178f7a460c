// Reshape: the blob's elements in order, in a new shape. w, h, d, c are parameters 0, 1, 11, 2; the output has as
// many dims as the leading ones given (w: 1, w h: 2, w h c: 3, w h d c: 4). A size 0 keeps the input's size of
// that name (ncnn's Mat w/h/d/c), -1 takes what is left of the element count.
// permute (parameter 3, dropped in newer ncnn) reshapes channel-last instead, as Caffe-converted models expect:
// the input's outermost axis is moved innermost, the elements are reshaped to the output shape with its
// outermost axis innermost, and that axis is moved back. It does not apply when the input and output have the
// same dims and outermost size (ncnn reshapes plainly then).
#include <algorithm>
#include <map>

#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace reshape {

constexpr int kUnset = -233;
constexpr int kNoBatchAxis = 233;

// The size of the axis that ncnn names `name` ('w', 'h', 'd' or 'c') in `blob`; 1 for axes it lacks.
int64_t mat_size(const torch::Tensor& blob, char name) {
  const int64_t dims = blob.dim();
  switch (name) {
    case 'w': return blob.size(-1);
    case 'h': return dims >= 2 ? blob.size(-2) : 1;
    case 'd': return dims == 4 ? blob.size(1) : 1;
    default: return dims >= 3 ? blob.size(0) : 1;
  }
}

class ReshapeLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    const int w = params.get_int(0, kUnset), h = params.get_int(1, kUnset), d = params.get_int(11, kUnset),
              c = params.get_int(2, kUnset);
    if (w == kUnset) params.fail(0, "Reshape needs w");
    // The output axes in torch's order, by ncnn's name, with their sizes and parameter ids.
    axis_names_ = h == kUnset ? "w" : c == kUnset ? "hw" : d == kUnset ? "chw" : "cdhw";
    const std::map<char, std::pair<int, int>> size_and_id = {
        {'w', {w, 0}}, {'h', {h, 1}}, {'d', {d, 11}}, {'c', {c, 2}}};
    sizes_.clear();
    for (char name : axis_names_) {
      const auto [size, id] = size_and_id.at(name);
      if (size < -1) params.fail(id, "size " + std::to_string(size) + " is not allowed");
      if (size == -1 && std::count(sizes_.begin(), sizes_.end(), -1)) params.fail(id, "more than one size is -1");
      sizes_.push_back(size);
    }
    permute_ = params.get_int(3, 0) == 1;
    for (int batch_axis_id : {12, 13})
      if (params.get_int(batch_axis_id, kNoBatchAxis) != kNoBatchAxis)
        params.fail(batch_axis_id, "batch axes are not supported");
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 1);
    const torch::Tensor& blob = inputs[0];
    expect_mat_dims(*this, blob);
    const std::vector<int64_t> shape = output_shape(blob);
    const bool same_outer_axis = blob.dim() == static_cast<int64_t>(shape.size()) && blob.size(0) == shape[0];
    if (!permute_ || same_outer_axis) return {blob.reshape(shape)};

    std::vector<int64_t> channel_last_shape(shape.begin() + 1, shape.end());
    channel_last_shape.push_back(shape[0]);
    return {blob.movedim(0, -1).reshape(channel_last_shape).movedim(-1, 0).contiguous()};
  }

 private:
  // The output shape in torch's order, with 0 and -1 resolved as ncnn does.
  std::vector<int64_t> output_shape(const torch::Tensor& blob) const {
    std::vector<int64_t> shape;
    int64_t known_count = 1;  // the product of the sizes other than -1
    for (size_t axis = 0; axis < sizes_.size(); ++axis) {
      shape.push_back(sizes_[axis] == 0 ? mat_size(blob, axis_names_[axis]) : sizes_[axis]);
      if (shape.back() != -1) known_count *= shape.back();
    }
    int64_t count = 1;
    for (int64_t& size : shape) {
      if (size == -1) size = known_count > 0 ? blob.numel() / known_count : 0;
      count *= size;
    }
    if (count != blob.numel())
      layer_error(*this, "cannot reshape a blob of shape " + shape_text(blob) + " to " + requested_text());
    return shape;
  }

  // "(2, -1, 0)": the requested shape in torch's order, for errors.
  std::string requested_text() const {
    std::string text = "(";
    for (size_t axis = 0; axis < sizes_.size(); ++axis) text += (axis ? ", " : "") + std::to_string(sizes_[axis]);
    return text + ")";
  }

  std::string axis_names_ = "w";
  std::vector<int> sizes_;  // as given, in torch's order
  bool permute_ = false;
};

}  // namespace reshape

std::unique_ptr<Layer> make_reshape_layer() { return std::make_unique<reshape::ReshapeLayer>(); }

}  // namespace uprez::ncnn
