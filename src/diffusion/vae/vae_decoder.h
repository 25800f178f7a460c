// The VAE decoder (diffusers' Decoder): conv_in, mid block, UpDecoderBlock2D per level (resnets then nearest x2 +
// conv), norm-SiLU-conv_out.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/resnet_block.h"
#include "diffusion/blocks/upsample.h"
#include "diffusion/vae/vae_config.h"
#include "diffusion/vae/vae_mid_block.h"
#include "nn/fast_conv.h"

namespace uprez {

class UpDecoderBlockImpl : public torch::nn::Module {
 public:
  UpDecoderBlockImpl(int64_t in_channels, int64_t out_channels, int64_t layers, int64_t groups, bool add_upsample);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList resnets{nullptr}, upsamplers{nullptr};

 private:
  std::vector<ResnetBlock2D> resnets_;
  Upsample2D upsampler_{nullptr};
};
TORCH_MODULE(UpDecoderBlock);

class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const VaeConfig& config);
  // (B, latent, h, w) -> (B, out, h * scale, w * scale)
  torch::Tensor forward(const torch::Tensor& z);

  FastConv2d conv_in{nullptr}, conv_out{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  std::vector<UpDecoderBlock> up_;
};
TORCH_MODULE(VaeDecoder);

}  // namespace uprez
