#include "arch/blocks.h"

#include <cmath>

#include "arch/detection.h"
#include "core/error.h"
#include "nn/any_dtype.h"

namespace uprez {

namespace F = torch::nn::functional;

FastConv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias) {
  return FastConv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).padding(kernel_size / 2).bias(bias));
}

torch::nn::AnyModule make_activation(const std::string& name, double negative_slope, int64_t prelu_channels) {
  if (name == "relu") return torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  if (name == "leakyrelu" || name == "lrelu")
    return torch::nn::AnyModule(
        torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(negative_slope).inplace(true)));
  if (name == "prelu")
    return torch::nn::AnyModule(
        torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(prelu_channels).init(negative_slope)));
  if (name == "silu") return torch::nn::AnyModule(torch::nn::SiLU());
  throw Error("unknown activation \"" + name + "\"");
}

torch::nn::Sequential pixel_shuffle_block(int64_t in_channels, int64_t out_channels, int64_t scale,
                                          int64_t kernel_size) {
  return torch::nn::Sequential(same_conv(in_channels, out_channels * scale * scale, kernel_size),
                               torch::nn::PixelShuffle(scale));
}

torch::nn::Sequential power_of_two_or_three_upsampler(int64_t scale, int64_t features) {
  torch::nn::Sequential upsampler;
  if (scale == 3) {
    upsampler->push_back(same_conv(features, 9 * features, 3));
    upsampler->push_back(torch::nn::PixelShuffle(3));
    return upsampler;
  }
  if (scale < 2 || (scale & (scale - 1)) != 0)
    throw Error("scale " + std::to_string(scale) + " is not supported: supported scales are 2^n and 3");
  for (int64_t remaining = scale; remaining > 1; remaining /= 2) {
    upsampler->push_back(same_conv(features, 4 * features, 3));
    upsampler->push_back(torch::nn::PixelShuffle(2));
  }
  return upsampler;
}

torch::nn::Sequential pixel_shuffle_block(int64_t in_channels, int64_t out_channels, int64_t scale,
                                          int64_t kernel_size, bool bias) {
  return torch::nn::Sequential(same_conv(in_channels, out_channels * scale * scale, kernel_size, bias),
                               torch::nn::PixelShuffle(scale));
}

ChannelLayerNormImpl::ChannelLayerNormImpl(int64_t channels, double eps)
    : eps_(eps),
      weight_(register_parameter("weight", torch::ones({channels}))),
      bias_(register_parameter("bias", torch::zeros({channels}))) {}

torch::Tensor ChannelLayerNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor centered = x - x.mean(1, /*keepdim=*/true);
  const torch::Tensor variance = centered.pow(2).mean(1, /*keepdim=*/true);
  return weight_.view({1, -1, 1, 1}) * (centered / torch::sqrt(variance + eps_)) + bias_.view({1, -1, 1, 1});
}

GatedFeedForwardImpl::GatedFeedForwardImpl(int64_t dim, int64_t hidden_features, bool bias)
    : project_in_(register_module("project_in", same_conv(dim, hidden_features * 2, 1, bias))),
      dwconv_(register_module("dwconv", FastConv2d(torch::nn::Conv2dOptions(hidden_features * 2,
                                                                                   hidden_features * 2, 3)
                                                              .padding(1)
                                                              .groups(hidden_features * 2)
                                                              .bias(bias)))),
      project_out_(register_module("project_out", same_conv(hidden_features, dim, 1, bias))) {}

torch::Tensor GatedFeedForwardImpl::forward(const torch::Tensor& x) {
  const std::vector<torch::Tensor> halves = dwconv_->forward(project_in_->forward(x)).chunk(2, 1);
  return project_out_->forward(torch::gelu(halves[0]) * halves[1]);
}

ChannelAttentionImpl::ChannelAttentionImpl(int64_t channels, int64_t squeezed_channels)
    : attention_(register_module(
          "attention", torch::nn::Sequential(torch::nn::AdaptiveAvgPool2d(1), same_conv(channels, squeezed_channels, 1),
                                             torch::nn::ReLU(), same_conv(squeezed_channels, channels, 1),
                                             torch::nn::Sigmoid()))) {}

torch::Tensor ChannelAttentionImpl::forward(const torch::Tensor& x) { return x * attention_->forward(x); }

ChannelAttentionBlockImpl::ChannelAttentionBlockImpl(int64_t channels, int64_t compressed_channels,
                                                     int64_t squeezed_channels)
    : cab_(register_module("cab", torch::nn::Sequential(same_conv(channels, compressed_channels, 3), torch::nn::GELU(),
                                                        same_conv(compressed_channels, channels, 3),
                                                        ChannelAttention(channels, squeezed_channels)))) {}

torch::Tensor ChannelAttentionBlockImpl::forward(const torch::Tensor& x) { return cab_->forward(x); }

namespace blocks {

// nn.Sequential with a non-template forward, which AnyModule requires.
class TensorSequentialImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(const torch::Tensor& x) { return SequentialImpl::forward(x); }
};

}  // namespace blocks

torch::nn::AnyModule residual_connection_conv(int64_t features, const std::string& resi_connection) {
  if (resi_connection == "1conv") return torch::nn::AnyModule(same_conv(features, features, 3));
  if (resi_connection == "3conv")
    return torch::nn::AnyModule(std::make_shared<blocks::TensorSequentialImpl>(
        same_conv(features, features / 4, 3), make_activation("leakyrelu", 0.2),
        same_conv(features / 4, features / 4, 1), make_activation("leakyrelu", 0.2),
        same_conv(features / 4, features, 3)));
  throw Error("unknown resi_connection \"" + resi_connection + "\"");
}

torch::Tensor div2k_mean(int64_t channels) {
  return channels == 3 ? torch::tensor({0.4488, 0.4371, 0.4040}, torch::kFloat32).view({1, 3, 1, 1})
                       : torch::zeros({1, 1, 1, 1});
}

ChannelAttentionLayerImpl::ChannelAttentionLayerImpl(int64_t channels, int64_t reduction)
    : conv_du_(register_module("conv_du", torch::nn::Sequential(same_conv(channels, channels / reduction, 1),
                                                                torch::nn::ReLU(),
                                                                same_conv(channels / reduction, channels, 1),
                                                                torch::nn::Sigmoid()))) {}

torch::Tensor ChannelAttentionLayerImpl::forward(const torch::Tensor& x) {
  return x * conv_du_->forward(torch::adaptive_avg_pool2d(x, {1, 1}));
}

torch::nn::Sequential uni_upsample_layers(const std::string& method, int64_t scale, int64_t in_dim, int64_t out_dim,
                                          int64_t mid_dim) {
  const auto nearest = [](int64_t factor) {
    const auto scale_factor = static_cast<double>(factor);
    return torch::nn::Upsample(torch::nn::UpsampleOptions()
                                   .scale_factor(std::vector<double>{scale_factor, scale_factor})
                                   .mode(torch::kNearest));
  };
  torch::nn::Sequential layers;
  if (scale == 1 || method == "conv") {
    layers->push_back(same_conv(in_dim, out_dim, 3));
  } else if (method == "pixelshuffledirect") {
    layers->extend(*pixel_shuffle_block(in_dim, out_dim, scale));
  } else if (method == "pixelshuffle") {
    layers->push_back(same_conv(in_dim, mid_dim, 3));
    layers->push_back(make_activation("leakyrelu", 0.01));
    layers->extend(*power_of_two_or_three_upsampler(scale, mid_dim));
    layers->push_back(same_conv(mid_dim, out_dim, 3));
  } else if (method == "nearest+conv") {
    if (scale != 3 && (scale & (scale - 1)) != 0)
      throw Error("scale " + std::to_string(scale) + " is not supported: supported scales are 2^n and 3");
    for (int64_t remaining = scale; remaining > 1; remaining /= (scale == 3 ? 3 : 2)) {
      layers->push_back(same_conv(in_dim, in_dim, 3));
      layers->push_back(nearest(scale == 3 ? 3 : 2));
      layers->push_back(make_activation("leakyrelu", 0.2));
    }
    layers->push_back(same_conv(in_dim, in_dim, 3));
    layers->push_back(make_activation("leakyrelu", 0.2));
    layers->push_back(same_conv(in_dim, out_dim, 3));
  } else {
    throw Error("unknown upsampler \"" + method + "\"");
  }
  return layers;
}

}  // namespace uprez
