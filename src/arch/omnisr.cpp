#include "arch/omnisr.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace omnisr {

namespace F = torch::nn::functional;

constexpr int64_t kChannelAttentionHeads = 4;
constexpr int64_t kHeadDimDivisor = 4;  // the spatial attentions' dim_head = channels / 4
constexpr double kSqueezeRate = 0.25;   // MBConv's squeeze-excitation hidden channels

bool detect(const StateDict& state) {
  return state.has_all({"residual_layer.0.residual_layer.0.layer.0.fn.0.weight", "input.weight", "up.0.weight"});
}

// The state without the profiler counters (thop) that some files carry.
StateDict without_profiler_counters(const StateDict& file_state) {
  StateDict state = file_state;
  for (const std::string& key : file_state.keys()) {
    const auto ends_with = [&key](const std::string& suffix) {
      return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with("total_ops") || ends_with("total_params")) state.erase(key);
  }
  return state;
}

OmniSrOptions detect_options(const StateDict& state) {
  OmniSrOptions options;
  options.num_feat = static_cast<int>(state.dim("input.weight", 0));
  options.num_in_ch = static_cast<int>(state.dim("input.weight", 1));
  options.bias = state.contains("input.bias");
  std::tie(options.up_scale, options.num_out_ch) =
      scale_and_output_channels(state.dim("up.0.weight", 0), options.num_in_ch);
  options.res_num = sequence_length(state, "residual_layer");
  options.block_num = sequence_length(state, "residual_layer.0.residual_layer") - 1;
  const std::string bias_table = "residual_layer.0.residual_layer.0.layer.2.fn.rel_pos_bias.weight";
  options.pe = state.contains(bias_table);
  if (options.pe)  // (2 * window_size - 1)^2 rows; without it spandrel assumes a window of 8
    options.window_size = static_cast<int>((std::sqrt(static_cast<double>(state.dim(bias_table, 0))) + 1) / 2);
  return options;
}

ModelInfo model_info(const OmniSrOptions& options) {
  ModelInfo info =
      basic_model_info("OmniSR", options.up_scale, options.num_in_ch, options.num_out_ch, SizeRequirements(16));
  info.tags = {std::to_string(options.num_feat) + "nf", "w" + std::to_string(options.window_size),
               std::to_string(options.res_num) + "nr"};
  info.hyperparameters = {
      {"num_in_ch", options.num_in_ch},
      {"num_out_ch", options.num_out_ch},
      {"num_feat", options.num_feat},
      {"block_num", options.block_num},
      {"pe", options.pe},
      {"window_size", options.window_size},
      {"res_num", options.res_num},
      {"up_scale", options.up_scale},
      {"bias", options.bias},
  };
  return info;
}

Model load(const StateDict& file_state) {
  const StateDict state = without_profiler_counters(file_state);
  const OmniSrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<OmniSrNetwork>(options), state);
}

FastConv2d depthwise_conv(int64_t channels, bool bias) {
  return FastConv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).groups(channels).bias(bias));
}

FastLinear unbiased_linear(int64_t in_features, int64_t out_features) {
  return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(false));
}

// The spatial attention layouts: "block" windows are window x window tiles; "grid" windows take every
// (size / window)-th pixel, so that each spans the whole image.
enum class Layout { Block, Grid };

// (B, C, H, W) -> (B, H/w, W/w, w, w, C): einops "b d (x w1) (y w2) -> b x y w1 w2 d" for Block,
// "b d (w1 x) (w2 y) -> b x y w1 w2 d" for Grid.
torch::Tensor to_windows(const torch::Tensor& x, int64_t window, Layout layout) {
  const int64_t batch = x.size(0), channels = x.size(1), rows = x.size(2) / window, cols = x.size(3) / window;
  if (layout == Layout::Block) return x.view({batch, channels, rows, window, cols, window}).permute({0, 2, 4, 3, 5, 1});
  return x.view({batch, channels, window, rows, window, cols}).permute({0, 3, 5, 2, 4, 1});
}

// The inverse of to_windows.
torch::Tensor from_windows(const torch::Tensor& x, Layout layout) {
  const int64_t batch = x.size(0), rows = x.size(1), cols = x.size(2), window = x.size(3), channels = x.size(5);
  const torch::Tensor image = layout == Layout::Block ? x.permute({0, 5, 1, 3, 2, 4}) : x.permute({0, 5, 3, 1, 4, 2});
  return image.reshape({batch, channels, rows * window, cols * window});
}

// Squeeze-excitation of MBConv: x * sigmoid(Linear(SiLU(Linear(mean over pixels)))); "gate.1", "gate.3".
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  explicit SqueezeExcitationImpl(int64_t dim) {
    const auto hidden = static_cast<int64_t>(dim * kSqueezeRate);
    gate_ = register_module(
        "gate", torch::nn::Sequential(torch::nn::Functional([](const torch::Tensor& x) {
                                        return x.mean({2, 3});
                                      }),
                                      unbiased_linear(dim, hidden), torch::nn::SiLU(), unbiased_linear(hidden, dim),
                                      torch::nn::Sigmoid(), torch::nn::Functional([](const torch::Tensor& x) {
                                        return x.view({x.size(0), x.size(1), 1, 1});
                                      })));
  }

  torch::Tensor forward(const torch::Tensor& x) { return x * gate_->forward(x); }

 private:
  torch::nn::Sequential gate_{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

// MBConv with its residual (MBConvResidual): x + (1x1 conv, GELU, depthwise 3x3, GELU, SE, 1x1 conv)(x).
class MbConvImpl : public torch::nn::Module {
 public:
  explicit MbConvImpl(int64_t dim)
      : fn_(register_module(
            "fn", torch::nn::Sequential(same_conv(dim, dim, 1), torch::nn::GELU(), depthwise_conv(dim, true),
                                        torch::nn::GELU(), SqueezeExcitation(dim), same_conv(dim, dim, 1)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return fn_->forward(x) + x; }

 private:
  torch::nn::Sequential fn_;
};
TORCH_MODULE(MbConv);

// PreNormResidual (nn.LayerNorm over the last dim) and Conv_PreNormResidual (LayerNorm2d over channels):
// fn(norm(x)) + x.
class PreNormResidualImpl : public torch::nn::Module {
 public:
  PreNormResidualImpl(torch::nn::AnyModule norm, torch::nn::AnyModule fn) : norm_(std::move(norm)), fn_(std::move(fn)) {
    register_module("norm", norm_.ptr());
    register_module("fn", fn_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x) { return fn_.forward(norm_.forward(x)) + x; }

 private:
  torch::nn::AnyModule norm_;
  torch::nn::AnyModule fn_;
};
TORCH_MODULE(PreNormResidual);

// Attention: multi-head self-attention inside each window of a (B, X, Y, w, w, C) tensor, with a relative
// position bias ("rel_pos_bias" embedding) when with_pe.
class WindowSelfAttentionImpl : public torch::nn::Module {
 public:
  WindowSelfAttentionImpl(int64_t dim, int64_t window, bool with_pe)
      : heads_(dim / (dim / kHeadDimDivisor)),
        scale_(1.0 / std::sqrt(static_cast<double>(dim / kHeadDimDivisor))),
        to_qkv_(register_module("to_qkv", unbiased_linear(dim, dim * 3))),
        to_out_(register_module("to_out", torch::nn::Sequential(unbiased_linear(dim, dim)))) {
    if (with_pe) {
      rel_pos_bias_ =
          register_module("rel_pos_bias", torch::nn::Embedding((2 * window - 1) * (2 * window - 1), heads_));
      rel_pos_indices_ = relative_position_index(window);  // not persistent: absent from the state dict
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), rows = x.size(1), cols = x.size(2), window = x.size(3), dim = x.size(5);
    const int64_t windows = batch * rows * cols, tokens = window * window;
    std::vector<torch::Tensor> qkv = to_qkv_->forward(x.reshape({windows, tokens, dim})).chunk(3, -1);
    for (torch::Tensor& t : qkv) t = t.view({windows, tokens, heads_, -1}).permute({0, 2, 1, 3});
    torch::Tensor bias;
    if (rel_pos_bias_) bias = rel_pos_bias_->forward(rel_pos_indices_.to(x.device())).permute({2, 0, 1});
    const torch::Tensor attended = scaled_attention(qkv[0], qkv[1], qkv[2], scale_, bias);
    return to_out_->forward(attended.permute({0, 2, 1, 3}).reshape({windows, window, window, dim}))
        .view({batch, rows, cols, window, window, dim});
  }

 private:
  int64_t heads_;
  double scale_;
  FastLinear to_qkv_;
  torch::nn::Sequential to_out_;
  torch::nn::Embedding rel_pos_bias_{nullptr};
  torch::Tensor rel_pos_indices_;
};
TORCH_MODULE(WindowSelfAttention);

// Channel_Attention (Block) and Channel_Attention_grid (Grid): per window of the layout, multi-head cosine
// channel attention with per-head temperature; q, k, v from a 1x1 then depthwise 3x3 conv (no biases).
class WindowChannelAttentionImpl : public torch::nn::Module {
 public:
  WindowChannelAttentionImpl(int64_t dim, int64_t window, Layout layout)
      : window_(window),
        layout_(layout),
        temperature_(register_parameter("temperature", torch::ones({kChannelAttentionHeads, 1, 1}))),
        qkv_(register_module("qkv", same_conv(dim, dim * 3, 1, false))),
        qkv_dwconv_(register_module("qkv_dwconv", depthwise_conv(dim * 3, false))),
        project_out_(register_module("project_out", same_conv(dim, dim, 1, false))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t rows = height / window_, cols = width / window_, heads = kChannelAttentionHeads;
    std::vector<torch::Tensor> qkv = qkv_dwconv_->forward(qkv_->forward(x)).chunk(3, 1);
    // Block: (B, windows, heads, d, pixels of a window); Grid: (B, pixels of a window, heads, d, windows).
    for (torch::Tensor& t : qkv) {
      t = t.view({batch, heads, -1, rows, window_, cols, window_});
      t = layout_ == Layout::Block
              ? t.permute({0, 3, 5, 1, 2, 4, 6}).reshape({batch, rows * cols, heads, -1, window_ * window_})
              : t.permute({0, 4, 6, 1, 2, 3, 5}).reshape({batch, window_ * window_, heads, -1, rows * cols});
    }
    const torch::Tensor attended = cosine_channel_attention(qkv[0], qkv[1], qkv[2], temperature_);
    const int64_t head_dim = attended.size(3);
    const torch::Tensor image =
        layout_ == Layout::Block
            ? attended.view({batch, rows, cols, heads, head_dim, window_, window_}).permute({0, 3, 4, 1, 5, 2, 6})
            : attended.view({batch, window_, window_, heads, head_dim, rows, cols}).permute({0, 3, 4, 5, 1, 6, 2});
    return project_out_->forward(image.reshape({batch, channels, height, width}));
  }

 private:
  int64_t window_;
  Layout layout_;
  torch::Tensor temperature_;
  FastConv2d qkv_;
  FastConv2d qkv_dwconv_;
  FastConv2d project_out_;
};
TORCH_MODULE(WindowChannelAttention);

// OSA_Block: "layer" = MBConv, then for the block and then the grid layout: spatial window attention (between
// the layout's rearranges), gated feed-forward, channel attention, gated feed-forward; every stage pre-normed
// and residual.
class OmniSelfAttentionBlockImpl : public torch::nn::Module {
 public:
  OmniSelfAttentionBlockImpl(int64_t dim, int64_t window, bool with_pe)
      : layer_(register_module("layer", torch::nn::Sequential())) {
    layer_->push_back(MbConv(dim));
    for (const Layout layout : {Layout::Block, Layout::Grid}) {
      layer_->push_back(
          torch::nn::Functional([window, layout](const torch::Tensor& x) { return to_windows(x, window, layout); }));
      layer_->push_back(PreNormResidual(torch::nn::AnyModule(torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}))),
                                        torch::nn::AnyModule(WindowSelfAttention(dim, window, with_pe))));
      layer_->push_back(torch::nn::Functional([layout](const torch::Tensor& x) { return from_windows(x, layout); }));
      layer_->push_back(conv_pre_norm_residual(dim, torch::nn::AnyModule(GatedFeedForward(dim, dim, false))));
      layer_->push_back(conv_pre_norm_residual(dim, torch::nn::AnyModule(WindowChannelAttention(dim, window, layout))));
      layer_->push_back(conv_pre_norm_residual(dim, torch::nn::AnyModule(GatedFeedForward(dim, dim, false))));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) { return layer_->forward(x); }

 private:
  static PreNormResidual conv_pre_norm_residual(int64_t dim, torch::nn::AnyModule fn) {
    return PreNormResidual(torch::nn::AnyModule(ChannelLayerNorm(dim)), std::move(fn));
  }

  torch::nn::Sequential layer_;
};
TORCH_MODULE(OmniSelfAttentionBlock);

// ESA (enhanced spatial attention, without conv_max/conv3_): x * sigmoid(conv4(upsampled(conv3(maxpool(
// conv2(conv1(x))))) + conv_f(conv1(x)))).
class EnhancedSpatialAttentionImpl : public torch::nn::Module {
 public:
  EnhancedSpatialAttentionImpl(int64_t esa_channels, int64_t features)
      : conv1_(register_module("conv1", same_conv(features, esa_channels, 1))),
        conv_f_(register_module("conv_f", same_conv(esa_channels, esa_channels, 1))),
        conv2_(register_module("conv2",
                               FastConv2d(torch::nn::Conv2dOptions(esa_channels, esa_channels, 3).stride(2)))),
        conv3_(register_module("conv3", same_conv(esa_channels, esa_channels, 3))),
        conv4_(register_module("conv4", same_conv(esa_channels, features, 1))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor reduced = conv1_->forward(x);
    const torch::Tensor pooled = F::max_pool2d(conv2_->forward(reduced), F::MaxPool2dFuncOptions(7).stride(3));
    const torch::Tensor context =
        F::interpolate(conv3_->forward(pooled), F::InterpolateFuncOptions()
                                                    .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                                    .mode(torch::kBilinear)
                                                    .align_corners(false));
    return x * torch::sigmoid(conv4_->forward(context + conv_f_->forward(reduced)));
  }

 private:
  FastConv2d conv1_;
  FastConv2d conv_f_;
  FastConv2d conv2_;
  FastConv2d conv3_;
  FastConv2d conv4_;
};
TORCH_MODULE(EnhancedSpatialAttention);

// OSAG: esa(x + residual_layer(x)), residual_layer = OSA blocks then a 1x1 conv.
class OmniSelfAttentionGroupImpl : public torch::nn::Module {
 public:
  explicit OmniSelfAttentionGroupImpl(const OmniSrOptions& options)
      : residual_layer_(register_module("residual_layer", torch::nn::Sequential())) {
    const int64_t features = options.num_feat;
    for (int i = 0; i < options.block_num; ++i)
      residual_layer_->push_back(OmniSelfAttentionBlock(features, options.window_size, options.pe));
    residual_layer_->push_back(same_conv(features, features, 1, options.bias));
    esa_ = register_module("esa", EnhancedSpatialAttention(std::max<int64_t>(features / 4, 16), features));
  }

  torch::Tensor forward(const torch::Tensor& x) { return esa_->forward(residual_layer_->forward(x) + x); }

 private:
  torch::nn::Sequential residual_layer_;
  EnhancedSpatialAttention esa_{nullptr};
};
TORCH_MODULE(OmniSelfAttentionGroup);

}  // namespace omnisr

OmniSrNetwork::OmniSrNetwork(const OmniSrOptions& options) : options_(options) {
  residual_layer_ = register_module("residual_layer", torch::nn::Sequential());
  for (int i = 0; i < options.res_num; ++i) residual_layer_->push_back(omnisr::OmniSelfAttentionGroup(options));
  input_ = register_module("input", same_conv(options.num_in_ch, options.num_feat, 3, options.bias));
  output_ = register_module("output", same_conv(options.num_feat, options.num_feat, 3, options.bias));
  up_ = register_module("up",
                        pixel_shuffle_block(options.num_feat, options.num_out_ch, options.up_scale, 3, options.bias));
}

torch::Tensor OmniSrNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  x = pad_to_multiple(x, options_.window_size, torch::kConstant);
  const torch::Tensor residual = input_->forward(x);
  const torch::Tensor features = output_->forward(residual_layer_->forward(residual)) + residual;
  return up_->forward(features).slice(2, 0, height * options_.up_scale).slice(3, 0, width * options_.up_scale);
}

const Architecture kOmniSrArchitecture = {"OmniSR", omnisr::detect, omnisr::load, "any", "any"};

}  // namespace uprez
