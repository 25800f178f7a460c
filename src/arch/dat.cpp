#include "arch/dat.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace dat {

// Python's repr of a float (shortest round-trip digits, "2.0" rather than "2"), as spandrel's tags print it.
std::string python_float(double value) {
  char buffer[32];
  char* end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  std::string text(buffer, end);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

bool detect(const StateDict& state) {
  const bool one_conv = state.contains("conv_after_body.weight");
  const bool three_conv = state.contains("conv_after_body.4.weight");
  const bool pixel_shuffle =
      state.has_all({"conv_after_body.weight", "conv_before_upsample.0.weight", "conv_last.weight"});
  return state.has_all({"conv_first.weight",
                        "before_RG.1.weight",
                        "before_RG.1.bias",
                        "layers.0.blocks.0.norm1.weight",
                        "layers.0.blocks.0.norm2.weight",
                        "layers.0.blocks.0.ffn.fc1.weight",
                        "layers.0.blocks.0.ffn.sg.norm.weight",
                        "layers.0.blocks.0.ffn.sg.conv.weight",
                        "layers.0.blocks.0.ffn.fc2.weight",
                        "layers.0.blocks.0.attn.qkv.weight",
                        "layers.0.blocks.0.attn.proj.weight",
                        "layers.0.blocks.0.attn.dwconv.0.weight",
                        "layers.0.blocks.0.attn.dwconv.1.running_mean",
                        "layers.0.blocks.0.attn.channel_interaction.1.weight",
                        "layers.0.blocks.0.attn.channel_interaction.2.running_mean",
                        "layers.0.blocks.0.attn.channel_interaction.4.weight",
                        "layers.0.blocks.0.attn.spatial_interaction.0.weight",
                        "layers.0.blocks.0.attn.spatial_interaction.1.running_mean",
                        "layers.0.blocks.0.attn.spatial_interaction.3.weight",
                        "layers.0.blocks.0.attn.attns.0.rpe_biases",
                        "layers.0.blocks.0.attn.attns.0.relative_position_index",
                        "layers.0.blocks.0.attn.attns.0.pos.pos_proj.weight",
                        "layers.0.blocks.0.attn.attns.0.pos.pos1.0.weight",
                        "layers.0.blocks.0.attn.attns.0.pos.pos3.0.weight",
                        "norm.weight"}) &&
         (one_conv || three_conv) && (pixel_shuffle || state.contains("upsample.0.weight"));
}

DatOptions detect_options(const StateDict& state) {
  DatOptions options;
  detect_dat_family(state, options);
  for (size_t i = 0; i < options.depth.size(); ++i) {
    const std::string layer = "layers." + std::to_string(i);
    // With a single block only the spatial attention's heads (num_heads / 2) are visible.
    options.num_heads[i] = options.depth[i] >= 2
                               ? static_cast<int>(state.dim(layer + ".blocks.1.attn.temperature", 0))
                               : static_cast<int>(state.dim(layer + ".blocks.0.attn.attns.0.pos.pos3.2.weight", 0)) * 2;
  }

  options.upsampler = state.contains("conv_last.weight") ? "pixelshuffle" : "pixelshuffledirect";
  if (options.upsampler == "pixelshuffle") {
    std::tie(options.upscale, options.num_feat) = pixel_shuffle_parameters(state, "upsample");
  } else {
    options.num_feat = static_cast<int>(state.dim("upsample.0.weight", 1));
    options.upscale =
        static_cast<int>(std::sqrt(static_cast<double>(state.dim("upsample.0.weight", 0) / options.in_chans)));
  }
  options.expansion_factor = static_cast<double>(state.dim("layers.0.blocks.0.ffn.fc1.weight", 0)) / options.embed_dim;

  // Only the masks of the first group's third block reveal the training size (64 is assumed otherwise).
  const std::string mask_key = "layers.0.blocks.2.attn.attn_mask_0";
  if (state.contains(mask_key))
    options.img_size =
        static_cast<int>(std::sqrt(static_cast<double>(state.dim(mask_key, 0) * state.dim(mask_key, 1))));
  // The last offset of the window-0 attention is (split_size[0] - 1, split_size[1] - 1).
  const torch::Tensor last_offset = state.at("layers.0.blocks.0.attn.attns.0.rpe_biases")[-1] + 1;
  options.split_size = {last_offset[0].item<int64_t>(), last_offset[1].item<int64_t>()};
  return options;
}

ModelInfo model_info(const DatOptions& options) {
  const std::string size_tag = options.depth.size() < 4                                ? "light"
                               : options.split_size == std::array<int64_t, 2>{8, 16} ? "small"
                                                                                     : "medium";
  ModelInfo info = dat_family_model_info("DAT", options);
  info.tags = {size_tag,
               "s" + std::to_string(options.img_size) + "|" + std::to_string(options.split_size[0]) + "x" +
                   std::to_string(options.split_size[1]),
               std::to_string(options.num_feat) + "nf",
               std::to_string(options.embed_dim) + "dim",
               python_float(options.expansion_factor) + "ef",
               options.resi_connection};
  info.hyperparameters["img_size"] = options.img_size;
  info.hyperparameters["expansion_factor"] = options.expansion_factor;
  info.hyperparameters["upsampler"] = options.upsampler;
  return info;
}

Model load(const StateDict& state) {
  const DatOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<DatNetwork>(options), state);
}

// The convolutional branch and the adaptive interaction maps both DAT attentions register: "dwconv" (depthwise
// 3x3, BatchNorm, GELU), "channel_interaction" (average pool, 1x1 dim -> dim/8, BatchNorm, GELU, 1x1 -> dim) and
// "spatial_interaction" (1x1 dim -> dim/16, BatchNorm, GELU, 1x1 -> 1).
struct InteractionBranches {
  torch::nn::Sequential dwconv;
  torch::nn::Sequential channel_interaction;
  torch::nn::Sequential spatial_interaction;
};

InteractionBranches register_interaction_branches(torch::nn::Module& module, int64_t dim) {
  using torch::nn::BatchNorm2d;
  using torch::nn::GELU;
  return {module.register_module("dwconv", torch::nn::Sequential(depthwise_conv(dim), BatchNorm2d(dim), GELU())),
          module.register_module("channel_interaction",
                                 torch::nn::Sequential(torch::nn::AdaptiveAvgPool2d(1), FastConv2d(dim, dim / 8, 1),
                                                       BatchNorm2d(dim / 8), GELU(), FastConv2d(dim / 8, dim, 1))),
          module.register_module(
              "spatial_interaction",
              torch::nn::Sequential(FastConv2d(dim, dim / 16, 1), BatchNorm2d(dim / 16), GELU(),
                                    FastConv2d(dim / 16, 1, 1)))};
}

// Adaptive_Spatial_Attention: the rectangle-window attention, its channels re-weighted by a channel map of the
// conv branch, plus the conv branch re-weighted by a spatial map of the attention.
class AdaptiveSpatialAttention : public DualRectangleWindowAttention {
 public:
  AdaptiveSpatialAttention(const DatOptions& options, int64_t num_heads, bool shifted)
      : DualRectangleWindowAttention(options.embed_dim, num_heads, options.split_size, shifted, options.img_size,
                                     options.qkv_bias),
        branches_(register_interaction_branches(*this, options.embed_dim)) {}

 protected:
  torch::Tensor mix(const torch::Tensor& attended, const torch::Tensor& values, int64_t height,
                    int64_t width) override {
    const torch::Tensor conv_x = branches_.dwconv->forward(values);
    const torch::Tensor channel_map = image_to_tokens(branches_.channel_interaction->forward(conv_x));
    const torch::Tensor spatial_map = branches_.spatial_interaction->forward(tokens_to_image(attended, height, width));
    return attended * torch::sigmoid(channel_map) + image_to_tokens(torch::sigmoid(spatial_map) * conv_x);
  }

 private:
  InteractionBranches branches_;
};

// Adaptive_Channel_Attention: XCiT's transposed attention across channels ("qkv", "temperature"), its tokens
// re-weighted by a spatial map of the conv branch, plus the conv branch re-weighted by a channel map of the
// attention, then "proj".
class AdaptiveChannelAttention : public TokenMapModule {
 public:
  AdaptiveChannelAttention(int64_t dim, int64_t num_heads, bool qkv_bias)
      : num_heads_(num_heads),
        temperature_(register_parameter("temperature", torch::ones({num_heads, 1, 1}))),
        qkv_(register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)))),
        proj_(register_module("proj", FastLinear(dim, dim))),
        branches_(register_interaction_branches(*this, dim)) {}

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) override {
    const int64_t batch = x.size(0), tokens = x.size(1), channels = x.size(2);
    // (3, B, heads, channels / heads, tokens)
    const torch::Tensor qkv =
        qkv_->forward(x).reshape({batch, tokens, 3, num_heads_, channels / num_heads_}).permute({2, 0, 3, 4, 1});
    const torch::Tensor values = qkv[2].reshape({batch, channels, height, width});
    const torch::Tensor attended = cosine_channel_attention(qkv[0], qkv[1], qkv[2], temperature_)
                                       .permute({0, 3, 1, 2})
                                       .reshape({batch, tokens, channels});
    const torch::Tensor conv_x = branches_.dwconv->forward(values);
    const torch::Tensor channel_map = branches_.channel_interaction->forward(tokens_to_image(attended, height, width));
    const torch::Tensor spatial_map = image_to_tokens(branches_.spatial_interaction->forward(conv_x));
    return proj_->forward(attended * torch::sigmoid(spatial_map) +
                          image_to_tokens(conv_x * torch::sigmoid(channel_map)));
  }

 private:
  int64_t num_heads_;
  torch::Tensor temperature_;
  FastLinear qkv_;
  FastLinear proj_;
  InteractionBranches branches_;
};

// DATB: x + attn(norm1(x)), then + ffn(norm2(x)); even blocks use spatial, odd blocks channel attention.
class DualAggregationBlock : public TokenMapModule {
 public:
  DualAggregationBlock(const DatOptions& options, int64_t num_heads, int64_t group, int64_t block) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (block % 2 == 0)
      attn_ = std::make_shared<AdaptiveSpatialAttention>(options, num_heads, shifts_rectangle_windows(group, block));
    else
      attn_ = std::make_shared<AdaptiveChannelAttention>(dim, num_heads, options.qkv_bias);
    register_module("attn", attn_);
    ffn_ = register_module(
        "ffn", SpatialGateFeedForward(dim, static_cast<int64_t>(static_cast<double>(dim) * options.expansion_factor)));
    norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) override {
    const torch::Tensor attended = x + attn_->forward(norm1_->forward(x), height, width);
    return attended + ffn_->forward(norm2_->forward(attended), height, width);
  }

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  std::shared_ptr<TokenMapModule> attn_;
  SpatialGateFeedForward ffn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
};

}  // namespace dat

DatNetwork::DatNetwork(const DatOptions& options)
    : ResidualGroupNetwork(options.in_chans, options.embed_dim, options.upscale, options.resi_connection,
                           options.upsampler, options.img_range) {
  for (size_t group = 0; group < options.depth.size(); ++group) {
    std::vector<std::shared_ptr<TokenMapModule>> blocks;
    for (int block = 0; block < options.depth[group]; ++block)
      blocks.push_back(std::make_shared<dat::DualAggregationBlock>(options, options.num_heads[group], group, block));
    add_residual_group(blocks);
  }
}

const Architecture kDatArchitecture = {"DAT", dat::detect, dat::load, "2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
