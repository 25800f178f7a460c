// DRCT (Dense Residual Connected Transformer, spandrel id "DRCT"): SwinIR-style network whose residual groups
// densely connect five Swin transformer blocks through 1x1 "adjust" convs.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/transformer.h"
#include "nn/fast_conv.h"

namespace uprez {

struct DrctOptions {
  int img_size = 64;  // training size: the shifted blocks' stored attn_mask, ape and the shift rule depend on it
  int in_chans = 3;
  int embed_dim = 180;
  std::vector<int> depths = {6, 6, 6, 6, 6, 6};  // one residual dense group per entry
  std::vector<int> num_heads = {6, 6, 6, 6, 6, 6};
  int window_size = 16;
  double mlp_ratio = 2.0;
  bool qkv_bias = true;
  bool ape = false;  // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 2;
  double img_range = 1.0;
  // "pixelshuffle", or "" for files without conv_last: spandrel's forward then skips the network entirely.
  std::string upsampler = "pixelshuffle";
  std::string resi_connection = "1conv";  // "1conv" | "identity"
  int gc = 32;                            // growth channels of the dense connections
};

class ResidualDenseGroup;

class DrctNetwork : public Network {
 public:
  explicit DrctNetwork(const DrctOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);

  DrctOptions options_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  torch::Tensor absolute_pos_embed_;
  std::vector<std::shared_ptr<ResidualDenseGroup>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  FastConv2d conv_after_body_{nullptr};  // null for resi_connection "identity"
  // The reconstruction, all null for upsampler "" (upsample_ also for scale 1: spandrel's empty Upsample).
  torch::nn::Sequential conv_before_upsample_{nullptr};
  torch::nn::Sequential upsample_{nullptr};
  FastConv2d conv_last_{nullptr};
};

extern const Architecture kDrctArchitecture;

}  // namespace uprez
