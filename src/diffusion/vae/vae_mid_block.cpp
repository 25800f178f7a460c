#include "diffusion/vae/vae_mid_block.h"

namespace uprez {

VaeMidBlockImpl::VaeMidBlockImpl(int64_t channels, int64_t groups, bool add_attention) {
  const ResnetBlockOptions r{channels, channels, 0, groups, 1e-6};
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int i = 0; i < 2; ++i) {
    resnets_.push_back(ResnetBlock2D(r));
    resnets->push_back(resnets_.back());
  }
  if (add_attention) {
    AttentionOptions a;
    a.query_dim = channels;
    a.heads = 1;
    a.dim_head = channels;
    a.bias = true;
    a.norm_groups = groups;
    a.eps = 1e-6;
    a.residual_connection = true;
    attention_ = Attention(a);
    attentions = register_module("attentions", torch::nn::ModuleList());
    attentions->push_back(attention_);
  }
}

torch::Tensor VaeMidBlockImpl::forward(torch::Tensor x) {
  x = resnets_[0]->forward(x);
  if (attention_) x = attention_->forward(x);
  return resnets_[1]->forward(x);
}

}  // namespace uprez
