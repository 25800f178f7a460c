// RGT (Recursive Generalization Transformer, spandrel id "RGT"): residual groups whose blocks alternate
// rectangle-window attention (L-SA) and recursive-generalization cross-attention to a recursively reduced map
// (RG-SA), each with a spatial-gate feed-forward network and a scaled skip (HAI).
#pragma once

#include <string>
#include <vector>

#include "arch/architecture.h"
#include "arch/dat_blocks.h"

namespace uprez {

struct RgtOptions : DatFamilyOptions {
  double mlp_ratio = 4.0;
  double c_ratio = 0.5;  // RG-SA's reduced channels: int(embed_dim * c_ratio)
};

class RgtNetwork : public ResidualGroupNetwork {
 public:
  explicit RgtNetwork(const RgtOptions& options);
};

extern const Architecture kRgtArchitecture;

}  // namespace uprez
