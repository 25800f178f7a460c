// SRFormer (permuted self-attention transformer, spandrel id "SRFormer"): SwinIR's skeleton whose window attention
// (PSA) attends from every token of a window to keys and values pooled 2x2 into the channels, and whose MLP is a
// ConvFFN.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/swin_family.h"

namespace uprez {

// img_size: blocks whose window fills it (rounded up to the window) do not shift; depths: PSA blocks per group.
struct SRFormerOptions : SwinFamilyOptions {};

class PermutedSelfAttentionLayer;

class SRFormerNetwork : public SwinFamilyNetwork {
 public:
  explicit SRFormerNetwork(const SRFormerOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  SRFormerOptions options_;
  torch::Tensor mean_;
  std::vector<std::shared_ptr<SwinResidualGroup<PermutedSelfAttentionLayer>>> layers_;  // PSA_Groups
};

extern const Architecture kSrformerArchitecture;

}  // namespace uprez
