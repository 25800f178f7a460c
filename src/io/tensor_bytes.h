// Turning raw little-endian element bytes from a model or array file into owned CPU tensors, with the
// overflow-checked size arithmetic that validating such files needs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "io/byte_reader.h"

namespace uprez {

// Bytes per element of `dtype`.
size_t element_size(torch::ScalarType dtype);

// Number of elements of `shape`; nullopt when a dimension is negative or the product overflows int64.
std::optional<int64_t> element_count(const std::vector<int64_t>& shape);

// Bytes that `count` elements of `dtype` take; nullopt when that overflows int64.
std::optional<int64_t> byte_size(int64_t count, torch::ScalarType dtype);

// A new contiguous 1-D tensor of `dtype` holding a copy of `bytes` (little-endian, any alignment; the caller
// guarantees bytes.size is a multiple of the element size). Boolean bytes are normalized to 0/1.
torch::Tensor tensor_from_bytes(ByteView bytes, torch::ScalarType dtype);

// Copies `bytes` into the contiguous CPU tensor `destination`, whose byte size must equal bytes.size;
// boolean bytes are normalized to 0/1.
void copy_bytes_into(const torch::Tensor& destination, ByteView bytes);

}  // namespace uprez
