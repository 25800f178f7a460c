// SPAN (Swift Parameter-free Attention Network, spandrel id "SPAN"). Its Conv3XC layers are stored
// re-parameterisable: a 1x1 skip conv (`sk`), a 1x1-3x3-1x1 chain (`conv.0..2`) and the fused 3x3 conv
// (`eval_conv`). As spandrel does in eval mode, the fused conv is recomputed from `sk` and `conv` (the stored
// `eval_conv` weights are loaded but then replaced).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct SpanOptions {
  int num_in_ch = 3;
  int num_out_ch = 3;
  int feature_channels = 48;
  int upscale = 4;
  // Subtract rgb_mean and multiply by img_range before the network (3-channel inputs only, as in spandrel).
  // Models saved without it carry a `no_norm` buffer.
  bool norm = true;
  double img_range = 255.0;
  std::vector<double> rgb_mean = {0.4488, 0.4371, 0.4040};
};

class Conv3XC;
class SpanAttentionBlock;

class SpanNetwork : public Network {
 public:
  explicit SpanNetwork(const SpanOptions& options);
  torch::Tensor forward(torch::Tensor x) override;
  // Recomputes every fused `eval_conv` from its `sk` and `conv` weights (call after loading weights).
  void fuse_reparameterized_convs();

 private:
  SpanOptions options_;
  torch::Tensor mean_;
  std::shared_ptr<Conv3XC> conv_1_;
  std::array<std::shared_ptr<SpanAttentionBlock>, 6> blocks_;
  FastConv2d conv_cat_{nullptr};
  std::shared_ptr<Conv3XC> conv_2_;
  torch::nn::Sequential upsampler_{nullptr};
};

extern const Architecture kSpanArchitecture;

}  // namespace uprez
