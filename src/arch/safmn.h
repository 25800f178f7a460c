// SAFMN (Spatially-Adaptive Feature Modulation Network, spandrel id "SAFMN"): blocks of multi-scale feature
// modulation (SAFM) and a convolutional channel mixer (CCM), each behind a channel LayerNorm, then a one-step
// pixel-shuffle upsampler. RGB in and out.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct SafmnOptions {
  int dim = 36;
  int n_blocks = 8;
  double ffn_scale = 2.0;  // CCM hidden channels = int(dim * ffn_scale)
  int upscaling_factor = 4;
};

class SafmnNetwork : public Network {
 public:
  explicit SafmnNetwork(const SafmnOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  FastConv2d to_feat_{nullptr};
  torch::nn::Sequential feats_{nullptr};
  torch::nn::Sequential to_img_{nullptr};
};

extern const Architecture kSafmnArchitecture;

}  // namespace uprez
