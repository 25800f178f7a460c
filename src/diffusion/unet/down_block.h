// The UNet's down blocks: DownBlock2D (resnets) and CrossAttnDownBlock2D (a spatial transformer after each
// resnet), then an optional stride-2 downsampler; every intermediate output is kept for the up path.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "diffusion/blocks/downsample.h"
#include "diffusion/blocks/resnet_block.h"
#include "diffusion/blocks/transformer_2d.h"

namespace uprez {

struct UNetBlockOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t prev_output_channels = 0;  // up blocks: the channels coming from the block below
  int64_t layers = 2;
  int64_t temb_channels = 0;
  int64_t groups = 32;
  double eps = 1e-5;
  bool with_attention = false;
  TransformerOptions transformer;    // channels/dim_head filled in by the block
  bool add_sampler = true;           // downsampler / upsampler
  int64_t downsample_padding = 1;
};

class UNetDownBlockImpl : public torch::nn::Module {
 public:
  explicit UNetDownBlockImpl(const UNetBlockOptions& options);
  // Appends each resnet/attention output and the downsampler's to `skips`; returns the last.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, downsamplers{nullptr};

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2D> attentions_;
  Downsample2D downsampler_{nullptr};
};
TORCH_MODULE(UNetDownBlock);

// The transformer of a block with `channels` channels and `heads` heads.
TransformerOptions transformer_for(const TransformerOptions& base, int64_t channels);

// Registers `options.layers` spatial transformers of the block's width as `block`'s "attentions" list (kept in
// `typed` for calling); returns the list.
torch::nn::ModuleList add_transformers(torch::nn::Module& block, const UNetBlockOptions& options,
                                       std::vector<Transformer2D>& typed);

}  // namespace uprez
