// Blocks shared by DAT and RGT (same authors, both built on CAT): the dynamic position bias, rectangle-window
// self-attention on two channel halves with transposed windows (shifted in some blocks), the spatial-gate
// feed-forward network, residual groups of token blocks, the SwinIR-style network around them, and the options
// both detect and report alike.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "arch/architecture.h"
#include "io/state_dict.h"
#include "nn/fast_conv.h"
#include "nn/fast_matmul.h"

namespace uprez {

// The hyper-parameters DAT and RGT share (spandrel's names); DatOptions and RgtOptions extend it.
struct DatFamilyOptions {
  int in_chans = 3;
  int embed_dim = 180;
  std::vector<int> depth = {2, 2, 2, 2};  // blocks per residual group
  std::vector<int> num_heads = {2, 2, 2, 2};
  bool qkv_bias = true;
  int upscale = 2;
  double img_range = 1.0;
  std::string resi_connection = "1conv";  // "1conv" | "3conv"
  std::array<int64_t, 2> split_size = {8, 8};
};

// Fills in_chans and embed_dim ("conv_first.weight"), depth per residual group ("layers.<i>.blocks"; num_heads
// sized alike, 2 each), qkv_bias and resi_connection.
void detect_dat_family(const StateDict& state, DatFamilyOptions& options);

// The model info DAT and RGT report alike: id and name, purpose and scale from upscale, in_chans in and out,
// minimum size 16, no float16, and the hyper-parameters of DatFamilyOptions with spandrel's training-only
// defaults; each adds its own.
ModelInfo dat_family_model_info(const std::string& id, const DatFamilyOptions& options);

// A module on the (B, H*W, C) tokens of an H x W feature map: the attentions and blocks of DAT and RGT.
class TokenMapModule : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) = 0;
};

// The 3x3 depthwise convolution (padding 1, with bias) both models use on feature maps.
FastConv2d depthwise_conv(int64_t channels);

// CAT's schedule of shifted rectangle windows: block `block` of residual group `group` shifts when the group is
// even and block is 2, 6, 10, ..., or the group is odd and block is 0, 4, 8, ...
bool shifts_rectangle_windows(int64_t group, int64_t block);

// CrossFormer's DynamicPosBias (non-residual): "pos_proj" (2 -> dim/4), then "pos1", "pos2" (LayerNorm, ReLU,
// Linear dim/4 -> dim/4) and "pos3" (LayerNorm, ReLU, Linear dim/4 -> heads), mapping relative offsets to
// per-head biases. dim/4 may be 0 for tiny models (then only pos3's bias remains).
class DynamicPosBiasImpl : public torch::nn::Module {
 public:
  DynamicPosBiasImpl(int64_t dim, int64_t num_heads);
  // (P, 2) float offsets -> (P, heads) biases.
  torch::Tensor forward(const torch::Tensor& offsets);

 private:
  FastLinear pos_proj_{nullptr};
  torch::nn::Sequential pos1_{nullptr};
  torch::nn::Sequential pos2_{nullptr};
  torch::nn::Sequential pos3_{nullptr};
};
TORCH_MODULE(DynamicPosBias);

// Multi-head self-attention of qkv (3, B, H, W, dim) within window_height x window_width windows (H and W
// multiples of them), logits scaled by `scale`, plus the relative-position bias `position_bias` ((N*N, heads), N
// = window_height * window_width, query-major), masked by `mask` ((nW, N, N)) when defined. Returns (B, H, W, dim).
// RectangleWindowAttention's and CRAFT's window attention.
torch::Tensor rectangle_window_attention(const torch::Tensor& qkv, int64_t num_heads, int64_t window_height,
                                         int64_t window_width, double scale, const torch::Tensor& position_bias,
                                         const torch::Tensor& mask = {});

// DAT's Spatial_Attention, RGT's WindowAttention: multi-head self-attention inside window_height x
// window_width windows, biased by DynamicPosBias "pos" (over dim/4 features) of the "rpe_biases" offsets
// gathered by "relative_position_index".
class RectangleWindowAttentionImpl : public torch::nn::Module {
 public:
  RectangleWindowAttentionImpl(int64_t dim, int64_t num_heads, int64_t window_height, int64_t window_width);
  // qkv: (3, B, H, W, dim), H and W multiples of the window; mask: (nW, N, N) or undefined. Returns (B, H, W, dim).
  torch::Tensor forward(const torch::Tensor& qkv, const torch::Tensor& mask = {});

 private:
  int64_t num_heads_;
  int64_t window_height_;
  int64_t window_width_;
  double scale_;
  DynamicPosBias pos_{nullptr};
  torch::Tensor rpe_biases_;
  torch::Tensor relative_position_index_;
};
TORCH_MODULE(RectangleWindowAttention);

// The common part of DAT's Adaptive_Spatial_Attention and RGT's L_SA: "qkv" (dim -> 3 dim); the first channel
// half attends in split_size[0] x split_size[1] windows ("attns.0"), the second in the transposed windows
// ("attns.1"), on the map zero-padded right/bottom to a multiple of the larger side. Shifted blocks roll the
// halves by half a window and mask with shifted_window_mask for the padded size; they also register the
// "attn_mask_0/1" buffers the models store for a mask_resolution square (forward does not use them).
// Subclasses add a convolutional branch on v (mix); the sum goes through "proj".
class DualRectangleWindowAttention : public TokenMapModule {
 public:
  DualRectangleWindowAttention(int64_t dim, int64_t num_heads, std::array<int64_t, 2> split_size, bool shifted,
                               int64_t mask_resolution, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) override;

 protected:
  // Combines the window attention's (B, H*W, C) tokens with v as a (B, C, H, W) image; returns tokens.
  virtual torch::Tensor mix(const torch::Tensor& attended, const torch::Tensor& values, int64_t height,
                            int64_t width) = 0;

 private:
  std::array<int64_t, 2> split_size_;
  std::array<int64_t, 2> shift_size_;
  bool shifted_;
  FastLinear qkv_{nullptr};
  FastLinear proj_{nullptr};
  std::array<RectangleWindowAttention, 2> attns_{nullptr, nullptr};
};

// DAT's SpatialGate, RGT's Gate: splits channels in halves x1, x2 and returns x1 * conv(norm(x2)) ("norm"
// LayerNorm, "conv" depthwise 3x3 on the H x W map); `dim` is the half.
class SpatialGateImpl : public torch::nn::Module {
 public:
  explicit SpatialGateImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width);

 private:
  torch::nn::LayerNorm norm_{nullptr};
  FastConv2d conv_{nullptr};
};
TORCH_MODULE(SpatialGate);

// DAT's SGFN, RGT's MLP: "fc1" (dim -> hidden), GELU, SpatialGate "sg" (hidden -> hidden/2), "fc2" (-> dim).
class SpatialGateFeedForwardImpl : public torch::nn::Module {
 public:
  SpatialGateFeedForwardImpl(int64_t dim, int64_t hidden_features);
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width);

 private:
  FastLinear fc1_{nullptr};
  SpatialGate sg_{nullptr};
  FastLinear fc2_{nullptr};
};
TORCH_MODULE(SpatialGateFeedForward);

// DAT's and RGT's ResidualGroup: the "blocks", then the resi_connection conv "conv" on the image, plus the input.
class ResidualGroupImpl : public torch::nn::Module {
 public:
  ResidualGroupImpl(const std::vector<std::shared_ptr<TokenMapModule>>& blocks, int64_t dim,
                    const std::string& resi_connection);
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width);

 private:
  std::vector<std::shared_ptr<TokenMapModule>> blocks_;
  torch::nn::AnyModule conv_;
};
TORCH_MODULE(ResidualGroup);

// The network around DAT's and RGT's residual groups (SwinIR's layout): "conv_first", "before_RG" (tokens,
// LayerNorm), the groups "layers", "norm", "conv_after_body" (resi_connection) plus the shallow features, then
// for "pixelshuffle" "conv_before_upsample" (conv to 64 features, LeakyReLU), SwinIR's Upsample "upsample" and
// "conv_last", for "pixelshuffledirect" one conv + PixelShuffle "upsample". The RGB mean (3-channel models) is
// subtracted before and added back after.
class ResidualGroupNetwork : public Network {
 public:
  torch::Tensor forward(torch::Tensor x) override;

 protected:
  ResidualGroupNetwork(int64_t channels, int64_t embed_dim, int64_t upscale, const std::string& resi_connection,
                       const std::string& upsampler, double img_range);
  // Appends residual group "layers.<n>" made of `blocks`.
  void add_residual_group(const std::vector<std::shared_ptr<TokenMapModule>>& blocks);

 private:
  int64_t embed_dim_;
  std::string resi_connection_;
  double img_range_;
  torch::Tensor mean_;
  FastConv2d conv_first_{nullptr};
  torch::nn::Sequential before_RG_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  std::vector<ResidualGroup> groups_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;
  torch::nn::Sequential conv_before_upsample_{nullptr};
  torch::nn::Sequential upsample_{nullptr};
  FastConv2d conv_last_{nullptr};
};

}  // namespace uprez
