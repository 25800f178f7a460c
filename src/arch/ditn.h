// DITN (Deployment-friendly Inception Transformer Network, spandrel id "DITN"): UFONE blocks that run
// channel-attention layers (ITL) inside 8x8 patches, then spatial-attention layers (SAL) over the whole image,
// followed by a one-step pixel-shuffle upsampler.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct DitnOptions {
  int inp_channels = 3;
  int dim = 60;
  int itl_blocks = 4;
  int sal_blocks = 4;
  int ufone_blocks = 1;
  double ffn_expansion_factor = 2.0;
  bool bias = false;
  int patch_size = 8;  // the ITL patch size and the multiple the input is reflect-padded to
  int upscale = 4;
};

class DitnNetwork : public Network {
 public:
  explicit DitnNetwork(const DitnOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  DitnOptions options_;
  FastConv2d sft_{nullptr};
  torch::nn::Sequential ufone_{nullptr};
  FastConv2d conv_after_body_{nullptr};
  torch::nn::Sequential upsample_{nullptr};
};

extern const Architecture kDitnArchitecture;

}  // namespace uprez
