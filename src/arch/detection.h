// State-dict detection helpers shared by the architectures' detectors (spandrel's util): sequence lengths, scales
// from pixel-shuffle channel counts, purpose by scale, and the final assembly of a loaded model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "arch/architecture.h"
#include "io/state_dict.h"

namespace uprez {

// spandrel's get_seq_len: one more than the largest i such that some key starts with "<prefix>.<i>.", or 0.
int sequence_length(const StateDict& state, const std::string& prefix);

// spandrel's get_scale_and_output_channels: (scale, output channels) with scale^2 * channels == `channels`,
// trying input_channels, 3, 4 and 1 channels in that order. Throws Error when none fits.
std::pair<int, int> scale_and_output_channels(int64_t channels, int input_channels);

// "SR" for scale > 1, "Restoration" for scale 1, as every single-image architecture reports it.
Purpose purpose_for_scale(int scale);

// The model info most architectures start from: id and display name `id`, purpose_for_scale(scale), scale,
// channels in and out and size requirements; tags and hyper-parameters are left to the architecture.
ModelInfo basic_model_info(const std::string& id, int scale, int input_channels, int output_channels,
                           SizeRequirements size_requirements = {});

// Loads `state` into `network` (strictly, see load_weights), puts it in inference mode and pairs it with
// `info`.
Model assemble_model(ModelInfo info, std::shared_ptr<Network> network, const StateDict& state);

// spandrel's get_pixelshuffle_params for SwinIR-style Upsample stacks: (scale, features) from the convs
// "<prefix>.0.weight", "<prefix>.2.weight", ... (up to 5); (1, default_features) when there are none.
std::pair<int, int> pixel_shuffle_parameters(const StateDict& state, const std::string& prefix,
                                             int default_features = 64);

// Python's math.isqrt: the largest r with r * r <= value (value >= 0), as spandrel recovers scales from
// pixel-shuffle channel counts.
int64_t integer_sqrt(int64_t value);

// The size tag spandrel gives SwinIR-style models (SwinIR, Swin2SR, SRFormer) by their number of residual
// groups: "small" up to 4, "medium" below 9, else "large".
const char* swin_size_tag(size_t residual_groups);

}  // namespace uprez
