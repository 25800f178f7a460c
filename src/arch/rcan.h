// RCAN (Residual Channel Attention Network, spandrel id "RCAN"): residual groups of residual channel-attention
// blocks between a conv head and a pixel-shuffle tail, with DIV2K mean shifting and an optional pixel-unshuffle
// head that lets 1x and 2x models run the 4x body.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct RcanOptions {
  int scale = 4;
  int n_resgroups = 10;
  int n_resblocks = 20;
  int n_feats = 64;
  int n_colors = 3;
  // Scale inputs by rgb_range and shift by the DIV2K mean ("sub_mean"/"add_mean" 1x1 convs) around the network.
  bool norm = true;
  int rgb_range = 255;
  int kernel_size = 3;
  int reduction = 16;  // channel attention squeezes n_feats to n_feats / reduction
  // For scale 1 and 2: pixel-unshuffle the input by 4 / scale and run the 4x tail.
  bool unshuffle_mod = false;
};

class RcanNetwork : public Network {
 public:
  explicit RcanNetwork(const RcanOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  int scale_;
  int downscale_factor_ = 1;
  double rgb_range_ = 1;
  FastConv2d sub_mean_{nullptr};
  FastConv2d add_mean_{nullptr};
  torch::nn::Sequential head_{nullptr};
  torch::nn::Sequential body_{nullptr};
  torch::nn::Sequential upsampler_{nullptr};  // "tail.0"
  FastConv2d tail_conv_{nullptr};             // "tail.1"
};

extern const Architecture kRcanArchitecture;

}  // namespace uprez
