// DCTLSA (Dense Connected Transformer with Local Self-Attention, spandrel id "DCTLSA"): six LSAB blocks of
// Swin-style layers whose window attention is linear (softmax over keys) and adds a convolutional local branch,
// densely connected through 1x1 fusion convs, then a one-step pixel-shuffle upsampler.
#pragma once

#include <torch/torch.h>

#include <array>
#include <memory>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct DctlsaOptions {
  int in_nc = 3;
  int nf = 55;
  int num_modules = 6;  // input channels of the final fusion conv "c" are nf * num_modules
  int out_nc = 3;
  int upscale = 4;
  int num_head = 5;
};

class LocalSelfAttentionBlock;

class DctlsaNetwork : public Network {
 public:
  explicit DctlsaNetwork(const DctlsaOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  FastConv2d fea_conv_{nullptr};
  std::array<std::shared_ptr<LocalSelfAttentionBlock>, 6> blocks_;  // B1..B6
  // c1..c5: fuse the features so far (input features and B1..B(i+1)) into the input of B(i+2).
  std::array<torch::nn::Sequential, 5> dense_fusions_;
  torch::nn::Sequential c_{nullptr};  // fuses the outputs of B1..B6
  FastConv2d lr_conv_{nullptr};
  torch::nn::Sequential upsampler_{nullptr};
};

extern const Architecture kDctlsaArchitecture;

}  // namespace uprez
