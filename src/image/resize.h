// Image resampling: separable Lanczos-3 / bicubic (antialiased when shrinking, like PIL), exact box (area)
// averaging and nearest neighbour, on NCHW tensors and on whole Images.
#pragma once

#include <torch/types.h>

#include "image/image.h"

namespace uprez {

enum class ResizeFilter {
  Lanczos,  // Lanczos-3; when shrinking the kernel widens by the scale factor (PIL's LANCZOS)
  Area,     // each output pixel is the exact area-weighted mean of the input it covers (any factor)
  Bicubic,  // Keys cubic, a = -0.5; widened when shrinking (PIL's BICUBIC)
  Nearest,  // the input pixel under the output pixel's centre (PIL's NEAREST)
};

// Resizes a floating-point (N, C, H, W) tensor to (N, C, height, width) on its own device and dtype. Kernels are
// clipped at the borders and their weights renormalised (PIL's convention). Values are not clamped: Lanczos
// and bicubic overshoot slightly at edges. An axis whose size does not change is left exactly as it is.
torch::Tensor resize(const torch::Tensor& nchw, int width, int height, ResizeFilter filter);

// The image resized, with the same channels, bit depth and ICC profile. Alpha images are resampled with
// premultiplied colour (no dark fringes); like PIL, intermediate values are clamped to [0, 1] between the
// horizontal and vertical passes.
Image resize_image(const Image& image, int width, int height, ResizeFilter filter);

namespace detail {
// The device-independent implementation `resize` uses for tensors that are not on the CPU (one index_select
// and multiply-add per tap); exposed so that tests on CPU-only machines can check it against the CPU loops.
torch::Tensor resize_generic(const torch::Tensor& nchw, int width, int height, ResizeFilter filter);
}  // namespace detail

}  // namespace uprez
