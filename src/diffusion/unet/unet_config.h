// UNet2DConditionModel's config.json as the SD upscalers use it, read strictly (diffusers' defaults; every value
// uprez does not implement is an error naming the field), separate from building the network.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "diffusion/model/json_config.h"

namespace uprez {

struct UNetConfig {
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  std::vector<int64_t> block_out_channels{320, 640, 1280, 1280};
  std::vector<std::string> down_block_types;
  std::vector<std::string> up_block_types;
  std::string mid_block_type = "UNetMidBlock2DCrossAttn";
  int64_t layers_per_block = 2;
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  int64_t cross_attention_dim = 1280;
  std::vector<int64_t> heads;                 // per down block (diffusers' legacy attention_head_dim = heads)
  std::vector<bool> only_cross_attention;     // per down block
  std::vector<int64_t> transformer_layers;    // per down block
  bool use_linear_projection = false;
  int64_t num_class_embeds = 0;               // 0: no class embedding
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1;

  // Reads and checks `config` (finish() included): Error naming the file and field for anything unsupported.
  static UNetConfig read(JsonConfig config);
  size_t blocks() const { return block_out_channels.size(); }
  int64_t time_embed_dim() const { return block_out_channels[0] * 4; }
};

}  // namespace uprez
