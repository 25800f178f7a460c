// diffusers' DDIMScheduler (scheduling_ddim.py, 0.32.2): the x4 upscaler's sampler. Every config field is honoured;
// coefficients are 0-dim float32 tensors and each step is diffusers' sequence of tensor operations, so float32
// results agree to the bit, in the sample's own dtype and device.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/model/json_config.h"
#include "diffusion/noise_source.h"
#include "diffusion/schedulers/beta_schedule.h"
#include "diffusion/schedulers/sample_prediction.h"
#include "diffusion/schedulers/timestep_spacing.h"

namespace uprez {

class DdimScheduler {
 public:
  // Reads every field of a DDIMScheduler config and finish()es it: unknown fields and unsupported values are
  // Errors naming the file and field.
  static DdimScheduler from_config(JsonConfig& config);

  // Picks `steps` timesteps (Error naming the config when steps is not in 1..num_train_timesteps).
  void set_timesteps(int64_t steps);
  // Decreasing; all training timesteps until set_timesteps is called.
  const std::vector<int64_t>& timesteps() const { return timesteps_; }
  double init_noise_sigma() const { return 1.0; }
  torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t /*timestep*/) const { return sample; }

  // x_{t-1} from the model output at `timestep` (use_clipped_model_output false). With eta > 0 it draws the
  // variance noise (model_output's shape, role "ddim_variance_noise") from `noise`; with eta = 0 it draws nothing.
  torch::Tensor step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample, double eta,
                     NoiseSource& noise) const;

  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  const BetaSchedule& schedule() const { return schedule_; }
  const SamplePrediction& prediction() const { return prediction_; }

 private:
  std::string path_;
  BetaSchedule schedule_;
  SamplePrediction prediction_;
  TimestepSpacing spacing_;
  torch::Tensor alphas_cumprod_;       // float32, CPU
  torch::Tensor final_alpha_cumprod_;  // 1, or alphas_cumprod[0] when set_alpha_to_one is false
  int64_t num_inference_steps_ = 0;    // 0 until set_timesteps
  std::vector<int64_t> timesteps_;
};

}  // namespace uprez
