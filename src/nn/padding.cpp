#include "nn/padding.h"

#include <algorithm>

#include "nn/any_dtype.h"

namespace uprez {

namespace F = torch::nn::functional;

torch::Tensor pad_any_dtype(const torch::Tensor& x, const F::PadFuncOptions& options) {
  const bool constant = c10::get_if<torch::enumtype::kConstant>(&options.mode()) != nullptr;
  if (constant || !reduced_precision_on_cpu(x)) return F::pad(x, options);
  return F::pad(x.to(torch::kFloat), options).to(x.scalar_type());
}

torch::Tensor pad_right_bottom(const torch::Tensor& image, int64_t pad_width, int64_t pad_height) {
  const int64_t reflect_width = std::min(pad_width, image.size(-1) - 1);
  const int64_t reflect_height = std::min(pad_height, image.size(-2) - 1);
  torch::Tensor padded = image;
  if (reflect_width > 0 || reflect_height > 0)
    padded = pad_any_dtype(padded, F::PadFuncOptions({0, reflect_width, 0, reflect_height}).mode(torch::kReflect));
  const int64_t replicate_width = pad_width - reflect_width;
  const int64_t replicate_height = pad_height - reflect_height;
  if (replicate_width > 0 || replicate_height > 0)
    padded = pad_any_dtype(padded,
                           F::PadFuncOptions({0, replicate_width, 0, replicate_height}).mode(torch::kReplicate));
  return padded;
}

torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple, F::PadFuncOptions::mode_t mode) {
  const int64_t pad_height = (multiple - x.size(-2) % multiple) % multiple;
  const int64_t pad_width = (multiple - x.size(-1) % multiple) % multiple;
  if (pad_height == 0 && pad_width == 0) return x;
  return pad_any_dtype(x, F::PadFuncOptions({0, pad_width, 0, pad_height}).mode(mode));
}

torch::Tensor reflect_pad_to_multiple(const torch::Tensor& x, int64_t multiple) {
  const int64_t pad_height = (multiple - x.size(-2) % multiple) % multiple;
  const int64_t pad_width = (multiple - x.size(-1) % multiple) % multiple;
  return pad_right_bottom(x, pad_width, pad_height);
}

}  // namespace uprez
