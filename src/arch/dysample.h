// DySample ("Learning to Upsample by Learning to Sample"), the point-sampling upsampler of RealPLKSR, MoSR and
// FDAT (spandrel's __arch_helpers/dysample.py): each output pixel bilinearly samples the input at a learned offset.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/fast_conv.h"

namespace uprez {

struct DySampleOptions {
  int64_t in_channels = 64;
  int64_t out_channels = 3;
  int64_t scale = 2;
  int64_t groups = 4;           // offsets are predicted per channel group
  bool end_convolution = true;  // a final 1x1 conv "end_conv" (in_channels -> out_channels)
};

// Weights "offset", "scope" (1x1 convs predicting 2 * groups * scale^2 offset channels), "init_pos" (buffer)
// and, with end_convolution, "end_conv".
class DySampleImpl : public torch::nn::Module {
 public:
  explicit DySampleImpl(const DySampleOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  DySampleOptions options_;
  FastConv2d end_conv_{nullptr};
  FastConv2d offset_{nullptr};
  FastConv2d scope_{nullptr};
  torch::Tensor init_pos_;
};
TORCH_MODULE(DySample);

}  // namespace uprez
