#include "arch/swin2sr.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace swin2sr {

namespace F = torch::nn::functional;

constexpr int64_t kPositionBiasHidden = 512;     // hidden width of the continuous position bias MLP
constexpr double kMaxLogitScale = 4.605170185988092;  // log(1 / 0.01)
constexpr double kPositionBiasRange = 16.0;
constexpr int64_t kAuxChannels = 3;  // conv_after_aux reads 3 channels whatever in_chans is

bool detect(const StateDict& state) {
  return state.has_all({"layers.0.residual_group.blocks.0.norm1.weight", "patch_embed.proj.weight",
                        "conv_first.weight", "layers.0.residual_group.blocks.0.mlp.fc1.bias",
                        "layers.0.residual_group.blocks.0.attn.relative_position_index"});
}

std::string detect_upsampler(const StateDict& state) {
  if (state.contains("conv_bicubic.weight")) return "pixelshuffle_aux";
  if (!state.contains("conv_hr.weight") && state.contains("conv_after_body_hf.weight")) return "pixelshuffle_hf";
  return detect_swin_upsampler(state, "conv_hr.weight");
}

Swin2SROptions detect_options(const StateDict& state) {
  Swin2SROptions options;
  const std::string block = "layers.0.residual_group.blocks.0.";
  detect_swin_family(state,
                     {"residual_group.blocks", 6, "residual_group.blocks.0.attn.logit_scale", 0,
                      block + "mlp.fc1.weight", block + "attn.q_bias"},
                     options);
  options.patch_size = static_cast<int>(state.dim("patch_embed.proj.weight", 2));
  if (state.contains("conv_after_body.0.weight"))
    options.resi_connection = "3conv";
  else if (state.contains("conv_after_body.weight"))
    options.resi_connection = "1conv";
  else
    throw Error("Swin2SR: unknown residual connection type (no conv_after_body weights)");

  options.upsampler = detect_upsampler(state);
  // pixelshuffle_aux and pixelshuffle_hf read their scale from the same Upsample stack; nearest+conv is x4 only.
  const bool shuffle_stack = options.upsampler.rfind("pixelshuffle_", 0) == 0;
  options.upscale =
      detect_swin_upscale(state, shuffle_stack ? "pixelshuffle" : options.upsampler, options.in_chans, 4);
  options.window_size = static_cast<int>(
      integer_sqrt(state.dim("layers.0.residual_group.blocks.0.attn.relative_position_index", 0)));
  // Without a stored mask or ape, only window_size <= patches_resolution is known: assume equality, as spandrel.
  options.img_size = options.patch_size * swin_patches_resolution(state, "layers.0.residual_group.blocks.1.attn_mask",
                                                                  options.window_size, options.ape,
                                                                  options.window_size);
  // The JPEG models are the only ones with window size 7, and they work on 0..255.
  options.img_range = options.window_size == 7 ? 255.0 : 1.0;
  return options;
}

ModelInfo model_info(const Swin2SROptions& options) {
  ModelInfo info = swin_model_info("Swin2SR", options, SizeRequirements(16), {/*qk_scale=*/false});
  info.tags = {swin_size_tag(options.depths.size()), swin_training_size_tag(options),
               std::to_string(options.embed_dim) + "dim", options.resi_connection};
  return info;
}

Model load(const StateDict& state) {
  const Swin2SROptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<Swin2SRNetwork>(options), state);
}

// SwinV2's log-spaced relative coordinates of a window: (1, 2w-1, 2w-1, 2), each offset d mapped to
// sign(d) * log2(1 + 8|d| / (w-1)) / 3.
torch::Tensor relative_coordinates_table(int64_t window) {
  const torch::Tensor offsets = torch::arange(-(window - 1), window, torch::kFloat32) / (window - 1) * 8;
  const torch::Tensor grid = torch::stack(torch::meshgrid({offsets, offsets}, "ij"), -1).unsqueeze(0);
  return torch::sign(grid) * torch::log2(grid.abs() + 1.0) / std::log2(8.0);
}

torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }

}  // namespace swin2sr

// SwinV2's window attention: cosine similarity of q and k scaled per head by exp(min(logit_scale, log 100)),
// plus 16 * sigmoid of a relative position bias that "cpb_mlp" computes from "relative_coords_table".
class Swin2SRWindowAttention : public torch::nn::Module {
 public:
  Swin2SRWindowAttention(int64_t dim, int64_t window, int64_t num_heads, bool qkv_bias)
      : window_(window), num_heads_(num_heads) {
    logit_scale_ = register_parameter("logit_scale", torch::full({num_heads, 1, 1}, std::log(10.0)));
    cpb_mlp_ = register_module(
        "cpb_mlp", torch::nn::Sequential(FastLinear(2, swin2sr::kPositionBiasHidden), torch::nn::ReLU(),
                                         FastLinear(torch::nn::LinearOptions(swin2sr::kPositionBiasHidden, num_heads)
                                                               .bias(false))));
    relative_coords_table_ = register_buffer("relative_coords_table", swin2sr::relative_coordinates_table(window));
    // Loaded, not read: Module::to(dtype) would turn the stored int64 index into floats.
    register_buffer("relative_position_index", relative_position_index(window));
    qkv_ = register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(false)));
    if (qkv_bias) {
      q_bias_ = register_parameter("q_bias", torch::zeros({dim}));
      v_bias_ = register_parameter("v_bias", torch::zeros({dim}));
    }
    proj_ = register_module("proj", FastLinear(dim, dim));
  }

  // x: (nW * B, window^2, dim); mask: (nW, window^2, window^2) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t windows = x.size(0), tokens = x.size(1), channels = x.size(2);
    const torch::Tensor bias =
        q_bias_.defined() ? torch::cat({q_bias_, torch::zeros_like(v_bias_), v_bias_}) : torch::Tensor();
    const torch::Tensor qkv =
        fast_linear(x, qkv_->weight, bias).reshape({windows, tokens, 3, num_heads_, -1}).permute({2, 0, 3, 1, 4});
    const auto unit = swin2sr::F::NormalizeFuncOptions().dim(-1);
    torch::Tensor logits = fast_matmul(swin2sr::F::normalize(qkv[0], unit), swin2sr::F::normalize(qkv[1], unit).transpose(-2, -1)) *
                           logit_scale_.clamp_max(swin2sr::kMaxLogitScale).exp();
    const int64_t area = window_ * window_;
    const torch::Tensor position_bias = cpb_mlp_->forward(relative_coords_table_)
                                            .view({-1, num_heads_})
                                            .index_select(0, relative_position_index(window_).to(x.device()).view(-1))
                                            .view({area, area, -1})
                                            .permute({2, 0, 1});
    logits = logits + swin2sr::kPositionBiasRange * torch::sigmoid(position_bias).unsqueeze(0);
    if (mask.defined()) logits = add_window_mask(logits, mask);
    const torch::Tensor attended = fast_matmul(logits.softmax(-1), qkv[2]);
    return proj_->forward(attended.transpose(1, 2).reshape({windows, tokens, channels}));
  }

 private:
  int64_t window_;
  int64_t num_heads_;
  torch::Tensor logit_scale_;
  torch::nn::Sequential cpb_mlp_{nullptr};
  torch::Tensor relative_coords_table_;
  FastLinear qkv_{nullptr};
  torch::Tensor q_bias_;
  torch::Tensor v_bias_;
  FastLinear proj_{nullptr};
};

// SwinV2 transformer block (post-norm): x + norm1(W-MSA(x)), then x + norm2(mlp(x)); for shifted blocks the
// "attn_mask" buffer for the training resolution (loaded, not used: forward computes the mask for the actual
// size). As in Python, a training resolution <= window turns the shift off and shrinks the window to it.
class Swin2SRBlock : public torch::nn::Module {
 public:
  Swin2SRBlock(const Swin2SROptions& options, int64_t num_heads, int64_t shift) {
    const int64_t dim = options.embed_dim;
    const int64_t resolution = options.img_size / options.patch_size;
    window_ = std::min<int64_t>(resolution, options.window_size);
    shift_ = resolution <= options.window_size ? 0 : shift;
    attn_ = register_module("attn",
                            std::make_shared<Swin2SRWindowAttention>(dim, window_, num_heads, options.qkv_bias));
    norm1_ = register_module("norm1", swin2sr::layer_norm(dim));
    mlp_ = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio), dim));
    norm2_ = register_module("norm2", swin2sr::layer_norm(dim));
    if (shift_ > 0) register_buffer("attn_mask", shifted_window_mask(resolution, resolution, window_, shift_));
  }

  // x: (B, height * width, dim) tokens; height and width multiples of the window. shifted_mask:
  // shifted_window_mask(height, width, window, window / 2) on x's device, used by shifted blocks only.
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    const torch::Tensor mask = shift_ > 0 ? shifted_mask : torch::Tensor();
    const torch::Tensor attended = apply_in_shifted_windows(
        x.view({x.size(0), height, width, x.size(2)}),
        [&](const torch::Tensor& windows) { return attn_->forward(windows, mask); }, window_, shift_);
    const torch::Tensor mixed = x + norm1_->forward(attended);
    return mixed + norm2_->forward(mlp_->forward(mixed));
  }

 private:
  int64_t window_;
  int64_t shift_;
  std::shared_ptr<Swin2SRWindowAttention> attn_;
  torch::nn::LayerNorm norm1_{nullptr};
  Mlp mlp_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
};

// BasicLayer: the RSTB's sequence of SwinV2 blocks "blocks", unshifted and shifted by half a window in turn.
class Swin2SRLayer : public torch::nn::Module {
 public:
  Swin2SRLayer(const Swin2SROptions& options, int64_t depth, int64_t num_heads) {
    auto blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(
          std::make_shared<Swin2SRBlock>(options, num_heads, i % 2 == 0 ? 0 : options.window_size / 2));
      blocks->push_back(blocks_.back());
    }
  }

  torch::Tensor forward(torch::Tensor x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    for (const auto& block : blocks_) x = block->forward(x, height, width, shifted_mask);
    return x;
  }

 private:
  std::vector<std::shared_ptr<Swin2SRBlock>> blocks_;
};

// Swin2SR's PatchEmbed: a patch_size-strided conv "proj" (dim -> dim), image_to_tokens, then LayerNorm "norm"
// when `norm` is set.
class Swin2SRPatchEmbed : public torch::nn::Module {
 public:
  Swin2SRPatchEmbed(int64_t dim, int64_t patch_size, bool norm)
      : proj_(register_module(
            "proj", FastConv2d(torch::nn::Conv2dOptions(dim, dim, patch_size).stride(patch_size)))) {
    if (norm) norm_ = register_module("norm", swin2sr::layer_norm(dim));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor tokens = image_to_tokens(proj_->forward(x));
    return norm_ ? norm_->forward(tokens) : tokens;
  }

 private:
  FastConv2d proj_;
  torch::nn::LayerNorm norm_{nullptr};
};

// Residual Swin transformer block (RSTB): the "residual_group" of SwinV2 blocks, the resi_connection "conv" on
// the image, the "patch_embed" projection back to tokens, plus the input tokens.
class Swin2SRResidualBlock : public torch::nn::Module {
 public:
  Swin2SRResidualBlock(const Swin2SROptions& options, int64_t depth, int64_t num_heads)
      : residual_group_(register_module("residual_group", std::make_shared<Swin2SRLayer>(options, depth, num_heads))),
        conv_(residual_connection_conv(options.embed_dim, options.resi_connection)),
        patch_embed_(register_module("patch_embed", std::make_shared<Swin2SRPatchEmbed>(
                                                        options.embed_dim, options.patch_size, /*norm=*/false))) {
    register_module("conv", conv_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const torch::Tensor& shifted_mask) {
    const torch::Tensor grouped =
        tokens_to_image(residual_group_->forward(x, height, width, shifted_mask), height, width);
    return patch_embed_->forward(conv_.forward(grouped)) + x;
  }

 private:
  std::shared_ptr<Swin2SRLayer> residual_group_;
  torch::nn::AnyModule conv_;
  std::shared_ptr<Swin2SRPatchEmbed> patch_embed_;
};

Swin2SRNetwork::Swin2SRNetwork(const Swin2SROptions& options)
    : SwinFamilyNetwork(options, options.in_chans,
                        int64_t{options.img_size / options.patch_size} * (options.img_size / options.patch_size),
                        /*own_patch_embed=*/true),
      options_(options),
      mean_(div2k_mean(options.in_chans)) {
  const int64_t dim = options.embed_dim, features = kSwinReconstructionFeatures, channels = options.in_chans;
  swin2sr_patch_embed_ = register_module(
      "patch_embed", std::make_shared<Swin2SRPatchEmbed>(dim, options.patch_size, options.patch_norm));
  const auto make_group = [&](size_t i) {
    return std::make_shared<Swin2SRResidualBlock>(options, options.depths[i], options.num_heads[i]);
  };
  layers_ = register_layers<Swin2SRResidualBlock>(options.depths.size(), make_group);

  if (options.upsampler == "pixelshuffle_aux") {
    conv_bicubic_ = register_module("conv_bicubic", same_conv(channels, features, 3));
    conv_before_upsample_ = register_module(
        "conv_before_upsample", torch::nn::Sequential(same_conv(dim, features, 3), torch::nn::LeakyReLU()));
    conv_aux_ = register_module("conv_aux", same_conv(features, channels, 3));
    conv_after_aux_ = register_module(
        "conv_after_aux", torch::nn::Sequential(same_conv(swin2sr::kAuxChannels, features, 3), torch::nn::LeakyReLU()));
    upsample_ = register_module("upsample", power_of_two_or_three_upsampler(options.upscale, features));
    conv_last_ = register_module("conv_last", same_conv(features, channels, 3));
    return;
  }
  const bool high_frequency = options.upsampler == "pixelshuffle_hf";
  reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, high_frequency ? "pixelshuffle" : options.upsampler,
                                                           dim, channels, options.upscale);
  if (high_frequency) {
    // The high-frequency branch only feeds pixelshuffle_hf's other outputs: loaded, never run.
    auto layers_hf = register_module("layers_hf", torch::nn::ModuleList());
    for (size_t i = 0; i < options.depths.size(); ++i) layers_hf->push_back(make_group(i));
    register_module("conv_first_hf",
                    torch::nn::Sequential(same_conv(features, dim, 3), torch::nn::LeakyReLU()));
    register_module("conv_after_body_hf", same_conv(dim, dim, 3));
    register_module("conv_before_upsample_hf",
                    torch::nn::Sequential(same_conv(dim, features, 3), torch::nn::LeakyReLU()));
    register_module("upsample_hf", power_of_two_or_three_upsampler(options.upscale, features));
    register_module("conv_last_hf", same_conv(features, channels, 3));
  }
}

torch::Tensor Swin2SRNetwork::embed(const torch::Tensor& shallow) {
  const torch::Tensor tokens = swin2sr_patch_embed_->forward(shallow);
  if (!absolute_pos_embed_.defined()) return tokens;
  if (tokens.size(1) != absolute_pos_embed_.size(1))
    throw Error("this Swin2SR model has an absolute position embedding for " + std::to_string(options_.img_size) +
                "x" + std::to_string(options_.img_size) + " inputs only (after padding to the window size)");
  return tokens + absolute_pos_embed_;
}

torch::Tensor Swin2SRNetwork::reconstruct_with_bicubic(const torch::Tensor& features, const torch::Tensor& input,
                                                       int64_t height, int64_t width) {
  const int64_t out_height = height * options_.upscale, out_width = width * options_.upscale;
  // The padded input resampled to the unpadded output size, as Swin2SR does.
  const torch::Tensor bicubic = conv_bicubic_->forward(
      swin2sr::F::interpolate(input, swin2sr::F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{out_height, out_width})
                                .mode(torch::kBicubic)
                                .align_corners(false)));
  const torch::Tensor aux = conv_aux_->forward(conv_before_upsample_->forward(features));
  const torch::Tensor upsampled =
      upsample_->forward(conv_after_aux_->forward(aux)).slice(2, 0, out_height).slice(3, 0, out_width);
  return conv_last_->forward(upsampled + bicubic);
}

torch::Tensor Swin2SRNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor mean = mean_.to(x.options());
  x = (pad_to_multiple(x, options_.window_size, torch::kReflect) - mean) * options_.img_range;
  const int64_t window = options_.window_size, padded_height = x.size(2), padded_width = x.size(3);
  const torch::Tensor shifted_mask =
      shifted_window_mask(padded_height, padded_width, window, window / 2).to(x.options());
  const torch::Tensor features = deep_features(conv_first_->forward(x), [&](torch::Tensor tokens) {
    for (const auto& layer : layers_) tokens = layer->forward(tokens, padded_height, padded_width, shifted_mask);
    return tokens;
  });
  x = reconstruction_ ? reconstruction_->forward(features, x) : reconstruct_with_bicubic(features, x, height, width);
  x = x / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kSwin2SRArchitecture = {"Swin2SR", swin2sr::detect, swin2sr::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
