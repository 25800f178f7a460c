// Reading and writing NumPy .npy arrays, the format of the conformance program's inputs and outputs.
#pragma once

#include <string>

#include <torch/types.h>

namespace uprez {

// Reads a .npy file (format version 1, 2 or 3; little-endian f4, f2, f8, i8, i4, u1 or b1; C order) into a CPU
// tensor of that dtype. Throws Error("<path>: ...") for anything else or a malformed file.
torch::Tensor read_npy(const std::string& path);

// Writes `tensor` (any device and dtype) as a float32 .npy file; throws Error("<path>: ...") on failure.
void write_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace uprez
