// Inference convolution: oneDNN directly on the CPU for float32 (Winograd for 3x3 stride-1 where it is faster,
// fused bias/activation/residual), LibTorch's conv2d elsewhere (CUDA, other dtypes, autograd).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace uprez {

// Process-wide switches, for benchmarks and for comparing against LibTorch. The environment variable
// UPREZ_FAST_CONV=0 turns the oneDNN path off at start-up, UPREZ_FAST_CONV=direct keeps it but without Winograd,
// UPREZ_FAST_CONV=sgemm runs every ungrouped convolution as im2col + GEMM (no Winograd).
void set_fast_conv_enabled(bool enabled);
bool fast_conv_enabled();
void set_fast_conv_winograd(bool enabled);
bool fast_conv_winograd();
// im2col + GEMM (oneDNN's JIT sgemm over column matrices of about 16 MiB) for the ungrouped convolutions that do
// not run as Winograd, instead of oneDNN's direct convolution (ncnn's use_sgemm_convolution; off by default:
// oneDNN's direct kernels are faster here, see bench/ncnn_compare.sh).
void set_fast_conv_sgemm(bool enabled);
bool fast_conv_sgemm();

// Activations passed between FastConv2d layers. On the CPU in float32 (with the fast path enabled and no autograd)
// it holds oneDNN's blocked layout nChw16c: a contiguous (N, ceil(C/16), H, W, 16) float tensor whose padding
// channels are zero, so that a chain of convolutions converts layouts only at its ends (blocked maps carry no
// autograd history). Elsewhere it wraps the ordinary 4-D tensor and every operation is plain LibTorch.
class FeatureMap {
 public:
  FeatureMap() = default;
  // From a 4-D NCHW or channels_last tensor (converted to the blocked layout where that applies).
  explicit FeatureMap(const torch::Tensor& x);
  // Wraps `x` without converting it.
  static FeatureMap dense(torch::Tensor x);
  // An uninitialised map of `channels` channels with `like`'s batch, size, device, dtype and representation
  // (padding channels zeroed), e.g. a buffer whose channel slices convolutions write into (run_into).
  static FeatureMap empty_like(const FeatureMap& like, int64_t channels);

  bool defined() const { return data_.defined(); }
  bool blocked() const { return blocked_; }
  int64_t batch() const { return data_.size(0); }
  int64_t channels() const { return channels_; }
  int64_t height() const { return data_.size(2); }
  int64_t width() const { return data_.size(3); }
  // The storage: the 5-D blocked tensor, or the wrapped 4-D tensor.
  const torch::Tensor& data() const { return data_; }

  // A 4-D tensor (NCHW contiguous, or `format`); the wrapped tensor itself when not blocked.
  torch::Tensor to_tensor(c10::MemoryFormat format = c10::MemoryFormat::Contiguous) const;

  // Channels [start, start + length) as a view. Blocked maps need start and length multiples of 16 (or the slice
  // reaching the last channel); with batch 1 the view is contiguous, so convolutions read and write it in place.
  FeatureMap narrow_channels(int64_t start, int64_t length) const;
  // Concatenation along channels (one copy; in the blocked layout when every part but the last has a multiple
  // of 16 channels).
  static FeatureMap cat(const std::vector<FeatureMap>& parts);

  // Element-wise arithmetic in the storage layout (the other operand is converted when representations differ).
  FeatureMap add(const FeatureMap& other, double alpha = 1) const;  // this + alpha * other
  FeatureMap mul(double factor) const;
  FeatureMap& add_(const FeatureMap& other, double alpha = 1);
  FeatureMap& mul_(double factor);
  FeatureMap& copy_(const FeatureMap& source);
  // A copy with its own storage.
  FeatureMap clone() const;
  // Nearest-neighbour upscaling by an integer factor (F.interpolate(mode="nearest")).
  FeatureMap upsample_nearest(int64_t factor) const;
  // An element-wise LibTorch function (e.g. torch::silu) applied to the storage; padding channels stay zero.
  FeatureMap map(const std::function<torch::Tensor(const torch::Tensor&)>& elementwise) const;

 private:
  FeatureMap(torch::Tensor data, int64_t channels, bool blocked)
      : data_(std::move(data)), channels_(channels), blocked_(blocked) {}
  FeatureMap converted_like(const FeatureMap& target) const;

  torch::Tensor data_;
  int64_t channels_ = 0;
  bool blocked_ = false;
  friend class FastConv2dImpl;
};

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

  // NCHW or channels_last in, the same memory format out.
  torch::Tensor forward(const torch::Tensor& x, const PostOps& post = {});
  // Chains of convolutions: the output has the input's representation (blocked maps stay blocked; dense maps run
  // as forward does).
  FeatureMap run(const FeatureMap& x, const PostOps& post = {}) const;
  // As run, writing into `out` (e.g. a channel slice of a larger map: concatenation without copies).
  void run_into(const FeatureMap& x, const FeatureMap& out, const PostOps& post = {}) const;

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
  bool winograd_eligible(int64_t height, int64_t width) const;
  bool gemm_eligible(int64_t height, int64_t width) const;
  torch::Tensor torch_forward(const torch::Tensor& x) const;
  torch::Tensor gemm_forward(const torch::Tensor& x) const;
  torch::Tensor forward_tensor(const torch::Tensor& x, const PostOps& post) const;
  FeatureMap run_fast(const FeatureMap& x, const FeatureMap* out, const PostOps& post) const;

  struct State;
  std::shared_ptr<State> state_;
};
TORCH_MODULE(FastConv2d);

// Appends the post-op equivalent of an activation module (ReLU, LeakyReLU, PReLU) to `post`; false (and `post`
// unchanged) for any other module, which the caller then runs itself.
bool append_activation(PostOps& post, const torch::nn::Module& activation);

}  // namespace uprez
