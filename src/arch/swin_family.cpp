#include "arch/swin_family.h"

#include <string>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/any_dtype.h"

namespace uprez {

namespace swin_family {

constexpr double kNearestConvSlope = 0.2;

}  // namespace swin_family

void detect_swin_family(const StateDict& state, const SwinFamilyKeys& keys, SwinFamilyOptions& options) {
  options.in_chans = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  const int num_layers = sequence_length(state, "layers");
  options.depths.clear();
  options.num_heads.clear();
  for (int i = 0; i < num_layers; ++i) {
    const std::string group = "layers." + std::to_string(i) + ".";
    options.depths.push_back(keys.group_blocks.empty() ? keys.fixed_depth
                                                       : sequence_length(state, group + keys.group_blocks));
    options.num_heads.push_back(static_cast<int>(state.dim(group + keys.group_heads, keys.heads_dim)));
  }
  options.mlp_ratio = static_cast<double>(state.dim(keys.mlp_fc1, 0)) / options.embed_dim;
  options.qkv_bias = keys.qkv_bias.empty() || state.contains(keys.qkv_bias);
  options.ape = state.contains("absolute_pos_embed");
  options.patch_norm = state.contains("patch_embed.norm.weight");
}

std::string detect_swin_upsampler(const StateDict& state, const std::string& nearest_conv_key) {
  if (state.contains(nearest_conv_key)) return "nearest+conv";
  if (state.contains("conv_before_upsample.0.weight")) return "pixelshuffle";
  if (state.contains("upsample.0.weight")) return "pixelshuffledirect";
  return "";
}

int detect_swin_upscale(const StateDict& state, const std::string& upsampler, int64_t out_channels,
                        int nearest_conv_scale) {
  if (upsampler == "nearest+conv") return nearest_conv_scale;
  if (upsampler == "pixelshuffle") return pixel_shuffle_parameters(state, "upsample").first;
  if (upsampler == "pixelshuffledirect")
    return static_cast<int>(integer_sqrt(state.dim("upsample.0.weight", 0) / out_channels));
  return 1;
}

int swin_patches_resolution(const StateDict& state, const std::string& mask_key, int window, bool use_ape,
                            int fallback) {
  if (!mask_key.empty() && state.contains(mask_key))
    return static_cast<int>(integer_sqrt(state.dim(mask_key, 0))) * window;
  // absolute_pos_embed holds patches_resolution^2 positions. (spandrel means to read this but indexes the tensor
  // instead of its shape, which raises.)
  if (use_ape) return static_cast<int>(integer_sqrt(state.dim("absolute_pos_embed", 1)));
  return fallback;
}

nlohmann::json swin_hyperparameters(const SwinFamilyOptions& options, SwinTrainingKeys training) {
  nlohmann::json json = {
      {"img_size", options.img_size},
      {"patch_size", options.patch_size},
      {"in_chans", options.in_chans},
      {"embed_dim", options.embed_dim},
      {"depths", options.depths},
      {"num_heads", options.num_heads},
      {"window_size", options.window_size},
      {"mlp_ratio", options.mlp_ratio},
      {"qkv_bias", options.qkv_bias},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"ape", options.ape},
      {"patch_norm", options.patch_norm},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"upsampler", options.upsampler},
      {"resi_connection", options.resi_connection},
  };
  if (training.qk_scale) json["qk_scale"] = nullptr;
  if (training.drop_rates) {
    json["drop_rate"] = 0.0;
    json["attn_drop_rate"] = 0.0;
    json["drop_path_rate"] = 0.1;
  }
  if (training.use_checkpoint) json["use_checkpoint"] = false;
  return json;
}

ModelInfo swin_model_info(const std::string& id, const SwinFamilyOptions& options, SizeRequirements size,
                          SwinTrainingKeys training) {
  ModelInfo info = basic_model_info(id, options.upscale, options.in_chans, options.in_chans, size);
  info.supports_half = false;
  info.supports_bfloat16 = true;
  info.hyperparameters = swin_hyperparameters(options, training);
  return info;
}

std::string swin_training_size_tag(const SwinFamilyOptions& options) {
  return "s" + std::to_string(options.img_size) + "w" + std::to_string(options.window_size);
}

SwinIRReconstruction::SwinIRReconstruction(torch::nn::Module& network, const std::string& upsampler,
                                           int64_t embed_dim, int64_t out_channels, int64_t upscale,
                                           int64_t features) {
  if (upsampler == "pixelshuffle" || upsampler == "nearest+conv")
    conv_before_upsample_ = network.register_module(
        "conv_before_upsample",
        torch::nn::Sequential(same_conv(embed_dim, features, 3), torch::nn::LeakyReLU()));  // slope 0.01
  if (upsampler == "pixelshuffle") {
    head_ = Head::PixelShuffle;
    if (upscale > 1)  // spandrel's Upsample for scale 1 is empty
      upsample_ = network.register_module("upsample", power_of_two_or_three_upsampler(upscale, features));
    conv_last_ = network.register_module("conv_last", same_conv(features, out_channels, 3));
  } else if (upsampler == "pixelshuffledirect") {
    head_ = Head::PixelShuffleDirect;
    upsample_ = network.register_module("upsample", pixel_shuffle_block(embed_dim, out_channels, upscale));
  } else if (upsampler == "nearest+conv") {
    head_ = Head::NearestConv;
    if (upscale != 2 && upscale != 4 && upscale != 8)
      throw Error("SwinIR's nearest+conv upsampler supports scales 2, 4 and 8, not " + std::to_string(upscale));
    for (int64_t remaining = upscale; remaining > 1; remaining /= 2)
      conv_up_.push_back(network.register_module("conv_up" + std::to_string(conv_up_.size() + 1),
                                                 same_conv(features, features, 3)));
    conv_hr_ = network.register_module("conv_hr", same_conv(features, features, 3));
    conv_last_ = network.register_module("conv_last", same_conv(features, out_channels, 3));
  } else if (upsampler.empty()) {
    head_ = Head::Restoration;
    conv_last_ = network.register_module("conv_last", same_conv(embed_dim, out_channels, 3));
  } else {
    throw Error("unknown SwinIR upsampler \"" + upsampler + "\"");
  }
}

torch::Tensor SwinIRReconstruction::forward(const torch::Tensor& features, const torch::Tensor& input) {
  switch (head_) {
    case Head::PixelShuffle: {
      const torch::Tensor x = conv_before_upsample_->forward(features);
      return conv_last_->forward(upsample_ ? upsample_->forward(x) : x);
    }
    case Head::PixelShuffleDirect:
      return upsample_->forward(features);
    case Head::NearestConv: {
      torch::Tensor x = conv_before_upsample_->forward(features);
      for (auto& conv : conv_up_)
        x = torch::leaky_relu(conv->forward(upscale_nearest(x, 2)), swin_family::kNearestConvSlope);
      return conv_last_->forward(torch::leaky_relu(conv_hr_->forward(x), swin_family::kNearestConvSlope));
    }
    case Head::Restoration:
      return input + conv_last_->forward(features);
  }
  return {};
}

torch::nn::AnyModule swin_residual_conv(int64_t features, const std::string& resi_connection) {
  if (resi_connection == "identity") return {};
  return residual_connection_conv(features, resi_connection);
}

SwinFamilyNetwork::SwinFamilyNetwork(const SwinFamilyOptions& options, int64_t conv_first_in, int64_t ape_patches,
                                     bool own_patch_embed) {
  const int64_t dim = options.embed_dim;
  conv_first_ = register_module("conv_first", same_conv(conv_first_in, dim, 3));
  if (!own_patch_embed) patch_embed_ = register_module("patch_embed", PatchEmbed(dim, options.patch_norm));
  if (options.ape)
    absolute_pos_embed_ = register_parameter("absolute_pos_embed", torch::zeros({1, ape_patches, dim}));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  conv_after_body_ = swin_residual_conv(dim, options.resi_connection);
  if (!conv_after_body_.is_empty()) register_module("conv_after_body", conv_after_body_.ptr());
}

torch::Tensor SwinFamilyNetwork::embed(const torch::Tensor& shallow) {
  const torch::Tensor tokens = patch_embed_->forward(shallow);
  return absolute_pos_embed_.defined() ? tokens + absolute_pos_embed_ : tokens;
}

torch::Tensor SwinFamilyNetwork::deep_features(const torch::Tensor& shallow,
                                               const std::function<torch::Tensor(torch::Tensor)>& layers) {
  const int64_t height = shallow.size(2), width = shallow.size(3);
  torch::Tensor deep = tokens_to_image(norm_->forward(layers(embed(shallow))), height, width);
  if (!conv_after_body_.is_empty()) deep = conv_after_body_.forward(deep);
  return deep + shallow;
}

}  // namespace uprez
