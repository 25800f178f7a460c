#include "arch/swinir.h"

#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "nn/padding.h"

namespace uprez {

namespace swinir {

bool detect(const StateDict& state) {
  return state.has_all({"layers.0.residual_group.blocks.0.norm1.weight",
                        "layers.0.residual_group.blocks.0.mlp.fc1.bias",
                        "layers.0.residual_group.blocks.0.attn.relative_position_index"}) &&
         (state.contains("conv_first.weight") || state.contains("conv_first.1.weight"));
}

// Models trained with start_unshuffle store the first conv behind the unshuffle, as "conv_first.1": renames it
// to "conv_first".
StateDict without_unshuffle_prefix(const StateDict& file_state) {
  StateDict state = file_state;
  if (state.contains("conv_first.1.weight")) {
    state.set("conv_first.weight", state.at("conv_first.1.weight"));
    state.set("conv_first.bias", state.at("conv_first.1.bias"));
    state.erase("conv_first.1.weight");
    state.erase("conv_first.1.bias");
  }
  return state;
}

// The nearest+conv head's scale: 2 per conv_up weight.
int nearest_conv_scale(const StateDict& state) {
  int scale = 1;
  for (const std::string& key : state.keys())
    if (key.find("conv_up") != std::string::npos && key.find("bias") == std::string::npos) scale *= 2;
  return scale;
}

// Options from a state dict whose conv_first.1 is already renamed (without_unshuffle_prefix); `unshuffled`:
// the file had conv_first.1.
SwinIROptions detect_options(const StateDict& state, bool unshuffled) {
  SwinIROptions options;
  detect_swin_family(state, {"residual_group.blocks", 6, "residual_group.blocks.0.attn.relative_position_bias_table",
                             1, "layers.0.residual_group.blocks.0.mlp.fc1.bias", ""},
                     options);
  options.ape = false;  // spandrel's SwinIR detects neither
  options.patch_norm = true;
  const int num_in_ch = options.in_chans;
  if (unshuffled)
    options.start_unshuffle = static_cast<int>(std::round(std::sqrt(static_cast<double>(num_in_ch / 3))));
  options.in_chans = num_in_ch / (options.start_unshuffle * options.start_unshuffle);
  // SwinIR's nearest+conv head also has conv_before_upsample.
  options.upsampler = detect_swin_upsampler(state, "conv_up1.weight");
  if (options.upsampler == "nearest+conv" && !state.contains("conv_before_upsample.0.weight"))
    options.upsampler = state.contains("upsample.0.weight") ? "pixelshuffledirect" : "";
  const int64_t num_out_ch = state.contains("conv_last.weight") ? state.dim("conv_last.weight", 0) : num_in_ch;
  options.upscale = detect_swin_upscale(state, options.upsampler, num_out_ch, nearest_conv_scale(state));
  options.window_size = static_cast<int>(
      integer_sqrt(state.dim("layers.0.residual_group.blocks.0.attn.relative_position_index", 0)));
  options.img_size =
      swin_patches_resolution(state, "layers.0.residual_group.blocks.1.attn_mask", options.window_size, false, 64);
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "3conv";
  // The JPEG models are the only ones with window size 7, and they work on 0..255.
  options.img_range = options.window_size == 7 ? 255.0 : 1.0;
  return options;
}

ModelInfo model_info(const SwinIROptions& options, const StateDict& state) {
  const int num_feat = options.upsampler == "pixelshuffle" ? pixel_shuffle_parameters(state, "upsample").second
                                                            : kSwinReconstructionFeatures;
  const int num_in_ch = options.in_chans * options.start_unshuffle * options.start_unshuffle;
  ModelInfo info =
      swin_model_info("SwinIR", options, SizeRequirements(16, options.start_unshuffle * options.start_unshuffle));
  info.scale = options.upscale / options.start_unshuffle;
  info.purpose = purpose_for_scale(info.scale);
  info.tags = {swin_size_tag(options.depths.size()),
               swin_training_size_tag(options),
               std::to_string(num_feat) + "nf",
               std::to_string(options.embed_dim) + "dim",
               options.resi_connection,
               std::to_string(options.start_unshuffle) + "unshuf"};
  info.output_channels =
      state.contains("conv_last.weight") ? static_cast<int>(state.dim("conv_last.weight", 0)) : num_in_ch;
  info.tiling = Tiling::Discouraged;
  info.hyperparameters["start_unshuffle"] = options.start_unshuffle;
  return info;
}

Model load(const StateDict& file_state) {
  const StateDict state = without_unshuffle_prefix(file_state);
  const SwinIROptions options = detect_options(state, file_state.contains("conv_first.1.weight"));
  return assemble_model(model_info(options, state), std::make_shared<SwinIRNetwork>(options), state);
}

}  // namespace swinir

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

SwinIRNetwork::SwinIRNetwork(const SwinIROptions& options)
    : SwinFamilyNetwork(options, int64_t{options.in_chans} * options.start_unshuffle * options.start_unshuffle, 0),
      options_(options),
      mean_(div2k_mean(options.in_chans)) {
  // The RSTBs.
  layers_ = register_layers<SwinResidualGroup<SwinLayer>>(options.depths.size(), [&](size_t i) {
    return std::make_shared<SwinResidualGroup<SwinLayer>>(
        std::make_shared<SwinLayer>(options, options.depths[i], options.num_heads[i]), options.embed_dim,
        options.resi_connection);
  });
  reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, options.upsampler, options.embed_dim,
                                                           options.in_chans, options.upscale);
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
  const int64_t window = options_.window_size, feature_height = x.size(2), feature_width = x.size(3);
  const torch::Tensor shifted_mask =
      shifted_window_mask(feature_height, feature_width, window, window / 2).to(x.options());
  const torch::Tensor features = deep_features(shallow, [&](torch::Tensor tokens) {
    for (const auto& layer : layers_) tokens = layer->forward(tokens, feature_height, feature_width, shifted_mask);
    return tokens;
  });
  x = reconstruction_->forward(features, x) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kSwinIRArchitecture = {"SwinIR", swinir::detect, swinir::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
