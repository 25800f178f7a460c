#include "arch/drct.h"

#include <array>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"


namespace uprez {

namespace drct {

constexpr int64_t kReconstructionFeatures = 64;  // DRCT's fixed num_feat
constexpr double kDenseSlope = 0.2;
constexpr double kResidualScale = 0.2;

bool detect(const StateDict& state) {
  return state.has_all({"conv_first.weight",
                        "conv_first.bias",
                        "layers.0.swin1.norm1.weight",
                        "layers.0.swin1.norm1.bias",
                        "layers.0.swin1.attn.relative_position_bias_table",
                        "layers.0.swin1.attn.relative_position_index",
                        "layers.0.swin1.attn.qkv.weight",
                        "layers.0.swin1.attn.proj.weight",
                        "layers.0.swin1.attn.proj.bias",
                        "layers.0.swin1.norm2.weight",
                        "layers.0.swin1.mlp.fc1.weight",
                        "layers.0.swin1.mlp.fc1.bias",
                        "layers.0.swin1.mlp.fc2.weight",
                        "layers.0.adjust1.weight",
                        "layers.0.swin2.norm1.weight",
                        "layers.0.adjust2.weight",
                        "layers.0.swin3.norm1.weight",
                        "layers.0.adjust3.weight",
                        "layers.0.swin4.norm1.weight",
                        "layers.0.adjust4.weight",
                        "layers.0.swin5.norm1.weight",
                        "layers.0.adjust5.weight",
                        "norm.weight",
                        "norm.bias"});
}

Model load(const StateDict& state) {
  DrctOptions options;
  options.in_chans = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  const int num_layers = sequence_length(state, "layers");
  options.depths.assign(num_layers, 6);
  options.num_heads.clear();
  for (int i = 0; i < num_layers; ++i)
    options.num_heads.push_back(
        static_cast<int>(state.dim("layers." + std::to_string(i) + ".swin1.attn.relative_position_bias_table", 1)));
  options.mlp_ratio = static_cast<double>(state.dim("layers.0.swin1.mlp.fc1.weight", 0)) / options.embed_dim;
  const int64_t window_square = state.dim("layers.0.swin1.attn.relative_position_bias_table", 0);
  options.window_size = static_cast<int>((integer_sqrt(window_square) + 1) / 2);
  if (state.contains("conv_last.weight")) {
    options.upsampler = "pixelshuffle";
    options.upscale = pixel_shuffle_parameters(state, "upsample").first;
  } else {
    options.upsampler = "";
    options.upscale = 1;
  }
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "identity";
  options.qkv_bias = state.contains("layers.0.swin1.attn.qkv.bias");
  options.gc = static_cast<int>(state.dim("layers.0.adjust1.weight", 0));
  options.patch_norm = state.contains("patch_embed.norm.weight");
  options.ape = state.contains("absolute_pos_embed");
  // Patch size 1. Without a stored mask the training size is only known to be <= window_size.
  options.img_size =
      state.contains("layers.0.swin2.attn_mask")
          ? static_cast<int>(integer_sqrt(state.dim("layers.0.swin2.attn_mask", 0))) * options.window_size
          : options.window_size;

  ModelInfo info;
  info.architecture_id = info.architecture_name = "DRCT";
  info.purpose = purpose_for_scale(options.upscale);
  if (options.depths.size() >= 10) info.tags.push_back("large");
  info.tags.push_back("s" + std::to_string(options.img_size) + "w" + std::to_string(options.window_size));
  info.tags.push_back(std::to_string(options.embed_dim) + "dim");
  info.tags.push_back(options.resi_connection);
  info.scale = options.upscale;
  info.input_channels = info.output_channels = options.in_chans;
  info.size_requirements = SizeRequirements(0, 16);
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
      {"qkv_bias", options.qkv_bias},
      {"qk_scale", nullptr},
      {"drop_rate", 0.0},
      {"attn_drop_rate", 0.0},
      {"drop_path_rate", 0.1},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"ape", options.ape},
      {"patch_norm", options.patch_norm},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"upsampler", options.upsampler},
      {"resi_connection", options.resi_connection},
      {"gc", options.gc},
  };
  return assemble_model(std::move(info), std::make_shared<DrctNetwork>(options), state);
}

}  // namespace drct

// Residual dense group (RDG): five Swin blocks, block k seeing the input concatenated with the k-1 previous
// outputs, each squeezed to gc channels by a 1x1 "adjust" conv (LeakyReLU 0.2; the last back to embed_dim);
// output = 0.2 * last + input.
class ResidualDenseGroup : public torch::nn::Module {
 public:
  ResidualDenseGroup(const DrctOptions& options, int64_t num_heads) {
    const int64_t dim = options.embed_dim, gc = options.gc;
    for (size_t k = 0; k < swin_.size(); ++k) {
      const int64_t block_dim = dim + static_cast<int64_t>(k) * gc;
      const int64_t shift = k % 2 == 1 ? options.window_size / 2 : 0;
      const double mlp_ratio = k < 3 ? options.mlp_ratio : 1.0;
      const std::string suffix = std::to_string(k + 1);
      swin_[k] = register_module(
          "swin" + suffix,
          SwinTransformerBlock(block_dim, options.img_size, num_heads - block_dim % num_heads, options.window_size,
                               shift, static_cast<int64_t>(block_dim * mlp_ratio), options.qkv_bias));
      adjust_[k] = register_module("adjust" + suffix, same_conv(block_dim, k + 1 < swin_.size() ? gc : dim, 1));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    std::vector<torch::Tensor> features = {x};
    for (size_t k = 0; k < swin_.size(); ++k) {
      const torch::Tensor attended = swin_[k]->forward(torch::cat(features, -1), height, width, shifted_mask);
      torch::Tensor adjusted = adjust_[k]->forward(tokens_to_image(attended, height, width));
      if (k + 1 < swin_.size()) adjusted = torch::leaky_relu(adjusted, drct::kDenseSlope);
      features.push_back(image_to_tokens(adjusted));
    }
    return features.back() * drct::kResidualScale + x;
  }

 private:
  std::array<SwinTransformerBlock, 5> swin_{nullptr, nullptr, nullptr, nullptr, nullptr};
  std::array<FastConv2d, 5> adjust_{nullptr, nullptr, nullptr, nullptr, nullptr};
};

DrctNetwork::DrctNetwork(const DrctOptions& options) : options_(options) {
  const int64_t dim = options.embed_dim;
  mean_ = div2k_mean(options.in_chans);
  conv_first_ = register_module("conv_first", same_conv(options.in_chans, dim, 3));
  patch_embed_ = register_module("patch_embed", PatchEmbed(dim, options.patch_norm));
  if (options.ape)
    absolute_pos_embed_ = register_parameter(
        "absolute_pos_embed", torch::zeros({1, static_cast<int64_t>(options.img_size) * options.img_size, dim}));
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (int heads : options.num_heads) {
    layers_.push_back(std::make_shared<ResidualDenseGroup>(options, heads));
    layers->push_back(layers_.back());
  }
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  if (options.resi_connection == "1conv") conv_after_body_ = register_module("conv_after_body", same_conv(dim, dim, 3));
  if (options.upsampler != "pixelshuffle") return;
  conv_before_upsample_ = register_module(
      "conv_before_upsample",
      torch::nn::Sequential(same_conv(dim, drct::kReconstructionFeatures, 3), torch::nn::LeakyReLU()));  // slope 0.01
  if (options.upscale > 1)
    upsample_ = register_module("upsample", power_of_two_or_three_upsampler(options.upscale, drct::kReconstructionFeatures));
  conv_last_ = register_module("conv_last", same_conv(drct::kReconstructionFeatures, options.in_chans, 3));
}

torch::Tensor DrctNetwork::forward_features(const torch::Tensor& x) {
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t window = options_.window_size;
  const torch::Tensor shifted_mask = shifted_window_mask(height, width, window, window / 2).to(x.options());
  torch::Tensor tokens = patch_embed_->forward(x);
  if (options_.ape) tokens = tokens + absolute_pos_embed_;
  for (const auto& layer : layers_) tokens = layer->forward(tokens, height, width, shifted_mask);
  return tokens_to_image(norm_->forward(tokens), height, width);
}

torch::Tensor DrctNetwork::forward(torch::Tensor x) {
  const torch::Tensor mean = mean_.to(x.options());
  x = (x - mean) * options_.img_range;
  if (conv_last_) {
    const torch::Tensor shallow = conv_first_->forward(x);
    torch::Tensor deep = forward_features(shallow);
    if (conv_after_body_) deep = conv_after_body_->forward(deep);
    x = conv_before_upsample_->forward(deep + shallow);
    if (upsample_) x = upsample_->forward(x);
    x = conv_last_->forward(x);
  }
  return x / options_.img_range + mean;
}

const Architecture kDrctArchitecture = {"DRCT", drct::detect, drct::load, "1, 2^n, 3", "any"};

}  // namespace uprez
