// HAT (Hybrid Attention Transformer, spandrel id "HAT"): SwinIR-style residual groups whose blocks add a
// channel-attention conv branch to window attention, each group ending in an overlapping cross-attention block.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "arch/swin_family.h"

namespace uprez {

// img_size: only the absolute position embedding and the shift rule depend on it; upsampler: "pixelshuffle";
// resi_connection: "1conv" | "identity".
struct HatOptions : SwinFamilyOptions {
  double compress_ratio = 3;   // CAB conv width: embed_dim // compress_ratio
  double squeeze_factor = 30;  // channel attention width: embed_dim // squeeze_factor
  double conv_scale = 0.01;
  double overlap_ratio = 0.5;  // OCAB key/value windows: window_size + int(window_size * overlap_ratio)
  int num_feat = 64;
};

class ResidualHybridAttentionGroup;

class HatNetwork : public SwinFamilyNetwork {
 public:
  explicit HatNetwork(const HatOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  HatOptions options_;
  int64_t overlap_window_;
  torch::Tensor mean_;
  std::vector<std::shared_ptr<ResidualHybridAttentionGroup>> layers_;
};

extern const Architecture kHatArchitecture;

}  // namespace uprez
