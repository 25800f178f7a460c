#include "ncnn/layers/spatial.h"

#include <algorithm>

namespace uprez::ncnn::spatial {

namespace spatial {

constexpr int kSameUpper = -233;
constexpr int kSameLower = -234;

// Splits a total border (none when negative) into (before, after), the odd pixel after (upper) or before.
std::pair<int64_t, int64_t> split_border(int64_t total, bool upper) {
  total = std::max<int64_t>(total, 0);
  return upper ? std::make_pair(total / 2, total - total / 2) : std::make_pair(total - total / 2, total / 2);
}

}  // namespace spatial

const torch::Tensor& single_input(const Layer& layer, const std::vector<torch::Tensor>& inputs) {
  expect_input_count(layer, inputs, 1);
  return inputs.front();
}

void require_image(const Layer& layer, const torch::Tensor& blob) {
  if (blob.dim() != 3) layer_error(layer, "expects a 3-D (c, h, w) blob, got shape " + shape_text(blob));
}

MatShape mat_shape(const torch::Tensor& blob) {
  MatShape shape;
  shape.dims = static_cast<int>(blob.dim());
  const auto size_from_end = [&](int64_t position) { return blob.size(blob.dim() - position); };
  if (shape.dims >= 1) shape.w = size_from_end(1);
  if (shape.dims >= 2) shape.h = size_from_end(2);
  if (shape.dims == 3) shape.c = blob.size(0);
  if (shape.dims == 4) {
    shape.d = blob.size(1);
    shape.c = blob.size(0);
  }
  return shape;
}

Borders same_borders(int64_t height, int64_t width, int64_t extent_h, int64_t extent_w, int64_t stride_h,
                     int64_t stride_w, bool upper) {
  const auto [top, bottom] = spatial::split_border(extent_h + (height - 1) / stride_h * stride_h - height, upper);
  const auto [left, right] = spatial::split_border(extent_w + (width - 1) / stride_w * stride_w - width, upper);
  return {top, bottom, left, right};
}

torch::Tensor pad_constant(const torch::Tensor& image, const Borders& borders, double value) {
  if (!borders.any()) return image;
  return torch::constant_pad_nd(image, {borders.left, borders.right, borders.top, borders.bottom}, value);
}

KernelGeometry KernelGeometry::load(const ParamDict& params) {
  KernelGeometry geometry;
  geometry.kernel_w = params.get_int(1, 0);
  geometry.kernel_h = params.get_int(11, static_cast<int>(geometry.kernel_w));
  geometry.dilation_w = params.get_int(2, 1);
  geometry.dilation_h = params.get_int(12, static_cast<int>(geometry.dilation_w));
  geometry.stride_w = params.get_int(3, 1);
  geometry.stride_h = params.get_int(13, static_cast<int>(geometry.stride_w));
  if (geometry.kernel_w <= 0 || geometry.kernel_h <= 0) params.fail(1, "kernel size must be positive");
  if (geometry.dilation_w <= 0 || geometry.dilation_h <= 0) params.fail(2, "dilation must be positive");
  if (geometry.stride_w <= 0 || geometry.stride_h <= 0) params.fail(3, "stride must be positive");

  const int pad_left = params.get_int(4, 0);
  const int pad_right = params.get_int(15, pad_left);
  const int pad_top = params.get_int(14, pad_left);
  const int pad_bottom = params.get_int(16, pad_top);
  const auto all_pads_are = [&](int value) {
    return pad_left == value && pad_right == value && pad_top == value && pad_bottom == value;
  };
  if (all_pads_are(spatial::kSameUpper)) {
    geometry.padding = Padding::SameUpper;
  } else if (all_pads_are(spatial::kSameLower)) {
    geometry.padding = Padding::SameLower;
  } else if (pad_left < 0 || pad_right < 0 || pad_top < 0 || pad_bottom < 0) {
    params.fail(4, "pads must be non-negative, or all -233 (SAME_UPPER) or all -234 (SAME_LOWER)");
  } else {
    geometry.pads = {pad_top, pad_bottom, pad_left, pad_right};
  }
  return geometry;
}

}  // namespace uprez::ncnn::spatial
