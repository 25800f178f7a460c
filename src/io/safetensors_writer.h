// Writes .safetensors files (the format io/safetensors.h reads): named tensors stored as F32, F16 or BF16 in the
// order given, with string metadata in "__metadata__"; the file appears atomically (temporary file, rename).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace uprez {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes `tensors` (float32, float16 or bfloat16, any device) and `metadata` to `path`. Throws Error naming
// `path` for another dtype or a failed write; an existing file is then left untouched.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace uprez
