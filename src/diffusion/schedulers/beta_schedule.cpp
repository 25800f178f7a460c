#include "diffusion/schedulers/beta_schedule.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace uprez {
namespace beta_schedule {

// JsonConfig reads no list of floats, so trained_betas comes from the file itself; the field is marked as read.
std::vector<double> read_trained_betas(JsonConfig& config, int64_t count) {
  const bool given = !config.is_null("trained_betas");
  config.ignore({"trained_betas"});
  if (!given) return {};
  std::ifstream in(config.path());
  const nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("trained_betas"))
    throw Error(config.field("trained_betas") + " could not be read again from the file");
  const nlohmann::json& list = json.at("trained_betas");
  const bool numbers =
      list.is_array() && std::all_of(list.begin(), list.end(), [](const nlohmann::json& v) { return v.is_number(); });
  if (!numbers) throw Error(config.field("trained_betas") + " must be a list of numbers");
  if (static_cast<int64_t>(list.size()) != count)
    throw Error(config.field("trained_betas") + " has " + std::to_string(list.size()) +
                " values, num_train_timesteps is " + std::to_string(count));
  return list.get<std::vector<double>>();
}

// diffusers' betas_for_alpha_bar with the cosine alpha_bar, in double as Python computes it, then float32.
torch::Tensor squaredcos_cap_v2(int64_t count) {
  const auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  std::vector<double> betas;
  for (int64_t i = 0; i < count; ++i) {
    const double t1 = static_cast<double>(i) / static_cast<double>(count);
    const double t2 = static_cast<double>(i + 1) / static_cast<double>(count);
    betas.push_back(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return torch::tensor(betas, torch::kFloat64).to(torch::kFloat32);
}

}  // namespace beta_schedule

BetaSchedule BetaSchedule::read(JsonConfig& config, bool allow_sigmoid) {
  BetaSchedule s;
  s.num_train_timesteps = config.integer("num_train_timesteps", s.num_train_timesteps);
  if (s.num_train_timesteps < 1) throw Error(config.field("num_train_timesteps") + " must be positive");
  s.beta_start = config.number("beta_start", s.beta_start);
  s.beta_end = config.number("beta_end", s.beta_end);
  if (allow_sigmoid)
    config.require("beta_schedule", {"linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"});
  else
    config.require("beta_schedule", {"linear", "scaled_linear", "squaredcos_cap_v2"});
  s.beta_schedule = config.string("beta_schedule", s.beta_schedule);
  s.trained_betas = beta_schedule::read_trained_betas(config, s.num_train_timesteps);
  s.rescale_betas_zero_snr = config.boolean("rescale_betas_zero_snr", s.rescale_betas_zero_snr);
  return s;
}

torch::Tensor BetaSchedule::betas() const {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor betas;
  if (!trained_betas.empty())
    betas = torch::tensor(trained_betas, torch::kFloat64).to(torch::kFloat32);
  else if (beta_schedule == "linear")
    betas = torch::linspace(beta_start, beta_end, num_train_timesteps, f32);
  else if (beta_schedule == "scaled_linear")
    betas = torch::linspace(std::pow(beta_start, 0.5), std::pow(beta_end, 0.5), num_train_timesteps, f32).pow(2);
  else if (beta_schedule == "squaredcos_cap_v2")
    betas = beta_schedule::squaredcos_cap_v2(num_train_timesteps);
  else if (beta_schedule == "sigmoid")
    betas = torch::sigmoid(torch::linspace(-6, 6, num_train_timesteps, f32)) * (beta_end - beta_start) + beta_start;
  else
    throw Error("beta_schedule \"" + beta_schedule + "\" is not supported by uprez");
  return rescale_betas_zero_snr ? rescale_zero_terminal_snr(betas) : betas;
}

torch::Tensor BetaSchedule::alphas_cumprod() const { return torch::cumprod(1.0 - betas(), 0); }

torch::Tensor rescale_zero_terminal_snr(const torch::Tensor& betas) {
  torch::Tensor alphas_bar_sqrt = torch::cumprod(1.0 - betas, 0).sqrt();
  const torch::Tensor first = alphas_bar_sqrt[0].clone();
  const torch::Tensor last = alphas_bar_sqrt[-1].clone();
  alphas_bar_sqrt -= last;
  alphas_bar_sqrt *= first / (first - last);
  const torch::Tensor alphas_bar = alphas_bar_sqrt.pow(2);
  const int64_t n = alphas_bar.size(0);
  const torch::Tensor alphas =
      torch::cat({alphas_bar.slice(0, 0, 1), alphas_bar.slice(0, 1, n) / alphas_bar.slice(0, 0, n - 1)});
  return 1 - alphas;
}

torch::Tensor alpha_product_at(const torch::Tensor& alphas_cumprod, int64_t t, const std::string& path) {
  if (t < 0 || t >= alphas_cumprod.size(0))
    throw Error(path + ": timestep " + std::to_string(t) + " is outside the schedule's 0.." +
                std::to_string(alphas_cumprod.size(0) - 1));
  return alphas_cumprod[t];
}

}  // namespace uprez
