#include "diffusion/blocks/attention.h"

#include <cmath>

#include "nn/chunked_attention.h"

namespace uprez {
namespace attention {

// (B, N, heads * d) -> (B, heads, N, d)
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, -1}).transpose(1, 2);
}

}  // namespace attention

AttentionImpl::AttentionImpl(const AttentionOptions& o) : options_(o) {
  const int64_t inner = o.heads * o.dim_head;
  const int64_t context_dim = o.cross_attention_dim > 0 ? o.cross_attention_dim : o.query_dim;
  if (o.norm_groups > 0)
    group_norm = register_module(
        "group_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_groups, o.query_dim).eps(o.eps)));
  to_q = register_module("to_q", FastLinear(torch::nn::LinearOptions(o.query_dim, inner).bias(o.bias)));
  to_k = register_module("to_k", FastLinear(torch::nn::LinearOptions(context_dim, inner).bias(o.bias)));
  to_v = register_module("to_v", FastLinear(torch::nn::LinearOptions(context_dim, inner).bias(o.bias)));
  out_proj_ = FastLinear(inner, o.query_dim);
  to_out = register_module("to_out", torch::nn::ModuleList());
  to_out->push_back(out_proj_);
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& tokens, const torch::Tensor& context) {
  const torch::Tensor& source = context.defined() ? context : tokens;
  const int64_t heads = options_.heads;
  torch::Tensor q = attention::split_heads(to_q->forward(tokens), heads);
  torch::Tensor k = attention::split_heads(to_k->forward(source), heads);
  torch::Tensor v = attention::split_heads(to_v->forward(source), heads);
  torch::Tensor out = chunked_attention(q, k, v, 1.0 / std::sqrt(static_cast<double>(options_.dim_head)));
  out = out.transpose(1, 2).reshape({tokens.size(0), tokens.size(1), -1});
  return out_proj_->forward(out);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  if (!group_norm) {
    torch::Tensor out = attend(x, context);
    if (options_.residual_connection) out = out + x;
    return options_.rescale_output_factor == 1.0 ? out : out / options_.rescale_output_factor;
  }
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor tokens = group_norm->forward(x).view({b, c, h * w}).transpose(1, 2);
  torch::Tensor out = attend(tokens, context).transpose(1, 2).reshape({b, c, h, w});
  if (options_.residual_connection) out = out + x;
  return options_.rescale_output_factor == 1.0 ? out : out / options_.rescale_output_factor;
}

}  // namespace uprez
