// PLKSR (Partial Large Kernel CNNs for Efficient Super-Resolution) and its RealPLKSR variant, both spandrel id
// "PLKSR": a plain stack of PLK blocks whose long-range branch convolves only the first channels with a large kernel,
// plus a nearest (repeat_interleave) skip, upsampled by PixelShuffle or (RealPLKSR) DySample.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "arch/architecture.h"

namespace uprez {

// PLKSR's channel mixers: conv 3x3 / 1x1 combinations (dim -> 2 dim -> dim) around GELU.
enum class ChannelMixerType { CCM, ICCM, DCCM };
// PLKSR's long-range convolutions over the first split_ratio * dim channels.
enum class LargeKernelType { PLK, SparsePLK, RectSparsePLK };

struct PlksrOptions {
  bool real = false;  // RealPLKSR: LayerNorm/GroupNorm, Mish DCCM, optional DySample
  int dim = 64;
  int n_blocks = 28;
  int upscaling_factor = 4;
  int kernel_size = 17;
  double split_ratio = 0.25;
  bool use_ea = true;  // element-wise attention in every block
  // PLKSR only
  ChannelMixerType ccm_type = ChannelMixerType::CCM;
  LargeKernelType lk_type = LargeKernelType::PLK;
  std::vector<int> sparse_kernels = {5, 5, 5, 5};    // SparsePLK: kernel size of each dilated conv
  std::vector<int> sparse_dilations = {1, 2, 3, 4};  // SparsePLK: dilation of each dilated conv
  // RealPLKSR only
  int norm_groups = 4;      // GroupNorm after each block when layer_norm is off
  bool dysample = false;    // DySample instead of PixelShuffle
  bool layer_norm = false;  // LayerNorm before each block instead of GroupNorm after it
};

class PlksrNetwork : public Network {
 public:
  explicit PlksrNetwork(const PlksrOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  int64_t upscaling_factor_;
  torch::nn::Sequential feats_{nullptr};
  torch::nn::AnyModule to_img_;
};

extern const Architecture kPlksrArchitecture;

}  // namespace uprez
