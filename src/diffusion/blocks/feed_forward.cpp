#include "diffusion/blocks/feed_forward.h"

namespace uprez {

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

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) { return out_->forward(geglu_->forward(x)); }

}  // namespace uprez
