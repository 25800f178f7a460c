#include "nn/attention.h"

#include "nn/fast_matmul.h"

namespace uprez {

torch::Tensor add_window_mask(const torch::Tensor& logits, const torch::Tensor& mask) {
  const int64_t windows = mask.size(0);
  const int64_t heads = logits.size(1), n = logits.size(2), m = logits.size(3);
  return (logits.view({-1, windows, heads, n, m}) + mask.to(logits.options()).unsqueeze(1).unsqueeze(0))
      .view({-1, heads, n, m});
}

torch::Tensor scaled_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double scale, const torch::Tensor& bias, const torch::Tensor& mask) {
  torch::Tensor logits = fast_matmul(q * scale, k.transpose(-2, -1));
  if (bias.defined()) logits = logits + bias;
  if (mask.defined()) logits = add_window_mask(logits, mask);
  return fast_matmul(logits.softmax(-1), v);
}

}  // namespace uprez
