// Super-resolution building blocks shared by several architectures (spandrel's block helpers): same-size convs,
// activations by name, pixel-shuffle upsamplers, channel LayerNorm and attention, gated feed-forward, SwinIR's
// residual convs, the DIV2K mean.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "nn/fast_conv.h"

namespace uprez {

// A stride-1 convolution whose zero padding keeps the spatial size (odd kernel sizes).
FastConv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true);

// An activation layer by spandrel's name: "relu", "leakyrelu" (alias "lrelu"), "prelu" (one slope per
// channel when prelu_channels > 1), "silu". Throws Error for other names.
torch::nn::AnyModule make_activation(const std::string& name, double negative_slope = 0.2,
                                     int64_t prelu_channels = 1);

// spandrel's pixelshuffle_block: Sequential(conv(in -> out * scale^2), PixelShuffle(scale)), so its weights
// are "<name>.0.weight/bias".
torch::nn::Sequential pixel_shuffle_block(int64_t in_channels, int64_t out_channels, int64_t scale,
                                          int64_t kernel_size = 3);

// SwinIR's Upsample (used by most transformers): for scale 2^n, n times (conv features -> 4*features, 3x3;
// PixelShuffle(2)); for scale 3, conv features -> 9*features then PixelShuffle(3). Weights "<name>.<2i>.*".
// Throws Error for other scales.
torch::nn::Sequential power_of_two_or_three_upsampler(int64_t scale, int64_t features);

// pixel_shuffle_block whose conv has a bias only when `bias` is set (OmniSR's pixelshuffle_block(bias=...)).
torch::nn::Sequential pixel_shuffle_block(int64_t in_channels, int64_t out_channels, int64_t scale,
                                          int64_t kernel_size, bool bias);

// LayerNorm over the channels of an NCHW tensor ("weight", "bias"; SAFMN's channels_first LayerNorm, OmniSR's
// LayerNorm2d): per pixel (x - mean) / sqrt(biased variance + eps) * weight + bias.
class ChannelLayerNormImpl : public torch::nn::Module {
 public:
  explicit ChannelLayerNormImpl(int64_t channels, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  double eps_;
  torch::Tensor weight_;
  torch::Tensor bias_;
};
TORCH_MODULE(ChannelLayerNorm);

// Restormer's gated depthwise-conv feed-forward network (DITN's FeedForward, OmniSR's Gated_Conv_FeedForward):
// 1x1 "project_in" (dim -> 2 * hidden), depthwise 3x3 "dwconv", GELU(first half) * second half, 1x1
// "project_out" (hidden -> dim); every conv has a bias only when `bias` is set.
class GatedFeedForwardImpl : public torch::nn::Module {
 public:
  GatedFeedForwardImpl(int64_t dim, int64_t hidden_features, bool bias);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  FastConv2d project_in_{nullptr};
  FastConv2d dwconv_{nullptr};
  FastConv2d project_out_{nullptr};
};
TORCH_MODULE(GatedFeedForward);

// RCAN's channel attention as HAT, DRCT and GRL name it: x * sigmoid(conv(relu(conv(avgpool(x))))), weights
// "attention.1.*" (channels -> squeezed_channels, 1x1) and "attention.3.*" (back, 1x1).
class ChannelAttentionImpl : public torch::nn::Module {
 public:
  ChannelAttentionImpl(int64_t channels, int64_t squeezed_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential attention_{nullptr};
};
TORCH_MODULE(ChannelAttention);

// HAT's and GRL's channel attention block (CAB) on NCHW: "cab" = Sequential(conv 3x3 channels ->
// compressed_channels, GELU, conv 3x3 back, ChannelAttention(channels, squeezed_channels)).
class ChannelAttentionBlockImpl : public torch::nn::Module {
 public:
  ChannelAttentionBlockImpl(int64_t channels, int64_t compressed_channels, int64_t squeezed_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential cab_{nullptr};
};
TORCH_MODULE(ChannelAttentionBlock);

// SwinIR's resi_connection conv before a residual add: "1conv" is one 3x3 conv (weights "<name>.*"); "3conv" is
// Sequential(3x3 conv features -> features/4, LeakyReLU(0.2), 1x1 conv, LeakyReLU(0.2), 3x3 conv back to
// features) (weights "<name>.0/2/4.*"). Throws Error for other names.
torch::nn::AnyModule residual_connection_conv(int64_t features, const std::string& resi_connection);

// The DIV2K RGB mean (0.4488, 0.4371, 0.4040) that most SR networks subtract before their body and add back at
// the end, as a (1, 3, 1, 1) tensor for 3 channels; zeros (1, 1, 1, 1) for any other channel count.
torch::Tensor div2k_mean(int64_t channels);

// RCAN's channel attention layer (CALayer; MPRNet and MIRNet-v2 name theirs alike): x * sigmoid(conv(relu(conv(
// avgpool(x))))), weights "conv_du.0.*" (channels -> channels / reduction, 1x1) and "conv_du.2.*" (back, 1x1).
class ChannelAttentionLayerImpl : public torch::nn::Module {
 public:
  ChannelAttentionLayerImpl(int64_t channels, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential conv_du_{nullptr};
};
TORCH_MODULE(ChannelAttentionLayer);

// The layers of spandrel's UniUpsample (MoESR) and UniUpsampleV3 (FDAT) for the methods both have, by name:
// "conv" (every method at scale 1): a 3x3 conv in_dim -> out_dim; "pixelshuffledirect": pixel_shuffle_block;
// "pixelshuffle": 3x3 conv in_dim -> mid_dim, LeakyReLU(0.01), power_of_two_or_three_upsampler(scale, mid_dim),
// 3x3 conv mid_dim -> out_dim; "nearest+conv": (3x3 conv, nearest x2, LeakyReLU(0.2)) per factor 2 (or once with
// x3), 3x3 conv, LeakyReLU(0.2), 3x3 conv in_dim -> out_dim. Throws Error for other names and unsupported scales.
torch::nn::Sequential uni_upsample_layers(const std::string& method, int64_t scale, int64_t in_dim, int64_t out_dim,
                                          int64_t mid_dim);

}  // namespace uprez
