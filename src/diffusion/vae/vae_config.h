// AutoencoderKL's config.json read strictly (diffusers' defaults; unsupported values are errors naming the field).
#pragma once
#include <cstdint>
#include <vector>

#include "diffusion/model/json_config.h"

namespace uprez {

struct VaeConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t latent_channels = 4;
  std::vector<int64_t> block_out_channels{64};
  int64_t layers_per_block = 1;
  int64_t norm_num_groups = 32;
  int64_t sample_size = 32;
  double scaling_factor = 0.18215;
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;
  bool force_upcast = true;

  static VaeConfig read(JsonConfig config);
  // 2^(levels - 1): how much larger the image is than the latents.
  int64_t scale_factor() const { return int64_t{1} << (block_out_channels.size() - 1); }
};

}  // namespace uprez
