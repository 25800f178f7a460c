#include "diffusion/unet/unet_2d_condition.h"

#include "core/error.h"
#include "diffusion/model/loaded.h"

namespace uprez {

UNetBlockOptions UNet2DConditionImpl::block_options(size_t i, bool up) const {
  const UNetConfig& c = config_;
  const size_t n = c.blocks();
  const size_t config_index = up ? n - 1 - i : i;  // up blocks read the per-block lists reversed
  UNetBlockOptions o;
  o.out_channels = c.block_out_channels[config_index];
  o.temb_channels = c.time_embed_dim();
  o.groups = c.norm_num_groups;
  o.eps = c.norm_eps;
  o.transformer.heads = c.heads[config_index];
  o.transformer.layers = c.transformer_layers[config_index];
  o.transformer.cross_attention_dim = c.cross_attention_dim;
  o.transformer.norm_groups = c.norm_num_groups;
  o.transformer.use_linear_projection = c.use_linear_projection;
  o.transformer.only_cross_attention = c.only_cross_attention[config_index];
  o.add_sampler = i + 1 < n;
  o.downsample_padding = c.downsample_padding;
  if (up) {
    o.with_attention = c.up_block_types[i] == "CrossAttnUpBlock2D";
    o.layers = c.layers_per_block + 1;
    o.prev_output_channels = c.block_out_channels[std::min(n - 1, n - i)];
    o.in_channels = c.block_out_channels[i + 1 < n ? n - 2 - i : 0];
  } else {
    o.with_attention = c.down_block_types[i] == "CrossAttnDownBlock2D";
    o.layers = c.layers_per_block;
    o.in_channels = i == 0 ? c.block_out_channels[0] : c.block_out_channels[i - 1];
  }
  return o;
}

UNet2DConditionImpl::UNet2DConditionImpl(const UNetConfig& c) : config_(c) {
  const int64_t c0 = c.block_out_channels[0];
  conv_in = register_module("conv_in", FastConv2d(c.in_channels, c0, 3, 1, 1));
  time_embedding = register_module("time_embedding", TimestepEmbedding(c0, c.time_embed_dim()));
  if (c.num_class_embeds > 0)
    class_embedding = register_module("class_embedding", torch::nn::Embedding(c.num_class_embeds, c.time_embed_dim()));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < c.blocks(); ++i) {
    down_.push_back(UNetDownBlock(block_options(i, false)));
    down_blocks->push_back(down_.back());
  }
  UNetBlockOptions mid = block_options(c.blocks() - 1, false);
  mid.in_channels = mid.out_channels;
  mid.layers = 1;
  mid_block = register_module("mid_block", UNetMidBlock(mid, c.mid_block_scale_factor));
  build_up_blocks();
  conv_norm_out = register_module("conv_norm_out",
                                  torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, c0).eps(c.norm_eps)));
  conv_out = register_module("conv_out", FastConv2d(c0, c.out_channels, 3, 1, 1));
}

void UNet2DConditionImpl::build_up_blocks() {
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < config_.blocks(); ++i) {
    up_.push_back(UNetUpBlock(block_options(i, true)));
    up_blocks->push_back(up_.back());
  }
}

torch::Tensor UNet2DConditionImpl::embed_time(const torch::Tensor& timestep, const torch::Tensor& class_labels,
                                              int64_t batch, torch::Dtype dtype) {
  torch::Tensor t = timestep.reshape({-1}).to(torch::kFloat32);
  if (t.size(0) == 1) t = t.expand({batch});
  torch::Tensor features = timestep_features(t, config_.block_out_channels[0], config_.flip_sin_to_cos,
                                             config_.freq_shift);
  torch::Tensor emb = time_embedding->forward(features.to(dtype));
  if (class_embedding) {
    if (!class_labels.defined()) throw Error("UNet: the model has a class embedding but no class labels were given");
    emb = emb + class_embedding->forward(class_labels.reshape({-1}).to(torch::kLong)).to(dtype);
  }
  return emb;
}

torch::Tensor UNet2DConditionImpl::forward(const torch::Tensor& sample, const torch::Tensor& timestep,
                                           const torch::Tensor& context, const torch::Tensor& class_labels) {
  const torch::Tensor temb = embed_time(timestep.to(sample.device()), class_labels.defined() ? class_labels.to(sample.device()) : class_labels,
                                        sample.size(0), sample.scalar_type());
  torch::Tensor x = conv_in->forward(sample);
  std::vector<torch::Tensor> skips{x};
  for (UNetDownBlock& block : down_) x = block->forward(x, temb, context, skips);
  x = mid_block->forward(x, temb, context);
  for (size_t i = 0; i < up_.size(); ++i) {
    const size_t consumed = static_cast<size_t>(config_.layers_per_block + 1);
    std::vector<int64_t> size;
    if (i + 1 < up_.size()) size = skips[skips.size() - consumed - 1].sizes().slice(2).vec();
    x = up_[i]->forward(x, temb, context, skips, size);
  }
  return conv_out->forward(group_norm_silu(conv_norm_out, x));
}

UNet2DCondition load_unet(const UNetConfig& config, StateDict weights, const std::string& what) {
  return loaded<UNet2DCondition>(config, std::move(weights), what);
}

}  // namespace uprez
