// Small assets that tests (and scripts/setup's sample) generate instead of shipping: deterministic tiny
// models in spandrel-compatible files, and synthetic images.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "image/image.h"

namespace uprez::test {

struct CompactShape {
  int scale = 2;
  int channels = 3;  // input and output channels
  int features = 8;
  int convs = 2;
};

// The state dict of a Compact (SRVGGNetCompact) network with PReLU activations and weights drawn from `seed`.
std::vector<std::pair<std::string, torch::Tensor>> tiny_compact_weights(const CompactShape& shape, uint64_t seed);

// A synthetic test picture: smooth gradients, hard edges, a ring pattern and fine stripes; with alpha when
// channels is 2 or 4 (a radial fade), 8 or 16 bit.
Image synthetic_image(int width, int height, int channels, int bit_depth);

}  // namespace uprez::test
