// Which training timesteps diffusers' DDIM and DDPM schedulers run at inference (timestep_spacing "leading" plus
// steps_offset, "trailing" or "linspace"), computed as their set_timesteps computes them with NumPy.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/model/json_config.h"

namespace uprez {

struct TimestepSpacing {
  std::string timestep_spacing = "leading";
  int64_t steps_offset = 0;  // added to the "leading" timesteps only, as in diffusers

  // Reads timestep_spacing and steps_offset; another spacing is an Error naming the field.
  static TimestepSpacing read(JsonConfig& config);

  // `steps` timesteps in decreasing order out of 0..num_train_timesteps-1. Steps outside 1..num_train_timesteps
  // are an Error naming `path` (the scheduler's config).
  std::vector<int64_t> timesteps(int64_t num_train_timesteps, int64_t steps, const std::string& path) const;
};

}  // namespace uprez
