// IPT (Image Processing Transformer, spandrel id "IPT"): per-scale conv heads and upsampling tails around one
// vision transformer (encoder-decoder over patch_dim-sized patches of a patch_size x patch_size crop). Like
// spandrel's call, forward runs the tail of the largest scale and chops any image into overlapping
// patch_size crops (IPT's Model.forward_chop).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

struct IptOptions {
  int patch_size = 48;  // the crop the transformer sees, hence the size of every chopped patch
  int patch_dim = 3;    // transformer tokens are patch_dim x patch_dim patches of the features
  int n_feats = 64;
  int rgb_range = 255;
  std::vector<int> scale = {1};  // one head and one tail per scale
  int num_heads = 12;
  int num_layers = 12;   // encoder and decoder layers each
  int num_queries = 1;   // rows of the learned decoder query embedding (one per task)
  bool mlp = true;       // linear patch encoding, MLP head and query embedding
  bool no_pos = false;   // no learned position encoding
  bool no_norm = false;  // no LayerNorms in the transformer layers
};

class IptVisionTransformer;

class IptNetwork : public Network {
 public:
  explicit IptNetwork(const IptOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  // IPT.forward on a batch of patch_size x patch_size crops (in rgb_range) with the head/tail of scale_index_.
  torch::Tensor forward_patches(const torch::Tensor& x);
  // forward_patches in batches of kCropBatchSize crops: (L, C, p, p) -> (L, C, p * scale, p * scale).
  torch::Tensor forward_crops(const torch::Tensor& crops);
  // Model.forward_chop on a (1, C, H, W) image with H, W >= patch_size.
  torch::Tensor forward_chop(const torch::Tensor& x);
  // Model.cut_h (dim 3: a patch_size-high strip along the width) and Model.cut_w (dim 2: a patch_size-wide
  // strip along the height): the strip's crops blended by averaging their overlapping inner parts.
  torch::Tensor forward_strip(const torch::Tensor& strip, int64_t dim, int64_t covered_length);

  IptOptions options_;
  int64_t scale_index_;
  int64_t scale_;
  // The chop's geometry in Python's arithmetic: crops of patch_size every shave / 2 pixels (shave = patch_size /
  // 2), their outputs blended out_step = int(shave / 2 * scale) apart (computed in floating point).
  int64_t shave_;
  int64_t out_step_;
  FastConv2d sub_mean_{nullptr};
  FastConv2d add_mean_{nullptr};
  torch::nn::ModuleList head_{nullptr};
  std::shared_ptr<IptVisionTransformer> body_;
  torch::nn::ModuleList tail_{nullptr};
};

extern const Architecture kIptArchitecture;

}  // namespace uprez
