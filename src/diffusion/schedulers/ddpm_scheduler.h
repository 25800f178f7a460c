// diffusers' DDPMScheduler (scheduling_ddpm.py, 0.32.2): the x4 upscaler's low-res noising (add_noise) and a
// sampler of its own. Coefficients are 0-dim float32 tensors and each step is diffusers' sequence of tensor
// operations, so float32 results agree to the bit, in the sample's own dtype and device.
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

class DdpmScheduler {
 public:
  // Reads every field of a DDPMScheduler config and finish()es it: unknown fields and unsupported values
  // (variance_type "learned", "learned_range", "fixed_large_log") are Errors naming the file and field.
  static DdpmScheduler from_config(JsonConfig& config);

  // Picks `steps` timesteps (Error naming the config when steps is not in 1..num_train_timesteps).
  void set_timesteps(int64_t steps);
  // Decreasing; all training timesteps until set_timesteps is called.
  const std::vector<int64_t>& timesteps() const { return timesteps_; }
  double init_noise_sigma() const { return 1.0; }
  torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t /*timestep*/) const { return sample; }

  // sqrt(ac) * original + sqrt(1 - ac) * noise with ac = alphas_cumprod[timesteps] (one int64 timestep per batch
  // entry, or one for all), computed in the original's dtype and device as diffusers does.
  torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                          const torch::Tensor& timesteps) const;

  // x_{t-1} from the model output at `timestep`; for timestep > 0 it draws the variance noise (model_output's
  // shape, role "ddpm_variance_noise") from `noise`.
  torch::Tensor step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample,
                     NoiseSource& noise) const;

  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  const BetaSchedule& schedule() const { return schedule_; }
  const SamplePrediction& prediction() const { return prediction_; }

 private:
  // The timestep after `timestep` in timesteps() (-1 after the last); timestep - 1 before set_timesteps.
  int64_t previous_timestep(int64_t timestep) const;
  torch::Tensor alpha_prod_prev(int64_t timestep) const;
  // What multiplies the unit noise: the standard deviation of diffusers' _get_variance for variance_type.
  torch::Tensor noise_scale(int64_t timestep) const;

  std::string path_;
  BetaSchedule schedule_;
  SamplePrediction prediction_;
  TimestepSpacing spacing_;
  std::string variance_type_ = "fixed_small";
  torch::Tensor alphas_cumprod_;     // float32, CPU
  int64_t num_inference_steps_ = 0;  // 0 until set_timesteps
  std::vector<int64_t> timesteps_;
};

}  // namespace uprez
