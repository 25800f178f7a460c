// DAT (Dual Aggregation Transformer, spandrel id "DAT"): residual groups whose blocks alternate spatial
// rectangle-window attention and channel (transposed) attention, each fused with a depthwise-conv branch by
// adaptive channel/spatial interaction, followed by a spatial-gate feed-forward network.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/dat_blocks.h"

namespace uprez {

struct DatOptions {
  int img_size = 64;  // the resolution the stored attention masks were computed for (forward works at any size)
  int in_chans = 3;
  int embed_dim = 180;
  std::array<int64_t, 2> split_size = {2, 4};
  std::vector<int> depth = {2, 2, 2, 2};
  std::vector<int> num_heads = {2, 2, 2, 2};
  double expansion_factor = 4.0;
  bool qkv_bias = true;
  int upscale = 2;
  double img_range = 1.0;
  std::string resi_connection = "1conv";   // "1conv" | "3conv"
  std::string upsampler = "pixelshuffle";  // "pixelshuffle" | "pixelshuffledirect"
};

class DatNetwork : public ResidualGroupNetwork {
 public:
  explicit DatNetwork(const DatOptions& options);
};

extern const Architecture kDatArchitecture;

}  // namespace uprez
