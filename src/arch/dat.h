// DAT (Dual Aggregation Transformer, spandrel id "DAT"): residual groups whose blocks alternate spatial
// rectangle-window attention and channel (transposed) attention, each fused with a depthwise-conv branch by
// adaptive channel/spatial interaction, followed by a spatial-gate feed-forward network.
#pragma once

#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/dat_blocks.h"

namespace uprez {

struct DatOptions : DatFamilyOptions {
  int img_size = 64;  // the resolution the stored attention masks were computed for (forward works at any size)
  double expansion_factor = 4.0;
  std::string upsampler = "pixelshuffle";  // "pixelshuffle" | "pixelshuffledirect"
  int num_feat = 64;  // the reconstruction's width, as the tags report it
};

class DatNetwork : public ResidualGroupNetwork {
 public:
  explicit DatNetwork(const DatOptions& options);
};

extern const Architecture kDatArchitecture;

}  // namespace uprez
