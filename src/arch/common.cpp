#include "arch/common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace uprez {

namespace F = torch::nn::functional;

int sequence_length(const StateDict& state, const std::string& prefix) {
  const std::string dotted = prefix + ".";
  int length = 0;
  for (const std::string& key : state.keys()) {
    if (key.compare(0, dotted.size(), dotted) != 0) continue;
    const std::string index = key.substr(dotted.size(), key.find('.', dotted.size()) - dotted.size());
    if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos)
      throw Error("model weight \"" + key + "\" should have a numeric index after \"" + dotted + "\"");
    length = std::max(length, std::atoi(index.c_str()) + 1);
  }
  return length;
}

std::pair<int, int> scale_and_output_channels(int64_t channels, int input_channels) {
  for (int candidate : {input_channels, 3, 4, 1}) {
    if (candidate <= 0 || channels % candidate != 0) continue;
    const int64_t squared_scale = channels / candidate;
    const auto scale = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(squared_scale))));
    if (scale * scale == squared_scale) return {static_cast<int>(scale), candidate};
  }
  throw Error("cannot split " + std::to_string(channels) +
              " pixel-shuffle channels into scale^2 * output channels with 1, 3 or 4 output channels");
}

Purpose purpose_for_scale(int scale) { return scale == 1 ? Purpose::Restoration : Purpose::SR; }

Model assemble_model(ModelInfo info, std::shared_ptr<Network> network, const StateDict& state) {
  load_weights(*network, state);
  network->eval();
  return Model{std::move(info), std::move(network)};
}

torch::nn::Conv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias) {
  return torch::nn::Conv2d(
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

torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t multiple, F::PadFuncOptions::mode_t mode) {
  const int64_t pad_height = (multiple - x.size(-2) % multiple) % multiple;
  const int64_t pad_width = (multiple - x.size(-1) % multiple) % multiple;
  if (pad_height == 0 && pad_width == 0) return x;
  return F::pad(x, F::PadFuncOptions({0, pad_width, 0, pad_height}).mode(mode));
}

torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t scale) {
  const auto factor = static_cast<double>(scale);
  return F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{factor, factor}).mode(torch::kNearest));
}

}  // namespace uprez
