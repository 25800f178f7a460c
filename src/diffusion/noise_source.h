// Where a pipeline's random draws come from: LibTorch's CPU generator seeded as dgenerate seeds it (so a seed gives
// diffusers' image), or a recorded list of draws replayed in order (the conformance fixtures).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace uprez {

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // A unit-normal tensor of `shape` on the CPU in float32, the next draw in the pipeline's order. `role` names the
  // draw ("low_res_noise", "initial_latents", "ddim_variance_noise" ...) for messages.
  virtual torch::Tensor randn(torch::IntArrayRef shape, const std::string& role) = 0;
};

// torch.Generator('cpu').manual_seed(seed) and torch.randn(shape, generator=..., dtype=float32), in order.
class SeededNoise : public NoiseSource {
 public:
  explicit SeededNoise(uint64_t seed);
  torch::Tensor randn(torch::IntArrayRef shape, const std::string& role) override;

 private:
  torch::Generator generator_;
};

// Replays recorded draws in order; throws Error when a draw is missing or its shape differs.
class RecordedNoise : public NoiseSource {
 public:
  explicit RecordedNoise(std::vector<torch::Tensor> draws, std::vector<std::string> roles = {});
  torch::Tensor randn(torch::IntArrayRef shape, const std::string& role) override;
  size_t used() const { return next_; }

 private:
  std::vector<torch::Tensor> draws_;
  std::vector<std::string> roles_;
  size_t next_ = 0;
};

}  // namespace uprez
