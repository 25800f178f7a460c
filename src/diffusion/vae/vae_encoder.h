// The VAE encoder (diffusers' Encoder): conv_in, DownEncoderBlock2D per level (resnets, then a stride-2 conv after
// right/bottom padding), mid block, norm-SiLU-conv_out to the posterior's mean and log-variance.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/unet/down_block.h"
#include "diffusion/vae/vae_config.h"
#include "diffusion/vae/vae_mid_block.h"
#include "nn/fast_conv.h"

namespace uprez {

class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const VaeConfig& config);
  // (B, in, H, W) -> (B, 2 * latent, H / scale, W / scale): mean and log-variance (double_z).
  torch::Tensor forward(const torch::Tensor& x);

  FastConv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  std::vector<UNetDownBlock> down_;
};
TORCH_MODULE(VaeEncoder);

}  // namespace uprez
