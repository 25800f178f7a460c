#include "diffusion/schedulers/ddim_scheduler.h"

#include "core/error.h"

namespace uprez {

DdimScheduler DdimScheduler::from_config(JsonConfig& config) {
  DdimScheduler s;
  s.path_ = config.path();
  s.schedule_ = BetaSchedule::read(config);
  s.prediction_ = SamplePrediction::read(config);
  s.spacing_ = TimestepSpacing::read(config);
  const bool set_alpha_to_one = config.boolean("set_alpha_to_one", true);
  config.finish();
  s.alphas_cumprod_ = s.schedule_.alphas_cumprod();
  s.final_alpha_cumprod_ = set_alpha_to_one ? torch::tensor(1.0f) : s.alphas_cumprod_[0];
  for (int64_t t = s.schedule_.num_train_timesteps - 1; t >= 0; --t) s.timesteps_.push_back(t);
  return s;
}

void DdimScheduler::set_timesteps(int64_t steps) {
  timesteps_ = spacing_.timesteps(schedule_.num_train_timesteps, steps, path_);
  num_inference_steps_ = steps;
}

// DDIM (arXiv 2010.02502) eq. 12 as diffusers writes it, with sigma_t = eta * sqrt(variance).
torch::Tensor DdimScheduler::step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample,
                                  double eta, NoiseSource& noise) const {
  if (num_inference_steps_ == 0) throw Error(path_ + ": DDIM step before set_timesteps");
  const int64_t prev_timestep = timestep - schedule_.num_train_timesteps / num_inference_steps_;
  const torch::Tensor alpha_prod_t = alpha_product_at(alphas_cumprod_, timestep, path_);
  const torch::Tensor alpha_prod_t_prev =
      prev_timestep >= 0 ? alpha_product_at(alphas_cumprod_, prev_timestep, path_) : final_alpha_cumprod_;
  const torch::Tensor beta_prod_t = 1 - alpha_prod_t;

  const torch::Tensor pred_original =
      prediction_.bound(prediction_.original_sample(model_output, sample, alpha_prod_t));
  const torch::Tensor pred_epsilon = prediction_.epsilon(model_output, sample, alpha_prod_t);

  const torch::Tensor variance = ((1 - alpha_prod_t_prev) / beta_prod_t) * (1 - alpha_prod_t / alpha_prod_t_prev);
  const torch::Tensor std_dev_t = variance.pow(0.5) * eta;
  const torch::Tensor direction = (1 - alpha_prod_t_prev - std_dev_t.pow(2)).pow(0.5) * pred_epsilon;
  torch::Tensor prev_sample = alpha_prod_t_prev.pow(0.5) * pred_original + direction;
  if (eta > 0) {
    const torch::Tensor draw = noise.randn(model_output.sizes(), "ddim_variance_noise").to(model_output.options());
    prev_sample = prev_sample + std_dev_t * draw;
  }
  return prev_sample;
}

}  // namespace uprez
