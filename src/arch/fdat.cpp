#include "arch/fdat.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/dysample.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/any_dtype.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"
#include "nn/transposed_conv.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace fdat {

constexpr int kBlockPatternLength = 2;  // every group alternates a spatial and a channel block
constexpr int64_t kMetaVersion = 3;     // UniUpsampleV3's block version, the first MetaUpsample entry
constexpr int64_t kDySampleGroups = 4;
constexpr int64_t kUnshuffledScale = 4;  // the upsampler's scale with unshuffle_mod

const std::array<const char*, 8> kUpsamplerNames = {"conv",     "pixelshuffledirect", "pixelshuffle", "nearest+conv",
                                                    "dysample", "transpose+conv",     "lda",          "pa_up"};

const char* to_string(FdatUpsampler upsampler) { return kUpsamplerNames.at(static_cast<size_t>(upsampler)); }

FastConv2d conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true,
                       int64_t groups = 1) {
  return FastConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size)
                               .padding(kernel_size / 2)
                               .bias(bias)
                               .groups(groups));
}

FastConv2d depthwise_conv(int64_t channels, int64_t kernel_size, bool bias) {
  return conv(channels, channels, kernel_size, bias, channels);
}

FastLinear linear(int64_t in_features, int64_t out_features, bool bias) {
  return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(bias));
}

torch::nn::LeakyReLU leaky_relu(double negative_slope) {
  return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(negative_slope));
}

torch::nn::Upsample nearest_upsample(int64_t scale) {
  const auto factor = static_cast<double>(scale);
  return torch::nn::Upsample(
      torch::nn::UpsampleOptions().scale_factor(std::vector<double>{factor, factor}).mode(torch::kNearest));
}

bool is_power_of_two(int64_t value) { return (value & (value - 1)) == 0; }

// FastSpatialWindowAttention: multi-head self-attention inside non-overlapping windows (the token map is
// zero-padded at the right/bottom to whole windows) with a learned per-head bias "bias" (heads, N, N).
class FdatSpatialWindowAttention : public torch::nn::Module {
 public:
  FdatSpatialWindowAttention(int64_t dim, int64_t window, int64_t heads)
      : window_(window),
        heads_(heads),
        scale_(std::pow(static_cast<double>(dim / heads), -0.5)),
        qkv_(register_module("qkv", linear(dim, dim * 3, false))),
        proj_(register_module("proj", linear(dim, dim, true))),
        bias_(register_parameter("bias", torch::zeros({heads, window * window, window * window}))) {}

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const int64_t batch = x.size(0), length = x.size(1), channels = x.size(2);
    const int64_t pad_right = (window_ - width % window_) % window_;
    const int64_t pad_bottom = (window_ - height % window_) % window_;
    const torch::Tensor image =
        F::pad(x.view({batch, height, width, channels}), F::PadFuncOptions({0, 0, 0, pad_right, 0, pad_bottom}));
    const int64_t padded_height = height + pad_bottom, padded_width = width + pad_right;
    const int64_t tokens = window_ * window_;

    const torch::Tensor windows = window_partition(image, window_).view({-1, tokens, channels});
    const torch::Tensor qkv =
        qkv_->forward(windows).view({-1, tokens, 3, heads_, channels / heads_}).permute({2, 0, 3, 1, 4});
    const torch::Tensor attended =
        scaled_attention(qkv[0], qkv[1], qkv[2], scale_, bias_).transpose(1, 2).reshape({-1, tokens, channels});
    const torch::Tensor output = window_reverse(proj_->forward(attended).view({-1, window_, window_, channels}),
                                                window_, padded_height, padded_width);
    return output.slice(1, 0, height).slice(2, 0, width).reshape({batch, length, channels});
  }

 private:
  int64_t window_;
  int64_t heads_;
  double scale_;
  FastLinear qkv_;
  FastLinear proj_;
  torch::Tensor bias_;
};

// FastChannelAttention: per-head attention between channels (transposed attention over L2-normalised token
// vectors) scaled by a learned temperature "temp".
class FdatChannelAttention : public torch::nn::Module {
 public:
  FdatChannelAttention(int64_t dim, int64_t heads)
      : heads_(heads),
        temp_(register_parameter("temp", torch::ones({heads, 1, 1}))),
        qkv_(register_module("qkv", linear(dim, dim * 3, false))),
        proj_(register_module("proj", linear(dim, dim, true))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), length = x.size(1), channels = x.size(2);
    const torch::Tensor qkv =
        qkv_->forward(x).view({batch, length, 3, heads_, channels / heads_}).permute({2, 0, 3, 1, 4});
    const auto normalize = F::NormalizeFuncOptions().dim(-1);
    const torch::Tensor q = F::normalize(qkv[0].transpose(-2, -1), normalize);
    const torch::Tensor k = F::normalize(qkv[1].transpose(-2, -1), normalize);
    const torch::Tensor attention = torch::softmax(fast_matmul(q, k.transpose(-2, -1)) * temp_, -1);
    return proj_->forward(
        fast_matmul(attention, qkv[2].transpose(-2, -1)).permute({0, 3, 1, 2}).reshape({batch, length, channels}));
  }

 private:
  int64_t heads_;
  torch::Tensor temp_;
  FastLinear qkv_;
  FastLinear proj_;
};

// SimplifiedAIM: the interaction between the attention and conv branches, as a spatial gate "sg" (conv to one
// channel, sigmoid) or a channel gate "cg" (global pooling, squeeze-excite convs, sigmoid).
class FdatInteraction : public torch::nn::Module {
 public:
  FdatInteraction(int64_t dim, int64_t reduction_ratio)
      : sg_(register_module("sg", torch::nn::Sequential(conv(dim, 1, 1, false), torch::nn::Sigmoid()))),
        cg_(register_module(
            "cg", torch::nn::Sequential(torch::nn::AdaptiveAvgPool2d(1), conv(dim, dim / reduction_ratio, 1, false),
                                        torch::nn::GELU(), conv(dim / reduction_ratio, dim, 1, false),
                                        torch::nn::Sigmoid()))) {}

  // attention + conv * sg(attention), per token.
  torch::Tensor spatial_modulates_channel(const torch::Tensor& attention, const torch::Tensor& conv_features,
                                          int64_t height, int64_t width) {
    const torch::Tensor gate = image_to_tokens(sg_->forward(tokens_to_image(attention, height, width)));
    return attention + conv_features * gate;
  }

  // attention * cg(conv) + conv, per channel.
  torch::Tensor channel_modulates_spatial(const torch::Tensor& attention, const torch::Tensor& conv_features,
                                          int64_t height, int64_t width) {
    const torch::Tensor gate = image_to_tokens(cg_->forward(tokens_to_image(conv_features, height, width)));
    return attention * gate + conv_features;
  }

 private:
  torch::nn::Sequential sg_;
  torch::nn::Sequential cg_;
};

// SimplifiedFFN: fc2(depthwise 3x3 "smix"(GELU(fc1(x)))) on tokens, without biases.
class FdatFeedForward : public torch::nn::Module {
 public:
  FdatFeedForward(int64_t dim, double expansion_ratio)
      : hidden_(static_cast<int64_t>(dim * expansion_ratio)),
        fc1_(register_module("fc1", linear(dim, hidden_, false))),
        fc2_(register_module("fc2", linear(hidden_, dim, false))),
        smix_(register_module("smix", depthwise_conv(hidden_, 3, false))) {}

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const torch::Tensor hidden = torch::gelu(fc1_->forward(x));
    return fc2_->forward(image_to_tokens(smix_->forward(tokens_to_image(hidden, height, width))));
  }

 private:
  int64_t hidden_;
  FastLinear fc1_;
  FastLinear fc2_;
  FastConv2d smix_;
};

// SimplifiedDATBlock: x + interaction(attention(n1(x)), GELU(depthwise conv(n1(x)))), then x + ffn(n2(x)).
// Spatial blocks use window attention gated by the conv branch's channels; channel blocks use channel
// attention and gate the conv branch spatially.
class FdatBlock : public torch::nn::Module {
 public:
  FdatBlock(const FdatOptions& options, bool spatial)
      : n1_(register_module("n1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.embed_dim})))),
        n2_(register_module("n2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.embed_dim})))),
        conv_(register_module("conv",
                              torch::nn::Sequential(depthwise_conv(options.embed_dim, 3, false), torch::nn::GELU()))),
        inter_(register_module("inter",
                               std::make_shared<FdatInteraction>(options.embed_dim, options.aim_reduction_ratio))),
        ffn_(
            register_module("ffn", std::make_shared<FdatFeedForward>(options.embed_dim, options.ffn_expansion_ratio))) {
    if (spatial)
      spatial_attention_ = register_module("attn", std::make_shared<FdatSpatialWindowAttention>(
                                                       options.embed_dim, options.window_size, options.num_heads));
    else
      channel_attention_ =
          register_module("attn", std::make_shared<FdatChannelAttention>(options.embed_dim, options.num_heads));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const torch::Tensor normalized = n1_->forward(x);
    const torch::Tensor conv_features = image_to_tokens(conv_->forward(tokens_to_image(normalized, height, width)));
    const torch::Tensor fused =
        spatial_attention_
            ? inter_->channel_modulates_spatial(spatial_attention_->forward(normalized, height, width), conv_features,
                                                height, width)
            : inter_->spatial_modulates_channel(channel_attention_->forward(normalized), conv_features, height, width);
    const torch::Tensor y = x + fused;
    return y + ffn_->forward(n2_->forward(y), height, width);
  }

 private:
  torch::nn::LayerNorm n1_;
  torch::nn::LayerNorm n2_;
  std::shared_ptr<FdatSpatialWindowAttention> spatial_attention_;
  std::shared_ptr<FdatChannelAttention> channel_attention_;
  torch::nn::Sequential conv_;
  std::shared_ptr<FdatInteraction> inter_;
  std::shared_ptr<FdatFeedForward> ffn_;
};

// SimplifiedResidualGroup: the blocks on the token sequence, a 3x3 conv, and a residual connection.
class FdatResidualGroup : public torch::nn::Module {
 public:
  explicit FdatResidualGroup(const FdatOptions& options)
      : blocks_(register_module("blocks", torch::nn::ModuleList())),
        conv_(register_module("conv", conv(options.embed_dim, options.embed_dim, 3, false))) {
    for (int i = 0; i < options.depth_per_group * kBlockPatternLength; ++i)
      blocks_->push_back(std::make_shared<FdatBlock>(options, i % kBlockPatternLength == 0));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t height = x.size(2), width = x.size(3);
    torch::Tensor tokens = image_to_tokens(x).contiguous();
    for (const auto& block : *blocks_) tokens = block->as<FdatBlock>()->forward(tokens, height, width);
    return conv_->forward(tokens_to_image(tokens, height, width)) + x;
  }

 private:
  torch::nn::ModuleList blocks_;
  FastConv2d conv_;
};

// PA (pixel attention): x * sigmoid(conv1x1(x)), weights "conv.0".
class FdatPixelAttention : public torch::nn::Module {
 public:
  explicit FdatPixelAttention(int64_t dim)
      : conv_(register_module("conv", torch::nn::Sequential(conv(dim, dim, 1), torch::nn::Sigmoid()))) {}

  torch::Tensor forward(const torch::Tensor& x) { return x * conv_->forward(x); }

 private:
  torch::nn::Sequential conv_;
};

// LDA_AQU (learnable deformable attention upsampler): every output pixel attends to 3x3 points of the input
// sampled around it at predicted offsets; queries come from the bilinearly upscaled features.
class FdatDeformableAttentionUpsampler : public torch::nn::Module {
 public:
  static constexpr int64_t kReduction = 4;
  static constexpr int64_t kHeads = 1;
  static constexpr int64_t kGroups = 2;  // offset groups
  static constexpr int64_t kPoints = 3;  // sampled points per axis (k_u)
  static constexpr double kOffsetRange = 11.0;

  FdatDeformableAttentionUpsampler(int64_t channels, int64_t scale)
      : scale_(scale),
        hidden_(channels / kReduction),
        attention_scale_(std::pow(static_cast<double>(channels / (kReduction * kHeads)), -0.5)),
        proj_q_(register_module("proj_q", conv(channels, hidden_, 1, false))),
        proj_k_(register_module("proj_k", conv(channels, hidden_, 1, false))),
        conv_offset_(register_module("conv_offset", offset_predictor(hidden_ / kGroups))),
        layer_norm_(register_module("layer_norm", ChannelLayerNorm(channels))),
        relative_position_bias_table_(register_parameter(
            "relative_position_bias_table", torch::zeros({1, kHeads, 1, kPoints * kPoints, hidden_ / kHeads}))),
        base_offset_(base_offsets()) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t out_height = height * scale_, out_width = width * scale_;
    const torch::Tensor normalized = layer_norm_->forward(x);
    const torch::Tensor q =
        F::interpolate(proj_q_->forward(normalized), F::InterpolateFuncOptions()
                                                         .size(std::vector<int64_t>{out_height, out_width})
                                                         .mode(torch::kBilinear)
                                                         .align_corners(true));
    const torch::Tensor predicted = conv_offset_->forward(q.view({batch * kGroups, -1, out_height, out_width}));
    const torch::Tensor offset = predicted.tanh().mul(kOffsetRange) + base_offset_.to(x.dtype());
    const torch::Tensor grid = sampling_grid(offset, out_height, out_width);
    const torch::Tensor k = sample_points(
        proj_k_->forward(normalized).view({batch * kGroups, hidden_ / kGroups, height, width}), grid, batch);
    const torch::Tensor v = sample_points(x.view({batch * kGroups, channels / kGroups, height, width}), grid, batch);

    // q: (B, heads, HW, 1, c); k, v: (B, heads, HW, points, c).
    const torch::Tensor queries =
        q.view({batch, kHeads, hidden_ / kHeads, out_height * out_width}).permute({0, 1, 3, 2}).unsqueeze(3);
    const torch::Tensor keys = k + relative_position_bias_table_;
    const torch::Tensor attention = fast_matmul(queries * attention_scale_, keys.transpose(-1, -2)).softmax(-1);
    const torch::Tensor output = fast_matmul(attention, v);
    return output.view({batch, kHeads, out_height, out_width, 1, -1})
        .permute({0, 1, 5, 4, 2, 3})
        .reshape({batch, -1, out_height, out_width});
  }

 private:
  static torch::nn::Sequential offset_predictor(int64_t group_channels) {
    return torch::nn::Sequential(depthwise_conv(group_channels, 3, false), ChannelLayerNorm(group_channels),
                                 torch::nn::SiLU(), conv(group_channels, 2 * kPoints * kPoints, 3));
  }

  // The (dy, dx) of every point of the 3x3 neighbourhood, row-major: (1, 18, 1, 1) (not in the state dict).
  static torch::Tensor base_offsets() {
    const torch::Tensor steps = torch::arange(-(kPoints / 2), kPoints / 2 + 1, torch::kFloat32);
    const std::vector<torch::Tensor> grid = torch::meshgrid({steps, steps}, "ij");
    return torch::stack({grid[0].flatten(), grid[1].flatten()}, 1).flatten().view({1, -1, 1, 1});
  }

  // spandrel's get_offset: absolute sampling positions for grid_sample (align_corners), laid out as a
  // (3 H_out) x (3 W_out) image of (x, y) pairs.
  static torch::Tensor sampling_grid(const torch::Tensor& offset, int64_t out_height, int64_t out_width) {
    const int64_t batch = offset.size(0);
    const std::vector<torch::Tensor> indices =
        torch::meshgrid({torch::arange(out_height, offset.device()), torch::arange(out_width, offset.device())}, "ij");
    const torch::Tensor positions =
        (offset.view({batch, kPoints, kPoints, 2, out_height, out_width}).permute({0, 1, 4, 2, 5, 3}) +
         torch::stack(indices, -1).view({1, 1, out_height, 1, out_width, 2}))
            .contiguous()
            .view({batch, kPoints * out_height, kPoints * out_width, 2});
    const torch::Tensor y = 2 * positions.select(-1, 0) / static_cast<double>(out_height - 1) - 1;
    const torch::Tensor x = 2 * positions.select(-1, 1) / static_cast<double>(out_width - 1) - 1;
    return torch::stack({x, y}, -1);
  }

  // Samples (B * groups, c, H, W) features at the grid and regroups them as (B, heads, H_out W_out, 9, c').
  static torch::Tensor sample_points(const torch::Tensor& features, const torch::Tensor& grid, int64_t batch) {
    const int64_t group_channels = features.size(1);
    const int64_t out_height = grid.size(1) / kPoints, out_width = grid.size(2) / kPoints;
    const torch::Tensor sampled = grid_sample_any_dtype(
        features, grid,
        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true));
    return sampled.view({batch, kGroups, group_channels, kPoints, out_height, kPoints, out_width})
        .permute({0, 4, 6, 3, 5, 1, 2})
        .reshape({batch, out_height * out_width, kPoints * kPoints, kHeads, -1})
        .permute({0, 3, 1, 2, 4});
  }

  int64_t scale_;
  int64_t hidden_;
  double attention_scale_;
  FastConv2d proj_q_;
  FastConv2d proj_k_;
  torch::nn::Sequential conv_offset_;
  ChannelLayerNorm layer_norm_;
  torch::Tensor relative_position_bias_table_;
  torch::Tensor base_offset_;
};

// UniUpsampleV3 as a Sequential with its "MetaUpsample" buffer: (version, method, scale, in, out, mid, groups).
torch::nn::Sequential make_upsampler(FdatUpsampler method, int64_t scale, int64_t in_dim, int64_t out_dim,
                                     int64_t mid_dim) {
  torch::nn::Sequential m;
  const auto unsupported = [&] {
    return Error("FDAT: scale " + std::to_string(scale) + " is not supported by the " + to_string(method) +
                 " upsampler");
  };
  if (scale == 1 || method == FdatUpsampler::Conv || method == FdatUpsampler::PixelShuffleDirect ||
      method == FdatUpsampler::PixelShuffle || method == FdatUpsampler::NearestConv) {
    m->extend(*uni_upsample_layers(to_string(method), scale, in_dim, out_dim, mid_dim));
  } else if (method == FdatUpsampler::DySample) {
    if (mid_dim != in_dim) {
      m->push_back(conv(in_dim, mid_dim, 3));
      m->push_back(torch::nn::LeakyReLU());
    }
    DySampleOptions dysample;
    dysample.in_channels = mid_dim;
    dysample.out_channels = out_dim;
    dysample.scale = scale;
    dysample.groups = kDySampleGroups;
    m->push_back(DySample(dysample));
  } else if (method == FdatUpsampler::TransposeConv) {
    if (scale == 2) {
      m->push_back(transposed_conv(in_dim, out_dim, 4, 2, 1));
    } else if (scale == 3) {
      m->push_back(transposed_conv(in_dim, out_dim, 3, 3, 0));
    } else if (scale == 4) {
      m->push_back(transposed_conv(in_dim, in_dim, 4, 2, 1));
      m->push_back(torch::nn::GELU());
      m->push_back(transposed_conv(in_dim, out_dim, 4, 2, 1));
    } else {
      throw unsupported();
    }
    m->push_back(conv(out_dim, out_dim, 3));
  } else if (method == FdatUpsampler::Lda) {
    if (mid_dim != in_dim) {
      m->push_back(conv(in_dim, mid_dim, 3));
      m->push_back(torch::nn::LeakyReLU());
    }
    m->push_back(std::make_shared<FdatDeformableAttentionUpsampler>(mid_dim, scale));
    m->push_back(conv(mid_dim, out_dim, 3));
  } else {  // PaUp
    if (!is_power_of_two(scale) && scale != 3) throw unsupported();
    const int64_t step = scale == 3 ? 3 : 2;
    for (int64_t remaining = scale; remaining > 1; remaining /= step) {
      m->push_back(nearest_upsample(step));
      m->push_back(conv(in_dim, mid_dim, 3));
      m->push_back(std::make_shared<FdatPixelAttention>(mid_dim));
      m->push_back(leaky_relu(0.2));
      m->push_back(conv(mid_dim, mid_dim, 3));
      m->push_back(leaky_relu(0.2));
      in_dim = mid_dim;
    }
    m->push_back(conv(mid_dim, out_dim, 3));
  }
  m->register_buffer("MetaUpsample", torch::tensor({kMetaVersion, static_cast<int64_t>(method), scale, in_dim, out_dim,
                                                    mid_dim, kDySampleGroups},
                                                   torch::kUInt8));
  return m;
}

}  // namespace fdat

FdatNetwork::FdatNetwork(const FdatOptions& options)
    : scale_(options.scale), unshuffle_(options.unshuffle_mod && options.scale < 3 ? 4 / options.scale : 1) {
  const int64_t dim = options.embed_dim;
  if (unshuffle_ > 1) {
    unshuffled_conv_first_ =
        register_module("conv_first", torch::nn::Sequential(torch::nn::PixelUnshuffle(unshuffle_),
                                                            fdat::conv(options.num_in_ch * unshuffle_ * unshuffle_, dim, 3)));
  } else {
    conv_first_ = register_module("conv_first", fdat::conv(options.num_in_ch, dim, 3));
  }
  groups_ = register_module("groups", torch::nn::Sequential());
  for (int i = 0; i < options.num_groups; ++i) groups_->push_back(std::make_shared<fdat::FdatResidualGroup>(options));
  conv_after_ = register_module("conv_after", fdat::conv(dim, dim, 3, false));
  upsampler_ = register_module(
      "upsampler", fdat::make_upsampler(options.upsampler_type, unshuffle_ > 1 ? fdat::kUnshuffledScale : options.scale, dim,
                                  options.num_out_ch, options.mid_dim));
}

torch::Tensor FdatNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  torch::Tensor shallow;
  if (unshuffled_conv_first_) {
    shallow = unshuffled_conv_first_->forward(reflect_pad_to_multiple(x, unshuffle_));
  } else {
    shallow = conv_first_->forward(x);
  }
  const torch::Tensor deep = conv_after_->forward(groups_->forward(shallow));
  return upsampler_->forward(deep + shallow).slice(2, 0, height * scale_).slice(3, 0, width * scale_);
}

namespace fdat {

bool detect(const StateDict& state) {
  return (state.contains("conv_first.weight") || state.contains("conv_first.1.weight")) &&
         state.has_all({"groups.0.blocks.0.attn.bias", "groups.0.blocks.0.inter.cg.1.weight",
                        "groups.0.blocks.0.ffn.fc1.weight", "groups.0.blocks.0.n1.weight", "upsampler.MetaUpsample"});
}

FdatOptions detect_options(const StateDict& state) {
  const torch::Tensor meta = state.at("upsampler.MetaUpsample").to(torch::kLong);
  if (meta.numel() != 7) throw Error("FDAT: upsampler.MetaUpsample should have 7 entries");
  const auto entry = [&](int index) { return static_cast<int>(meta[index].item<int64_t>()); };
  const int method = entry(1);
  if (method < 0 || method >= static_cast<int>(kUpsamplerNames.size()))
    throw Error("FDAT: unknown upsampler index " + std::to_string(method));

  FdatOptions options;
  options.upsampler_type = static_cast<FdatUpsampler>(method);
  options.scale = entry(2);
  options.embed_dim = entry(3);
  options.num_out_ch = entry(4);
  options.mid_dim = entry(5);
  if (state.contains("conv_first.1.weight")) {
    options.num_in_ch = options.num_out_ch;
    options.scale =
        static_cast<int>(kUnshuffledScale / integer_sqrt(state.dim("conv_first.1.weight", 1) / options.num_in_ch));
    options.unshuffle_mod = true;
  } else {
    options.num_in_ch = static_cast<int>(state.dim("conv_first.weight", 1));
  }
  options.num_groups = sequence_length(state, "groups");
  options.depth_per_group = sequence_length(state, "groups.0.blocks") / kBlockPatternLength;
  options.num_heads = static_cast<int>(state.dim("groups.0.blocks.0.attn.bias", 0));
  options.window_size = static_cast<int>(integer_sqrt(state.dim("groups.0.blocks.0.attn.bias", 2)));
  options.ffn_expansion_ratio =
      static_cast<double>(state.dim("groups.0.blocks.0.ffn.fc1.weight", 0)) / options.embed_dim;
  options.aim_reduction_ratio =
      static_cast<int>(options.embed_dim / state.dim("groups.0.blocks.0.inter.cg.1.weight", 0));
  return options;
}

ModelInfo model_info(const FdatOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "FDAT";
  info.purpose = purpose_for_scale(options.scale);
  info.tags = {std::to_string(options.embed_dim) + "dim", to_string(options.upsampler_type)};
  const std::vector<std::pair<int, const char*>> sizes = {
      {96, "tiny"}, {108, "light"}, {120, "medium"}, {180, "large"}};
  for (const auto& [dim, size] : sizes)
    if (options.embed_dim == dim) info.tags.emplace_back(options.num_groups == 6 ? "xl" : size);
  if (options.unshuffle_mod) info.tags.emplace_back("unshuffle");
  info.scale = options.scale;
  info.input_channels = options.num_in_ch;
  info.output_channels = options.num_out_ch;
  info.hyperparameters = {
      {"num_in_ch", options.num_in_ch},
      {"num_out_ch", options.num_out_ch},
      {"scale", options.scale},
      {"embed_dim", options.embed_dim},
      {"num_groups", options.num_groups},
      {"depth_per_group", options.depth_per_group},
      {"num_heads", options.num_heads},
      {"window_size", options.window_size},
      {"ffn_expansion_ratio", options.ffn_expansion_ratio},
      {"aim_reduction_ratio", options.aim_reduction_ratio},
      {"group_block_pattern", nullptr},  // spandrel's default: spatial, channel
      {"drop_path_rate", 0.1},           // training only
      {"mid_dim", options.mid_dim},
      {"upsampler_type", to_string(options.upsampler_type)},
      {"img_range", 1.0},  // stored by FDAT but never applied
      {"unshuffle_mod", options.unshuffle_mod},
  };
  return info;
}

Model load(const StateDict& file_state) {
  const FdatOptions options = detect_options(file_state);
  auto network = std::make_shared<FdatNetwork>(options);
  // Like spandrel's FDAT.load_state_dict, the network's own MetaUpsample replaces the stored one.
  StateDict state = file_state;
  state.set("upsampler.MetaUpsample", network->named_buffers()["upsampler.MetaUpsample"].clone());
  return assemble_model(model_info(options), network, state);
}

}  // namespace fdat

const Architecture kFdatArchitecture = {"FDAT", fdat::detect, fdat::load, "1, 2^n, 3 (pixelshuffledirect, lda, dysample: any; transpose+conv: 2-4)", "any"};

}  // namespace uprez
