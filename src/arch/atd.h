// ATD (Adaptive Token Dictionary transformer, spandrel id "ATD"): SwinIR-style residual groups whose layers add
// cross-attention to a learned token dictionary and self-attention within token categories to window attention.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/swin_family.h"

namespace uprez {

// img_size: only the absolute position embedding depends on it; depths: ATD transformer layers per group.
struct AtdOptions : SwinFamilyOptions {
  int category_size = 256;  // tokens per group of the category-based attention (not stored in the weights)
  int num_tokens = 64;      // entries of each group's token dictionary
  int reducted_dim = 4;     // query/key width of the dictionary cross-attention
  int convffn_kernel_size = 5;
  bool norm = true;  // subtract the RGB mean; models saved without it carry a `no_norm` buffer
};

class AdaptiveTokenDictionaryBlock;

class AtdNetwork : public SwinFamilyNetwork {
 public:
  explicit AtdNetwork(const AtdOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  AtdOptions options_;
  torch::Tensor mean_;
  torch::Tensor relative_position_index_sa_;
  std::vector<std::shared_ptr<AdaptiveTokenDictionaryBlock>> layers_;
};

extern const Architecture kAtdArchitecture;

}  // namespace uprez
