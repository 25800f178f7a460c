// diffusers' Attention as the SD UNet and VAE use it: to_q/to_k/to_v/to_out.0 projections over heads, self- or
// cross-attention; for the VAE mid block also the group norm on the input, the residual and the output rescale.
// Scores are computed in chunks (nn/chunked_attention.h), never as one sequence x sequence matrix.
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "nn/fast_matmul.h"

namespace uprez {

struct AttentionOptions {
  int64_t query_dim = 0;
  int64_t cross_attention_dim = 0;  // 0: self-attention (keys from the query input)
  int64_t heads = 1;
  int64_t dim_head = 64;
  bool bias = false;                // to_q/to_k/to_v biases
  int64_t norm_groups = 0;          // > 0: group_norm on the input (VAE), which then is (B, C, H, W)
  double eps = 1e-5;
  bool residual_connection = false;
  double rescale_output_factor = 1.0;
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  // x (B, N, query_dim), or (B, C, H, W) with group_norm; context (B, M, cross_attention_dim) for cross-attention.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

  torch::nn::GroupNorm group_norm{nullptr};
  FastLinear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};

 private:
  torch::Tensor attend(const torch::Tensor& tokens, const torch::Tensor& context);

  AttentionOptions options_;
  FastLinear out_proj_{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace uprez
