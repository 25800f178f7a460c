#include "diffusion/schedulers/sample_prediction.h"

namespace uprez {

SamplePrediction SamplePrediction::read(JsonConfig& config) {
  SamplePrediction p;
  config.require("prediction_type", {"epsilon", "v_prediction", "sample"});
  p.prediction_type = config.string("prediction_type", p.prediction_type);
  p.clip_sample = config.boolean("clip_sample", p.clip_sample);
  p.clip_sample_range = config.number("clip_sample_range", p.clip_sample_range);
  p.thresholding = config.boolean("thresholding", p.thresholding);
  p.dynamic_thresholding_ratio = config.number("dynamic_thresholding_ratio", p.dynamic_thresholding_ratio);
  p.sample_max_value = config.number("sample_max_value", p.sample_max_value);
  return p;
}

// Each formula is diffusers' own, operation for operation, so that float32 results agree to the bit.
torch::Tensor SamplePrediction::original_sample(const torch::Tensor& model_output, const torch::Tensor& sample,
                                                const torch::Tensor& alpha_prod_t) const {
  const torch::Tensor beta_prod_t = 1 - alpha_prod_t;
  if (prediction_type == "epsilon") return (sample - beta_prod_t.pow(0.5) * model_output) / alpha_prod_t.pow(0.5);
  if (prediction_type == "v_prediction") return alpha_prod_t.pow(0.5) * sample - beta_prod_t.pow(0.5) * model_output;
  return model_output;
}

torch::Tensor SamplePrediction::epsilon(const torch::Tensor& model_output, const torch::Tensor& sample,
                                        const torch::Tensor& alpha_prod_t) const {
  const torch::Tensor beta_prod_t = 1 - alpha_prod_t;
  if (prediction_type == "epsilon") return model_output;
  if (prediction_type == "v_prediction") return alpha_prod_t.pow(0.5) * model_output + beta_prod_t.pow(0.5) * sample;
  return (sample - alpha_prod_t.pow(0.5) * model_output) / beta_prod_t.pow(0.5);
}

torch::Tensor SamplePrediction::bound(const torch::Tensor& original) const {
  if (thresholding) return threshold(original);
  if (clip_sample) return original.clamp(-clip_sample_range, clip_sample_range);
  return original;
}

// Imagen's dynamic thresholding as diffusers' _threshold_sample: per batch entry, s = the ratio's quantile of |x0|
// clamped to [1, sample_max_value]; x0 clamped to ±s and divided by s (in float32 for half-precision samples).
torch::Tensor SamplePrediction::threshold(const torch::Tensor& original) const {
  torch::Tensor x = original;
  if (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kFloat64) x = x.to(torch::kFloat32);
  x = x.reshape({x.size(0), -1});
  torch::Tensor s = torch::quantile(x.abs(), dynamic_thresholding_ratio, 1);
  s = torch::clamp(s, 1, sample_max_value).unsqueeze(1);
  x = torch::clamp(x, -s, s) / s;
  return x.reshape(original.sizes()).to(original.scalar_type());
}

}  // namespace uprez
