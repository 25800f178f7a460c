#include "arch/hat.h"

#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace hat {

namespace F = torch::nn::functional;

// Python's a // b for positive floats (CPython's float floor division).
double python_floor_div(double a, double b) {
  const double remainder = std::fmod(a, b);
  const double quotient = (a - remainder) / b;
  double floored = std::floor(quotient);
  if (quotient - floored > 0.5) floored += 1;
  return floored;
}

// spandrel's _inv_int_div: a number b with a // b == c, preferring integers.
double inverse_floor_div(int64_t a, int64_t c) {
  const double b = static_cast<double>(a) / static_cast<double>(c);
  if (b == std::floor(b)) return b;
  for (double candidate : {std::ceil(b), std::floor(b), b, b - 0.01, b + 0.01})
    if (python_floor_div(static_cast<double>(a), candidate) == static_cast<double>(c)) return candidate;
  throw Error("HAT: no ratio b with " + std::to_string(a) + " // b == " + std::to_string(c));
}

// spandrel's _get_overlap_ratio: a "nice" ratio r with int(window + window * r) == overlap_window.
double overlap_ratio_for(int window, int overlap_window) {
  for (double ratio : {0.0, 1.0, 0.5, 0.25, 0.75, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9})
    if (static_cast<int>(window + window * ratio) == overlap_window) return ratio;
  return static_cast<double>(overlap_window - window) / window + 0.01;
}

// An integral double as a JSON integer (as Python reports ints), other values as floats.
nlohmann::json json_number(double value) {
  if (value == std::floor(value)) return static_cast<int64_t>(value);
  return value;
}

int64_t overlap_window_size(const HatOptions& options) {
  return static_cast<int64_t>(options.window_size * options.overlap_ratio) + options.window_size;
}

// HAT's calculate_rpi_oca: (window^2, overlap_window^2) indices into the OCAB bias table, relating each
// query position of a window to each key position of the enclosing overlapping window. As in HAT, some
// entries are negative (Python's indexing wraps them around the table).
torch::Tensor overlapping_relative_position_index(int64_t window, int64_t overlap_window) {
  const torch::Tensor query_rows = torch::arange(window).repeat_interleave(window).view({-1, 1});
  const torch::Tensor query_cols = torch::arange(window).repeat({window}).view({-1, 1});
  const torch::Tensor key_rows = torch::arange(overlap_window).repeat_interleave(overlap_window).view({1, -1});
  const torch::Tensor key_cols = torch::arange(overlap_window).repeat({overlap_window}).view({1, -1});
  const int64_t offset = window - overlap_window + 1;
  return (key_rows - query_rows + offset) * (window + overlap_window - 1) + (key_cols - query_cols + offset);
}

// What every attention block of one forward pass shares (HAT's `params`), for the actual padded size.
struct AttentionContext {
  torch::Tensor window_index;   // rpi_sa
  torch::Tensor overlap_index;  // rpi_oca
  torch::Tensor mask;           // shifted-window mask
};

torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }

Mlp hat_mlp(const HatOptions& options) {
  const int64_t dim = options.embed_dim;
  return Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio), dim);
}

// Hybrid attention block (HAB): (shifted) window attention plus a conv_scale-weighted channel-attention conv
// branch on the same normalised input, then an MLP.
class HybridAttentionBlock : public torch::nn::Module {
 public:
  HybridAttentionBlock(const HatOptions& options, int64_t num_heads, int64_t shift)
      : window_(options.window_size),
        shift_(options.img_size <= options.window_size ? 0 : shift),  // as HAB does for a small training size
        conv_scale_(options.conv_scale) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", layer_norm(dim));
    attn_ = register_module("attn", WindowAttention(dim, window_, num_heads, options.qkv_bias, /*stores_index=*/false));
    conv_block_ = register_module(
        "conv_block", ChannelAttentionBlock(dim, static_cast<int64_t>(python_floor_div(dim, options.compress_ratio)),
                                            static_cast<int64_t>(python_floor_div(dim, options.squeeze_factor))));
    norm2_ = register_module("norm2", layer_norm(dim));
    mlp_ = register_module("mlp", hat_mlp(options));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const AttentionContext& context) {
    const int64_t batch = x.size(0), channels = x.size(2);
    const torch::Tensor normed = norm1_->forward(x).view({batch, height, width, channels});
    const torch::Tensor conv_x = image_to_tokens(conv_block_->forward(normed.permute({0, 3, 1, 2})).contiguous());
    const torch::Tensor attn_x =
        shifted_window_attention(normed, attn_, window_, shift_, context.mask, context.window_index);
    const torch::Tensor mixed = x + attn_x + conv_x * conv_scale_;
    return mixed + mlp_->forward(norm2_->forward(mixed));
  }

 private:
  int64_t window_;
  int64_t shift_;
  double conv_scale_;
  torch::nn::LayerNorm norm1_{nullptr};
  WindowAttention attn_{nullptr};
  ChannelAttentionBlock conv_block_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
};

// Overlapping cross-attention block (OCAB): queries from non-overlapping windows attend to keys/values from
// larger overlapping windows (unfold), with its own relative position bias; then an MLP.
class OverlapCrossAttentionBlock : public torch::nn::Module {
 public:
  OverlapCrossAttentionBlock(const HatOptions& options, int64_t num_heads)
      : window_(options.window_size),
        overlap_window_(overlap_window_size(options)),
        num_heads_(num_heads),
        scale_(std::pow(static_cast<double>(options.embed_dim / num_heads), -0.5)) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", layer_norm(dim));
    qkv_ = register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(options.qkv_bias)));
    const int64_t table_side = window_ + overlap_window_ - 1;
    relative_position_bias_table_ =
        register_parameter("relative_position_bias_table", torch::zeros({table_side * table_side, num_heads}));
    proj_ = register_module("proj", FastLinear(dim, dim));
    norm2_ = register_module("norm2", layer_norm(dim));
    mlp_ = register_module("mlp", hat_mlp(options));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const AttentionContext& context) {
    const int64_t batch = x.size(0), channels = x.size(2);
    const int64_t head_dim = channels / num_heads_;
    const torch::Tensor normed = norm1_->forward(x).view({batch, height, width, channels});
    const torch::Tensor qkv =
        qkv_->forward(normed).reshape({batch, height, width, 3, channels}).permute({3, 0, 4, 1, 2});
    const torch::Tensor query_windows =
        window_partition(qkv[0].permute({0, 2, 3, 1}), window_).view({-1, window_ * window_, channels});
    const int64_t overlap_area = overlap_window_ * overlap_window_;
    const torch::Tensor key_value_windows =
        F::unfold(torch::cat({qkv[1], qkv[2]}, 1), F::UnfoldFuncOptions({overlap_window_, overlap_window_})
                                                       .stride(window_)
                                                       .padding((overlap_window_ - window_) / 2))
            .view({batch, 2, channels, overlap_area, -1})
            .permute({1, 0, 4, 3, 2})
            .reshape({2, -1, overlap_area, channels});
    const int64_t windows = query_windows.size(0);
    const auto split_heads = [&](const torch::Tensor& t) {
      return t.reshape({windows, t.size(1), num_heads_, head_dim}).permute({0, 2, 1, 3});
    };
    const torch::Tensor index = context.overlap_index.remainder(relative_position_bias_table_.size(0));
    const torch::Tensor bias = relative_position_bias_table_.index_select(0, index.view(-1))
                                   .view({window_ * window_, overlap_area, -1})
                                   .permute({2, 0, 1})
                                   .unsqueeze(0);
    const torch::Tensor attended = scaled_attention(split_heads(query_windows), split_heads(key_value_windows[0]),
                                                    split_heads(key_value_windows[1]), scale_, bias);
    const torch::Tensor merged =
        window_reverse(attended.transpose(1, 2).reshape({-1, window_, window_, channels}), window_, height, width)
            .view({batch, height * width, channels});
    const torch::Tensor projected = proj_->forward(merged) + x;
    return projected + mlp_->forward(norm2_->forward(projected));
  }

 private:
  int64_t window_;
  int64_t overlap_window_;
  int64_t num_heads_;
  double scale_;
  torch::nn::LayerNorm norm1_{nullptr};
  FastLinear qkv_{nullptr};
  torch::Tensor relative_position_bias_table_;
  FastLinear proj_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
};

// AttenBlocks: `depth` HABs alternating unshifted and half-window-shifted windows, then one OCAB.
class AttentionBlocks : public torch::nn::Module {
 public:
  AttentionBlocks(const HatOptions& options, int depth, int64_t num_heads) {
    auto blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < depth; ++i) {
      blocks_.push_back(
          std::make_shared<HybridAttentionBlock>(options, num_heads, i % 2 == 0 ? 0 : options.window_size / 2));
      blocks->push_back(blocks_.back());
    }
    overlap_attn_ = register_module("overlap_attn", std::make_shared<OverlapCrossAttentionBlock>(options, num_heads));
  }

  torch::Tensor forward(torch::Tensor x, int64_t height, int64_t width, const AttentionContext& context) {
    for (const auto& block : blocks_) x = block->forward(x, height, width, context);
    return overlap_attn_->forward(x, height, width, context);
  }

 private:
  std::vector<std::shared_ptr<HybridAttentionBlock>> blocks_;
  std::shared_ptr<OverlapCrossAttentionBlock> overlap_attn_;
};

bool detect(const StateDict& state) {
  return state.has_all(
      {"relative_position_index_SA", "conv_first.weight", "layers.0.residual_group.blocks.0.norm1.weight",
       "layers.0.residual_group.blocks.0.conv_block.cab.0.weight",
       "layers.0.residual_group.blocks.0.conv_block.cab.2.weight",
       "layers.0.residual_group.blocks.0.conv_block.cab.3.attention.1.weight",
       "layers.0.residual_group.blocks.0.conv_block.cab.3.attention.3.weight",
       "layers.0.residual_group.blocks.0.mlp.fc1.bias", "layers.0.residual_group.blocks.0.mlp.fc2.weight",
       "layers.0.residual_group.overlap_attn.relative_position_bias_table",
       "layers.0.residual_group.overlap_attn.qkv.weight", "layers.0.residual_group.overlap_attn.proj.weight",
       "layers.0.residual_group.overlap_attn.mlp.fc1.weight", "layers.0.residual_group.overlap_attn.mlp.fc2.weight",
       "conv_last.weight"});
}

HatOptions detect_options(const StateDict& state) {
  HatOptions options;
  const std::string block = "layers.0.residual_group.blocks.0.";
  detect_swin_family(state,
                     {"residual_group.blocks", 6, "residual_group.overlap_attn.relative_position_bias_table", 1,
                      block + "mlp.fc1.weight", block + "attn.qkv.bias"},
                     options);
  options.num_feat = static_cast<int>(state.dim("conv_last.weight", 1));
  options.upsampler = "pixelshuffle";
  options.upscale = pixel_shuffle_parameters(state, "upsample", options.num_feat).first;
  options.window_size = static_cast<int>(integer_sqrt(state.dim("relative_position_index_SA", 0)));
  options.overlap_ratio = overlap_ratio_for(
      options.window_size, static_cast<int>(integer_sqrt(state.dim("relative_position_index_OCA", 1))));
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "identity";
  options.compress_ratio = inverse_floor_div(options.embed_dim, state.dim(block + "conv_block.cab.0.weight", 0));
  options.squeeze_factor =
      inverse_floor_div(options.embed_dim, state.dim(block + "conv_block.cab.3.attention.1.weight", 0));
  // Patch size 1: the training size is the square root of the number of patches.
  options.img_size = swin_patches_resolution(state, "", options.window_size, options.ape, options.img_size);
  return options;
}

ModelInfo model_info(const HatOptions& options) {
  const char* size_tag = options.depths.size() < 9 ? (options.compress_ratio > 4 ? "small" : "medium") : "large";
  ModelInfo info = swin_model_info("HAT", options, SizeRequirements(16));
  info.tags = {size_tag, swin_training_size_tag(options), std::to_string(options.num_feat) + "nf",
               std::to_string(options.embed_dim) + "dim", options.resi_connection};
  info.hyperparameters["compress_ratio"] = json_number(options.compress_ratio);
  info.hyperparameters["squeeze_factor"] = json_number(options.squeeze_factor);
  info.hyperparameters["conv_scale"] = options.conv_scale;
  info.hyperparameters["overlap_ratio"] = json_number(options.overlap_ratio);
  info.hyperparameters["num_feat"] = options.num_feat;
  return info;
}

Model load(const StateDict& state) {
  const HatOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<HatNetwork>(options), state);
}

}  // namespace hat

// Residual hybrid attention group (RHAG): AttenBlocks, a 3x3 conv on the image layout ("1conv"), plus the input.
class ResidualHybridAttentionGroup : public SwinResidualGroup<hat::AttentionBlocks> {
 public:
  ResidualHybridAttentionGroup(const HatOptions& options, int depth, int64_t num_heads)
      : SwinResidualGroup(std::make_shared<hat::AttentionBlocks>(options, depth, num_heads), options.embed_dim,
                          options.resi_connection) {}
};

HatNetwork::HatNetwork(const HatOptions& options)
    : SwinFamilyNetwork(options, options.in_chans, int64_t{options.img_size} * options.img_size),
      options_(options),
      overlap_window_(hat::overlap_window_size(options)),
      mean_(div2k_mean(options.in_chans)) {
  const int64_t window = options.window_size;
  // Stored for the window size only; forward recomputes them on the input's device.
  register_buffer("relative_position_index_SA", relative_position_index(window));
  register_buffer("relative_position_index_OCA", hat::overlapping_relative_position_index(window, overlap_window_));
  layers_ = register_layers<ResidualHybridAttentionGroup>(options.depths.size(), [&](size_t i) {
    return std::make_shared<ResidualHybridAttentionGroup>(options, options.depths[i], options.num_heads[i]);
  });
  reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, "pixelshuffle", options.embed_dim,
                                                           options.in_chans, options.upscale, options.num_feat);
}

torch::Tensor HatNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor mean = mean_.to(x.options());
  x = pad_to_multiple((x - mean) * options_.img_range, options_.window_size, torch::kReflect);
  const int64_t window = options_.window_size, padded_height = x.size(2), padded_width = x.size(3);
  const hat::AttentionContext context{
      relative_position_index(window).to(x.device()),
      hat::overlapping_relative_position_index(window, overlap_window_).to(x.device()),
      shifted_window_mask(padded_height, padded_width, window, window / 2).to(x.options()),
  };
  const torch::Tensor features = deep_features(conv_first_->forward(x), [&](torch::Tensor tokens) {
    for (const auto& layer : layers_) tokens = layer->forward(tokens, padded_height, padded_width, context);
    return tokens;
  });
  x = reconstruction_->forward(features, x) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kHatArchitecture = {"HAT", hat::detect, hat::load, "1, 2^n, 3", "any"};

}  // namespace uprez
