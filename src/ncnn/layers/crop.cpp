// ncnn's Crop, in three forms, on blobs of 1 to 4 dims (axes (w), (h, w), (c, h, w), (c, d, h, w)):
// - slices: 9 starts, 10 ends, 11 axes (default 0, 1, ...; negative counts from the end): numpy-style per axis,
//   negative positions counting from the end, -233 meaning the axis's start (in starts) or end (in ends), and an
//   end of 0 meaning the axis's end;
// - offsets: 0 woffset, 1 hoffset, 13 doffset, 2 coffset, with sizes 3 outw, 4 outh, 14 outd, 5 outc (-233: as
//   large as fits) capped by what is left after 6 woffset2, 7 hoffset2, 15 doffset2, 8 coffset2 at the end;
// - with none of the sizes and end offsets set: two inputs, the first cropped at the offsets to the w, h, d of the
//   second (and its c when both have the same dims).
// A window of the input's whole size returns the input whatever the offsets, as ncnn does. Windows read from blob
// data (woffset -233 with two inputs) and the expression params 19-21 are not supported.
#include <array>

#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace crop {

// ncnn's axis letters, indexing the per-axis parameters.
enum Axis { kW, kH, kD, kC };

// The ncnn axes of a blob's dimensions, in tensor order.
std::vector<Axis> blob_axes(int64_t dims) {
  switch (dims) {
    case 1: return {kW};
    case 2: return {kH, kW};
    case 3: return {kC, kH, kW};
    default: return {kC, kD, kH, kW};
  }
}

int64_t extent(const spatial::MatShape& shape, Axis axis) {
  switch (axis) {
    case kW: return shape.w;
    case kH: return shape.h;
    case kD: return shape.d;
    case kC: return shape.c;
  }
  return 0;
}

constexpr int kWhole = -233;

struct Window {
  int64_t offset = 0, size = 0;
};

class Crop final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    offsets_ = {params.get_int(0, 0), params.get_int(1, 0), params.get_int(13, 0), params.get_int(2, 0)};
    sizes_ = {params.get_int(3, 0), params.get_int(4, 0), params.get_int(14, 0), params.get_int(5, 0)};
    end_offsets_ = {params.get_int(6, 0), params.get_int(7, 0), params.get_int(15, 0), params.get_int(8, 0)};
    starts_ = params.get_ints(9);
    ends_ = params.get_ints(10);
    axes_ = params.get_ints(11);
    const auto all_zero = [](const std::array<int, 4>& values) { return values == std::array<int, 4>{0, 0, 0, 0}; };
    if (!starts_.empty() && !ends_.empty()) {
      form_ = Form::Slices;
    } else if (all_zero(sizes_) && all_zero(end_offsets_)) {
      form_ = Form::Reference;
      if (offsets_[kW] == kWhole) params.fail(0, "crop windows read from a blob (woffset -233) are not supported");
    } else {
      form_ = Form::Offsets;
    }
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, form_ == Form::Reference ? 2 : 1);
    const torch::Tensor& input = inputs[0];
    if (input.dim() < 1 || input.dim() > 4)
      layer_error(*this, "expects a blob of 1 to 4 dims, got shape " + shape_text(input));
    const std::vector<Window> windows = form_ == Form::Slices      ? slice_windows(input)
                                        : form_ == Form::Reference ? reference_windows(input, inputs[1])
                                                                   : offset_windows(input);
    bool whole = true;
    for (int64_t dim = 0; dim < input.dim(); ++dim) whole = whole && windows[dim].size == input.size(dim);
    if (whole) return {input};

    torch::Tensor output = input;
    for (int64_t dim = 0; dim < input.dim(); ++dim) {
      const Window& window = windows[dim];
      if (window.offset < 0 || window.size <= 0 || window.offset + window.size > input.size(dim))
        layer_error(*this, "window [" + std::to_string(window.offset) + ", " +
                                 std::to_string(window.offset + window.size) + ") of dim " + std::to_string(dim) +
                                 " does not fit input " + shape_text(input));
      output = output.narrow(dim, window.offset, window.size);
    }
    return {output.contiguous()};
  }

 private:
  enum class Form { Slices, Offsets, Reference };

  std::vector<Window> slice_windows(const torch::Tensor& input) const {
    const int64_t dims = input.dim();
    std::vector<Window> windows(dims);
    for (int64_t dim = 0; dim < dims; ++dim) windows[dim] = {0, input.size(dim)};
    const size_t axis_count = axes_.empty() ? static_cast<size_t>(dims) : axes_.size();
    if (starts_.size() < axis_count || ends_.size() < axis_count)
      layer_error(*this, "needs a start and an end for each of " + std::to_string(axis_count) + " axes, has " +
                               std::to_string(starts_.size()) + " and " + std::to_string(ends_.size()));
    for (size_t i = 0; i < axis_count; ++i) {
      const int64_t axis = axes_.empty() ? static_cast<int64_t>(i) : (axes_[i] < 0 ? axes_[i] + dims : axes_[i]);
      if (axis < 0 || axis >= dims)
        layer_error(*this,
                      "axis " + std::to_string(axes_[i]) + " is out of range for input " + shape_text(input));
      const int64_t length = input.size(axis);
      const int64_t start = starts_[i] == kWhole ? 0 : starts_[i];
      const int64_t end = ends_[i] == kWhole ? length : ends_[i];
      const int64_t offset = start >= 0 ? start : length + start;
      windows[axis] = {offset, std::min(length, end > 0 ? end : length + end) - offset};
    }
    return windows;
  }

  std::vector<Window> offset_windows(const torch::Tensor& input) const {
    std::vector<Window> windows;
    const std::vector<Axis> axes = blob_axes(input.dim());
    for (size_t dim = 0; dim < axes.size(); ++dim) {
      const Axis axis = axes[dim];
      const int64_t left = input.size(static_cast<int64_t>(dim)) - offsets_[axis] - end_offsets_[axis];
      windows.push_back({offsets_[axis], sizes_[axis] == kWhole ? left : std::min<int64_t>(sizes_[axis], left)});
    }
    return windows;
  }

  std::vector<Window> reference_windows(const torch::Tensor& input, const torch::Tensor& reference) const {
    const spatial::MatShape target = spatial::mat_shape(reference);
    std::vector<Window> windows;
    const std::vector<Axis> axes = blob_axes(input.dim());
    for (size_t dim = 0; dim < axes.size(); ++dim) {
      const Axis axis = axes[dim];
      const bool keeps_channels = axis == kC && target.dims != input.dim();
      windows.push_back({offsets_[axis], keeps_channels ? input.size(0) : extent(target, axis)});
    }
    return windows;
  }

  Form form_ = Form::Offsets;
  std::array<int, 4> offsets_{}, sizes_{}, end_offsets_{};  // indexed by Axis
  std::vector<int> starts_, ends_, axes_;
};

}  // namespace crop

std::unique_ptr<Layer> make_crop_layer() { return std::make_unique<crop::Crop>(); }

}  // namespace uprez::ncnn
