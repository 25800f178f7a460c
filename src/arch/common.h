// Building blocks and detection helpers shared by several architectures (spandrel's util and block helpers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/fast_conv.h"
#include "io/state_dict.h"

namespace uprez {

// ---- detection helpers ----

// spandrel's get_seq_len: one more than the largest i such that some key starts with "<prefix>.<i>.", or 0.
int sequence_length(const StateDict& state, const std::string& prefix);

// spandrel's get_scale_and_output_channels: (scale, output channels) with scale^2 * channels == `channels`,
// trying input_channels, 3, 4 and 1 channels in that order. Throws Error when none fits.
std::pair<int, int> scale_and_output_channels(int64_t channels, int input_channels);

// "SR" for scale > 1, "Restoration" for scale 1, as every single-image architecture reports it.
Purpose purpose_for_scale(int scale);

// Loads `state` into `network` (strictly, see load_weights), puts it in inference mode and pairs it with
// `info`.
Model assemble_model(ModelInfo info, std::shared_ptr<Network> network, const StateDict& state);

// ---- layers ----

// A stride-1 convolution whose zero padding keeps the spatial size (odd kernel sizes).
FastConv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true);

// Mish for every dtype (see reduced_precision_on_cpu); torch::nn::Functional(mish_any_dtype) is the layer.
torch::Tensor mish_any_dtype(const torch::Tensor& x);

// F::grid_sample for every dtype (see reduced_precision_on_cpu).
torch::Tensor grid_sample_any_dtype(const torch::Tensor& x, const torch::Tensor& grid,
                                    const torch::nn::functional::GridSampleFuncOptions& options);

// torch::nn::ConvTranspose2d for every dtype (see reduced_precision_on_cpu); same options and parameters.
class TransposedConv2dImpl : public torch::nn::ConvTranspose2dImpl {
 public:
  using ConvTranspose2dImpl::ConvTranspose2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(TransposedConv2d);

// A transposed convolution with this stride and zero padding (RealCUGAN's and FDAT's upsamplers).
TransposedConv2d transposed_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                 int64_t padding = 0);

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

// Whether `x` is float16/bfloat16 on the CPU, where LibTorch 1.13 lacks kernels the networks use (reflect and
// replicate padding, Mish) or gets them wrong (transposed convolution): those compute in float32 instead.
bool reduced_precision_on_cpu(const torch::Tensor& x);

// F::pad for every dtype (reduced precision on the CPU pads in float32 and converts back: exact).
torch::Tensor pad_any_dtype(const torch::Tensor& x, const torch::nn::functional::PadFuncOptions& options);

// spandrel's pad_tensor: extends the right/bottom edge by reflection as far as reflection reaches (size - 1
// pixels), then by replicating the last row/column.
torch::Tensor pad_right_bottom(const torch::Tensor& image, int64_t pad_width, int64_t pad_height);

// spandrel's pad_to_multiple: pads right/bottom so that height and width are multiples of `multiple`.
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple,
                              torch::nn::functional::PadFuncOptions::mode_t mode);

// Nearest-neighbour upscaling by an integer factor, as F.interpolate(x, scale_factor=s, mode="nearest").
torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t scale);

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

// spandrel's get_pixelshuffle_params for SwinIR-style Upsample stacks: (scale, features) from the convs
// "<prefix>.0.weight", "<prefix>.2.weight", ... (up to 5); (1, default_features) when there are none.
std::pair<int, int> pixel_shuffle_parameters(const StateDict& state, const std::string& prefix,
                                             int default_features = 64);

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

// Python's math.isqrt: the largest r with r * r <= value (value >= 0), as spandrel recovers scales from
// pixel-shuffle channel counts.
int64_t integer_sqrt(int64_t value);

// The size tag spandrel gives SwinIR-style models (SwinIR, Swin2SR, SRFormer) by their number of residual
// groups: "small" up to 4, "medium" below 9, else "large".
const char* swin_size_tag(size_t residual_groups);

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

// pad_to_multiple in reflect mode that also works for inputs smaller than the padding: reflects up to size-1
// pixels, then replicates the rest (as the descriptor pads); equal to pad_to_multiple(x, multiple, kReflect)
// wherever that works.
torch::Tensor reflect_pad_to_multiple(const torch::Tensor& x, int64_t multiple);

// The layers of spandrel's UniUpsample (MoESR) and UniUpsampleV3 (FDAT) for the methods both have, by name:
// "conv" (every method at scale 1): a 3x3 conv in_dim -> out_dim; "pixelshuffledirect": pixel_shuffle_block;
// "pixelshuffle": 3x3 conv in_dim -> mid_dim, LeakyReLU(0.01), power_of_two_or_three_upsampler(scale, mid_dim),
// 3x3 conv mid_dim -> out_dim; "nearest+conv": (3x3 conv, nearest x2, LeakyReLU(0.2)) per factor 2 (or once with
// x3), 3x3 conv, LeakyReLU(0.2), 3x3 conv in_dim -> out_dim. Throws Error for other names and unsupported scales.
torch::nn::Sequential uni_upsample_layers(const std::string& method, int64_t scale, int64_t in_dim, int64_t out_dim,
                                          int64_t mid_dim);

}  // namespace uprez
