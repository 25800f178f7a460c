// Inference matrix products: oneDNN's JIT sgemm on the CPU for float32 (Debian's LibTorch 1.13 sends mm, bmm and
// addmm to the reference BLAS, 5-35x slower), torch::matmul / F::linear elsewhere (CUDA, other dtypes, autograd).
#pragma once

#include <cstdint>
#include <ostream>

#include <torch/torch.h>

namespace uprez {

// Process-wide switch, for benchmarks and for comparing against LibTorch; UPREZ_FAST_MATMUL=0 (or off, false)
// turns the oneDNN path off at start-up.
void set_fast_matmul_enabled(bool enabled);
bool fast_matmul_enabled();

// torch::matmul for operands of at least two dimensions (batch dimensions broadcast); any strides.
torch::Tensor fast_matmul(const torch::Tensor& a, const torch::Tensor& b);

// F::linear: x (..., in) times weight (out, in) transposed, plus bias (out) when defined.
torch::Tensor fast_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// A drop-in replacement for torch::nn::Linear in inference code: the same options and initialisation, parameters
// registered as "weight" and "bias" (so state-dict names match), forward through fast_linear.
class FastLinearImpl : public torch::nn::Cloneable<FastLinearImpl> {
 public:
  FastLinearImpl(int64_t in_features, int64_t out_features);
  explicit FastLinearImpl(torch::nn::LinearOptions options);

  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LinearOptions options;
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(FastLinear);

}  // namespace uprez
