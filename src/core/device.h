// Compute devices and dtypes as users name them: "cpu", "cuda", "cuda:N"; "float32", "float16", "bfloat16".
#pragma once

#include <string>

#include <torch/types.h>

namespace uprez {

// Parses a device name; throws Error naming `what` (e.g. "device") for a malformed name or a CUDA device
// that LibTorch cannot see.
torch::Device parse_device(const std::string& name, const std::string& what = "device");

// "cuda" when LibTorch sees a GPU, else "cpu".
std::string default_device_name();

// Parses "float32" | "float16" | "bfloat16" (also "float", "half", "bf16"); throws Error naming `what`.
torch::Dtype parse_dtype(const std::string& name, const std::string& what = "dtype");
std::string dtype_name(torch::Dtype dtype);

}  // namespace uprez
