// Blocks shared by the window-attention transformers (SwinIR and its descendants HAT, DRCT, SRFormer, ...):
// token layout conversions, window partitioning, relative-position indices, shifted-window masks computed for
// the actual (padded) feature size, numerically safe attention, and the modules whose state-dict names these
// architectures share (Mlp, WindowAttention).
#pragma once

#include <cstdint>
#include <memory>
#include <functional>

#include <torch/torch.h>

#include "nn/fast_conv.h"
#include "nn/fast_matmul.h"

namespace uprez {

// (B, C, H, W) -> (B, H*W, C), as PatchEmbed's flatten(2).transpose(1, 2).
torch::Tensor image_to_tokens(const torch::Tensor& x);
// (B, H*W, C) -> (B, C, H, W), as PatchUnEmbed.
torch::Tensor tokens_to_image(const torch::Tensor& tokens, int64_t height, int64_t width);

// (B, H, W, C) -> (B * H/wh * W/ww, wh, ww, C); H and W must be multiples of the window.
torch::Tensor window_partition(const torch::Tensor& x, int64_t window_height, int64_t window_width);
inline torch::Tensor window_partition(const torch::Tensor& x, int64_t window) {
  return window_partition(x, window, window);
}
// The inverse of window_partition: (B * nW, wh, ww, C) -> (B, H, W, C).
torch::Tensor window_reverse(const torch::Tensor& windows, int64_t window_height, int64_t window_width,
                             int64_t height, int64_t width);
inline torch::Tensor window_reverse(const torch::Tensor& windows, int64_t window, int64_t height, int64_t width) {
  return window_reverse(windows, window, window, height, width);
}

// Swin's relative_position_index for a wh x ww window: (wh*ww, wh*ww) int64 indices into a
// ((2wh-1)*(2ww-1), heads) bias table.
torch::Tensor relative_position_index(int64_t window_height, int64_t window_width);
inline torch::Tensor relative_position_index(int64_t window) { return relative_position_index(window, window); }

// Swin's attention mask for a cyclically shifted H x W feature map: (nW, wh*ww, wh*ww), 0 inside a region and
// -100 between regions (the three slices (0, -w), (-w, -shift), (-shift, end) per axis).
torch::Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window_height, int64_t window_width,
                                  int64_t shift_height, int64_t shift_width);
inline torch::Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window, int64_t shift) {
  return shifted_window_mask(height, width, window, window, shift, shift);
}

// timm's Mlp: fc1 -> GELU -> fc2 (state-dict names "fc1", "fc2").
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  FastLinear fc1_{nullptr};
  FastLinear fc2_{nullptr};
};
TORCH_MODULE(Mlp);

// Swin/SwinIR's WindowAttention: "qkv", "proj", "relative_position_bias_table" and, when the architecture
// stores it, the "relative_position_index" buffer (HAT and DRCT pass the index in instead). The stored buffer is
// loaded but not read (indices from a file are not trusted): forward uses `index` or the one computed here.
class WindowAttentionImpl : public torch::nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t window, int64_t num_heads, bool qkv_bias, bool stores_index);
  // x: (nW * B, window^2, dim); mask: (nW, window^2, window^2) or undefined; index: relative_position_index for
  // the window on x's device, or undefined for the one computed at construction.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {}, const torch::Tensor& index = {});

 private:
  int64_t window_;
  int64_t num_heads_;
  double scale_;
  torch::Tensor position_index_;  // relative_position_index(window)
  torch::Tensor relative_position_bias_table_;
  FastLinear qkv_{nullptr};
  FastLinear proj_{nullptr};
};
TORCH_MODULE(WindowAttention);

// Restormer-style transposed ("channel") attention, as DITN's ISA and OmniSR's Channel_Attention compute it:
// softmax((normalize(q) @ normalize(k)^T) * temperature) @ v, q and k L2-normalised along their last (token)
// dimension; q, k, v are (..., channels, tokens) and `temperature` broadcasts onto the (..., channels,
// channels) logits.
torch::Tensor cosine_channel_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& temperature);

// SwinIR's PatchEmbed for patch size 1 (HAT, DRCT, ...): image_to_tokens, then LayerNorm "norm" when the
// model has patch_norm.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t dim, bool patch_norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(PatchEmbed);

// Swin's (shifted) window self-attention on a (B, H, W, C) map, H and W multiples of `window`: rolls by
// -shift, runs `attention` per window (with `mask`, shifted_window_mask for this H x W, when shift > 0;
// `index` as WindowAttention::forward takes it), reverses windows and roll. Returns (B, H*W, C) tokens.
torch::Tensor shifted_window_attention(const torch::Tensor& x, WindowAttention& attention, int64_t window,
                                       int64_t shift, const torch::Tensor& mask, const torch::Tensor& index = {});

// The roll / partition / reverse / roll-back of shifted_window_attention around any per-window attention (e.g.
// Swin2SR's cosine attention): `attend` maps (nW * B, window^2, C) windows to attended windows (with the mask
// it needs for shift > 0). x: (B, H, W, C), H and W multiples of `window`; returns (B, H*W, C') tokens, C' being
// the attended windows' channels (ATD attends windows of packed q, k, v: C = 3 * C').
torch::Tensor apply_in_shifted_windows(const torch::Tensor& x,
                                       const std::function<torch::Tensor(const torch::Tensor&)>& attend,
                                       int64_t window, int64_t shift);

// SwinIR's SwinTransformerBlock (also DRCT's): x + W-MSA(norm1(x)), then x + mlp(norm2(x)); "norm1", "attn"
// (storing its relative_position_index), "norm2", "mlp" and, for shifted blocks, the "attn_mask" buffer for
// the training resolution (loaded, not used: the network computes the mask for the actual size once per forward
// and passes it to every block). As in Python, a training resolution <= window turns the shift off and shrinks
// the window to that resolution.
class SwinTransformerBlockImpl : public torch::nn::Module {
 public:
  SwinTransformerBlockImpl(int64_t dim, int64_t resolution, int64_t num_heads, int64_t window, int64_t shift,
                           int64_t mlp_hidden_features, bool qkv_bias);
  // x: (B, height * width, dim) tokens; height and width multiples of the window. shifted_mask:
  // shifted_window_mask(height, width, window, window / 2) on x's device, used by shifted blocks only.
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const torch::Tensor& shifted_mask);

 private:
  int64_t window_;
  int64_t shift_;
  torch::nn::LayerNorm norm1_{nullptr};
  WindowAttention attn_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  Mlp mlp_{nullptr};
};
TORCH_MODULE(SwinTransformerBlock);

// The per-window region labels behind shifted_window_mask: (nW, wh*ww) with row region * 3 + column region, the
// regions along each axis being [0, size - window), [size - window, size - shift) and [size - shift, size).
// Architectures whose queries and keys use different windows (SRFormer) compare two such label sets.
torch::Tensor shifted_window_labels(int64_t height, int64_t width, int64_t window_height, int64_t window_width,
                                    int64_t shift_height, int64_t shift_width);

class TokenDepthwiseConv;

// The convolutional feed-forward network of SRFormer and ATD (ConvFFN) on (B, H*W, C) tokens: GELU(fc1(x)), plus
// GELU(depthwise conv) of that on the H x W image ("dwconv.depthwise_conv.0", kernel_size x kernel_size), then
// fc2 back to `features`.
class ConvFFNImpl : public torch::nn::Module {
 public:
  ConvFFNImpl(int64_t features, int64_t hidden_features, int64_t kernel_size);
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width);

 private:
  FastLinear fc1_{nullptr};
  std::shared_ptr<TokenDepthwiseConv> dwconv_;
  FastLinear fc2_{nullptr};
};
TORCH_MODULE(ConvFFN);

}  // namespace uprez
