// SRFormer (permuted self-attention transformer, spandrel id "SRFormer"): SwinIR's skeleton whose window attention
// (PSA) attends from every token of a window to keys and values pooled 2x2 into the channels, and whose MLP is a
// ConvFFN.
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

struct SRFormerOptions {
  int img_size = 64;  // training size: blocks whose window fills it (rounded up to the window) do not shift
  int in_chans = 3;
  int embed_dim = 96;
  std::vector<int> depths = {6, 6, 6, 6};  // PSA blocks per group
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool ape = false;  // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 1;
  double img_range = 1.0;
  std::string upsampler;  // "pixelshuffle" | "pixelshuffledirect" | "nearest+conv" | "" (restoration)
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
};

class PermutedSelfAttentionGroup;

class SRFormerNetwork : public Network {
 public:
  explicit SRFormerNetwork(const SRFormerOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);

  SRFormerOptions options_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  torch::Tensor absolute_pos_embed_;
  std::vector<std::shared_ptr<PermutedSelfAttentionGroup>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  std::unique_ptr<SwinIRReconstruction> reconstruction_;
};

extern const Architecture kSrformerArchitecture;

}  // namespace uprez
