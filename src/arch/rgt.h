// RGT (Recursive Generalization Transformer, spandrel id "RGT"): residual groups whose blocks alternate
// rectangle-window attention (L-SA) and recursive-generalization cross-attention to a recursively reduced map
// (RG-SA), each with a spatial-gate feed-forward network and a scaled skip (HAI).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/dat_blocks.h"

namespace uprez {

struct RgtOptions {
  int in_chans = 3;
  int embed_dim = 180;
  std::vector<int> depth = {2, 2, 2, 2};
  std::vector<int> num_heads = {2, 2, 2, 2};
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  int upscale = 2;
  double img_range = 1.0;
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
  std::array<int64_t, 2> split_size = {8, 8};
  double c_ratio = 0.5;  // RG-SA's reduced channels: int(embed_dim * c_ratio)
};

class RgtNetwork : public ResidualGroupNetwork {
 public:
  explicit RgtNetwork(const RgtOptions& options);
};

extern const Architecture kRgtArchitecture;

}  // namespace uprez
