// ESRGAN (RRDBNet, spandrel id "ESRGAN"): the old-arch Residual-in-Residual Dense Block network with nearest
// upconv upsampling, including ESRGAN+ (conv1x1 shortcuts in each dense block) and Real-ESRGAN's
// pixel-unshuffle x1/x2 variants. Detection accepts the old `model.N` key layout, Real-ESRGAN's
// `conv_first/body.N.rdbK/...` and BSRGAN's `conv_first/RRDB_trunk.N.RDBK/...`; the latter two are renamed to
// the old layout before loading, as spandrel does.
#pragma once

#include <torch/torch.h>

#include "arch/architecture.h"

namespace uprez {

struct EsrganOptions {
  int in_nc = 3;  // channels entering the network, i.e. after pixel-unshuffle
  int out_nc = 3;
  int num_filters = 64;
  int num_blocks = 23;
  int scale = 4;           // the network's own upscaling: 1, 3 or a power of two
  bool plus = false;       // ESRGAN+
  int shuffle_factor = 0;  // Real-ESRGAN pixel-unshuffle factor (2 or 4); 0 for none
};

// The network, with PyTorch's parameter names (`model.0.weight`, `model.1.sub.0.RDB1.conv1.0.weight`, ...).
class EsrganNetwork : public Network {
 public:
  explicit EsrganNetwork(const EsrganOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  EsrganOptions options_;
  torch::nn::ModuleList model_;
};

extern const Architecture kEsrganArchitecture;

}  // namespace uprez
