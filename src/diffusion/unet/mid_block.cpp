#include "diffusion/unet/mid_block.h"

namespace uprez {

UNetMidBlockImpl::UNetMidBlockImpl(const UNetBlockOptions& o, double output_scale_factor) {
  const ResnetBlockOptions r{o.in_channels, o.in_channels, o.temb_channels, o.groups, o.eps, output_scale_factor};
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  resnets_.push_back(ResnetBlock2D(r));
  resnets->push_back(resnets_.back());
  for (int64_t i = 0; i < o.layers; ++i) {
    attentions_.push_back(Transformer2D(transformer_for(o.transformer, o.in_channels)));
    attentions->push_back(attentions_.back());
    resnets_.push_back(ResnetBlock2D(r));
    resnets->push_back(resnets_.back());
  }
}

torch::Tensor UNetMidBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context) {
  x = resnets_[0]->forward(x, temb);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    x = attentions_[i]->forward(x, context);
    x = resnets_[i + 1]->forward(x, temb);
  }
  return x;
}

}  // namespace uprez
