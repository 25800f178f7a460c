#include "diffusion/vae/vae_decoder.h"

namespace uprez {

UpDecoderBlockImpl::UpDecoderBlockImpl(int64_t in_channels, int64_t out_channels, int64_t layers, int64_t groups,
                                       bool add_upsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i) {
    resnets_.push_back(ResnetBlock2D(ResnetBlockOptions{i == 0 ? in_channels : out_channels, out_channels, 0, groups, 1e-6}));
    resnets->push_back(resnets_.back());
  }
  if (add_upsample) {
    upsampler_ = Upsample2D(out_channels, out_channels);
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(upsampler_);
  }
}

torch::Tensor UpDecoderBlockImpl::forward(torch::Tensor x) {
  for (ResnetBlock2D& resnet : resnets_) x = resnet->forward(x);
  return upsampler_ ? upsampler_->forward(x) : x;
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig& c) {
  const std::vector<int64_t>& channels = c.block_out_channels;
  const size_t n = channels.size();
  conv_in = register_module("conv_in", FastConv2d(c.latent_channels, channels.back(), 3, 1, 1));
  mid_block = register_module("mid_block", VaeMidBlock(channels.back(), c.norm_num_groups, c.mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  int64_t previous = channels.back();
  for (size_t i = 0; i < n; ++i) {
    const int64_t out = channels[n - 1 - i];
    up_.push_back(UpDecoderBlock(previous, out, c.layers_per_block + 1, c.norm_num_groups, i + 1 < n));
    up_blocks->push_back(up_.back());
    previous = out;
  }
  conv_norm_out = register_module(
      "conv_norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, channels[0]).eps(1e-6)));
  conv_out = register_module("conv_out", FastConv2d(channels[0], c.out_channels, 3, 1, 1));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& z) {
  torch::Tensor x = mid_block->forward(conv_in->forward(z));
  for (UpDecoderBlock& block : up_) x = block->forward(std::move(x));
  return conv_out->forward(group_norm_silu(conv_norm_out, x));
}

}  // namespace uprez
