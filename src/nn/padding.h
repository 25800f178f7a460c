// Padding for every dtype: F::pad (float32 inside for reduced precision on the CPU), spandrel's right/bottom padding
// (reflect as far as reflection reaches, then replicate) and padding to a multiple.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace uprez {

// F::pad for every dtype (reduced precision on the CPU pads in float32 and converts back: exact).
torch::Tensor pad_any_dtype(const torch::Tensor& x, const torch::nn::functional::PadFuncOptions& options);

// spandrel's pad_tensor: extends the right/bottom edge by reflection as far as reflection reaches (size - 1
// pixels), then by replicating the last row/column.
torch::Tensor pad_right_bottom(const torch::Tensor& image, int64_t pad_width, int64_t pad_height);

// spandrel's pad_to_multiple: pads right/bottom so that height and width are multiples of `multiple`.
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple,
                              torch::nn::functional::PadFuncOptions::mode_t mode);

// pad_to_multiple in reflect mode that also works for inputs smaller than the padding: reflects up to size-1
// pixels, then replicates the rest (as the descriptor pads); equal to pad_to_multiple(x, multiple, kReflect)
// wherever that works.
torch::Tensor reflect_pad_to_multiple(const torch::Tensor& x, int64_t multiple);

}  // namespace uprez
