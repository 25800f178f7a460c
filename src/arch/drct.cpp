#include "arch/drct.h"

#include <array>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"


namespace uprez {

namespace drct {

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

DrctOptions detect_options(const StateDict& state) {
  DrctOptions options;
  detect_swin_family(state,
                     {"", 6, "swin1.attn.relative_position_bias_table", 1, "layers.0.swin1.mlp.fc1.weight",
                      "layers.0.swin1.attn.qkv.bias"},
                     options);
  options.window_size =
      static_cast<int>((integer_sqrt(state.dim("layers.0.swin1.attn.relative_position_bias_table", 0)) + 1) / 2);
  options.upsampler = state.contains("conv_last.weight") ? "pixelshuffle" : "";
  options.upscale = detect_swin_upscale(state, options.upsampler, options.in_chans, 0);
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "identity";
  options.gc = static_cast<int>(state.dim("layers.0.adjust1.weight", 0));
  // Patch size 1. Without a stored mask the training size is only known to be <= window_size.
  options.img_size =
      swin_patches_resolution(state, "layers.0.swin2.attn_mask", options.window_size, false, options.window_size);
  return options;
}

ModelInfo model_info(const DrctOptions& options) {
  ModelInfo info = swin_model_info("DRCT", options, SizeRequirements(0, 16), {true, true, /*use_checkpoint=*/false});
  if (options.depths.size() >= 10) info.tags.push_back("large");
  info.tags.push_back(swin_training_size_tag(options));
  info.tags.push_back(std::to_string(options.embed_dim) + "dim");
  info.tags.push_back(options.resi_connection);
  info.hyperparameters["gc"] = options.gc;
  return info;
}

Model load(const StateDict& state) {
  const DrctOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<DrctNetwork>(options), state);
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

DrctNetwork::DrctNetwork(const DrctOptions& options)
    : SwinFamilyNetwork(options, options.in_chans, int64_t{options.img_size} * options.img_size),
      options_(options),
      mean_(div2k_mean(options.in_chans)) {
  layers_ = register_layers<ResidualDenseGroup>(options.num_heads.size(), [&](size_t i) {
    return std::make_shared<ResidualDenseGroup>(options, options.num_heads[i]);
  });
  if (options.upsampler == "pixelshuffle")
    reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, "pixelshuffle", options.embed_dim,
                                                             options.in_chans, options.upscale);
}

torch::Tensor DrctNetwork::forward(torch::Tensor x) {
  const torch::Tensor mean = mean_.to(x.options());
  x = (x - mean) * options_.img_range;
  if (reconstruction_) {
    const int64_t window = options_.window_size, height = x.size(2), width = x.size(3);
    const torch::Tensor shifted_mask = shifted_window_mask(height, width, window, window / 2).to(x.options());
    const torch::Tensor features = deep_features(conv_first_->forward(x), [&](torch::Tensor tokens) {
      for (const auto& layer : layers_) tokens = layer->forward(tokens, height, width, shifted_mask);
      return tokens;
    });
    x = reconstruction_->forward(features, x);
  }
  return x / options_.img_range + mean;
}

const Architecture kDrctArchitecture = {"DRCT", drct::detect, drct::load, "1, 2^n, 3", "any"};

}  // namespace uprez
