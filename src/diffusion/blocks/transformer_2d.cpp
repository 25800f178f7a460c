#include "diffusion/blocks/transformer_2d.h"

namespace uprez {
namespace transformer_2d {

torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
}

AttentionOptions attention_options(int64_t dim, const TransformerOptions& o, bool cross) {
  AttentionOptions a;
  a.query_dim = dim;
  a.cross_attention_dim = cross ? o.cross_attention_dim : 0;
  a.heads = o.heads;
  a.dim_head = o.dim_head;
  return a;
}

}  // namespace transformer_2d

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, const TransformerOptions& o)
    : only_cross_attention_(o.only_cross_attention) {
  norm1 = register_module("norm1", transformer_2d::layer_norm(dim));
  attn1 = register_module("attn1", Attention(transformer_2d::attention_options(dim, o, o.only_cross_attention)));
  norm2 = register_module("norm2", transformer_2d::layer_norm(dim));
  attn2 = register_module("attn2", Attention(transformer_2d::attention_options(dim, o, true)));
  norm3 = register_module("norm3", transformer_2d::layer_norm(dim));
  ff = register_module("ff", FeedForward(dim));
}

torch::Tensor BasicTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& context) {
  x = attn1->forward(norm1->forward(x), only_cross_attention_ ? context : torch::Tensor()) + x;
  x = attn2->forward(norm2->forward(x), context) + x;
  return ff->forward(norm3->forward(x)) + x;
}

Transformer2DImpl::Transformer2DImpl(const TransformerOptions& o) : options_(o) {
  const int64_t inner = o.heads * o.dim_head;
  norm = register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_groups, o.channels).eps(1e-6)));
  if (o.use_linear_projection) {
    proj_in = torch::nn::AnyModule(register_module("proj_in", FastLinear(o.channels, inner)));
  } else {
    proj_in = torch::nn::AnyModule(register_module("proj_in", FastConv2d(o.channels, inner, 1)));
  }
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    blocks_.push_back(BasicTransformerBlock(inner, o));
    transformer_blocks->push_back(blocks_.back());
  }
  if (o.use_linear_projection) {
    proj_out = torch::nn::AnyModule(register_module("proj_out", FastLinear(inner, o.channels)));
  } else {
    proj_out = torch::nn::AnyModule(register_module("proj_out", FastConv2d(inner, o.channels, 1)));
  }
}

torch::Tensor Transformer2DImpl::project(torch::nn::AnyModule& projection, const torch::Tensor& x) const {
  return projection.forward(x);
}

torch::Tensor Transformer2DImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  torch::Tensor t = norm->forward(x);
  if (!options_.use_linear_projection) t = project(proj_in, t);
  t = t.permute({0, 2, 3, 1}).reshape({b, h * w, -1});
  if (options_.use_linear_projection) t = project(proj_in, t);
  for (BasicTransformerBlock& block : blocks_) t = block->forward(t, context);
  if (options_.use_linear_projection) t = project(proj_out, t);
  t = t.reshape({b, h, w, -1}).permute({0, 3, 1, 2});
  if (!options_.use_linear_projection) t = project(proj_out, t.contiguous());
  return t + x;
}

}  // namespace uprez
