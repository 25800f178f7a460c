// diffusers' Transformer2DModel with BasicTransformerBlock (layer-norm type, GEGLU feed-forward): the spatial
// transformer of the SD UNet's cross-attention blocks, with linear or 1x1-conv input/output projections.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/attention.h"
#include "diffusion/blocks/feed_forward.h"
#include "nn/fast_conv.h"
#include "nn/fast_matmul.h"

namespace uprez {

struct TransformerOptions {
  int64_t channels = 0;             // in = out channels of the block
  int64_t heads = 8;
  int64_t dim_head = 0;             // inner width = heads * dim_head
  int64_t layers = 1;
  int64_t cross_attention_dim = 0;
  int64_t norm_groups = 32;
  bool use_linear_projection = false;
  bool only_cross_attention = false;
};

class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  BasicTransformerBlockImpl(int64_t dim, const TransformerOptions& options);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& context);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};

 private:
  bool only_cross_attention_;
};
TORCH_MODULE(BasicTransformerBlock);

class Transformer2DImpl : public torch::nn::Module {
 public:
  explicit Transformer2DImpl(const TransformerOptions& options);
  // x (B, C, H, W), context (B, M, cross_attention_dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  torch::nn::GroupNorm norm{nullptr};
  torch::nn::AnyModule proj_in, proj_out;
  torch::nn::ModuleList transformer_blocks{nullptr};

 private:
  torch::Tensor project(torch::nn::AnyModule& projection, const torch::Tensor& x) const;

  TransformerOptions options_;
  std::vector<BasicTransformerBlock> blocks_;
};
TORCH_MODULE(Transformer2D);

}  // namespace uprez
