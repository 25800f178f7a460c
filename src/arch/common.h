// Building blocks and detection helpers shared by several architectures (spandrel's util and block helpers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
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
torch::nn::Conv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true);

// An activation layer by spandrel's name: "relu", "leakyrelu" (alias "lrelu"), "prelu" (one slope per
// channel when prelu_channels > 1), "silu". Throws Error for other names.
torch::nn::AnyModule make_activation(const std::string& name, double negative_slope = 0.2,
                                     int64_t prelu_channels = 1);

// spandrel's pixelshuffle_block: Sequential(conv(in -> out * scale^2), PixelShuffle(scale)), so its weights
// are "<name>.0.weight/bias".
torch::nn::Sequential pixel_shuffle_block(int64_t in_channels, int64_t out_channels, int64_t scale,
                                          int64_t kernel_size = 3);

// spandrel's pad_to_multiple: pads right/bottom so that height and width are multiples of `multiple`.
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple,
                              torch::nn::functional::PadFuncOptions::mode_t mode);

// Nearest-neighbour upscaling by an integer factor, as F.interpolate(x, scale_factor=s, mode="nearest").
torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t scale);

}  // namespace uprez
