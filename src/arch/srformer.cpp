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

// The training patch resolution: img_size rounded up to the window.
int64_t patches_resolution(const SRFormerOptions& options) {
  return round_up(options.img_size, options.window_size) / kPatchSize;
}

SRFormerOptions detect_options(const StateDict& state) {
  SRFormerOptions options;
  const std::string block = "layers.0.residual_group.blocks.0.";
  detect_swin_family(state,
                     {"residual_group.blocks", 6, "residual_group.blocks.0.attn.relative_position_bias_table", 1,
                      block + "mlp.fc1.weight", block + "attn.q.bias"},
                     options);
  options.upsampler = detect_swin_upsampler(state, "conv_hr.weight");
  options.upscale = detect_swin_upscale(state, options.upsampler, options.in_chans, /*nearest_conv_scale=*/4);
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "3conv";

  // The bias table covers the permuted (half-size) window: (2 * window / 2 - 1)^2 rows.
  options.window_size = static_cast<int>(integer_sqrt(
                            state.dim("layers.0.residual_group.blocks.0.attn.relative_position_bias_table", 0))) +
                        1;
  // Only the patch resolution (img_size rounded up to the window) is stored, in the shifted blocks' masks.
  const int resolution = swin_patches_resolution(state, "layers.0.residual_group.blocks.1.attn_mask",
                                                         options.window_size, options.ape, options.window_size);
  options.img_size = resolution * kPatchSize;
  for (const int nice_size : kNiceImageSizes) {
    if (round_up(nice_size, options.window_size) / kPatchSize == resolution) {
      options.img_size = nice_size;
      break;
    }
  }
  return options;
}

ModelInfo model_info(const SRFormerOptions& options) {
  ModelInfo info = swin_model_info("SRFormer", options, SizeRequirements(16));
  info.tags = {swin_size_tag(options.depths.size()), swin_training_size_tag(options),
               std::to_string(options.embed_dim) + "dim", options.resi_connection};
  return info;
}

Model load(const StateDict& state) {
  const SRFormerOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<SRFormerNetwork>(options), state);
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
    const int64_t resolution = srformer::patches_resolution(options);
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

SRFormerNetwork::SRFormerNetwork(const SRFormerOptions& options)
    : SwinFamilyNetwork(options, options.in_chans,
                        srformer::patches_resolution(options) * srformer::patches_resolution(options)),
      options_(options),
      mean_(div2k_mean(options.in_chans)) {
  layers_ = register_layers<SwinResidualGroup<PermutedSelfAttentionLayer>>(options.depths.size(), [&](size_t i) {
    return std::make_shared<SwinResidualGroup<PermutedSelfAttentionLayer>>(
        std::make_shared<PermutedSelfAttentionLayer>(options, options.depths[i], options.num_heads[i]),
        options.embed_dim, options.resi_connection);
  });
  reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, options.upsampler, options.embed_dim,
                                                           options.in_chans, options.upscale);
}

torch::Tensor SRFormerNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor mean = mean_.to(x.options());
  x = (pad_to_multiple(x, options_.window_size, torch::kReflect) - mean) * options_.img_range;
  const int64_t padded_height = x.size(2), padded_width = x.size(3);
  const torch::Tensor features = deep_features(conv_first_->forward(x), [&](torch::Tensor tokens) {
    for (const auto& layer : layers_) tokens = layer->forward(tokens, padded_height, padded_width);
    return tokens;
  });
  x = reconstruction_->forward(features, x) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kSrformerArchitecture = {"SRFormer", srformer::detect, srformer::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
