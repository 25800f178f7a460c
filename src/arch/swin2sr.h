// Swin2SR (SwinV2 transformer for compressed image super-resolution, spandrel id "Swin2SR"): SwinIR's layout
// with SwinV2 blocks (scaled cosine attention, a continuous relative position bias from a small MLP, post-norm
// residuals), patch-embedding projections, and two extra heads: pixelshuffle_aux (an added bicubic branch) and
// pixelshuffle_hf (a second high-frequency body; its first output, the SR image, is returned).
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "arch/swin_family.h"
#include "nn/fast_conv.h"

namespace uprez {

// upsampler: also "pixelshuffle_aux" and "pixelshuffle_hf"; "nearest+conv" is x4 only.
struct Swin2SROptions : SwinFamilyOptions {};

class Swin2SRPatchEmbed;
class Swin2SRResidualBlock;

class Swin2SRNetwork : public SwinFamilyNetwork {
 public:
  explicit Swin2SRNetwork(const Swin2SROptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  // patch_embed, plus the absolute position embedding, which only fits img_size.
  torch::Tensor embed(const torch::Tensor& shallow) override;
  // pixelshuffle_aux's head: the upsampled features plus a conv of the bicubically upscaled input.
  torch::Tensor reconstruct_with_bicubic(const torch::Tensor& features, const torch::Tensor& input, int64_t height,
                                         int64_t width);

  Swin2SROptions options_;
  torch::Tensor mean_;
  std::shared_ptr<Swin2SRPatchEmbed> swin2sr_patch_embed_;
  std::vector<std::shared_ptr<Swin2SRResidualBlock>> layers_;
  // reconstruction_ serves every head but pixelshuffle_aux's (pixelshuffle_hf's first output is the pixelshuffle
  // head's). pixelshuffle_aux's modules:
  FastConv2d conv_bicubic_{nullptr};
  torch::nn::Sequential conv_before_upsample_{nullptr};
  FastConv2d conv_aux_{nullptr};
  torch::nn::Sequential conv_after_aux_{nullptr};
  torch::nn::Sequential upsample_{nullptr};
  FastConv2d conv_last_{nullptr};
};

extern const Architecture kSwin2SRArchitecture;

}  // namespace uprez
