#include "diffusion/blocks/resnet_block.h"

namespace uprez {

torch::Tensor group_norm_silu(torch::nn::GroupNorm norm, const torch::Tensor& x) {
  torch::Tensor y = norm->forward(x);
  torch::silu_(y);
  return y;
}

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlockOptions& o) : output_scale_factor_(o.output_scale_factor) {
  norm1 = register_module("norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.groups, o.in_channels).eps(o.eps)));
  conv1 = register_module("conv1", FastConv2d(o.in_channels, o.out_channels, 3, 1, 1));
  if (o.temb_channels > 0) time_emb_proj = register_module("time_emb_proj", FastLinear(o.temb_channels, o.out_channels));
  norm2 = register_module("norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.groups, o.out_channels).eps(o.eps)));
  conv2 = register_module("conv2", FastConv2d(o.out_channels, o.out_channels, 3, 1, 1));
  if (o.in_channels != o.out_channels)
    conv_shortcut = register_module("conv_shortcut", FastConv2d(o.in_channels, o.out_channels, 1));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  torch::Tensor h = conv1->forward(group_norm_silu(norm1, x));
  if (time_emb_proj && temb.defined()) {
    torch::Tensor t = time_emb_proj->forward(torch::silu(temb));
    h.add_(t.view({t.size(0), t.size(1), 1, 1}));
  }
  h = group_norm_silu(norm2, h);
  const torch::Tensor shortcut = conv_shortcut ? conv_shortcut->forward(x) : x;
  if (output_scale_factor_ == 1.0) return conv2->forward(h, PostOps().add(shortcut));
  return (shortcut + conv2->forward(h)) / output_scale_factor_;
}

}  // namespace uprez
