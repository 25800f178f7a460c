// The UNet's up blocks: UpBlock2D and CrossAttnUpBlock2D. Each resnet takes the previous output concatenated with
// the matching skip connection; the upsampler goes to the next skip's size (any input size works).
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/resnet_block.h"
#include "diffusion/blocks/transformer_2d.h"
#include "diffusion/blocks/upsample.h"
#include "diffusion/unet/down_block.h"

namespace uprez {

class UNetUpBlockImpl : public torch::nn::Module {
 public:
  // options.layers = layers_per_block + 1; in_channels is the channel count of the deepest skip it consumes.
  explicit UNetUpBlockImpl(const UNetBlockOptions& options);
  // Consumes its skips from the back of `skips`; `upsample_size` (H, W) of the next skip, or empty for x2.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips, const std::vector<int64_t>& upsample_size);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, upsamplers{nullptr};

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2D> attentions_;
  Upsample2D upsampler_{nullptr};
};
TORCH_MODULE(UNetUpBlock);

}  // namespace uprez
