// Scaled dot-product attention for inference (matrix products on fast_matmul), with the additive relative-position
// bias and per-window masks of window-attention transformers.
#pragma once

#include <torch/torch.h>

namespace uprez {

// softmax((q * scale) @ k^T + bias [+ mask]) @ v for (B_, heads, N, d) queries/keys/values, computed with
// matmul then add (never baddbmm with beta=0, which can return NaN in LibTorch 1.13). `bias` (optional)
// broadcasts onto (B_, heads, N, M); `mask` (optional, (nW, N, M)) is added per window with B_ = batch * nW.
torch::Tensor scaled_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double scale, const torch::Tensor& bias = {}, const torch::Tensor& mask = {});

// Adds a (nW, N, M) window mask to (B_, heads, N, M) attention logits where B_ = batch * nW.
torch::Tensor add_window_mask(const torch::Tensor& logits, const torch::Tensor& mask);

}  // namespace uprez
