// MoESR (MambaOut Excitation Super-Resolution, spandrel id "MoESR"): groups of MambaOut gated-CNN blocks with
// inception depthwise convs, each group followed by a half-resolution gated excitation stage (MSG), and
// spandrel's UniUpsample (configuration recorded in the "upscale.MetaUpsample" buffer).
#pragma once

#include <string>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct MoesrOptions {
  int in_ch = 3;
  int out_ch = 3;
  int scale = 4;  // the "conv" upsampler always runs at scale 1
  int dim = 64;
  int n_blocks = 9;  // groups ("blocks.<i>")
  int n_block = 4;   // gated-CNN blocks per group
  double expansion_factor = 2.65625;
  double expansion_msg = 1.5;  // expansion of the MSG's gated-CNN blocks
  // UniUpsample's method: "conv", "pixelshuffledirect", "pixelshuffle", "nearest+conv" or "dysample".
  std::string upsampler = "pixelshuffledirect";
  int upsample_dim = 64;  // the "pixelshuffle" upsampler's features
};

class MoesrNetwork : public Network {
 public:
  explicit MoesrNetwork(const MoesrOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  int64_t scale_;
  FastConv2d in_to_dim_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  torch::nn::Sequential upscale_{nullptr};
};

extern const Architecture kMoesrArchitecture;

}  // namespace uprez
