#include "diffusion/unet/unet_config.h"

#include "core/error.h"

namespace uprez {
namespace unet_config {

void check_block_types(JsonConfig& config, const std::string& key, const std::vector<std::string>& types,
                       const std::string& plain, const std::string& cross, size_t count) {
  if (types.size() != count)
    throw Error(config.field(key) + " has " + std::to_string(types.size()) + " entries for " +
                std::to_string(count) + " block_out_channels");
  for (const std::string& type : types)
    if (type != plain && type != cross)
      throw Error(config.field(key) + ": block type \"" + type + "\" is not supported by uprez");
}

// Values whose only supported setting is diffusers' default (or what the SD upscalers use).
void require_defaults(JsonConfig& c) {
  c.require("act_fn", {"silu"});
  c.require("addition_embed_type", {nullptr});
  c.require("attention_type", {"default"});
  c.require("center_input_sample", {false});
  c.require("class_embed_type", {nullptr});
  c.require("class_embeddings_concat", {false});
  c.require("conv_in_kernel", {3});
  c.require("conv_out_kernel", {3});
  c.require("cross_attention_norm", {nullptr});
  c.require("dual_cross_attention", {false});
  c.require("encoder_hid_dim", {nullptr});
  c.require("encoder_hid_dim_type", {nullptr});
  c.require("num_attention_heads", {nullptr});
  c.require("resnet_out_scale_factor", {1.0, 1});
  c.require("resnet_skip_time_act", {false});
  c.require("resnet_time_scale_shift", {"default"});
  c.require("time_cond_proj_dim", {nullptr});
  c.require("time_embedding_act_fn", {nullptr});
  c.require("time_embedding_dim", {nullptr});
  c.require("time_embedding_type", {"positional"});
  c.require("timestep_post_act", {nullptr});
  c.require("upcast_attention", {false});
  c.require("mid_block_only_cross_attention", {nullptr, false});
  c.require("reverse_transformer_layers_per_block", {nullptr});
  c.require("projection_class_embeddings_input_dim", {nullptr});
  c.require("addition_time_embed_dim", {nullptr});
  c.ignore({"sample_size", "dropout", "addition_embed_type_num_heads"});
}

}  // namespace unet_config

UNetConfig UNetConfig::read(JsonConfig c) {
  UNetConfig u;
  u.in_channels = c.integer("in_channels", 4);
  u.out_channels = c.integer("out_channels", 4);
  u.block_out_channels = c.integers("block_out_channels", u.block_out_channels);
  const size_t n = u.blocks();
  u.down_block_types = c.strings("down_block_types", {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                                      "CrossAttnDownBlock2D", "DownBlock2D"});
  u.up_block_types =
      c.strings("up_block_types", {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"});
  unet_config::check_block_types(c, "down_block_types", u.down_block_types, "DownBlock2D", "CrossAttnDownBlock2D", n);
  unet_config::check_block_types(c, "up_block_types", u.up_block_types, "UpBlock2D", "CrossAttnUpBlock2D", n);
  c.require("mid_block_type", {"UNetMidBlock2DCrossAttn"});
  u.layers_per_block = c.integer("layers_per_block", 2);
  u.norm_num_groups = c.integer("norm_num_groups", 32);
  u.norm_eps = c.number("norm_eps", 1e-5);
  u.cross_attention_dim = c.integer("cross_attention_dim", 1280);
  u.heads = c.integers_per_block("attention_head_dim", 8, n);
  u.only_cross_attention = c.booleans_per_block("only_cross_attention", false, n);
  u.transformer_layers = c.integers_per_block("transformer_layers_per_block", 1, n);
  u.use_linear_projection = c.boolean("use_linear_projection", false);
  u.num_class_embeds = c.integer("num_class_embeds", 0);
  u.flip_sin_to_cos = c.boolean("flip_sin_to_cos", true);
  u.freq_shift = c.number("freq_shift", 0);
  u.downsample_padding = c.integer("downsample_padding", 1);
  u.mid_block_scale_factor = c.number("mid_block_scale_factor", 1);
  unet_config::require_defaults(c);
  c.finish();
  for (size_t i = 0; i < n; ++i)
    if (u.block_out_channels[i] % u.heads[i] != 0 || u.block_out_channels[i] % u.norm_num_groups != 0)
      throw Error(c.field("block_out_channels") + ": " + std::to_string(u.block_out_channels[i]) +
                  " channels do not divide into the heads and norm groups");
  return u;
}

}  // namespace uprez
