// Conversion between Image samples and LibTorch float tensors in [0, 1] (the models' input and output format).
#pragma once

#include <torch/types.h>

#include "image/image.h"

namespace uprez {

// A (1, channel_count, height, width) float32 CPU tensor in [0, 1] holding channels
// [first_channel, first_channel + channel_count) of `image` (8-bit samples / 255, 16-bit / 65535).
// Throws Error when the channel range is outside the image.
torch::Tensor image_to_tensor(const Image& image, int first_channel, int channel_count);

// Writes a (C, rows, width) or (1, C, rows, width) floating-point tensor of any dtype and device into rows
// [y0, y0 + rows) and channels [first_channel, first_channel + C) of `image`: values are clamped to [0, 1]
// (NaN becomes 0), scaled to the image's bit depth and rounded to nearest. Throws Error on a shape mismatch.
void store_tensor_rows(Image& image, const torch::Tensor& rows, int y0, int first_channel);

}  // namespace uprez
