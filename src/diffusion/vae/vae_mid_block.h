// UNetMidBlock2D as the VAE uses it: resnet, single-head self-attention over all pixels (group norm, residual;
// computed in chunks), resnet - at the latent resolution, no time embedding.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/attention.h"
#include "diffusion/blocks/resnet_block.h"

namespace uprez {

class VaeMidBlockImpl : public torch::nn::Module {
 public:
  VaeMidBlockImpl(int64_t channels, int64_t groups, bool add_attention);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};

 private:
  std::vector<ResnetBlock2D> resnets_;
  Attention attention_{nullptr};
};
TORCH_MODULE(VaeMidBlock);

}  // namespace uprez
