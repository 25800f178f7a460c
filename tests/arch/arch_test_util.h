// Helpers for architecture tests: state dicts made from freshly initialised networks, key renaming, inputs.
#pragma once

#include <functional>
#include <string>

#include <torch/torch.h>

#include "io/state_dict.h"

namespace uprez::test {

// Every parameter and buffer of `module` under its dotted name, as PyTorch's state_dict() would list them.
inline StateDict state_dict_of(torch::nn::Module& module) {
  StateDict state;
  for (const auto& parameter : module.named_parameters())
    state.set(parameter.key(), parameter.value().detach().clone());
  for (const auto& buffer : module.named_buffers()) state.set(buffer.key(), buffer.value().detach().clone());
  return state;
}

// `state` with every key passed through `rename`.
inline StateDict renamed(const StateDict& state, const std::function<std::string(const std::string&)>& rename) {
  StateDict result;
  for (const std::string& key : state.keys()) result.set(rename(key), state.at(key));
  return result;
}

// A (1, channels, height, width) image in [0, 1], reproducible per seed.
inline torch::Tensor random_image(int64_t channels, int64_t height, int64_t width, uint64_t seed = 7) {
  torch::manual_seed(seed);
  return torch::rand({1, channels, height, width});
}

inline double max_abs_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace uprez::test
