// UNetMidBlock2DCrossAttn: resnet, then (spatial transformer, resnet) per layer, at the UNet's lowest resolution.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/resnet_block.h"
#include "diffusion/blocks/transformer_2d.h"
#include "diffusion/unet/down_block.h"

namespace uprez {

class UNetMidBlockImpl : public torch::nn::Module {
 public:
  // options.in_channels = out_channels; options.layers = transformer layers (1 in SD).
  UNetMidBlockImpl(const UNetBlockOptions& options, double output_scale_factor);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2D> attentions_;
};
TORCH_MODULE(UNetMidBlock);

}  // namespace uprez
