#include "arch/detection.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "nn/load_weights.h"

namespace uprez {

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

ModelInfo basic_model_info(const std::string& id, int scale, int input_channels, int output_channels,
                           SizeRequirements size_requirements) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = id;
  info.purpose = purpose_for_scale(scale);
  info.scale = scale;
  info.input_channels = input_channels;
  info.output_channels = output_channels;
  info.size_requirements = size_requirements;
  return info;
}

Model assemble_model(ModelInfo info, std::shared_ptr<Network> network, const StateDict& state) {
  load_weights(*network, state);
  network->eval();
  return Model{std::move(info), std::move(network)};
}

std::pair<int, int> pixel_shuffle_parameters(const StateDict& state, const std::string& prefix,
                                             int default_features) {
  int scale = 1;
  int features = default_features;
  for (int index = 0; index < 10; index += 2) {
    const std::string key = prefix + "." + std::to_string(index) + ".weight";
    if (!state.contains(key)) break;
    features = static_cast<int>(state.dim(key, 1));
    scale *= static_cast<int>(integer_sqrt(state.dim(key, 0) / features));
  }
  return {scale, features};
}

int64_t integer_sqrt(int64_t value) {
  auto root = static_cast<int64_t>(std::sqrt(static_cast<double>(value)));
  while (root * root > value) --root;
  while ((root + 1) * (root + 1) <= value) ++root;
  return root;
}

const char* swin_size_tag(size_t residual_groups) {
  if (residual_groups <= 4) return "small";
  return residual_groups < 9 ? "medium" : "large";
}

}  // namespace uprez
