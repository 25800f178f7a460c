// Attention that never holds a whole sequence x sequence score matrix: queries in row chunks and, for very long
// key sequences, keys in column chunks combined with a running maximum and sum (flash-attention style).
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace uprez {

// The score memory one chunk may take (bytes), by default.
constexpr int64_t kAttentionChunkBytes = int64_t{64} << 20;

// softmax(q k^T * scale + mask) v for q (..., N, d), k (..., M, d), v (..., M, e) with the same leading dimensions,
// and an optional additive `mask` broadcastable to (N, M). Equal to the plain computation within float rounding;
// the scores of one chunk take at most `chunk_bytes` (a plain computation when the whole matrix fits). Matrix
// products on fast_matmul; softmax in float32 for half-precision inputs.
torch::Tensor chunked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                double scale, const torch::Tensor& mask = {},
                                int64_t chunk_bytes = kAttentionChunkBytes);

}  // namespace uprez
