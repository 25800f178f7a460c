// Byte-exact re-implementation of Pillow 9.4's Image.resize on 8-bit images (what diffusers' VaeImageProcessor
// does to a PIL input): fixed-point separable resampling, Pillow's premultiplied RGBA/LA, its nearest neighbour.
#pragma once

#include "image/image.h"

namespace uprez {

// Pillow's resampling filters (Image.Resampling), with their supports: Box 0.5, Bilinear 1, Hamming 1,
// Bicubic 2 (a = -0.5), Lanczos 3; widened by the factor when shrinking. Nearest picks the pixel under the centre.
enum class PilFilter { Nearest, Box, Bilinear, Hamming, Bicubic, Lanczos };

// `image` (8-bit gray, gray+alpha, RGB or RGBA) resized to width x height exactly as Pillow 9.4's
// `Image.resize((width, height), resample=filter)` does it on the whole image, byte for byte: coefficients in
// double per output pixel, rounded to 22-bit fixed point, the horizontal pass (into an 8-bit intermediate) before
// the vertical, an axis whose size does not change left alone; images with alpha are resampled premultiplied
// (Pillow's RGBA -> RGBa -> RGBA, except for Nearest). The ICC profile is kept. Throws Error for a 16-bit image
// or a size below 1. (Exactness relies on plain IEEE double arithmetic: no -ffast-math, no FMA contraction.)
Image pil_resize_8bit(const Image& image, int width, int height, PilFilter filter);

}  // namespace uprez
