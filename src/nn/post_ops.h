// PostOps: what happens to a convolution's output (scale, activations, residual sums), fused into oneDNN's
// convolution where it can be and applied in place after it where not.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "nn/feature_map.h"

namespace uprez {

// What happens to a convolution's output, in the order the calls list it, e.g.
// PostOps().leaky_relu(0.2), PostOps().prelu(slopes), PostOps().scale(0.2).add(x).
// Fused into the oneDNN convolution where oneDNN supports it (Winograd: relu and add; direct: all but PReLU), else
// applied in place right after it (LibTorch's element-wise kernels, oneDNN's PReLU primitive).
class PostOps {
 public:
  enum class Kind { Scale, Relu, LeakyRelu, PRelu, Add };
  struct Op {
    Kind kind;
    double value = 0;       // Scale: factor; LeakyRelu: negative slope; Add: alpha
    torch::Tensor weight;   // PRelu: 1 or C slopes
    FeatureMap residual;    // Add: a map or tensor of the output's shape
  };

  PostOps& scale(double factor);
  PostOps& relu();
  PostOps& leaky_relu(double negative_slope);
  PostOps& prelu(const torch::Tensor& weight);
  PostOps& add(const torch::Tensor& residual, double alpha = 1);  // output + alpha * residual
  PostOps& add(const FeatureMap& residual, double alpha = 1);
  // The operations of `more`, after these.
  PostOps& append(const PostOps& more);

  bool empty() const { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }
  // The operations with LibTorch functions (the fallback path).
  torch::Tensor apply(torch::Tensor y) const;

 private:
  std::vector<Op> ops_;
};

// Appends the post-op equivalent of an activation module (ReLU, LeakyReLU, PReLU) to `post`; false (and `post`
// unchanged) for any other module, which the caller then runs itself.
bool append_activation(PostOps& post, const torch::nn::Module& activation);

// PReLU on blocked map storage in place with oneDNN's JIT PReLU primitive (its post-op form exists only as a
// reference implementation in oneDNN 2.6, and LibTorch's prelu does not know the blocked layout).
void prelu_in_place(const torch::Tensor& blocked_storage, int64_t channels, const torch::Tensor& weight);

}  // namespace uprez
