#include "core/device.h"

#include <torch/cuda.h>

#include "core/error.h"

namespace uprez {

torch::Device parse_device(const std::string& name, const std::string& what) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    int index = 0;
    if (name.size() > 4) {
      const std::string digits = name.substr(5);
      if (name[4] != ':' || digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
          digits.size() > 3)
        throw Error(what + ": invalid device \"" + name + "\" (expected cpu, cuda or cuda:N)");
      index = std::stoi(digits);
    }
    const int count = static_cast<int>(torch::cuda::device_count());
    if (count == 0) throw Error(what + ": \"" + name + "\" requested but no CUDA device is available");
    if (index >= count)
      throw Error(what + ": \"" + name + "\" requested but only " + std::to_string(count) +
                  " CUDA device(s) are available");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error(what + ": invalid device \"" + name + "\" (expected cpu, cuda or cuda:N)");
}

std::string default_device_name() { return torch::cuda::is_available() ? "cuda" : "cpu"; }

torch::Dtype parse_dtype(const std::string& name, const std::string& what) {
  if (name == "float32" || name == "float") return torch::kFloat32;
  if (name == "float16" || name == "half") return torch::kFloat16;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  throw Error(what + ": invalid dtype \"" + name + "\" (expected float32, float16 or bfloat16)");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat64: return "float64";
    default: return std::string(c10::toString(dtype));
  }
}

}  // namespace uprez
