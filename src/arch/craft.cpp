#include "arch/craft.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/dat_blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace craft {

constexpr double kFusionExpansion = 2.66;  // HFB's ffn_expansion_factor
constexpr double kLayerNormEps = 1e-5;

bool detect(const StateDict& state) {
  return state.has_all({"conv_first.weight", "layers.0.residual_group.hf_blocks.0.attn.temperature"});
}

// spandrel's recovery of the rectangle window sides s0 <= s1 from s0 * s1 (rows of the stored index) and
// (2 s0 - 1) * (2 s1 - 1) (rows of the stored offsets), by solving the quadratic.
std::pair<int, int> split_sizes(int64_t area, int64_t offsets) {
  const int64_t discriminant = 16 * area * area - 8 * area * (offsets + 1) + (offsets - 1) * (offsets - 1);
  const auto s1 = static_cast<int64_t>(
      0.25 * (-std::sqrt(static_cast<double>(discriminant)) + static_cast<double>(4 * area - offsets + 1)));
  if (s1 <= 0 || area % s1 != 0) throw Error("CRAFT: could not find valid split_size_0 and split_size_1");
  const int64_t s0 = area / s1;
  return {static_cast<int>(std::min(s0, s1)), static_cast<int>(std::max(s0, s1))};
}

CraftOptions detect_options(const StateDict& state) {
  CraftOptions options;
  options.in_chans = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  const int num_layers = sequence_length(state, "layers");
  options.depths.assign(num_layers, 2);
  options.num_heads.assign(num_layers, 6);
  for (int i = 0; i < num_layers; ++i) {
    const std::string group = "layers." + std::to_string(i) + ".residual_group.";
    options.depths[i] = sequence_length(state, group + "hf_blocks");
    options.num_heads[i] = static_cast<int>(state.dim(group + "hf_blocks.0.attn.temperature", 0));
  }
  options.upscale = static_cast<int>(
      std::sqrt(static_cast<double>(state.dim("upsample.0.bias", 0)) / static_cast<double>(options.in_chans)));
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "identity";
  options.qkv_bias = state.contains("layers.0.residual_group.srwa_blocks.0.qkv.bias");
  options.mlp_ratio = static_cast<double>(state.dim("layers.0.residual_group.srwa_blocks.0.mlp.fc1.bias", 0)) /
                      static_cast<double>(options.embed_dim);
  std::tie(options.split_size_0, options.split_size_1) =
      split_sizes(state.dim("relative_position_index_h", 0), state.dim("biases_v", 0));
  return options;
}

ModelInfo model_info(const CraftOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "CRAFT";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {std::to_string(options.split_size_0) + "x" + std::to_string(options.split_size_1),
               std::to_string(options.embed_dim) + "dim", options.resi_connection};
  info.scale = options.upscale;
  info.input_channels = info.output_channels = options.in_chans;
  info.size_requirements = SizeRequirements(16, 16);
  info.hyperparameters = {
      {"in_chans", options.in_chans},
      {"window_size", options.window_size},
      {"embed_dim", options.embed_dim},
      {"depths", options.depths},
      {"num_heads", options.num_heads},
      {"split_size_0", options.split_size_0},
      {"split_size_1", options.split_size_1},
      {"mlp_ratio", options.mlp_ratio},
      {"qkv_bias", options.qkv_bias},
      {"qk_scale", nullptr},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"resi_connection", options.resi_connection},
  };
  return info;
}

Model load(const StateDict& state) {
  const CraftOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<CraftNetwork>(options), state);
}

// Every (dy, dx) offset between two positions of a window_height x window_width window, row-major:
// ((2wh-1)*(2ww-1), 2) floats (CRAFT's biases_h / biases_v).
torch::Tensor window_offsets(int64_t window_height, int64_t window_width) {
  const std::vector<torch::Tensor> grid = torch::meshgrid(
      {torch::arange(1 - window_height, window_height), torch::arange(1 - window_width, window_width)}, "ij");
  return torch::stack(grid).flatten(1).transpose(0, 1).contiguous().to(torch::kFloat32);
}

FastConv2d depthwise_conv(int64_t channels, bool bias) {
  return FastConv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).groups(channels).bias(bias));
}

torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})); }

// The relative-position tables the network stores once and every rectangle-window attention uses (CRAFT's
// `params`): indices into the biases of the offsets, for the split_size_0 x split_size_1 windows ("h") and
// the transposed ones ("v").
struct RectanglePositionTables {
  torch::Tensor index_h;
  torch::Tensor index_v;
  torch::Tensor offsets_h;
  torch::Tensor offsets_v;
};

// CRAFT's Attention_regular: multi-head self-attention of one channel half inside window_height x window_width
// windows, biased by a DynamicPosBias "pos" of the window's relative offsets.
class RectangleWindowSelfAttention : public torch::nn::Module {
 public:
  RectangleWindowSelfAttention(int64_t dim, int64_t num_heads, int64_t window_height, int64_t window_width)
      : num_heads_(num_heads),
        window_height_(window_height),
        window_width_(window_width),
        scale_(std::pow(static_cast<double>(dim / num_heads), -0.5)),
        pos_(register_module("pos", DynamicPosBias(dim / 4, num_heads))) {}

  // qkv: (3, B, H, W, dim), H and W multiples of the window; index: (N, N) rows of `offsets` (P, 2).
  // Returns (B, H, W, dim).
  torch::Tensor forward(const torch::Tensor& qkv, const torch::Tensor& index, const torch::Tensor& offsets) {
    return rectangle_window_attention(qkv, num_heads_, window_height_, window_width_, scale_,
                                      pos_->forward(offsets).index_select(0, index.view(-1)));
  }

 private:
  int64_t num_heads_;
  int64_t window_height_;
  int64_t window_width_;
  double scale_;
  DynamicPosBias pos_;
};

// SRWAB: the first channel half attends in split_size_0 x split_size_1 windows ("attns.0"), the second in the
// transposed windows ("attns.1"), both rolled by half a window in shifted blocks (CRAFT uses no shift mask);
// plus a depthwise conv of v ("get_v"), then "proj" and an MLP, each with a pre-norm and residual.
class ShiftedRectangleWindowBlock : public torch::nn::Module {
 public:
  ShiftedRectangleWindowBlock(const CraftOptions& options, int64_t num_heads, bool shifted)
      : split_({options.split_size_0, options.split_size_1}),
        shift_({shifted ? split_[0] / 2 : 0, shifted ? split_[1] / 2 : 0}) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", layer_norm(dim));
    qkv_ = register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(options.qkv_bias)));
    proj_ = register_module("proj", FastLinear(dim, dim));
    get_v_ = register_module("get_v", depthwise_conv(dim, true));
    torch::nn::ModuleList attns;
    attns_[0] = std::make_shared<RectangleWindowSelfAttention>(dim / 2, num_heads / 2, split_[0], split_[1]);
    attns_[1] = std::make_shared<RectangleWindowSelfAttention>(dim / 2, num_heads / 2, split_[1], split_[0]);
    for (const auto& attention : attns_) attns->push_back(attention);
    register_module("attns", attns);
    norm2_ = register_module("norm2", layer_norm(dim));
    mlp_ = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio), dim));
  }

  // x: (B, H*W, C) tokens of an H x W map (multiples of both window orientations).
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const RectanglePositionTables& tables) {
    const int64_t batch = x.size(0), channels = x.size(2), half = channels / 2;
    const torch::Tensor qkv = qkv_->forward(norm1_->forward(x))
                                  .reshape({batch, height, width, 3, channels})
                                  .permute({3, 0, 1, 2, 4});  // 3, B, H, W, C
    const torch::Tensor values = qkv[2].permute({0, 3, 1, 2});
    const bool shifted = shift_[0] > 0 || shift_[1] > 0;
    const auto roll = [&](const torch::Tensor& t, int64_t rows, int64_t cols, int64_t first_dim) {
      return shifted ? torch::roll(t, {rows, cols}, {first_dim, first_dim + 1}) : t.contiguous();
    };
    const torch::Tensor horizontal =
        attns_[0]->forward(roll(qkv.slice(4, 0, half), -shift_[0], -shift_[1], 2), tables.index_h, tables.offsets_h);
    const torch::Tensor vertical = attns_[1]->forward(roll(qkv.slice(4, half, channels), -shift_[1], -shift_[0], 2),
                                                      tables.index_v, tables.offsets_v);
    const torch::Tensor attended =
        torch::cat({roll(horizontal, shift_[0], shift_[1], 1), roll(vertical, shift_[1], shift_[0], 1)}, -1)
            .view({batch, -1, channels});
    const torch::Tensor local = get_v_->forward(values).permute({0, 2, 3, 1}).reshape({batch, -1, channels});
    const torch::Tensor mixed = x + proj_->forward(attended + local);
    return mixed + mlp_->forward(norm2_->forward(mixed));
  }

 private:
  std::array<int64_t, 2> split_;
  std::array<int64_t, 2> shift_;
  torch::nn::LayerNorm norm1_{nullptr};
  FastLinear qkv_{nullptr};
  FastLinear proj_{nullptr};
  FastConv2d get_v_{nullptr};
  std::array<std::shared_ptr<RectangleWindowSelfAttention>, 2> attns_;
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
};

// HFERB: a 3x3 conv ("conv") on the first channel half and a max-pooled 1x1 conv ("fc", high frequencies) on
// the second, both GELU, merged by a 1x1 conv ("last_fc") onto the input.
class HighFrequencyEnhancementBlock : public torch::nn::Module {
 public:
  explicit HighFrequencyEnhancementBlock(int64_t dim)
      : half_(dim / 2),
        last_fc_(register_module("last_fc", same_conv(dim, dim, 1))),
        fc_(register_module("fc", same_conv(half_, half_, 1))),
        conv_(register_module("conv", same_conv(half_, half_, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    const torch::Tensor local = torch::gelu(conv_->forward(x.slice(1, 0, half_)));
    const torch::Tensor pooled = F::max_pool2d(x.slice(1, half_), F::MaxPool2dFuncOptions(3).stride(1).padding(1));
    const torch::Tensor high = torch::gelu(fc_->forward(pooled));
    return x + last_fc_->forward(torch::cat({local, high}, 1));
  }

 private:
  int64_t half_;
  FastConv2d last_fc_;
  FastConv2d fc_;
  FastConv2d conv_;
};

// HFB's Attention: transposed (channel) attention whose queries come from the high-frequency features
// ("q", "q_dwconv") and keys/values from the low-frequency ones ("kv", "kv_dwconv"), then "project_out";
// no biases.
class HighFrequencyQueryAttention : public torch::nn::Module {
 public:
  HighFrequencyQueryAttention(int64_t dim, int64_t num_heads)
      : num_heads_(num_heads),
        temperature_(register_parameter("temperature", torch::ones({num_heads, 1, 1}))),
        q_(register_module("q", same_conv(dim, dim, 1, false))),
        q_dwconv_(register_module("q_dwconv", depthwise_conv(dim, false))),
        kv_(register_module("kv", same_conv(dim, dim * 2, 1, false))),
        kv_dwconv_(register_module("kv_dwconv", depthwise_conv(dim * 2, false))),
        project_out_(register_module("project_out", same_conv(dim, dim, 1, false))) {}

  torch::Tensor forward(const torch::Tensor& low, const torch::Tensor& high) {
    const int64_t batch = low.size(0), channels = low.size(1), height = low.size(2), width = low.size(3);
    const auto per_head = [&](const torch::Tensor& t) {
      return t.reshape({batch, num_heads_, channels / num_heads_, height * width});
    };
    const torch::Tensor queries = q_dwconv_->forward(q_->forward(high));
    const std::vector<torch::Tensor> keys_values = kv_dwconv_->forward(kv_->forward(low)).chunk(2, 1);
    const torch::Tensor attended =
        cosine_channel_attention(per_head(queries), per_head(keys_values[0]), per_head(keys_values[1]), temperature_);
    return project_out_->forward(attended.reshape({batch, channels, height, width}));
  }

 private:
  int64_t num_heads_;
  torch::Tensor temperature_;
  FastConv2d q_;
  FastConv2d q_dwconv_;
  FastConv2d kv_;
  FastConv2d kv_dwconv_;
  FastConv2d project_out_;
};

}  // namespace craft

// CRAFT's LayerNorm(dim, "WithBias"): LayerNorm over the channels of each pixel of an NCHW map (eps 1e-5),
// its weights under "body".
class CraftLayerNorm : public torch::nn::Module {
 public:
  explicit CraftLayerNorm(int64_t dim) : body_(register_module("body", ChannelLayerNorm(dim, craft::kLayerNormEps))) {}
  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x); }

 private:
  ChannelLayerNorm body_;
};

namespace craft {

// HFB (hybrid fusion block): the low-frequency map plus the high-frequency-query attention ("attn") on the
// normalised maps, then Restormer's gated feed-forward ("ffn"), each with a CraftLayerNorm.
class HybridFusionBlock : public torch::nn::Module {
 public:
  HybridFusionBlock(int64_t dim, int64_t num_heads)
      : norm1_(register_module("norm1", std::make_shared<CraftLayerNorm>(dim))),
        attn_(register_module("attn", std::make_shared<HighFrequencyQueryAttention>(dim, num_heads))),
        norm2_(register_module("norm2", std::make_shared<CraftLayerNorm>(dim))),
        ffn_(register_module("ffn", GatedFeedForward(dim, static_cast<int64_t>(dim * kFusionExpansion), false))) {}

  torch::Tensor forward(const torch::Tensor& low, const torch::Tensor& high) {
    const torch::Tensor fused = low + attn_->forward(norm1_->forward(low), high);
    return fused + ffn_->forward(norm2_->forward(fused));
  }

 private:
  std::shared_ptr<CraftLayerNorm> norm1_;
  std::shared_ptr<HighFrequencyQueryAttention> attn_;
  std::shared_ptr<CraftLayerNorm> norm2_;
  GatedFeedForward ffn_;
};

// CRFB (cross-refinement fusion block): per depth step, two rectangle-window blocks (plain, then shifted) give
// the low-frequency map and a HFERB the high-frequency one; a HFB fuses them.
class CrossRefinementFusionBlock : public torch::nn::Module {
 public:
  CrossRefinementFusionBlock(const CraftOptions& options, int64_t depth, int64_t num_heads) {
    torch::nn::ModuleList srwa_blocks, hfer_blocks, hf_blocks;
    for (int64_t i = 0; i < 2 * depth; ++i) {
      srwa_blocks_.push_back(std::make_shared<ShiftedRectangleWindowBlock>(options, num_heads, i % 2 == 1));
      srwa_blocks->push_back(srwa_blocks_.back());
    }
    for (int64_t i = 0; i < depth; ++i) {
      hfer_blocks_.push_back(std::make_shared<HighFrequencyEnhancementBlock>(options.embed_dim));
      hfer_blocks->push_back(hfer_blocks_.back());
      hf_blocks_.push_back(std::make_shared<HybridFusionBlock>(options.embed_dim, num_heads));
      hf_blocks->push_back(hf_blocks_.back());
    }
    register_module("srwa_blocks", srwa_blocks);
    register_module("hfer_blocks", hfer_blocks);
    register_module("hf_blocks", hf_blocks);
  }

  torch::Tensor forward(torch::Tensor x, const RectanglePositionTables& tables) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    for (size_t i = 0; i < hf_blocks_.size(); ++i) {
      torch::Tensor low = x.permute({0, 2, 3, 1}).reshape({batch, height * width, channels});
      low = srwa_blocks_[2 * i]->forward(low, height, width, tables);
      low = srwa_blocks_[2 * i + 1]->forward(low, height, width, tables);
      low = low.reshape({batch, height, width, channels}).permute({0, 3, 1, 2});
      x = hf_blocks_[i]->forward(low, hfer_blocks_[i]->forward(x));
    }
    return x;
  }

 private:
  std::vector<std::shared_ptr<ShiftedRectangleWindowBlock>> srwa_blocks_;
  std::vector<std::shared_ptr<HighFrequencyEnhancementBlock>> hfer_blocks_;
  std::vector<std::shared_ptr<HybridFusionBlock>> hf_blocks_;
};

}  // namespace craft

// RCRFG: a CRFB ("residual_group") and a 3x3 conv ("conv"), plus the input.
class CraftResidualGroup : public torch::nn::Module {
 public:
  CraftResidualGroup(const CraftOptions& options, int64_t depth, int64_t num_heads)
      : residual_group_(
            register_module("residual_group", std::make_shared<craft::CrossRefinementFusionBlock>(options, depth, num_heads))),
        conv_(register_module("conv", same_conv(options.embed_dim, options.embed_dim, 3))) {}

  torch::Tensor forward(const torch::Tensor& x, const craft::RectanglePositionTables& tables) {
    return conv_->forward(residual_group_->forward(x, tables)) + x;
  }

 private:
  std::shared_ptr<craft::CrossRefinementFusionBlock> residual_group_;
  FastConv2d conv_;
};

CraftNetwork::CraftNetwork(const CraftOptions& options)
    : options_(options),
      mean_(div2k_mean(options.in_chans)) {
  const int64_t dim = options.embed_dim;
  const int64_t s0 = options.split_size_0, s1 = options.split_size_1;
  relative_position_index_h_ = register_buffer("relative_position_index_h", relative_position_index(s0, s1));
  relative_position_index_v_ = register_buffer("relative_position_index_v", relative_position_index(s1, s0));
  biases_v_ = register_buffer("biases_v", craft::window_offsets(s1, s0));
  biases_h_ = register_buffer("biases_h", craft::window_offsets(s0, s1));
  conv_first_ = register_module("conv_first", same_conv(options.in_chans, dim, 3));
  torch::nn::ModuleList layers;
  for (size_t i = 0; i < options.depths.size(); ++i) {
    layers_.push_back(std::make_shared<CraftResidualGroup>(options, options.depths[i], options.num_heads[i]));
    layers->push_back(layers_.back());
  }
  register_module("layers", layers);
  norm_ = register_module("norm", std::make_shared<CraftLayerNorm>(dim));
  if (options.resi_connection == "1conv") conv_after_body_ = register_module("conv_after_body", same_conv(dim, dim, 3));
  upsample_ = register_module("upsample", pixel_shuffle_block(dim, options.in_chans, options.upscale));
}

torch::Tensor CraftNetwork::forward(torch::Tensor x) {
  // inference_CRAFT.py's padding: mirror the image onto its bottom and right up to the next multiple of the
  // window (always at least one more row and column of windows).
  const int64_t height = x.size(2), width = x.size(3), window = options_.window_size;
  x = torch::cat({x, x.flip({2})}, 2).slice(2, 0, (height / window + 1) * window);
  x = torch::cat({x, x.flip({3})}, 3).slice(3, 0, (width / window + 1) * window);

  const torch::Tensor mean = mean_.to(x.options());
  x = (x - mean) * options_.img_range;
  const torch::Tensor shallow = conv_first_->forward(x);
  const craft::RectanglePositionTables tables{relative_position_index_h_, relative_position_index_v_, biases_h_, biases_v_};
  torch::Tensor features = shallow;
  for (const auto& layer : layers_) features = layer->forward(features, tables);
  features = norm_->forward(features);
  if (conv_after_body_) features = conv_after_body_->forward(features);
  x = upsample_->forward(features + shallow) / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kCraftArchitecture = {"CRAFT", craft::detect, craft::load, "1-8", "1, 3"};

}  // namespace uprez
