// UNet2DConditionModel as the SD x4 upscaler uses it: sinusoidal time embedding plus an optional class (noise
// level) embedding, down blocks, cross-attention mid block, up blocks that follow the skips' sizes, norm-act-conv
// out. Modules are named as diffusers' state dict, so loading is a lookup.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/timestep_embedding.h"
#include "diffusion/unet/down_block.h"
#include "diffusion/unet/mid_block.h"
#include "diffusion/unet/unet_config.h"
#include "diffusion/unet/up_block.h"
#include "io/state_dict.h"
#include "nn/fast_conv.h"

namespace uprez {

class UNet2DConditionImpl : public torch::nn::Module {
 public:
  explicit UNet2DConditionImpl(const UNetConfig& config);
  // sample (B, in, H, W); timestep (1) or (B); context (B, M, cross_attention_dim); class_labels (B) int64 when the
  // model has a class embedding. Returns (B, out, H, W).
  torch::Tensor forward(const torch::Tensor& sample, const torch::Tensor& timestep, const torch::Tensor& context,
                        const torch::Tensor& class_labels = {});
  const UNetConfig& config() const { return config_; }

  TimestepEmbedding time_embedding{nullptr};
  torch::nn::Embedding class_embedding{nullptr};
  FastConv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks{nullptr}, up_blocks{nullptr};
  UNetMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  torch::Tensor embed_time(const torch::Tensor& timestep, const torch::Tensor& class_labels, int64_t batch,
                           torch::Dtype dtype);
  UNetBlockOptions block_options(size_t index, bool up) const;
  void build_up_blocks();

  UNetConfig config_;
  std::vector<UNetDownBlock> down_;
  std::vector<UNetUpBlock> up_;
};
TORCH_MODULE(UNet2DCondition);

// The model with `weights` loaded; throws Error naming `what` and the key.
UNet2DCondition load_unet(const UNetConfig& config, StateDict weights, const std::string& what);

}  // namespace uprez
