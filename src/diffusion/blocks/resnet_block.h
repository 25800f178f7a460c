// ResnetBlock2D (diffusers): GroupNorm-SiLU-conv twice, the time embedding added between, a 1x1 shortcut when the
// channel count changes; shared by the UNet (with time embedding) and the VAE (without).
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "nn/fast_conv.h"
#include "nn/fast_matmul.h"

namespace uprez {

struct ResnetBlockOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t temb_channels = 0;  // 0: no time embedding (VAE)
  int64_t groups = 32;
  double eps = 1e-6;
  double output_scale_factor = 1.0;
};

class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  explicit ResnetBlock2DImpl(const ResnetBlockOptions& options);
  // x (B, in, H, W); temb (B, temb_channels) when the block has a time embedding.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb = {});

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  FastConv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
  FastLinear time_emb_proj{nullptr};

 private:
  double output_scale_factor_;
};
TORCH_MODULE(ResnetBlock2D);

// GroupNorm followed by SiLU, the pre-activation of every diffusers conv block.
torch::Tensor group_norm_silu(torch::nn::GroupNorm norm, const torch::Tensor& x);

}  // namespace uprez
