// MoSR (Mamba Out Super-Resolution, spandrel id "MoSR"): a stack of MambaOut gated CNN blocks plus a convolutional
// shortcut, upsampled by PixelShuffle, GPS (geometric-ensemble PixelShuffle) or DySample.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "arch/architecture.h"

namespace uprez {

enum class MosrUpsampler { PixelShuffle, GeoEnsemblePixelShuffle, DySample };  // spandrel's "ps", "gps", "dys"

struct MosrOptions {
  int in_ch = 3;
  int out_ch = 3;  // equals in_ch except with DySample
  int upscale = 4;
  int n_block = 24;
  int dim = 64;
  MosrUpsampler upsampler = MosrUpsampler::PixelShuffle;
  int kernel_size = 7;           // the gated blocks' depthwise conv
  double expansion_ratio = 1.5;  // hidden channels = int(expansion_ratio * dim)
  double conv_ratio = 1.0;       // depthwise-conv channels = int(conv_ratio * dim)
};

class MosrConvBlock;
class MosrGeoEnsemblePixelShuffle;
class DySampleImpl;

class MosrNetwork : public Network {
 public:
  explicit MosrNetwork(const MosrOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Sequential gblocks_{nullptr};
  std::shared_ptr<MosrConvBlock> shortcut_;
  // "upsampler": exactly one of these, by MosrOptions::upsampler.
  torch::nn::Sequential pixel_shuffle_{nullptr};
  std::shared_ptr<MosrGeoEnsemblePixelShuffle> geo_ensemble_;
  std::shared_ptr<DySampleImpl> dysample_;
};

extern const Architecture kMosrArchitecture;

}  // namespace uprez
