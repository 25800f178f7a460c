#include "io/tensor_bytes.h"

#include <cstring>
#include <limits>

#include <torch/torch.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "uprez reads model files by copying their little-endian bytes, which needs a little-endian host"
#endif

namespace uprez {

size_t element_size(torch::ScalarType dtype) { return c10::elementSize(dtype); }

std::optional<int64_t> element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dimension : shape) {
    if (dimension < 0 || __builtin_mul_overflow(count, dimension, &count)) return std::nullopt;
  }
  return count;
}

std::optional<int64_t> byte_size(int64_t count, torch::ScalarType dtype) {
  int64_t bytes = 0;
  if (count < 0 || __builtin_mul_overflow(count, static_cast<int64_t>(element_size(dtype)), &bytes))
    return std::nullopt;
  return bytes;
}

torch::Tensor tensor_from_bytes(ByteView bytes, torch::ScalarType dtype) {
  const auto count = static_cast<int64_t>(bytes.size / element_size(dtype));
  torch::Tensor tensor = torch::empty({count}, torch::TensorOptions().dtype(dtype));
  copy_bytes_into(tensor, bytes);
  return tensor;
}

void copy_bytes_into(const torch::Tensor& destination, ByteView bytes) {
  if (bytes.size == 0) return;
  auto* target = static_cast<uint8_t*>(destination.data_ptr());
  std::memcpy(target, bytes.data, bytes.size);
  if (destination.scalar_type() == torch::kBool) {
    for (size_t i = 0; i < bytes.size; ++i) target[i] = target[i] != 0;
  }
}

}  // namespace uprez
