// The sampler interface a pipeline drives (set_timesteps, scale_model_input, step), and the scheduler a model
// folder or a case names, built from its class name and config.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "diffusion/model/json_config.h"
#include "diffusion/noise_source.h"

namespace uprez {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;
  virtual void set_timesteps(int64_t steps) = 0;
  virtual const std::vector<int64_t>& timesteps() const = 0;
  virtual double init_noise_sigma() const = 0;
  virtual torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t timestep) const = 0;
  // One denoising step; `eta` is DDIM's (ignored by samplers without it); random draws come from `noise`.
  virtual torch::Tensor step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample,
                             double eta, NoiseSource& noise) const = 0;
};

// "DDIMScheduler" or "DDPMScheduler" from `config` (scheduler_config.json). Throws Error naming the file for
// another class.
std::unique_ptr<Scheduler> make_scheduler(const std::string& class_name, JsonConfig config);

}  // namespace uprez
