#include "diffusion/blocks/feed_forward.h"

#include <algorithm>
#include <vector>

namespace uprez {
namespace feed_forward {

constexpr int64_t kChunkBytes = int64_t{64} << 20;

}  // namespace feed_forward

GegluImpl::GegluImpl(int64_t dim_in, int64_t dim_out) {
  proj = register_module("proj", FastLinear(dim_in, dim_out * 2));
}

torch::Tensor GegluImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> parts = proj->forward(x).chunk(2, -1);
  return parts[0] * torch::gelu(parts[1]);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t mult) {
  const int64_t inner = dim * mult;
  geglu_ = Geglu(dim, inner);
  out_ = FastLinear(inner, dim);
  net = register_module("net", torch::nn::ModuleList());
  net->push_back(geglu_);
  net->push_back(torch::nn::Dropout());
  net->push_back(out_);
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  // Tokens go through in chunks whose GEGLU projection (2 * inner values per token) stays under kChunkBytes: the
  // result is the same row for row, and a 256 px latent's 16,384 x 2 tokens no longer hold 1 GB at once.
  const int64_t inner = out_->options.in_features();
  const int64_t tokens = x.numel() / x.size(-1);
  const int64_t rows = std::max<int64_t>(1, feed_forward::kChunkBytes / (2 * inner * x.element_size()));
  if (tokens <= rows) return out_->forward(geglu_->forward(x));
  const torch::Tensor flat = x.reshape({tokens, x.size(-1)});
  torch::Tensor out = torch::empty({tokens, out_->options.out_features()}, x.options());
  for (int64_t row = 0; row < tokens; row += rows) {
    const int64_t n = std::min(rows, tokens - row);
    out.narrow(0, row, n).copy_(out_->forward(geglu_->forward(flat.narrow(0, row, n))));
  }
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out.size(-1);
  return out.view(shape);
}

}  // namespace uprez
