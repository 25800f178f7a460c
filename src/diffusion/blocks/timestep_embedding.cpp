#include "diffusion/blocks/timestep_embedding.h"

#include <cmath>

namespace uprez {

torch::Tensor timestep_features(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos, double shift) {
  const int64_t half = dim / 2;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(timesteps.device());
  torch::Tensor exponent = torch::arange(0, half, f32) * static_cast<float>(-std::log(10000.0));
  exponent = exponent / static_cast<float>(half - shift);
  torch::Tensor emb = timesteps.to(torch::kFloat32).unsqueeze(1) * torch::exp(exponent).unsqueeze(0);
  emb = flip_sin_to_cos ? torch::cat({torch::cos(emb), torch::sin(emb)}, -1)
                        : torch::cat({torch::sin(emb), torch::cos(emb)}, -1);
  if (dim % 2 == 1) emb = torch::constant_pad_nd(emb, {0, 1, 0, 0}, 0);
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim) {
  linear_1 = register_module("linear_1", FastLinear(in_channels, time_embed_dim));
  linear_2 = register_module("linear_2", FastLinear(time_embed_dim, time_embed_dim));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& x) {
  return linear_2->forward(torch::silu(linear_1->forward(x)));
}

}  // namespace uprez
