#include "support/test_assets.h"

#include <cmath>

#include <torch/torch.h>

namespace uprez::test {

std::vector<std::pair<std::string, torch::Tensor>> tiny_compact_weights(const CompactShape& shape, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  int index = 0;
  auto conv = [&](int in, int out) {
    const double gain = std::sqrt(1.0 / (in * 9.0));
    weights.emplace_back("body." + std::to_string(index) + ".weight", torch::randn({out, in, 3, 3}) * gain);
    weights.emplace_back("body." + std::to_string(index) + ".bias", torch::randn({out}) * 0.01);
    ++index;
  };
  auto prelu = [&](int channels) {
    weights.emplace_back("body." + std::to_string(index) + ".weight", torch::full({channels}, 0.25));
    ++index;
  };
  conv(shape.channels, shape.features);
  prelu(shape.features);
  for (int i = 0; i < shape.convs; ++i) {
    conv(shape.features, shape.features);
    prelu(shape.features);
  }
  conv(shape.features, shape.channels * shape.scale * shape.scale);
  // Keep the learned residual small so that the output stays close to the nearest-neighbour base.
  weights[weights.size() - 2].second.mul_(0.2);
  return weights;
}

Image synthetic_image(int width, int height, int channels, int bit_depth) {
  Image image(width, height, channels, bit_depth);
  const double max_value = bit_depth == 16 ? 65535.0 : 255.0;
  const int color = (channels == 2 || channels == 4) ? channels - 1 : channels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double u = (x + 0.5) / width, v = (y + 0.5) / height;
      const double r = std::hypot(u - 0.5, v - 0.5);
      double rgb[3] = {u, v, 0.5 + 0.5 * std::sin(40.0 * r)};
      if (x > width / 2 && y > height / 2) rgb[0] = ((x / 2 + y / 3) % 2) ? 0.9 : 0.1;  // fine stripes
      if (std::abs(u - v) < 0.02) rgb[1] = 1.0;                                          // a hard diagonal
      double samples[4];
      if (color == 1) samples[0] = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
      else for (int c = 0; c < 3; ++c) samples[c] = rgb[c];
      if (color != channels) samples[color] = std::clamp(1.2 - 1.6 * r, 0.0, 1.0);
      for (int c = 0; c < channels; ++c) {
        const double value = std::round(std::clamp(samples[c], 0.0, 1.0) * max_value);
        const size_t i = (static_cast<size_t>(y) * width + x) * channels + c;
        if (bit_depth == 16) reinterpret_cast<uint16_t*>(image.data.data())[i] = static_cast<uint16_t>(value);
        else image.data[i] = static_cast<uint8_t>(value);
      }
    }
  }
  return image;
}

}  // namespace uprez::test
