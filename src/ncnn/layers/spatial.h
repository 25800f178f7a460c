// Helpers shared by the NCNN layers that work on images (convolutions, inner product, pooling, resizing, pixel
// shuffle, cropping, padding): input checks, ncnn's view of a blob's shape, and the window
// geometry and SAME padding rules of ncnn's convolutions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ncnn/layer.h"
#include "ncnn/layers/layer_checks.h"
#include "ncnn/param_dict.h"

namespace uprez::ncnn::spatial {

// The only input of a layer that takes one blob; throws unless there is exactly one.
const torch::Tensor& single_input(const Layer& layer, const std::vector<torch::Tensor>& inputs);

// Throws unless `blob` is a 3-D (c, h, w) blob (layers that ncnn runs on images only).
void require_image(const Layer& layer, const torch::Tensor& blob);

// A blob's sizes as ncnn's Mat names them, 1 for the axes it lacks: dims 1 is (w), 2 (h, w), 3 (c, h, w),
// 4 (c, d, h, w).
struct MatShape {
  int dims = 0;
  int64_t w = 1, h = 1, d = 1, c = 1;
};
MatShape mat_shape(const torch::Tensor& blob);

// Widths of the borders around an image.
struct Borders {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  bool any() const { return top != 0 || bottom != 0 || left != 0 || right != 0; }
};

// ncnn's SAME padding (ONNX SAME_UPPER / SAME_LOWER) of a window with extent and stride over `height` x `width`:
// the total border that makes the output ceil(size / stride), its odd pixel at the bottom/right (upper) or at the
// top/left (lower).
Borders same_borders(int64_t height, int64_t width, int64_t extent_h, int64_t extent_w, int64_t stride_h,
                     int64_t stride_w, bool upper);

// A (c, h, w) image with constant borders added.
torch::Tensor pad_constant(const torch::Tensor& image, const Borders& borders, double value);

// The window of Convolution, ConvolutionDepthWise and Deconvolution: params 1 kernel_w, 11 kernel_h, 2 dilation_w,
// 12 dilation_h, 3 stride_w, 13 stride_h, 4 pad_left, 15 pad_right, 14 pad_top, 16 pad_bottom (each height value
// defaults to its width value, pad_right and pad_top to pad_left, pad_bottom to pad_top). All four pads -233 mean
// SAME_UPPER, all four -234 SAME_LOWER; otherwise they must not be negative.
struct KernelGeometry {
  enum class Padding { Explicit, SameUpper, SameLower };

  static KernelGeometry load(const ParamDict& params);

  int64_t extent_w() const { return dilation_w * (kernel_w - 1) + 1; }
  int64_t extent_h() const { return dilation_h * (kernel_h - 1) + 1; }

  int64_t kernel_w = 0, kernel_h = 0, dilation_w = 1, dilation_h = 1, stride_w = 1, stride_h = 1;
  Padding padding = Padding::Explicit;
  Borders pads;  // Padding::Explicit only
};

}  // namespace uprez::ncnn::spatial
