// HAT (Hybrid Attention Transformer, spandrel id "HAT"): SwinIR-style residual groups whose blocks add a
// channel-attention conv branch to window attention, each group ending in an overlapping cross-attention block.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/transformer.h"
#include "nn/fast_conv.h"

namespace uprez {

struct HatOptions {
  int img_size = 64;  // training size: only the absolute position embedding and the shift rule depend on it
  int in_chans = 3;
  int embed_dim = 96;
  std::vector<int> depths = {6, 6, 6, 6};
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 7;
  double compress_ratio = 3;   // CAB conv width: embed_dim // compress_ratio
  double squeeze_factor = 30;  // channel attention width: embed_dim // squeeze_factor
  double conv_scale = 0.01;
  double overlap_ratio = 0.5;  // OCAB key/value windows: window_size + int(window_size * overlap_ratio)
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool ape = false;  // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 2;
  double img_range = 1.0;
  std::string resi_connection = "1conv";  // "1conv" | "identity"
  int num_feat = 64;
};

class ResidualHybridAttentionGroup;

class HatNetwork : public Network {
 public:
  explicit HatNetwork(const HatOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);

  HatOptions options_;
  int64_t overlap_window_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  torch::Tensor absolute_pos_embed_;
  std::vector<std::shared_ptr<ResidualHybridAttentionGroup>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  FastConv2d conv_after_body_{nullptr};  // null for resi_connection "identity"
  torch::nn::Sequential conv_before_upsample_{nullptr};
  torch::nn::Sequential upsample_{nullptr};  // null for scale 1 (spandrel's empty Upsample)
  FastConv2d conv_last_{nullptr};
};

extern const Architecture kHatArchitecture;

}  // namespace uprez
