// MMRealSR (spandrel id "MMRealSR", spandrel's MMRRDBNet_test): Real-ESRGAN's RRDB network whose blocks are each
// followed by an affine modulation driven by degradation degrees (blur, noise, ...) that a ResNet degradation
// estimator ("de_net") predicts from the whole input image.
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct MmrealsrOptions {
  int num_in_ch = 3;  // image channels (spandrel's num_in_ch, before any pixel-unshuffle)
  int num_out_ch = 3;
  // 4, or 2 / 1 with a pixel-unshuffled input: spandrel loads those but cannot run them (its degradation
  // estimator is built for the unshuffled channel count but fed the image), so forward rejects them.
  int scale = 4;
  int num_feat = 64;
  int num_block = 23;  // RRDB + affine modulation pairs
  int num_grow_ch = 32;
  int num_degradation = 2;  // degrees the estimator predicts, one ResNet branch each
  // The estimator's stages: channels, residual blocks and downscale (1 or 2) of each.
  std::vector<int> num_feats = {64, 128, 256, 512};
  std::vector<int> num_blocks = {2, 2, 2, 2};
  std::vector<int> downscales = {2, 2, 2, 1};

  // Channels entering conv_first and the estimator: num_in_ch times the pixel-unshuffle factor squared.
  int unshuffled_in_ch() const;
};

class DegradationEstimator;

class MmrealsrNetwork : public Network {
 public:
  explicit MmrealsrNetwork(const MmrealsrOptions& options);
  // spandrel's call: the image output of the network (the degrees it also returns are dropped).
  torch::Tensor forward(torch::Tensor x) override;

 private:
  MmrealsrOptions options_;
  FastConv2d conv_first_{nullptr};
  torch::nn::ModuleList body_{nullptr};
  torch::nn::ModuleList am_list_{nullptr};
  FastConv2d conv_body_{nullptr};
  FastConv2d conv_up1_{nullptr};
  FastConv2d conv_up2_{nullptr};
  FastConv2d conv_hr_{nullptr};
  FastConv2d conv_last_{nullptr};
  std::shared_ptr<DegradationEstimator> de_net_;
  torch::nn::Sequential dd_embed_{nullptr};
};

extern const Architecture kMmrealsrArchitecture;

}  // namespace uprez
