// SeemoRe (See More Details: Efficient Image Super-Resolution by Experts Mining, spandrel id "SeemoRe"): residual
// groups of a local mixture-of-low-rank-experts block and a global striped-convolution block.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/blocks.h"
#include "nn/fast_conv.h"

namespace uprez {

// How the experts' low-rank dimension grows with their index i: i + 2, 2^(i + 1) or 2 i + 2.
enum class SeemoreLowRankSpace { Linear, Exp, Double };

struct SeemoreOptions {
  int scale = 4;
  int in_chans = 3;
  int num_experts = 6;
  int num_layers = 6;
  int embedding_dim = 64;
  double img_range = 1.0;
  bool use_shuffle = true;      // interleave the two halves of the mixture block's first conv
  int global_kernel_size = 11;  // the global block's striped depthwise convs
  int recursive = 2;            // stride-4 aggregations in the expert routing's calibration
  SeemoreLowRankSpace lr_space = SeemoreLowRankSpace::Linear;
  int topk = 1;  // experts applied per image
};

class SeemoreNetwork : public Network {
 public:
  explicit SeemoreNetwork(const SeemoreOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  double img_range_;
  torch::Tensor mean_;
  FastConv2d conv_1_{nullptr};
  torch::nn::Sequential body_{nullptr};
  ChannelLayerNorm norm_{nullptr};
  FastConv2d conv_2_{nullptr};
  torch::nn::Sequential upsampler_{nullptr};
};

extern const Architecture kSeemoreArchitecture;

}  // namespace uprez
