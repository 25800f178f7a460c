#include "diffusion/unet/down_block.h"

namespace uprez {

TransformerOptions transformer_for(const TransformerOptions& base, int64_t channels) {
  TransformerOptions t = base;
  t.channels = channels;
  t.dim_head = channels / base.heads;
  return t;
}

torch::nn::ModuleList add_transformers(torch::nn::Module& block, const UNetBlockOptions& o,
                                       std::vector<Transformer2D>& typed) {
  torch::nn::ModuleList list = block.register_module("attentions", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    typed.push_back(Transformer2D(transformer_for(o.transformer, o.out_channels)));
    list->push_back(typed.back());
  }
  return list;
}

UNetDownBlockImpl::UNetDownBlockImpl(const UNetBlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    ResnetBlockOptions r{i == 0 ? o.in_channels : o.out_channels, o.out_channels, o.temb_channels, o.groups, o.eps};
    resnets_.push_back(ResnetBlock2D(r));
    resnets->push_back(resnets_.back());
  }
  if (o.with_attention) attentions = add_transformers(*this, o, attentions_);
  if (o.add_sampler) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    downsampler_ = Downsample2D(o.out_channels, o.out_channels, o.downsample_padding);
    downsamplers->push_back(downsampler_);
  }
}

torch::Tensor UNetDownBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                                         std::vector<torch::Tensor>& skips) {
  for (size_t i = 0; i < resnets_.size(); ++i) {
    x = resnets_[i]->forward(x, temb);
    if (!attentions_.empty()) x = attentions_[i]->forward(x, context);
    skips.push_back(x);
  }
  if (downsampler_) {
    x = downsampler_->forward(x);
    skips.push_back(x);
  }
  return x;
}

}  // namespace uprez
