// OmniSR (Omni Aggregation Networks, spandrel id "OmniSR"): groups (OSAG) of omni self-attention blocks that
// alternate window ("block") and dilated ("grid") spatial attention with channel attention and gated
// feed-forwards, each group closed by a 1x1 conv and ESA; then a pixel-shuffle upsampler.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct OmniSrOptions {
  int num_in_ch = 3;
  int num_out_ch = 3;
  int num_feat = 64;
  int block_num = 1;  // OSA blocks per group
  bool pe = true;     // relative position bias in the spatial attentions
  int window_size = 8;
  int res_num = 1;  // groups
  int up_scale = 4;
  bool bias = true;  // of the outer convs (input, output, group closing conv, upsampler)
};

class OmniSrNetwork : public Network {
 public:
  explicit OmniSrNetwork(const OmniSrOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  OmniSrOptions options_;
  torch::nn::Sequential residual_layer_{nullptr};
  FastConv2d input_{nullptr};
  FastConv2d output_{nullptr};
  torch::nn::Sequential up_{nullptr};
};

extern const Architecture kOmniSrArchitecture;

}  // namespace uprez
