#include "arch/srformer.h"

#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace srformer {

constexpr int kPatchSize = 1;
constexpr int64_t kConvFfnKernelSize = 5;
// spandrel's guesses for the training size behind a detected patch resolution, tried in this order.
constexpr int kNiceImageSizes[] = {512, 256, 128, 96, 64, 48, 32, 24, 16};

bool detect(const StateDict& state) {
  return state.has_all({"layers.0.residual_group.blocks.0.norm1.weight",
                        "layers.0.residual_group.blocks.0.attn.aligned_relative_position_index",
                        "conv_first.weight", "layers.0.residual_group.blocks.0.mlp.fc1.bias"});
}

int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

Model load(const StateDict& state) {
  SRFormerOptions options;
  options.in_chans = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  options.ape = state.contains("absolute_pos_embed");
  options.patch_norm = state.contains("patch_embed.norm.weight");
  options.qkv_bias = state.contains("layers.0.residual_group.blocks.0.attn.q.bias");
  options.mlp_ratio =
      static_cast<double>(state.dim("layers.0.residual_group.blocks.0.mlp.fc1.weight", 0)) / options.embed_dim;

  const int num_layers = sequence_length(state, "layers");
  options.depths.assign(num_layers, 6);
  options.num_heads.assign(num_layers, 6);
  for (int i = 0; i < num_layers; ++i) {
    const std::string group = "layers." + std::to_string(i) + ".residual_group.blocks";
    options.depths[i] = sequence_length(state, group);
    options.num_heads[i] = static_cast<int>(state.dim(group + ".0.attn.relative_position_bias_table", 1));
  }

  if (state.contains("conv_hr.weight")) {
    options.upsampler = "nearest+conv";
    options.upscale = 4;
  } else if (state.contains("conv_before_upsample.0.weight")) {
    options.upsampler = "pixelshuffle";
    options.upscale = pixel_shuffle_parameters(state, "upsample").first;
  } else if (state.contains("upsample.0.weight")) {
    options.upsampler = "pixelshuffledirect";
    options.upscale =
        static_cast<int>(std::sqrt(static_cast<double>(state.dim("upsample.0.weight", 0) / options.in_chans)));
  } else {
    options.upsampler = "";
    options.upscale = 1;
  }
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "3conv";

  // The bias table covers the permuted (half-size) window: (2 * window / 2 - 1)^2 rows.
  options.window_size = static_cast<int>(std::sqrt(static_cast<double>(
                            state.dim("layers.0.residual_group.blocks.0.attn.relative_position_bias_table", 0)))) +
                        1;
  // Only the patch resolution (img_size rounded up to the window) is stored, in the shifted blocks' masks.
  int patches_resolution = options.window_size;
  if (state.contains("layers.0.residual_group.blocks.1.attn_mask")) {
    const int64_t windows = state.dim("layers.0.residual_group.blocks.1.attn_mask", 0);
    patches_resolution =
        static_cast<int>(std::sqrt(static_cast<double>(windows * options.window_size * options.window_size)));
  } else if (options.ape) {
    // spandrel reads absolute_pos_embed[1] here, which fails; its number of patches is meant.
    patches_resolution = static_cast<int>(std::sqrt(static_cast<double>(state.dim("absolute_pos_embed", 1))));
  }
  options.img_size = patches_resolution * kPatchSize;
  for (const int nice_size : kNiceImageSizes) {
    if (round_up(nice_size, options.window_size) / kPatchSize == patches_resolution) {
      options.img_size = nice_size;
      break;
    }
  }

  ModelInfo info;
  info.architecture_id = info.architecture_name = "SRFormer";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {swin_size_tag(options.depths.size()),
               "s" + std::to_string(options.img_size) + "w" + std::to_string(options.window_size),
               std::to_string(options.embed_dim) + "dim", options.resi_connection};
  info.scale = options.upscale;
  info.input_channels = info.output_channels = options.in_chans;
  info.size_requirements = SizeRequirements(16);
  info.supports_half = false;
  info.supports_bfloat16 = true;
  info.hyperparameters = {
      {"img_size", options.img_size},
      {"patch_size", kPatchSize},
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
      {"use_checkpoint", false},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"upsampler", options.upsampler},
      {"resi_connection", options.resi_connection},
  };
  return assemble_model(std::move(info), std::make_shared<SRFormerNetwork>(options), state);
}

// PSA_Block.calculate_mask for an H x W map: -100 between a query, labelled by Swin's regions of the map shifted
// by `shift`, and a key of the permuted (H/2 x W/2) map, whose regions shift by ceil(shift / 2) (Python's
// -shift // 2); (nW, window^2, window^2 / 4).
torch::Tensor permuted_window_mask(int64_t height, int64_t width, int64_t window, int64_t shift) {
  const int64_t permuted_window = window / 2, permuted_shift = (shift + 1) / 2;
  const torch::Tensor query_labels = shifted_window_labels(height, width, window, window, shift, shift);
  const torch::Tensor key_labels = shifted_window_labels(height / 2, width / 2, permuted_window, permuted_window,
                                                         permuted_shift, permuted_shift);
  const torch::Tensor differs = query_labels.unsqueeze(2) != key_labels.unsqueeze(1);
  return torch::zeros(differs.sizes(), torch::kFloat32).masked_fill_(differs, -100.0);
}

// PSA's aligned_relative_position_index: Swin's index for the permuted (window/2)^2 keys, repeated for the 2x2
// queries each key position pools; (window^2, window^2 / 4).
torch::Tensor aligned_relative_position_index(int64_t window) {
  const int64_t permuted = window / 2, keys = permuted * permuted;
  return relative_position_index(permuted)
      .reshape({permuted, permuted, 1, 1, keys})
      .repeat({1, 1, 2, 2, 1})
      .permute({0, 2, 1, 3, 4})
      .reshape({4 * keys, keys});
}

FastLinear linear(int64_t in_features, int64_t out_features, bool bias) {
  return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(bias));
}

}  // namespace srformer

// PSA ("attn"): window attention whose keys and values come from "kv" (dim -> dim / 2) with each 2x2 block of
// the window folded into the channels, so window^2 queries ("q") attend to window^2 / 4 keys, with a relative
// position bias over the permuted window; then "proj".
class PermutedSelfAttention : public torch::nn::Module {
 public:
  PermutedSelfAttention(int64_t dim, int64_t window, int64_t num_heads, bool qkv_bias)
      : permuted_window_(window / 2),
        num_heads_(num_heads),
        scale_(std::pow(static_cast<double>(dim / num_heads), -0.5)),
        relative_position_bias_table_(register_parameter(
            "relative_position_bias_table",
            torch::zeros({(2 * permuted_window_ - 1) * (2 * permuted_window_ - 1), num_heads}))),
        aligned_relative_position_index_(
            register_buffer("aligned_relative_position_index", srformer::aligned_relative_position_index(window))),
        kv_(register_module("kv", srformer::linear(dim, dim / 2, qkv_bias))),
        q_(register_module("q", srformer::linear(dim, dim, qkv_bias))),
        proj_(register_module("proj", FastLinear(dim, dim))) {}

  // x: (nW * B, window^2, dim) windows; mask: (nW, window^2, window^2 / 4) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask) {
    const int64_t windows = x.size(0), tokens = x.size(1), channels = x.size(2);
    const int64_t head_channels = channels / num_heads_, keys = tokens / 4;
    const torch::Tensor kv = kv_->forward(x)
                                 .reshape({windows, permuted_window_, 2, permuted_window_, 2, 2, channels / 4})
                                 .permute({0, 1, 3, 5, 2, 4, 6})
                                 .reshape({windows, keys, 2, num_heads_, head_channels})
                                 .permute({2, 0, 3, 1, 4});
    const torch::Tensor q = q_->forward(x).reshape({windows, tokens, num_heads_, head_channels}).transpose(1, 2);
    const torch::Tensor bias = relative_position_bias_table_.index_select(0, aligned_relative_position_index_.view(-1))
                                   .view({tokens, keys, -1})
                                   .permute({2, 0, 1})
                                   .unsqueeze(0);
    const torch::Tensor attended = scaled_attention(q, kv[0], kv[1], scale_, bias, mask);
    return proj_->forward(attended.transpose(1, 2).reshape({windows, tokens, channels}));
  }

 private:
  int64_t permuted_window_;
  int64_t num_heads_;
  double scale_;
  torch::Tensor relative_position_bias_table_;
  torch::Tensor aligned_relative_position_index_;
  FastLinear kv_, q_, proj_;
};

// PSA_Block: x + PSA(norm1(x)) in (shifted) windows, then x + ConvFFN "mlp"(norm2(x)). Shifted blocks store the
// "attn_mask" of the training resolution (loaded, not used: forward computes the mask for the actual size). As
// in Python, a training resolution that is a single window turns the shift off.
class PermutedSelfAttentionBlock : public torch::nn::Module {
 public:
  PermutedSelfAttentionBlock(const SRFormerOptions& options, int64_t resolution, int64_t num_heads, int64_t shift)
      : window_(options.window_size), shift_(resolution <= window_ ? 0 : shift) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    attn_ = register_module("attn",
                            std::make_shared<PermutedSelfAttention>(dim, window_, num_heads, options.qkv_bias));
    norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    mlp_ = register_module(
        "mlp", ConvFFN(dim, static_cast<int64_t>(dim * options.mlp_ratio), srformer::kConvFfnKernelSize));
    if (shift_ > 0) register_buffer("attn_mask", srformer::permuted_window_mask(resolution, resolution, window_, shift_));
  }

  // x: (B, height * width, dim) tokens; height and width multiples of the window.
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const torch::Tensor mask =
        shift_ > 0 ? srformer::permuted_window_mask(height, width, window_, shift_).to(x.options()) : torch::Tensor();
    const torch::Tensor normed = norm1_->forward(x).view({x.size(0), height, width, x.size(2)});
    const torch::Tensor attended =
        x + apply_in_shifted_windows(
                normed, [&](const torch::Tensor& windows) { return attn_->forward(windows, mask); }, window_,
                shift_);
    return attended + mlp_->forward(norm2_->forward(attended), height, width);
  }

 private:
  int64_t window_;  // Python shrinks it to a smaller training resolution, but that resolution is rounded up to it
  int64_t shift_;
  torch::nn::LayerNorm norm1_{nullptr};
  std::shared_ptr<PermutedSelfAttention> attn_;
  torch::nn::LayerNorm norm2_{nullptr};
  ConvFFN mlp_{nullptr};
};

// BasicLayer ("residual_group"): the PSA blocks "blocks", unshifted and shifted by half a window in turn.
class PermutedSelfAttentionLayer : public torch::nn::Module {
 public:
  PermutedSelfAttentionLayer(const SRFormerOptions& options, int64_t depth, int64_t num_heads) {
    const int64_t resolution = srformer::round_up(options.img_size, options.window_size) / srformer::kPatchSize;
    auto blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(std::make_shared<PermutedSelfAttentionBlock>(options, resolution, num_heads,
                                                                     i % 2 == 0 ? 0 : options.window_size / 2));
      blocks->push_back(blocks_.back());
    }
  }

  torch::Tensor forward(torch::Tensor x, int64_t height, int64_t width) {
    for (auto& block : blocks_) x = block->forward(x, height, width);
    return x;
  }

 private:
  std::vector<std::shared_ptr<PermutedSelfAttentionBlock>> blocks_;
};

// PSA_Group: the "residual_group", then the resi_connection "conv" on the image, plus the input tokens.
class PermutedSelfAttentionGroup : public torch::nn::Module {
 public:
  PermutedSelfAttentionGroup(const SRFormerOptions& options, int64_t depth, int64_t num_heads)
      : residual_group_(register_module("residual_group",
                                        std::make_shared<PermutedSelfAttentionLayer>(options, depth, num_heads))),
        conv_(residual_connection_conv(options.embed_dim, options.resi_connection)) {
    register_module("conv", conv_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const torch::Tensor grouped = tokens_to_image(residual_group_->forward(x, height, width), height, width);
    return image_to_tokens(conv_.forward(grouped)) + x;
  }

 private:
  std::shared_ptr<PermutedSelfAttentionLayer> residual_group_;
  torch::nn::AnyModule conv_;
};

SRFormerNetwork::SRFormerNetwork(const SRFormerOptions& options)
    : options_(options),
      mean_(div2k_mean(options.in_chans)) {
  const int64_t dim = options.embed_dim;
  conv_first_ = register_module("conv_first", same_conv(options.in_chans, dim, 3));
  patch_embed_ = register_module("patch_embed", PatchEmbed(dim, options.patch_norm));
  if (options.ape) {
    const int64_t patches = srformer::round_up(options.img_size, options.window_size) / srformer::kPatchSize;
    absolute_pos_embed_ = register_parameter("absolute_pos_embed", torch::zeros({1, patches * patches, dim}));
  }
  auto layers = register_module("layers", torch::nn::ModuleList());
  for (size_t i = 0; i < options.depths.size(); ++i) {
    layers_.push_back(
        std::make_shared<PermutedSelfAttentionGroup>(options, options.depths[i], options.num_heads[i]));
    layers->push_back(layers_.back());
  }
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  conv_after_body_ = residual_connection_conv(dim, options.resi_connection);
  register_module("conv_after_body", conv_after_body_.ptr());
  reconstruction_ =
      std::make_unique<SwinIRReconstruction>(*this, options.upsampler, dim, options.in_chans, options.upscale);
}

torch::Tensor SRFormerNetwork::forward_features(const torch::Tensor& x) {
  const int64_t height = x.size(2), width = x.size(3);
  torch::Tensor tokens = patch_embed_->forward(x);
  if (options_.ape) tokens = tokens + absolute_pos_embed_;
  for (const auto& layer : layers_) tokens = layer->forward(tokens, height, width);
  return tokens_to_image(norm_->forward(tokens), height, width);
}

torch::Tensor SRFormerNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor mean = mean_.to(x.options());
  x = (pad_to_multiple(x, options_.window_size, torch::kReflect) - mean) * options_.img_range;
  const torch::Tensor shallow = conv_first_->forward(x);
  const torch::Tensor features = conv_after_body_.forward(forward_features(shallow)) + shallow;
  x = reconstruction_->forward(features, x) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kSrformerArchitecture = {"SRFormer", srformer::detect, srformer::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
