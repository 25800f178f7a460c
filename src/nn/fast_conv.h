// FastConv2d: inference convolution with oneDNN called directly on the CPU for float32 (Winograd for 3x3 stride-1
// where it is faster, fused bias/activation/residual, im2col + GEMM on request), LibTorch's conv2d elsewhere
// (CUDA, other dtypes, autograd).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "nn/conv_options.h"
#include "nn/feature_map.h"
#include "nn/post_ops.h"

namespace uprez {

// A drop-in replacement for torch::nn::Conv2d in inference code: the same options, parameters registered as
// "weight" and "bias" (so state-dict names match), the same results (Winograd rounds differently: about 1e-6 of
// the output's magnitude per layer), plus optional post-operations and the FeatureMap path. oneDNN runs only
// without autograd (NoGradGuard / InferenceMode, as Model runs networks), with at::get_num_threads() threads (the
// same OpenMP runtime). Weights are reordered once into oneDNN's format (again after they change: keyed on data
// pointer and version; parameters created inside InferenceMode have no version, so replace rather than modify
// them in place) and primitives are cached per input shape and post-ops.
class FastConv2dImpl : public torch::nn::Cloneable<FastConv2dImpl> {
 public:
  FastConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
                 int64_t padding = 0, bool bias = true, int64_t groups = 1, int64_t dilation = 1);
  explicit FastConv2dImpl(torch::nn::Conv2dOptions options);

  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  // NCHW or channels_last in, the same memory format out (ConvOptions::defaults()).
  torch::Tensor forward(const torch::Tensor& x, const PostOps& post = {});
  // forward with the algorithms `conv` allows.
  torch::Tensor forward_tensor(const torch::Tensor& x, const PostOps& post, const ConvOptions& conv) const;
  // Chains of convolutions: the output has the input's representation (blocked maps stay blocked; dense maps run
  // as forward does).
  FeatureMap run(const FeatureMap& x, const PostOps& post = {}, const ConvOptions& conv = ConvOptions::defaults()) const;
  // As run, writing into `out` (e.g. a channel slice of a larger map: concatenation without copies).
  void run_into(const FeatureMap& x, const FeatureMap& out, const PostOps& post = {},
                const ConvOptions& conv = ConvOptions::defaults()) const;

  // How the last call ran: a oneDNN implementation name such as "jit_wino_4x3:avx512_core", or "torch".
  std::string last_implementation() const;

  torch::nn::Conv2dOptions options;
  torch::Tensor weight;
  torch::Tensor bias;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(PostOps())})

 private:
  bool weights_ready() const;
  bool fast_path_applies(const torch::Tensor& x) const;
  bool winograd_applies(int64_t height, int64_t width, const ConvOptions& conv) const;
  bool gemm_applies(int64_t height, int64_t width, const ConvOptions& conv) const;
  void set_last_implementation(std::string name) const;
  torch::Tensor torch_forward(const torch::Tensor& x) const;
  // The oneDNN path, else im2col + GEMM or LibTorch as `conv` and the shape say.
  FeatureMap run_fast(const FeatureMap& x, const FeatureMap* out, const PostOps& post, const ConvOptions& conv) const;
  // im2col + GEMM or LibTorch, with `post` applied.
  torch::Tensor run_fallback(const torch::Tensor& x, const PostOps& post, bool gemm) const;

  struct State;
  std::shared_ptr<State> state_;
};
TORCH_MODULE(FastConv2d);

}  // namespace uprez
