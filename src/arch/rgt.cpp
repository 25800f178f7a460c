#include "arch/rgt.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "arch/detection.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace rgt {

// L_SA is always built with its default reso, so shifted blocks store masks for a 64 x 64 map.
constexpr int64_t kMaskResolution = 64;
constexpr double kLayerScale = 1e-4;  // HAI's gamma initialisation
constexpr int64_t kReduction = 4;     // RG-SA's reduction1 kernel and stride

// spandrel's _get_split_size: (split_size[0], split_size[1]) from the window area and offset count, assuming a
// square window or powers of two with split_size[0] < split_size[1].
std::array<int64_t, 2> split_size_from(const StateDict& state) {
  const int64_t area = state.dim("layers.0.blocks.0.attn.attns.0.relative_position_index", 0);
  const int64_t offsets = state.dim("layers.0.blocks.0.attn.attns.0.rpe_biases", 0);
  const auto is_solution = [&](int64_t first, int64_t second) {
    return first * second == area && (2 * first - 1) * (2 * second - 1) == offsets;
  };
  auto side = static_cast<int64_t>(std::sqrt(static_cast<double>(area)));
  while (side * side > area) --side;
  while ((side + 1) * (side + 1) <= area) ++side;
  if (is_solution(side, side)) return {side, side};
  for (int i = 1; i < 10; ++i)
    for (int j = i + 1; j < 10; ++j)
      if (is_solution(int64_t{1} << i, int64_t{1} << j)) return {int64_t{1} << i, int64_t{1} << j};
  throw Error("RGT: no valid split_size for a window of " + std::to_string(area) + " positions and " +
              std::to_string(offsets) + " offsets");
}

bool detect(const StateDict& state) {
  return state.has_all({"conv_first.weight", "before_RG.1.weight", "layers.0.blocks.0.gamma",
                        "layers.0.blocks.0.norm1.weight", "layers.0.blocks.0.attn.qkv.weight",
                        "layers.0.blocks.0.attn.proj.weight", "layers.0.blocks.0.attn.attns.0.rpe_biases",
                        "layers.0.blocks.0.attn.attns.0.relative_position_index",
                        "layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight", "layers.0.blocks.0.mlp.fc1.weight",
                        "layers.0.blocks.0.mlp.fc2.weight", "layers.0.blocks.0.norm2.weight", "norm.weight",
                        "conv_before_upsample.0.weight", "conv_last.weight"}) &&
         (state.contains("conv_after_body.weight") || state.contains("conv_after_body.0.weight"));
}

RgtOptions detect_options(const StateDict& state) {
  RgtOptions options;
  detect_dat_family(state, options);
  const int num_layers = static_cast<int>(options.depth.size());
  for (int i = 0; i < num_layers; ++i) {
    // The window attentions have num_heads / 2 heads; num_heads is assumed even unless that cannot divide
    // embed_dim.
    const int half_heads = static_cast<int>(
        state.dim("layers." + std::to_string(i) + ".blocks.0.attn.attns.0.pos.pos3.2.weight", 0));
    options.num_heads[i] = options.embed_dim % (half_heads * 2) == 0 ? half_heads * 2 : half_heads * 2 + 1;
  }
  options.mlp_ratio = static_cast<double>(state.dim("layers.0.blocks.0.mlp.fc1.weight", 0)) /
                      static_cast<double>(state.dim("layers.0.blocks.0.mlp.fc1.weight", 1));
  // Only RG-SA blocks (the odd ones) reveal c_ratio.
  for (int i = 0; i < num_layers; ++i) {
    if (options.depth[i] < 2) continue;
    const std::string key = "layers." + std::to_string(i) + ".blocks.1.attn.conv.weight";
    options.c_ratio = static_cast<double>(state.dim(key, 0)) / static_cast<double>(state.dim(key, 1));
    break;
  }
  options.upscale = pixel_shuffle_parameters(state, "upsample").first;
  options.split_size = split_size_from(state);
  return options;
}

ModelInfo model_info(const RgtOptions& options) {
  ModelInfo info = dat_family_model_info("RGT", options);
  info.hyperparameters["img_size"] = kMaskResolution;
  info.hyperparameters["mlp_ratio"] = options.mlp_ratio;
  info.hyperparameters["c_ratio"] = options.c_ratio;
  return info;
}

Model load(const StateDict& state) {
  const RgtOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<RgtNetwork>(options), state);
}

// L_SA: the rectangle-window attention plus a depthwise conv "get_v" of v.
class LocalSpatialAttention : public DualRectangleWindowAttention {
 public:
  LocalSpatialAttention(const RgtOptions& options, int64_t num_heads, bool shifted)
      : DualRectangleWindowAttention(options.embed_dim, num_heads, options.split_size, shifted, kMaskResolution,
                                     options.qkv_bias),
        get_v_(register_module("get_v", depthwise_conv(options.embed_dim))) {}

 protected:
  torch::Tensor mix(const torch::Tensor& attended, const torch::Tensor& values, int64_t height,
                    int64_t width) override {
    return attended + image_to_tokens(get_v_->forward(values));
  }

 private:
  FastConv2d get_v_;
};

// RG_SA: every token attends to a summary of the map, reduced recursively by the strided depthwise conv
// "reduction1", then "dwconv", "conv" (dim -> c_ratio * dim) and "norm_act"; queries "q" and keys "k" have
// c_ratio * dim channels, values "v" get a depthwise positional conv "cpe" on the reduced map; then "proj".
class RecursiveGeneralizationAttention : public TokenMapModule {
 public:
  RecursiveGeneralizationAttention(int64_t dim, int64_t num_heads, bool qkv_bias, double c_ratio)
      : num_heads_(num_heads), reduced_channels_(static_cast<int64_t>(static_cast<double>(dim) * c_ratio)) {
    if (dim % num_heads != 0 || reduced_channels_ % num_heads != 0)
      throw Error("RGT: embed_dim " + std::to_string(dim) + " and c_ratio * embed_dim " +
                  std::to_string(reduced_channels_) + " must be divisible by num_heads " + std::to_string(num_heads) +
                  " (spandrel cannot run this model either)");
    scale_ = 1.0 / std::sqrt(static_cast<double>(dim / num_heads) * c_ratio);
    const auto linear = [&](int64_t in_features, int64_t out_features) {
      return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(qkv_bias));
    };
    reduction1_ = register_module(
        "reduction1", FastConv2d(torch::nn::Conv2dOptions(dim, dim, kReduction).stride(kReduction).groups(dim)));
    dwconv_ = register_module("dwconv", depthwise_conv(dim));
    conv_ = register_module("conv", FastConv2d(dim, reduced_channels_, 1));
    norm_act_ = register_module(
        "norm_act", torch::nn::Sequential(torch::nn::LayerNorm(torch::nn::LayerNormOptions({reduced_channels_})),
                                          torch::nn::GELU()));
    q_ = register_module("q", linear(dim, reduced_channels_));
    k_ = register_module("k", linear(reduced_channels_, reduced_channels_));
    v_ = register_module("v", linear(reduced_channels_, dim));
    cpe_ = register_module("cpe", depthwise_conv(dim));
    proj_ = register_module("proj", FastLinear(dim, dim));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) override {
    const int64_t batch = x.size(0), tokens = x.size(1), channels = x.size(2);
    torch::Tensor reduced = tokens_to_image(x, height, width);
    for (int64_t i = recursions(height, width); i > 0; --i) reduced = reduction1_->forward(reduced);
    const int64_t reduced_height = reduced.size(2), reduced_width = reduced.size(3);
    const torch::Tensor summary = norm_act_->forward(image_to_tokens(conv_->forward(dwconv_->forward(reduced))));

    // (B, heads, tokens, channels / heads)
    const auto heads = [&](const torch::Tensor& projected) {
      return projected.reshape({batch, projected.size(1), num_heads_, -1}).permute({0, 2, 1, 3});
    };
    const torch::Tensor q = heads(q_->forward(x));
    const torch::Tensor k = heads(k_->forward(summary));
    torch::Tensor v = heads(v_->forward(summary));
    const torch::Tensor attention = (fast_matmul(q, k.transpose(-2, -1)) * scale_).softmax(-1);

    const torch::Tensor value_image =
        tokens_to_image(v.transpose(1, 2).reshape({batch, -1, channels}), reduced_height, reduced_width);
    v = v + cpe_->forward(value_image).view({batch, num_heads_, channels / num_heads_, -1}).transpose(-1, -2);
    return proj_->forward(fast_matmul(attention, v).transpose(1, 2).reshape({batch, tokens, channels}));
  }

 private:
  // How often the map is reduced at inference: max(int(log4(H // 16)), int(log4(W // 16))), at least 2 (the
  // training count).
  static int64_t recursions(int64_t height, int64_t width) {
    const auto log4 = [](int64_t n) {
      return n >= 1 ? static_cast<int64_t>(std::log(static_cast<double>(n)) / std::log(4.0)) : 0;
    };
    return std::max({log4(height / 16), log4(width / 16), int64_t{2}});
  }

  int64_t num_heads_;
  int64_t reduced_channels_;
  double scale_ = 1.0;
  FastConv2d reduction1_{nullptr};
  FastConv2d dwconv_{nullptr};
  FastConv2d conv_{nullptr};
  torch::nn::Sequential norm_act_{nullptr};
  FastLinear q_{nullptr};
  FastLinear k_{nullptr};
  FastLinear v_{nullptr};
  FastConv2d cpe_{nullptr};
  FastLinear proj_{nullptr};
};

// RGT's Block: x + attn(norm1(x)), then + mlp(norm2(.)), plus the block input scaled per channel by "gamma"
// (HAI); even blocks use L-SA, odd blocks RG-SA.
class RgtBlock : public TokenMapModule {
 public:
  RgtBlock(const RgtOptions& options, int64_t num_heads, int64_t group, int64_t block) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (block % 2 == 0)
      attn_ = std::make_shared<LocalSpatialAttention>(options, num_heads, shifts_rectangle_windows(group, block));
    else
      attn_ = std::make_shared<RecursiveGeneralizationAttention>(dim, num_heads, options.qkv_bias, options.c_ratio);
    register_module("attn", attn_);
    mlp_ = register_module(
        "mlp", SpatialGateFeedForward(dim, static_cast<int64_t>(static_cast<double>(dim) * options.mlp_ratio)));
    norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    gamma_ = register_parameter("gamma", torch::full({dim}, kLayerScale));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) override {
    const torch::Tensor attended = x + attn_->forward(norm1_->forward(x), height, width);
    return attended + mlp_->forward(norm2_->forward(attended), height, width) + x * gamma_;
  }

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  std::shared_ptr<TokenMapModule> attn_;
  SpatialGateFeedForward mlp_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  torch::Tensor gamma_;
};

}  // namespace rgt

RgtNetwork::RgtNetwork(const RgtOptions& options)
    : ResidualGroupNetwork(options.in_chans, options.embed_dim, options.upscale, options.resi_connection,
                           "pixelshuffle", options.img_range) {
  for (size_t group = 0; group < options.depth.size(); ++group) {
    std::vector<std::shared_ptr<TokenMapModule>> blocks;
    for (int block = 0; block < options.depth[group]; ++block)
      blocks.push_back(std::make_shared<rgt::RgtBlock>(options, options.num_heads[group], group, block));
    add_residual_group(blocks);
  }
}

const Architecture kRgtArchitecture = {"RGT", rgt::detect, rgt::load, "2^n, 3", "any"};

}  // namespace uprez
