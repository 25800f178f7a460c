// Real-CUGAN (spandrel id "RealCUGAN"): two cascaded U-Nets with squeeze-excitation blocks (UpCunet2x, 3x, 4x
// and the pixel-unshuffling UpCunet2x_fast). "pro" models work on inputs mapped to [0.15, 0.85].
#pragma once

#include <memory>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct RealCuganOptions {
  int in_channels = 3;
  int out_channels = 3;
  int scale = 2;     // 2, 3 or 4
  bool pro = false;  // maps the input to [0.15, 0.85] and back; a "pro" buffer marks it
  // UpCunet2x_fast: pixel-unshuffles the input by 2 and runs UpCunet4x's network on it.
  bool fast = false;
};

class RealCuganUNet1;
class RealCuganUNet2;

class RealCuganNetwork : public Network {
 public:
  explicit RealCuganNetwork(const RealCuganOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  RealCuganOptions options_;
  std::shared_ptr<RealCuganUNet1> unet1_;
  std::shared_ptr<RealCuganUNet2> unet2_;
  // UpCunet4x and UpCunet2x_fast: a 3x3 conv to 4 * out_channels and PixelShuffle(2) after the U-Nets.
  FastConv2d conv_final_{nullptr};
};

extern const Architecture kRealCuganArchitecture;

}  // namespace uprez
