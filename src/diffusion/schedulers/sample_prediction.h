// How diffusers' DDIM and DDPM schedulers read the model's output (prediction_type epsilon | v_prediction | sample)
// and bound the predicted clean sample (clip_sample, or dynamic thresholding), with the same tensor operations.
#pragma once
#include <torch/torch.h>

#include <string>

#include "diffusion/model/json_config.h"

namespace uprez {

struct SamplePrediction {
  std::string prediction_type = "epsilon";
  bool clip_sample = true;
  double clip_sample_range = 1.0;
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;

  // Reads the six fields with diffusers' defaults; another prediction_type is an Error naming the field.
  static SamplePrediction read(JsonConfig& config);

  // The predicted clean sample x0 before bounding; `alpha_prod_t` is alphas_cumprod[t] (0-dim float32).
  torch::Tensor original_sample(const torch::Tensor& model_output, const torch::Tensor& sample,
                                const torch::Tensor& alpha_prod_t) const;
  // The predicted noise, from the same (unbounded) prediction.
  torch::Tensor epsilon(const torch::Tensor& model_output, const torch::Tensor& sample,
                        const torch::Tensor& alpha_prod_t) const;
  // x0 thresholded (thresholding) or clamped to ±clip_sample_range (clip_sample), else as it is.
  torch::Tensor bound(const torch::Tensor& original) const;

 private:
  torch::Tensor threshold(const torch::Tensor& original) const;
};

}  // namespace uprez
