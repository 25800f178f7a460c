#include "diffusion/schedulers/ddpm_scheduler.h"

#include <algorithm>

#include "core/error.h"

namespace uprez {

DdpmScheduler DdpmScheduler::from_config(JsonConfig& config) {
  DdpmScheduler s;
  s.path_ = config.path();
  s.schedule_ = BetaSchedule::read(config, /*allow_sigmoid=*/true);
  s.prediction_ = SamplePrediction::read(config);
  s.spacing_ = TimestepSpacing::read(config);
  // "learned*" need a model that predicts its variance; diffusers' fixed_large_log takes the square root of a log.
  config.require("variance_type", {"fixed_small", "fixed_small_log", "fixed_large"});
  s.variance_type_ = config.string("variance_type", s.variance_type_);
  config.finish();
  s.alphas_cumprod_ = s.schedule_.alphas_cumprod();
  for (int64_t t = s.schedule_.num_train_timesteps - 1; t >= 0; --t) s.timesteps_.push_back(t);
  return s;
}

void DdpmScheduler::set_timesteps(int64_t steps) {
  timesteps_ = spacing_.timesteps(schedule_.num_train_timesteps, steps, path_);
  num_inference_steps_ = steps;
}

torch::Tensor DdpmScheduler::add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                                       const torch::Tensor& timesteps) const {
  const torch::Tensor index = timesteps.to(torch::kCPU, torch::kLong).flatten();
  for (int64_t i = 0; i < index.size(0); ++i) alpha_product_at(alphas_cumprod_, index[i].item<int64_t>(), path_);
  const torch::Tensor alphas = alphas_cumprod_.to(original.device()).to(original.scalar_type());
  const torch::Tensor picked = alphas.index({index.to(original.device())});
  std::vector<int64_t> shape(std::max<int64_t>(original.dim(), 1), 1);
  shape[0] = -1;
  const torch::Tensor sqrt_alpha = picked.pow(0.5).reshape(shape);
  const torch::Tensor sqrt_one_minus_alpha = (1 - picked).pow(0.5).reshape(shape);
  return sqrt_alpha * original + sqrt_one_minus_alpha * noise;
}

int64_t DdpmScheduler::previous_timestep(int64_t timestep) const {
  if (num_inference_steps_ == 0) return timestep - 1;
  const auto at = std::find(timesteps_.begin(), timesteps_.end(), timestep);
  if (at == timesteps_.end())
    throw Error(path_ + ": timestep " + std::to_string(timestep) + " is not one of the scheduler's timesteps");
  return at + 1 == timesteps_.end() ? -1 : *(at + 1);
}

torch::Tensor DdpmScheduler::alpha_prod_prev(int64_t timestep) const {
  const int64_t prev = previous_timestep(timestep);
  return prev >= 0 ? alpha_product_at(alphas_cumprod_, prev, path_) : torch::tensor(1.0f);
}

torch::Tensor DdpmScheduler::noise_scale(int64_t timestep) const {
  const torch::Tensor alpha_prod_t = alpha_product_at(alphas_cumprod_, timestep, path_);
  const torch::Tensor alpha_prod_t_prev = alpha_prod_prev(timestep);
  const torch::Tensor current_beta_t = 1 - alpha_prod_t / alpha_prod_t_prev;
  if (variance_type_ == "fixed_large") return current_beta_t.pow(0.5);
  torch::Tensor variance = (1 - alpha_prod_t_prev) / (1 - alpha_prod_t) * current_beta_t;
  variance = torch::clamp(variance, 1e-20);
  if (variance_type_ == "fixed_small_log") return torch::exp(variance.log() * 0.5);
  return variance.pow(0.5);
}

// DDPM (arXiv 2006.11239) eqs. 6-7 as diffusers writes them: the posterior mean from x0 and x_t, plus noise.
torch::Tensor DdpmScheduler::step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample,
                                  NoiseSource& noise) const {
  const torch::Tensor alpha_prod_t = alpha_product_at(alphas_cumprod_, timestep, path_);
  const torch::Tensor alpha_prod_t_prev = alpha_prod_prev(timestep);
  const torch::Tensor beta_prod_t = 1 - alpha_prod_t;
  const torch::Tensor beta_prod_t_prev = 1 - alpha_prod_t_prev;
  const torch::Tensor current_alpha_t = alpha_prod_t / alpha_prod_t_prev;
  const torch::Tensor current_beta_t = 1 - current_alpha_t;

  const torch::Tensor pred_original =
      prediction_.bound(prediction_.original_sample(model_output, sample, alpha_prod_t));
  const torch::Tensor original_coeff = (alpha_prod_t_prev.pow(0.5) * current_beta_t) / beta_prod_t;
  const torch::Tensor current_coeff = current_alpha_t.pow(0.5) * beta_prod_t_prev / beta_prod_t;
  torch::Tensor prev_sample = original_coeff * pred_original + current_coeff * sample;
  if (timestep > 0) {
    const torch::Tensor draw = noise.randn(model_output.sizes(), "ddpm_variance_noise").to(model_output.options());
    prev_sample = prev_sample + noise_scale(timestep) * draw;
  }
  return prev_sample;
}

}  // namespace uprez
