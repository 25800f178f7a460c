// Sinusoidal timestep features (diffusers' get_timestep_embedding / Timesteps) and the TimestepEmbedding MLP
// (linear_1, SiLU, linear_2) that turns them into the UNet's time embedding.
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "nn/fast_matmul.h"

namespace uprez {

// (N) timesteps -> (N, dim) float32: [sin | cos] (or [cos | sin] when flip_sin_to_cos) of t * 10000^(-i/(half -
// shift)), zero-padded when dim is odd; as diffusers computes it, in float32.
torch::Tensor timestep_features(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos, double shift);

class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim);
  torch::Tensor forward(const torch::Tensor& x);
  FastLinear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace uprez
