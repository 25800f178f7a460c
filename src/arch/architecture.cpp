#include "arch/architecture.h"

#include <sstream>
#include <unordered_set>

#include "arch/detection.h"
#include "core/device.h"
#include "core/error.h"
#include "nn/load_weights.h"
#include "nn/padding.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace architecture {

int round_up_to_multiple(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

// The first parameter (or buffer) of `network`: spandrel assumes a model lives on one device in one dtype.
torch::Tensor first_tensor(const Network& network) {
  const std::vector<torch::Tensor> parameters = network.parameters();
  if (!parameters.empty()) return parameters.front();
  const std::vector<torch::Tensor> buffers = network.buffers();
  return buffers.empty() ? torch::Tensor() : buffers.front();
}

}  // namespace architecture

SizeRequirements::SizeRequirements(int minimum, int multiple_of, bool square)
    : minimum(minimum), multiple_of(multiple_of), square(square) {
  if (minimum < 0) throw Error("size requirements: minimum must be >= 0");
  if (multiple_of < 1) throw Error("size requirements: multiple_of must be >= 1");
  this->minimum = architecture::round_up_to_multiple(minimum, multiple_of);
}

std::pair<int, int> SizeRequirements::padding(int width, int height) const {
  int padded_width = architecture::round_up_to_multiple(std::max(minimum, width), multiple_of);
  int padded_height = architecture::round_up_to_multiple(std::max(minimum, height), multiple_of);
  if (square) padded_width = padded_height = std::max(padded_width, padded_height);
  return {padded_width - width, padded_height - height};
}

const char* to_string(Tiling tiling) {
  switch (tiling) {
    case Tiling::Supported: return "supported";
    case Tiling::Discouraged: return "discouraged";
    case Tiling::Internal: return "internal";
  }
  return "unknown";
}

const char* to_string(Purpose purpose) {
  switch (purpose) {
    case Purpose::SR: return "SR";
    case Purpose::FaceSR: return "FaceSR";
    case Purpose::Inpainting: return "Inpainting";
    case Purpose::Restoration: return "Restoration";
  }
  return "unknown";
}

void Model::to(torch::Device device, torch::Dtype dtype) {
  const bool supported = (dtype != torch::kFloat16 || info.supports_half) &&
                         (dtype != torch::kBFloat16 || info.supports_bfloat16);
  if (!supported) throw Error("dtype: " + info.architecture_id + " does not support " + dtype_name(dtype));
  // As PyTorch's Module.to(dtype): only floating-point tensors change dtype (index buffers stay integers).
  network->to(device);
  torch::NoGradGuard no_grad;
  for (torch::Tensor tensor : network->parameters())
    if (tensor.is_floating_point()) tensor.set_data(tensor.to(dtype));
  for (torch::Tensor tensor : network->buffers())
    if (tensor.is_floating_point()) tensor.set_data(tensor.to(dtype));
  network->eval();
}

torch::Device Model::device() const {
  const torch::Tensor tensor = architecture::first_tensor(*network);
  return tensor.defined() ? tensor.device() : torch::Device(torch::kCPU);
}

torch::Dtype Model::dtype() const {
  const torch::Tensor tensor = architecture::first_tensor(*network);
  return tensor.defined() ? tensor.scalar_type() : torch::kFloat32;
}

torch::Tensor Model::operator()(const torch::Tensor& input) const {
  if (input.dim() != 4)
    throw Error("model input must have 4 dimensions (1, C, H, W), got " + shape_string(input.sizes()));
  // NoGradGuard rather than InferenceMode: the result may be updated in place by callers outside any guard.
  torch::NoGradGuard no_grad;
  const auto height = static_cast<int>(input.size(2));
  const auto width = static_cast<int>(input.size(3));
  const auto [pad_width, pad_height] = info.size_requirements.padding(width, height);
  const bool padded = pad_width > 0 || pad_height > 0;

  torch::Tensor image = input.to(device(), dtype());
  if (padded) image = pad_right_bottom(image, pad_width, pad_height);
  torch::Tensor output = network->forward(image).clamp_(0, 1);
  if (padded) output = output.slice(2, 0, int64_t{height} * info.scale).slice(3, 0, int64_t{width} * info.scale);
  return output;
}

}  // namespace uprez
