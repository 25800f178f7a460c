#include "nn/fast_conv.h"

#include <cmath>
#include <mutex>
#include <utility>
#include <vector>

#include "nn/im2col_gemm.h"
#include "nn/onednn_conv.h"
#include "nn/skip_init.h"

namespace uprez {

namespace fast_conv {

namespace F = torch::nn::functional;

// Plain (NCHW) inputs larger than this do not take the Winograd path (see forward_tensor).
constexpr int64_t kMaxPlainWinogradBytes = int64_t{64} << 20;

bool zero_padding_mode(const torch::nn::Conv2dOptions& options) {
  return c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()) != nullptr;
}

}  // namespace fast_conv

struct FastConv2dImpl::State {
  explicit State(ConvGeometry geometry) : onednn(geometry) {}
  OneDnnConvolution onednn;
  std::mutex mutex;
  std::string last_implementation = "none";
};

FastConv2dImpl::FastConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                               int64_t padding, bool bias, int64_t groups, int64_t dilation)
    : FastConv2dImpl(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size)
                         .stride(stride)
                         .padding(padding)
                         .bias(bias)
                         .groups(groups)
                         .dilation(dilation)) {}

FastConv2dImpl::FastConv2dImpl(torch::nn::Conv2dOptions options_) : options(std::move(options_)) { reset(); }

void FastConv2dImpl::reset() {
  TORCH_CHECK(options.in_channels() % options.groups() == 0 && options.out_channels() % options.groups() == 0,
              "FastConv2d: channels must be divisible by groups");
  const auto& kernel = *options.kernel_size();
  weight = register_parameter(
      "weight", torch::empty({options.out_channels(), options.in_channels() / options.groups(), kernel[0], kernel[1]}));
  if (options.bias())
    bias = register_parameter("bias", torch::empty({options.out_channels()}));
  else
    bias = register_parameter("bias", torch::Tensor(), /*requires_grad=*/false);
  reset_parameters();
  state_ = std::make_shared<State>(ConvGeometry(options));
}

void FastConv2dImpl::reset_parameters() {
  // As torch::nn::Conv2d.
  if (SkipInit::active()) return;  // the weights are about to be loaded
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = weight.size(1) * weight.size(2) * weight.size(3);
    const double bound = 1 / std::sqrt(static_cast<double>(fan_in));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void FastConv2dImpl::pretty_print(std::ostream& stream) const {
  const auto& padding = state_->onednn.geometry().padding;
  stream << "uprez::FastConv2d(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ", stride=" << options.stride() << ", padding=["
         << padding[0] << ", " << padding[2] << "]";
  if ((*options.dilation())[0] != 1 || (*options.dilation())[1] != 1) stream << ", dilation=" << options.dilation();
  if (options.groups() != 1) stream << ", groups=" << options.groups();
  if (!options.bias()) stream << ", bias=false";
  stream << ")";
}

std::string FastConv2dImpl::last_implementation() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->last_implementation;
}

void FastConv2dImpl::set_last_implementation(std::string name) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->last_implementation = std::move(name);
}

bool FastConv2dImpl::weights_ready() const {
  const bool grad = torch::GradMode::is_enabled() && (weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  return fast_conv_enabled() && !grad && fast_conv::zero_padding_mode(options) && weight.device().is_cpu() &&
         weight.scalar_type() == torch::kFloat &&
         (!bias.defined() || (bias.device().is_cpu() && bias.scalar_type() == torch::kFloat));
}

bool FastConv2dImpl::fast_path_applies(const torch::Tensor& x) const {
  return weights_ready() && x.defined() && x.dim() == 4 && x.numel() > 0 && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && !(torch::GradMode::is_enabled() && x.requires_grad());
}

bool FastConv2dImpl::winograd_applies(int64_t height, int64_t width, const ConvOptions& conv) const {
  return conv.winograd && state_->onednn.geometry().winograd_eligible(height, width);
}

bool FastConv2dImpl::gemm_applies(int64_t height, int64_t width, const ConvOptions& conv) const {
  return conv.sgemm && options.groups() == 1 && !winograd_applies(height, width, conv);
}

torch::Tensor FastConv2dImpl::torch_forward(const torch::Tensor& x) const {
  const auto& padding = state_->onednn.geometry().padding;
  torch::Tensor input = x;
  std::vector<int64_t> conv_padding{padding[0], padding[2]};
  const bool symmetric = padding[0] == padding[1] && padding[2] == padding[3];
  if (!fast_conv::zero_padding_mode(options) || !symmetric) {
    fast_conv::F::PadFuncOptions::mode_t mode = torch::kConstant;
    if (c10::get_if<torch::enumtype::kReflect>(&options.padding_mode())) mode = torch::kReflect;
    if (c10::get_if<torch::enumtype::kReplicate>(&options.padding_mode())) mode = torch::kReplicate;
    if (c10::get_if<torch::enumtype::kCircular>(&options.padding_mode())) mode = torch::kCircular;
    input = fast_conv::F::pad(x, fast_conv::F::PadFuncOptions({padding[2], padding[3], padding[0], padding[1]}).mode(mode));
    conv_padding = {0, 0};
  }
  return torch::conv2d(input, weight, bias, *options.stride(), conv_padding, *options.dilation(), options.groups());
}

torch::Tensor FastConv2dImpl::forward(const torch::Tensor& x, const PostOps& post) {
  return forward_tensor(x, post, ConvOptions::defaults());
}

torch::Tensor FastConv2dImpl::forward_tensor(const torch::Tensor& x, const PostOps& post, const ConvOptions& conv) const {
  // Plain tensors only gain from Winograd (the two layout conversions cost more than direct oneDNN saves), and
  // not above kMaxPlainWinogradBytes, where the blocked copies of input and output would double the memory.
  const bool small_enough = x.numel() * x.element_size() <= fast_conv::kMaxPlainWinogradBytes;
  if (fast_path_applies(x) && small_enough && winograd_applies(x.size(2), x.size(3), conv))
    return run_fast(FeatureMap(x), nullptr, post, conv).to_tensor(x.suggest_memory_format());
  const bool gemm = fast_path_applies(x) && gemm_applies(x.size(2), x.size(3), conv);
  const torch::Tensor y = run_fallback(x, post, gemm);
  return gemm ? y.contiguous(x.suggest_memory_format()) : y;  // im2col + GEMM writes NCHW
}

FeatureMap FastConv2dImpl::run(const FeatureMap& x, const PostOps& post, const ConvOptions& conv) const {
  TORCH_CHECK(x.defined(), "FastConv2d::run: undefined input");
  if (x.blocked() && weights_ready()) return run_fast(x, nullptr, post, conv);
  return FeatureMap::dense(forward_tensor(x.to_tensor(), post, conv));
}

void FastConv2dImpl::run_into(const FeatureMap& x, const FeatureMap& out, const PostOps& post,
                              const ConvOptions& conv) const {
  TORCH_CHECK(x.defined() && out.defined(), "FastConv2d::run_into: undefined map");
  if (x.blocked() && out.blocked() && weights_ready()) {
    run_fast(x, &out, post, conv);
    return;
  }
  FeatureMap(out).copy_(run(x, post, conv));
}

FeatureMap FastConv2dImpl::run_fast(const FeatureMap& x, const FeatureMap* out, const PostOps& post,
                                    const ConvOptions& conv) const {
  torch::NoGradGuard no_grad;
  const bool gemm = gemm_applies(x.height(), x.width(), conv);
  std::string implementation;
  FeatureMap result;
  if (!gemm) result = state_->onednn.run(x, out, post, weight, bias, conv.winograd, implementation);
  if (result.defined()) {
    set_last_implementation(std::move(implementation));
    return result;
  }
  result = FeatureMap(run_fallback(x.to_tensor(), post, gemm));
  if (out != nullptr) FeatureMap(*out).copy_(result);
  return result;
}

torch::Tensor FastConv2dImpl::run_fallback(const torch::Tensor& x, const PostOps& post, bool gemm) const {
  set_last_implementation(gemm ? "im2col+gemm" : "torch");
  return post.apply(gemm ? im2col_gemm_conv2d(x, weight, bias, state_->onednn.geometry()) : torch_forward(x));
}

}  // namespace uprez
