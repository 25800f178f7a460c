// The noise schedule diffusers' DDPM-family schedulers share: betas from the config's beta_schedule (or
// trained_betas), optionally rescaled to zero terminal SNR, and the cumulative products of the alphas, computed in
// float32 the way diffusers/torch compute them.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/model/json_config.h"

namespace uprez {

struct BetaSchedule {
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  // "linear", "scaled_linear", "squaredcos_cap_v2" (and "sigmoid", which only DDPMScheduler knows).
  std::string beta_schedule = "linear";
  std::vector<double> trained_betas;  // empty: none (they replace beta_schedule when given)
  bool rescale_betas_zero_snr = false;

  // Reads the six fields with diffusers' defaults; another beta_schedule is an Error naming the field.
  static BetaSchedule read(JsonConfig& config, bool allow_sigmoid = false);

  // (num_train_timesteps,) float32 on the CPU.
  torch::Tensor betas() const;
  // cumprod(1 - betas), (num_train_timesteps,) float32 on the CPU.
  torch::Tensor alphas_cumprod() const;
};

// diffusers' rescale_zero_terminal_snr (arXiv 2305.08891, algorithm 1) on float32 betas.
torch::Tensor rescale_zero_terminal_snr(const torch::Tensor& betas);

// alphas_cumprod[t] as a 0-dim float32 tensor (what diffusers' schedulers index); a t outside the schedule is an
// Error naming `path` (the scheduler's config).
torch::Tensor alpha_product_at(const torch::Tensor& alphas_cumprod, int64_t t, const std::string& path);

}  // namespace uprez
