#include "nn/chunked_attention.h"

#include <algorithm>
#include <limits>

#include "nn/fast_matmul.h"

namespace uprez {
namespace chunked_attention_impl {

// Scores of a (rows, keys) block: q k^T * scale + mask, in float32 for half-precision inputs.
torch::Tensor scores(const torch::Tensor& q, const torch::Tensor& k, double scale, const torch::Tensor& mask) {
  torch::Tensor s = fast_matmul(q, k.transpose(-2, -1));
  if (s.scalar_type() == torch::kHalf || s.scalar_type() == torch::kBFloat16) s = s.to(torch::kFloat32);
  s.mul_(scale);
  if (mask.defined()) s.add_(mask.to(s.scalar_type()));
  return s;
}

torch::Tensor mask_block(const torch::Tensor& mask, int64_t row, int64_t rows, int64_t col, int64_t cols) {
  if (!mask.defined()) return mask;
  torch::Tensor m = mask;
  if (m.dim() >= 2 && m.size(-2) != 1) m = m.narrow(-2, row, rows);
  if (m.dim() >= 1 && m.size(-1) != 1) m = m.narrow(-1, col, cols);
  return m;
}

// One block of query rows against all keys at once.
torch::Tensor rows_at_once(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                           const torch::Tensor& mask) {
  torch::Tensor p = scores(q, k, scale, mask).softmax(-1);
  return fast_matmul(p.to(v.scalar_type()), v);
}

// One block of query rows against the keys in chunks of `cols`, with a running maximum and sum.
torch::Tensor rows_in_key_chunks(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                 double scale, const torch::Tensor& mask, int64_t row, int64_t cols) {
  const int64_t keys = k.size(-2);
  torch::Tensor running_max, running_sum, acc;
  for (int64_t col = 0; col < keys; col += cols) {
    const int64_t n = std::min(cols, keys - col);
    torch::Tensor s = scores(q, k.narrow(-2, col, n), scale, mask_block(mask, row, q.size(-2), col, n));
    torch::Tensor block_max = std::get<0>(s.max(-1, /*keepdim=*/true));
    torch::Tensor new_max = running_max.defined() ? torch::maximum(running_max, block_max) : block_max;
    s.sub_(new_max).exp_();
    torch::Tensor part = fast_matmul(s.to(v.scalar_type()), v.narrow(-2, col, n)).to(s.scalar_type());
    if (!acc.defined()) {
      running_sum = s.sum(-1, /*keepdim=*/true);
      acc = part;
    } else {
      torch::Tensor correction = (running_max - new_max).exp_();
      running_sum.mul_(correction).add_(s.sum(-1, /*keepdim=*/true));
      acc.mul_(correction).add_(part);
    }
    running_max = new_max;
  }
  return acc.div_(running_sum).to(v.scalar_type());
}

}  // namespace chunked_attention_impl

torch::Tensor chunked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                double scale, const torch::Tensor& mask, int64_t chunk_bytes) {
  const int64_t queries = q.size(-2), keys = k.size(-2);
  const int64_t batch = std::max<int64_t>(1, q.numel() / std::max<int64_t>(1, queries * q.size(-1)));
  const int64_t budget = std::max<int64_t>(1, chunk_bytes / 4);  // float32 scores
  if (batch * queries * keys <= budget) return chunked_attention_impl::rows_at_once(q, k, v, scale, mask);
  // Rows per chunk with all keys at once; below 64 rows the keys are chunked too.
  int64_t rows = budget / (batch * keys);
  int64_t cols = keys;
  if (rows < 64) {
    rows = std::min<int64_t>(64, queries);
    cols = std::max<int64_t>(64, budget / (batch * rows));
  }
  rows = std::min(rows, queries);
  std::vector<int64_t> out_shape = q.sizes().vec();
  out_shape.back() = v.size(-1);
  torch::Tensor out = torch::empty(out_shape, v.options());
  for (int64_t row = 0; row < queries; row += rows) {
    const int64_t n = std::min(rows, queries - row);
    const torch::Tensor qi = q.narrow(-2, row, n);
    torch::Tensor part = cols >= keys
                             ? chunked_attention_impl::rows_at_once(
                                   qi, k, v, scale, chunked_attention_impl::mask_block(mask, row, n, 0, keys))
                             : chunked_attention_impl::rows_in_key_chunks(qi, k, v, scale, mask, row, cols);
    out.narrow(-2, row, n).copy_(part);
  }
  return out;
}

}  // namespace uprez
