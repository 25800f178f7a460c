#include "diffusion/vae/vae_config.h"

#include "core/error.h"

namespace uprez {
namespace vae_config {

void check_block_types(JsonConfig& c, const std::string& key, const std::string& type, size_t count) {
  const std::vector<std::string> types = c.strings(key, std::vector<std::string>(count, type));
  if (types.size() != count)
    throw Error(c.field(key) + " has " + std::to_string(types.size()) + " entries for " + std::to_string(count) +
                " block_out_channels");
  for (const std::string& t : types)
    if (t != type) throw Error(c.field(key) + ": block type \"" + t + "\" is not supported by uprez");
}

}  // namespace vae_config

VaeConfig VaeConfig::read(JsonConfig c) {
  VaeConfig v;
  v.in_channels = c.integer("in_channels", 3);
  v.out_channels = c.integer("out_channels", 3);
  v.latent_channels = c.integer("latent_channels", 4);
  v.block_out_channels = c.integers("block_out_channels", v.block_out_channels);
  if (v.block_out_channels.empty()) throw Error(c.field("block_out_channels") + " is empty");
  vae_config::check_block_types(c, "down_block_types", "DownEncoderBlock2D", v.block_out_channels.size());
  vae_config::check_block_types(c, "up_block_types", "UpDecoderBlock2D", v.block_out_channels.size());
  v.layers_per_block = c.integer("layers_per_block", 1);
  v.norm_num_groups = c.integer("norm_num_groups", 32);
  v.sample_size = c.integer("sample_size", 32);
  v.scaling_factor = c.number("scaling_factor", 0.18215);
  v.use_quant_conv = c.boolean("use_quant_conv", true);
  v.use_post_quant_conv = c.boolean("use_post_quant_conv", true);
  v.mid_block_add_attention = c.boolean("mid_block_add_attention", true);
  v.force_upcast = c.boolean("force_upcast", true);
  c.require("act_fn", {"silu"});
  c.require("latents_mean", {nullptr});
  c.require("latents_std", {nullptr});
  c.require("shift_factor", {nullptr});
  c.finish();
  for (int64_t channels : v.block_out_channels)
    if (channels % v.norm_num_groups != 0)
      throw Error(c.field("block_out_channels") + ": " + std::to_string(channels) +
                  " channels do not divide into norm_num_groups");
  return v;
}

}  // namespace uprez
