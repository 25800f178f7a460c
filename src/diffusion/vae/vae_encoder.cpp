#include "diffusion/vae/vae_encoder.h"

namespace uprez {

VaeEncoderImpl::VaeEncoderImpl(const VaeConfig& c) {
  const std::vector<int64_t>& channels = c.block_out_channels;
  conv_in = register_module("conv_in", FastConv2d(c.in_channels, channels[0], 3, 1, 1));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < channels.size(); ++i) {
    // DownEncoderBlock2D is the UNet's DownBlock2D without time embedding, padding 0 before its downsampler.
    UNetBlockOptions o;
    o.in_channels = i == 0 ? channels[0] : channels[i - 1];
    o.out_channels = channels[i];
    o.layers = c.layers_per_block;
    o.groups = c.norm_num_groups;
    o.eps = 1e-6;
    o.add_sampler = i + 1 < channels.size();
    o.downsample_padding = 0;
    down_.push_back(UNetDownBlock(o));
    down_blocks->push_back(down_.back());
  }
  mid_block = register_module("mid_block", VaeMidBlock(channels.back(), c.norm_num_groups, c.mid_block_add_attention));
  conv_norm_out = register_module(
      "conv_norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, channels.back()).eps(1e-6)));
  conv_out = register_module("conv_out", FastConv2d(channels.back(), 2 * c.latent_channels, 3, 1, 1));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = conv_in->forward(input);
  std::vector<torch::Tensor> unused;
  for (UNetDownBlock& block : down_) {
    x = block->forward(x, {}, {}, unused);
    unused.clear();
  }
  x = mid_block->forward(x);
  return conv_out->forward(group_norm_silu(conv_norm_out, x));
}

}  // namespace uprez
