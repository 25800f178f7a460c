// Swift-SRGAN's generator (spandrel id "SwiftSRGAN"): depthwise-separable convolutions with batch norm and
// PReLU, residual blocks, 2x pixel-shuffle upsamplers and a tanh output mapped to [0, 1].
#pragma once

#include <memory>

#include <torch/torch.h>

#include "arch/architecture.h"

namespace uprez {

struct SwiftSrganOptions {
  int in_channels = 3;  // also the output channel count
  int num_channels = 64;
  int num_blocks = 16;
  int upscale_factor = 4;  // a power of two: one 2x upsample block per factor of 2
};

class SwiftSrganConvBlock;
class SwiftSrganSeparableConv;

class SwiftSrganNetwork : public Network {
 public:
  explicit SwiftSrganNetwork(const SwiftSrganOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  std::shared_ptr<SwiftSrganConvBlock> initial_;
  torch::nn::Sequential residual_{nullptr};
  std::shared_ptr<SwiftSrganConvBlock> convblock_;
  torch::nn::Sequential upsampler_{nullptr};
  std::shared_ptr<SwiftSrganSeparableConv> final_conv_;
};

extern const Architecture kSwiftSrganArchitecture;

}  // namespace uprez
