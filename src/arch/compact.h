// Real-ESRGAN Compact (SRVGGNetCompact, spandrel id "Compact"): a plain stack of 3x3 convolutions with
// per-channel PReLU activations, a pixel-shuffle upsampler and the nearest-upscaled input added as a residual.
#pragma once

#include <string>

#include <torch/torch.h>

#include "arch/architecture.h"

namespace uprez {

struct CompactOptions {
  int num_in_ch = 3;
  int num_out_ch = 3;
  int num_feat = 64;
  int num_conv = 16;
  int upscale = 4;
  std::string act_type = "prelu";  // "prelu", "relu" or "leakyrelu" (slope 0.1)
};

// The network, with PyTorch's parameter names: `body.{2i}.weight/bias` (convolutions) and `body.{2i+1}.weight`
// (PReLU slopes).
class CompactNetwork : public Network {
 public:
  explicit CompactNetwork(const CompactOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  int upscale_;
  torch::nn::Sequential body_;
  torch::nn::PixelShuffle upsampler_;
};

extern const Architecture kCompactArchitecture;

}  // namespace uprez
