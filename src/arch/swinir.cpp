#include "arch/swinir.h"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/any_dtype.h"
#include "nn/padding.h"

namespace uprez {

namespace swinir {

constexpr int64_t kReconstructionFeatures = 64;  // SwinIR's fixed num_feat
constexpr double kNearestConvSlope = 0.2;

bool detect(const StateDict& state) {
  return state.has_all({"layers.0.residual_group.blocks.0.norm1.weight",
                        "layers.0.residual_group.blocks.0.mlp.fc1.bias",
                        "layers.0.residual_group.blocks.0.attn.relative_position_index"}) &&
         (state.contains("conv_first.weight") || state.contains("conv_first.1.weight"));
}

Model load(const StateDict& file_state) {
  StateDict state = file_state;
  SwinIROptions options;
  if (state.contains("conv_before_upsample.0.weight"))
    options.upsampler = state.contains("conv_up1.weight") ? "nearest+conv" : "pixelshuffle";
  else if (state.contains("upsample.0.weight"))
    options.upsampler = "pixelshuffledirect";

  // Models trained with start_unshuffle store the first conv behind the unshuffle, as "conv_first.1".
  if (state.contains("conv_first.1.weight")) {
    state.set("conv_first.weight", state.at("conv_first.1.weight"));
    state.set("conv_first.bias", state.at("conv_first.1.bias"));
    state.erase("conv_first.1.weight");
    state.erase("conv_first.1.bias");
    options.start_unshuffle =
        static_cast<int>(std::round(std::sqrt(static_cast<double>(state.dim("conv_first.weight", 1) / 3))));
  }
  const auto num_in_ch = static_cast<int>(state.dim("conv_first.weight", 1));
  const int num_out_ch =
      state.contains("conv_last.weight") ? static_cast<int>(state.dim("conv_last.weight", 0)) : num_in_ch;

  int num_feat = kReconstructionFeatures;
  options.upscale = 1;
  if (options.upsampler == "nearest+conv") {
    for (const std::string& key : state.keys())
      if (key.find("conv_up") != std::string::npos && key.find("bias") == std::string::npos) options.upscale *= 2;
  } else if (options.upsampler == "pixelshuffle") {
    std::tie(options.upscale, num_feat) = pixel_shuffle_parameters(state, "upsample");
  } else if (options.upsampler == "pixelshuffledirect") {
    options.upscale = static_cast<int>(std::sqrt(static_cast<double>(state.dim("upsample.0.bias", 0) / num_out_ch)));
  }

  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  options.mlp_ratio =
      static_cast<double>(state.dim("layers.0.residual_group.blocks.0.mlp.fc1.bias", 0)) / options.embed_dim;
  options.window_size = static_cast<int>(std::sqrt(
      static_cast<double>(state.dim("layers.0.residual_group.blocks.0.attn.relative_position_index", 0))));
  if (state.contains("layers.0.residual_group.blocks.1.attn_mask"))
    options.img_size = static_cast<int>(
        std::sqrt(static_cast<double>(state.dim("layers.0.residual_group.blocks.1.attn_mask", 0))) *
        options.window_size);

  const int num_layers = sequence_length(state, "layers");
  options.depths.clear();
  options.num_heads.clear();
  for (int i = 0; i < num_layers; ++i) {
    const std::string group = "layers." + std::to_string(i) + ".residual_group.blocks";
    options.depths.push_back(sequence_length(state, group));
    options.num_heads.push_back(static_cast<int>(state.dim(group + ".0.attn.relative_position_bias_table", 1)));
  }
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "3conv";
  // The JPEG models are the only ones with window size 7, and they work on 0..255.
  options.img_range = options.window_size == 7 ? 255.0 : 1.0;
  options.in_chans = num_in_ch / (options.start_unshuffle * options.start_unshuffle);

  ModelInfo info;
  info.architecture_id = info.architecture_name = "SwinIR";
  const int scale = options.upscale / options.start_unshuffle;
  info.purpose = purpose_for_scale(scale);
  info.tags = {swin_size_tag(options.depths.size()),
               "s" + std::to_string(options.img_size) + "w" + std::to_string(options.window_size),
               std::to_string(num_feat) + "nf",
               std::to_string(options.embed_dim) + "dim",
               options.resi_connection,
               std::to_string(options.start_unshuffle) + "unshuf"};
  info.scale = scale;
  info.input_channels = options.in_chans;
  info.output_channels = num_out_ch;
  info.size_requirements = SizeRequirements(16, options.start_unshuffle * options.start_unshuffle);
  info.tiling = Tiling::Discouraged;
  info.supports_half = false;
  info.supports_bfloat16 = true;
  info.hyperparameters = {
      {"img_size", options.img_size},
      {"patch_size", 1},
      {"in_chans", options.in_chans},
      {"embed_dim", options.embed_dim},
      {"depths", options.depths},
      {"num_heads", options.num_heads},
      {"window_size", options.window_size},
      {"mlp_ratio", options.mlp_ratio},
      {"qkv_bias", true},
      {"qk_scale", nullptr},
      {"drop_rate", 0.0},
      {"attn_drop_rate", 0.0},
      {"drop_path_rate", 0.1},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"ape", false},
      {"patch_norm", true},
      {"use_checkpoint", false},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"upsampler", options.upsampler},
      {"resi_connection", options.resi_connection},
      {"start_unshuffle", options.start_unshuffle},
  };
  return assemble_model(std::move(info), std::make_shared<SwinIRNetwork>(options), state);
}

}  // namespace swinir

SwinIRReconstruction::SwinIRReconstruction(torch::nn::Module& network, const std::string& upsampler,
                                           int64_t embed_dim, int64_t out_channels, int64_t upscale) {
  const int64_t features = swinir::kReconstructionFeatures;
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
        x = torch::leaky_relu(conv->forward(upscale_nearest(x, 2)), swinir::kNearestConvSlope);
      return conv_last_->forward(torch::leaky_relu(conv_hr_->forward(x), swinir::kNearestConvSlope));
    }
    case Head::Restoration:
      return input + conv_last_->forward(features);
  }
  return {};
}

// BasicLayer: the RSTB's sequence of Swin transformer blocks "blocks", unshifted and shifted by half a window in
// turn.
class SwinLayer : public torch::nn::Module {
 public:
  SwinLayer(const SwinIROptions& options, int64_t depth, int64_t num_heads) {
    const int64_t dim = options.embed_dim;
    auto blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(SwinTransformerBlock(dim, options.img_size, num_heads, options.window_size,
                                             i % 2 == 0 ? 0 : options.window_size / 2,
                                             static_cast<int64_t>(dim * options.mlp_ratio), /*qkv_bias=*/true));
      blocks->push_back(blocks_.back());
    }
  }

  torch::Tensor forward(torch::Tensor x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    for (auto& block : blocks_) x = block->forward(x, height, width, shifted_mask);
    return x;
  }

 private:
  std::vector<SwinTransformerBlock> blocks_;
};

// Residual Swin transformer block (RSTB): the "residual_group" of Swin blocks, then the resi_connection "conv"
// on the image, plus the input tokens.
class ResidualSwinTransformerBlock : public torch::nn::Module {
 public:
  ResidualSwinTransformerBlock(const SwinIROptions& options, int64_t depth, int64_t num_heads)
      : residual_group_(register_module("residual_group", std::make_shared<SwinLayer>(options, depth, num_heads))),
        conv_(residual_connection_conv(options.embed_dim, options.resi_connection)) {
    register_module("conv", conv_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    const torch::Tensor grouped =
        tokens_to_image(residual_group_->forward(x, height, width, shifted_mask), height, width);
    return image_to_tokens(conv_.forward(grouped)) + x;
  }

 private:
  std::shared_ptr<SwinLayer> residual_group_;
  torch::nn::AnyModule conv_;
};

SwinIRNetwork::SwinIRNetwork(const SwinIROptions& options)
    : options_(options),
      mean_(div2k_mean(options.in_chans)) {
  const int64_t dim = options.embed_dim;
  const int64_t num_in_ch = int64_t{options.in_chans} * options.start_unshuffle * options.start_unshuffle;
  conv_first_ = register_module("conv_first", same_conv(num_in_ch, dim, 3));
  patch_embed_ = register_module("patch_embed", PatchEmbed(dim, /*patch_norm=*/true));
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (size_t i = 0; i < options.depths.size(); ++i) {
    layers_.push_back(
        std::make_shared<ResidualSwinTransformerBlock>(options, options.depths[i], options.num_heads[i]));
    layers->push_back(layers_.back());
  }
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  conv_after_body_ = residual_connection_conv(dim, options.resi_connection);
  register_module("conv_after_body", conv_after_body_.ptr());
  reconstruction_ =
      std::make_unique<SwinIRReconstruction>(*this, options.upsampler, dim, options.in_chans, options.upscale);
}

torch::Tensor SwinIRNetwork::forward_features(const torch::Tensor& x) {
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t window = options_.window_size;
  const torch::Tensor shifted_mask = shifted_window_mask(height, width, window, window / 2).to(x.options());
  torch::Tensor tokens = patch_embed_->forward(x);
  for (const auto& layer : layers_) tokens = layer->forward(tokens, height, width, shifted_mask);
  return tokens_to_image(norm_->forward(tokens), height, width);
}

torch::Tensor SwinIRNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor mean = mean_.to(x.options());
  // spandrel pads to a multiple of the window only, which fails after start_unshuffle unless the unshuffled size
  // happens to fit the window; padding to window * start_unshuffle gives the same result wherever spandrel runs.
  const int64_t multiple = int64_t{options_.window_size} * options_.start_unshuffle;
  x = (pad_to_multiple(x, multiple, torch::kReflect) - mean) * options_.img_range;
  if (options_.start_unshuffle > 1) x = torch::pixel_unshuffle(x, options_.start_unshuffle);
  const torch::Tensor shallow = conv_first_->forward(x);
  const torch::Tensor features = conv_after_body_.forward(forward_features(shallow)) + shallow;
  x = reconstruction_->forward(features, x) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kSwinIRArchitecture = {"SwinIR", swinir::detect, swinir::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
