// Swin2SR (SwinV2 transformer for compressed image super-resolution, spandrel id "Swin2SR"): SwinIR's layout
// with SwinV2 blocks (scaled cosine attention, a continuous relative position bias from a small MLP, post-norm
// residuals), patch-embedding projections, and two extra heads: pixelshuffle_aux (an added bicubic branch) and
// pixelshuffle_hf (a second high-frequency body; its first output, the SR image, is returned).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/swinir.h"
#include "nn/fast_conv.h"

namespace uprez {

struct Swin2SROptions {
  int img_size = 64;  // training size: blocks whose window does not fit in it neither shift nor keep the window
  int patch_size = 1;
  int in_chans = 3;
  int embed_dim = 96;
  std::vector<int> depths = {6, 6, 6, 6};  // Swin blocks per RSTB
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;  // learnt q and v biases (k has none)
  bool ape = false;      // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 2;
  double img_range = 1.0;
  // "pixelshuffle" | "pixelshuffle_aux" | "pixelshuffle_hf" | "pixelshuffledirect" | "nearest+conv" (x4) | ""
  std::string upsampler;
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
};

class Swin2SRPatchEmbed;
class Swin2SRResidualBlock;

class Swin2SRNetwork : public Network {
 public:
  explicit Swin2SRNetwork(const Swin2SROptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);
  // pixelshuffle_aux's head: the upsampled features plus a conv of the bicubically upscaled input.
  torch::Tensor reconstruct_with_bicubic(const torch::Tensor& features, const torch::Tensor& input, int64_t height,
                                         int64_t width);

  Swin2SROptions options_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  std::shared_ptr<Swin2SRPatchEmbed> patch_embed_;
  torch::Tensor absolute_pos_embed_;
  std::vector<std::shared_ptr<Swin2SRResidualBlock>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  // Every head but pixelshuffle_aux's (pixelshuffle_hf's first output is the pixelshuffle head's).
  std::unique_ptr<SwinIRReconstruction> reconstruction_;
  // pixelshuffle_aux's modules.
  FastConv2d conv_bicubic_{nullptr};
  torch::nn::Sequential conv_before_upsample_{nullptr};
  FastConv2d conv_aux_{nullptr};
  torch::nn::Sequential conv_after_aux_{nullptr};
  torch::nn::Sequential upsample_{nullptr};
  FastConv2d conv_last_{nullptr};
};

extern const Architecture kSwin2SRArchitecture;

}  // namespace uprez
