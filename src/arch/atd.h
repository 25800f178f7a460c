// ATD (Adaptive Token Dictionary transformer, spandrel id "ATD"): SwinIR-style residual groups whose layers add
// cross-attention to a learned token dictionary and self-attention within token categories to window attention.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/swinir.h"
#include "arch/transformer.h"
#include "nn/fast_conv.h"

namespace uprez {

struct AtdOptions {
  int img_size = 64;  // training size: only the absolute position embedding depends on it
  int in_chans = 3;
  int embed_dim = 90;
  std::vector<int> depths = {6, 6, 6, 6};  // ATD transformer layers per residual group
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 8;
  int category_size = 256;  // tokens per group of the category-based attention (not stored in the weights)
  int num_tokens = 64;      // entries of each group's token dictionary
  int reducted_dim = 4;     // query/key width of the dictionary cross-attention
  int convffn_kernel_size = 5;
  double mlp_ratio = 2.0;
  bool qkv_bias = true;
  bool ape = false;  // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 1;
  double img_range = 1.0;
  std::string upsampler;  // "pixelshuffle" | "pixelshuffledirect" | "nearest+conv" | "" (restoration)
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
  bool norm = true;  // subtract the RGB mean; models saved without it carry a `no_norm` buffer
};

class AdaptiveTokenDictionaryBlock;

class AtdNetwork : public Network {
 public:
  explicit AtdNetwork(const AtdOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x, const torch::Tensor& attn_mask);

  AtdOptions options_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  torch::Tensor absolute_pos_embed_;
  torch::Tensor relative_position_index_sa_;
  std::vector<std::shared_ptr<AdaptiveTokenDictionaryBlock>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  std::unique_ptr<SwinIRReconstruction> reconstruction_;
};

extern const Architecture kAtdArchitecture;

}  // namespace uprez
