// SwinIR (Swin transformer for image restoration, spandrel id "SwinIR"): a 3x3 shallow conv, residual Swin
// transformer blocks (RSTB) of shifted-window attention, and one of SwinIR's reconstruction heads (classical,
// lightweight, real-world SR, or the residual head of its denoising / JPEG models).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/transformer.h"
#include "nn/fast_conv.h"

namespace uprez {

struct SwinIROptions {
  int img_size = 64;  // training size: blocks whose window does not fit in it neither shift nor keep the window
  int in_chans = 3;
  int embed_dim = 96;
  std::vector<int> depths = {6, 6, 6, 6};  // Swin blocks per RSTB
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 7;
  double mlp_ratio = 4.0;
  int upscale = 1;  // of the network, before start_unshuffle's downscaling
  double img_range = 1.0;
  std::string upsampler;  // "pixelshuffle" | "pixelshuffledirect" | "nearest+conv" | "" (restoration)
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
  int start_unshuffle = 1;                // pixel-unshuffle factor applied to the input first
};

// SwinIR's image reconstruction after the deep features, shared with Swin2SR. Its modules are attributes of the
// network in Python, so they are registered on `network` itself: "conv_before_upsample" (3x3 conv + LeakyReLU),
// "upsample" and "conv_last" for "pixelshuffle"; "upsample" (one conv + PixelShuffle) for "pixelshuffledirect";
// "conv_before_upsample", "conv_up1".."conv_up<log2 scale>" (scale 2, 4 or 8), "conv_hr", "conv_last" for
// "nearest+conv"; "conv_last" for "" (restoration). Throws Error for other upsamplers or unsupported scales.
class SwinIRReconstruction {
 public:
  SwinIRReconstruction(torch::nn::Module& network, const std::string& upsampler, int64_t embed_dim,
                       int64_t out_channels, int64_t upscale);
  // features: conv_after_body(deep features) + shallow features; input: the normalised network input, which the
  // restoration head adds back.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& input);

 private:
  enum class Head { PixelShuffle, PixelShuffleDirect, NearestConv, Restoration };
  Head head_;
  torch::nn::Sequential conv_before_upsample_{nullptr};
  torch::nn::Sequential upsample_{nullptr};  // null for scale-1 "pixelshuffle" (an empty Upsample)
  std::vector<FastConv2d> conv_up_;
  FastConv2d conv_hr_{nullptr};
  FastConv2d conv_last_{nullptr};
};

class ResidualSwinTransformerBlock;

class SwinIRNetwork : public Network {
 public:
  explicit SwinIRNetwork(const SwinIROptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);

  SwinIROptions options_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  std::vector<std::shared_ptr<ResidualSwinTransformerBlock>> layers_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  std::unique_ptr<SwinIRReconstruction> reconstruction_;
};

extern const Architecture kSwinIRArchitecture;

}  // namespace uprez
