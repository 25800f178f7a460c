// diffusers' FeedForward with the GEGLU activation (net.0.proj -> value * gelu(gate), net.2 back to the width),
// the MLP of every SD transformer block.
#pragma once
#include <cstdint>

#include <torch/torch.h>

#include "nn/fast_matmul.h"

namespace uprez {

class GegluImpl : public torch::nn::Module {
 public:
  GegluImpl(int64_t dim_in, int64_t dim_out);
  torch::Tensor forward(const torch::Tensor& x);
  FastLinear proj{nullptr};
};
TORCH_MODULE(Geglu);

class FeedForwardImpl : public torch::nn::Module {
 public:
  // inner = dim * mult, as diffusers' default.
  FeedForwardImpl(int64_t dim, int64_t mult = 4);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList net{nullptr};  // net.0 GEGLU, net.1 dropout (no weights), net.2 Linear

 private:
  Geglu geglu_{nullptr};
  FastLinear out_{nullptr};
};
TORCH_MODULE(FeedForward);

}  // namespace uprez
