// SwinIR (Swin transformer for image restoration, spandrel id "SwinIR"): a 3x3 shallow conv, residual Swin
// transformer blocks (RSTB) of shifted-window attention, and one of SwinIR's reconstruction heads (classical,
// lightweight, real-world SR, or the residual head of its denoising / JPEG models).
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/swin_family.h"

namespace uprez {

struct SwinIROptions : SwinFamilyOptions {
  int start_unshuffle = 1;  // pixel-unshuffle factor applied to the input first (upscale is the network's, before it)
};

class SwinLayer;

class SwinIRNetwork : public SwinFamilyNetwork {
 public:
  explicit SwinIRNetwork(const SwinIROptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  SwinIROptions options_;
  torch::Tensor mean_;
  std::vector<std::shared_ptr<SwinResidualGroup<SwinLayer>>> layers_;
};

extern const Architecture kSwinIRArchitecture;

}  // namespace uprez
