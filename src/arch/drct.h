// DRCT (Dense Residual Connected Transformer, spandrel id "DRCT"): SwinIR-style network whose residual groups
// densely connect five Swin transformer blocks through 1x1 "adjust" convs.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "arch/swin_family.h"

namespace uprez {

// img_size: the shifted blocks' stored attn_mask, ape and the shift rule depend on it; depths: one residual
// dense group per entry (6 blocks each); upsampler: "pixelshuffle", or "" for files without conv_last (spandrel's
// forward then skips the network entirely); resi_connection: "1conv" | "identity".
struct DrctOptions : SwinFamilyOptions {
  int gc = 32;  // growth channels of the dense connections
};

class ResidualDenseGroup;

class DrctNetwork : public SwinFamilyNetwork {
 public:
  explicit DrctNetwork(const DrctOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  DrctOptions options_;
  torch::Tensor mean_;
  std::vector<std::shared_ptr<ResidualDenseGroup>> layers_;
};

extern const Architecture kDrctArchitecture;

}  // namespace uprez
