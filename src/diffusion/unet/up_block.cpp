#include "diffusion/unet/up_block.h"

namespace uprez {

UNetUpBlockImpl::UNetUpBlockImpl(const UNetBlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    const int64_t skip = i == o.layers - 1 ? o.in_channels : o.out_channels;
    const int64_t input = i == 0 ? o.prev_output_channels : o.out_channels;
    resnets_.push_back(ResnetBlock2D(ResnetBlockOptions{input + skip, o.out_channels, o.temb_channels, o.groups, o.eps}));
    resnets->push_back(resnets_.back());
  }
  if (o.with_attention) attentions = add_transformers(*this, o, attentions_);
  if (o.add_sampler) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsampler_ = Upsample2D(o.out_channels, o.out_channels);
    upsamplers->push_back(upsampler_);
  }
}

torch::Tensor UNetUpBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                                       std::vector<torch::Tensor>& skips, const std::vector<int64_t>& upsample_size) {
  for (size_t i = 0; i < resnets_.size(); ++i) {
    torch::Tensor skip = std::move(skips.back());
    skips.pop_back();
    x = resnets_[i]->forward(torch::cat({x, skip}, 1), temb);
    if (!attentions_.empty()) x = attentions_[i]->forward(x, context);
  }
  if (upsampler_) x = upsampler_->forward(x, upsample_size);
  return x;
}

}  // namespace uprez
