// FDAT (Fast Dual Aggregation Transformer, spandrel id "FDAT"): residual groups alternating window self-attention
// and channel self-attention blocks, each fused with a depthwise-conv branch, followed by one of eight upsamplers
// (UniUpsampleV3, which records its configuration in the "upsampler.MetaUpsample" buffer).
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

// UniUpsampleV3's methods, in the order of their index in MetaUpsample.
enum class FdatUpsampler { Conv, PixelShuffleDirect, PixelShuffle, NearestConv, DySample, TransposeConv, Lda, PaUp };

struct FdatOptions {
  int num_in_ch = 3;
  int num_out_ch = 3;
  int scale = 4;
  int embed_dim = 120;
  int num_groups = 4;
  int depth_per_group = 3;  // (spatial, channel) block pairs per group
  int num_heads = 4;
  int window_size = 8;
  double ffn_expansion_ratio = 2.0;
  int aim_reduction_ratio = 8;  // channel squeeze of the conv-to-attention gate
  int mid_dim = 64;             // the upsampler's feature channels
  FdatUpsampler upsampler_type = FdatUpsampler::TransposeConv;
  // Small scales (1, 2) run at a quarter of the resolution: PixelUnshuffle(4 / scale), then a x4 upsampler.
  bool unshuffle_mod = false;
};

class FdatNetwork : public Network {
 public:
  explicit FdatNetwork(const FdatOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  int64_t scale_;
  int64_t unshuffle_;  // the PixelUnshuffle factor with unshuffle_mod, else 1
  // "conv_first": a plain conv, or Sequential(PixelUnshuffle, conv) with unshuffle_mod.
  FastConv2d conv_first_{nullptr};
  torch::nn::Sequential unshuffled_conv_first_{nullptr};
  torch::nn::Sequential groups_{nullptr};
  FastConv2d conv_after_{nullptr};
  torch::nn::Sequential upsampler_{nullptr};
};

extern const Architecture kFdatArchitecture;

}  // namespace uprez
