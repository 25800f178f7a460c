// GRL (global, regional and local modelling image restoration transformer, spandrel id "GRL"): stages of blocks
// that mix cosine window attention with anchor stripe attention (stripes attend through a downscaled "anchor"
// map), optionally with a channel-attention conv branch, then one of four reconstruction heads.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "nn/fast_conv.h"

namespace uprez {

// The hyper-parameters spandrel's GRL detection can produce (stripes are always shifted in blocks 2 and 3 of
// every 4, stripe groups are never used, and the pretrained window/stripe sizes are 0).
struct GrlOptions {
  int in_channels = 3;
  int out_channels = 3;
  int embed_dim = 96;
  int upscale = 1;
  double img_range = 1.0;
  std::string upsampler;  // "" (restoration) | "pixelshuffle" | "pixelshuffledirect" | "nearest+conv"
  std::vector<int> depths = {6, 6, 6, 6, 6, 6};
  std::vector<int> num_heads_window = {3, 3, 3, 3, 3, 3};
  std::vector<int> num_heads_stripe = {3, 3, 3, 3, 3, 3};
  int window_size = 8;
  std::array<int, 2> stripe_size = {8, 8};  // (height, width) of the stripes of even blocks; odd blocks transpose
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  std::string qkv_proj_type = "linear";      // | "separable_conv"
  std::string anchor_proj_type = "avgpool";  // | "patchmerging" | "conv2d" | "separable_conv"
  bool anchor_one_stage = true;              // one projection, or log2(down factor) stride-2 ones
  int anchor_window_down_factor = 1;         // the anchor map is this many times smaller than the features
  bool local_connection = false;             // the channel-attention conv branch ("conv") in every block
  std::string conv_type = "1conv";           // after each stage and the body: | "3conv" | "1conv1x1" | "linear"
};

class GrlTransformerStage;

class GrlNetwork : public Network {
 public:
  explicit GrlNetwork(const GrlOptions& options);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::Tensor forward_features(const torch::Tensor& x);

  GrlOptions options_;
  int64_t pad_size_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  torch::nn::LayerNorm norm_start_{nullptr};
  std::vector<std::shared_ptr<GrlTransformerStage>> layers_;
  torch::nn::LayerNorm norm_end_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  torch::nn::Sequential conv_before_upsample_{nullptr};  // "pixelshuffle" and "nearest+conv"
  torch::nn::Sequential upsample_{nullptr};              // "upsample.up": the pixel-shuffle upsamplers
  FastConv2d conv_up1_{nullptr};                         // "nearest+conv"
  FastConv2d conv_up2_{nullptr};
  FastConv2d conv_hr_{nullptr};
  FastConv2d conv_last_{nullptr};  // all but "pixelshuffledirect"
};

extern const Architecture kGrlArchitecture;

}  // namespace uprez
