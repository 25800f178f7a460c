#include "diffusion/noise_source.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "nn/load_weights.h"

namespace uprez {

SeededNoise::SeededNoise(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

torch::Tensor SeededNoise::randn(torch::IntArrayRef shape, const std::string& role) {
  return torch::randn(shape, generator_, torch::TensorOptions().dtype(torch::kFloat32));
}

RecordedNoise::RecordedNoise(std::vector<torch::Tensor> draws, std::vector<std::string> roles)
    : draws_(std::move(draws)), roles_(std::move(roles)) {}

torch::Tensor RecordedNoise::randn(torch::IntArrayRef shape, const std::string& role) {
  if (next_ >= draws_.size())
    throw Error("random draw #" + std::to_string(next_) + " (" + role + ") was not recorded");
  const torch::Tensor& draw = draws_[next_];
  if (next_ < roles_.size() && roles_[next_] != role)
    throw Error("random draw #" + std::to_string(next_) + " is " + roles_[next_] + " in the recording, " + role +
                " here");
  if (draw.sizes() != shape)
    throw Error("random draw #" + std::to_string(next_) + " (" + role + ") has shape " + shape_string(draw.sizes()) +
                ", the pipeline asks for " + shape_string(shape));
  ++next_;
  return draw.to(torch::kFloat32);
}

}  // namespace uprez
