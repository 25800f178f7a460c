// CRAFT (Cross-Refinement Adaptive Feature Transformer, spandrel id "CRAFT"): residual groups in which
// shifted rectangle-window attention (low frequencies) and a high-frequency enhancement conv branch are fused
// by a channel cross-attention block, then a one-step pixel-shuffle upsampler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct CraftOptions {
  int in_chans = 3;      // also the output channel count
  int window_size = 16;  // forward pads the image by flipping up to the next multiple (plus one window)
  int embed_dim = 48;
  std::vector<int> depths = {2, 2, 2, 2};
  std::vector<int> num_heads = {6, 6, 6, 6};
  int split_size_0 = 4;  // rectangle windows: split_size_0 x split_size_1 and the transposed ones
  int split_size_1 = 16;
  double mlp_ratio = 2.0;
  bool qkv_bias = true;
  int upscale = 4;
  double img_range = 1.0;
  std::string resi_connection = "1conv";  // "1conv" | "identity"
};

class CraftResidualGroup;
class CraftLayerNorm;

class CraftNetwork : public Network {
 public:
  explicit CraftNetwork(const CraftOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  CraftOptions options_;
  torch::Tensor mean_;
  torch::Tensor relative_position_index_h_;
  torch::Tensor relative_position_index_v_;
  torch::Tensor biases_v_;
  torch::Tensor biases_h_;
  FastConv2d conv_first_{nullptr};
  std::vector<std::shared_ptr<CraftResidualGroup>> layers_;
  std::shared_ptr<CraftLayerNorm> norm_;
  FastConv2d conv_after_body_{nullptr};  // null for resi_connection "identity"
  torch::nn::Sequential upsample_{nullptr};
};

extern const Architecture kCraftArchitecture;

}  // namespace uprez
