#include "arch/fast_conv.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.hpp>

namespace uprez {

namespace {

namespace F = torch::nn::functional;
using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

constexpr int64_t kBlock = 16;  // nChw16c
// Winograd pays off from 16x16 pixels (1.4x faster than direct there, 2-2.7x from 128x128) and more than 16 input
// channels (16 -> 16 at 256x256 is 2x slower than direct; 24 -> 24 1.9x faster); measured on AVX-512, 2 threads.
constexpr int64_t kMinWinogradPixels = 16 * 16;

int64_t blocks_of(int64_t channels) { return (channels + kBlock - 1) / kBlock; }

// UPREZ_FAST_CONV: unset or anything else: on with Winograd; "0"/"off"/"false": off; "direct": on, no Winograd;
// "sgemm": on, no Winograd, im2col + GEMM for every ungrouped convolution.
int environment_mode() {
  const char* value = std::getenv("UPREZ_FAST_CONV");
  if (value == nullptr) return 2;
  const std::string mode = value;
  if (mode == "0" || mode == "off" || mode == "false") return 0;
  if (mode == "direct") return 1;
  if (mode == "sgemm") return 3;
  return 2;
}
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{environment_mode() > 0};
  return flag;
}
std::atomic<bool>& winograd_flag() {
  static std::atomic<bool> flag{environment_mode() == 2};
  return flag;
}
std::atomic<bool>& sgemm_flag() {
  static std::atomic<bool> flag{environment_mode() == 3};
  return flag;
}

// The column matrices of the im2col + GEMM path stay near this size (output rows are done in bands).
constexpr int64_t kGemmColumnBytes = int64_t{16} << 20;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// oneDNN (OpenMP build, the same libgomp as LibTorch) runs omp_get_max_threads() threads of the calling thread,
// which at::set_num_threads sets; a thread that has not run a LibTorch parallel operation yet is initialised first.
void prepare_threads() { at::internal::lazy_init_num_threads(); }

// Scratch memory for primitives (user-managed scratchpad: primitives stay shareable between threads), kept
// per thread so that Winograd's large transform buffers are not page-faulted in on every call.
void* scratchpad(size_t bytes) {
  thread_local torch::Tensor buffer;
  if (!buffer.defined() || static_cast<size_t>(buffer.numel()) < bytes) {
    buffer = torch::Tensor();
    buffer = torch::empty({static_cast<int64_t>(std::max<size_t>(bytes, 1))}, torch::kUInt8);
  }
  return buffer.data_ptr();
}

memory::desc blocked_desc(int64_t n, int64_t c, int64_t h, int64_t w) {
  return memory::desc({n, c, h, w}, Dt::f32, Tag::nChw16c);
}

// The oneDNN description of a 4-D float tensor that is NCHW- or NHWC-contiguous; false for other strides.
bool plain_desc(const torch::Tensor& t, memory::desc& desc) {
  const memory::dims dims{t.size(0), t.size(1), t.size(2), t.size(3)};
  if (t.is_contiguous()) {
    desc = memory::desc(dims, Dt::f32, Tag::nchw);
  } else if (t.is_contiguous(c10::MemoryFormat::ChannelsLast)) {
    desc = memory::desc(dims, Dt::f32, Tag::nhwc);
  } else {
    return false;
  }
  return true;
}

void reorder(const memory::desc& from_desc, const void* from, const memory::desc& to_desc, void* to) {
  prepare_threads();
  memory source(from_desc, cpu_engine(), const_cast<void*>(from));
  memory destination(to_desc, cpu_engine(), to);
  dnnl::reorder(source, destination).execute(cpu_stream(), source, destination);
  cpu_stream().wait();
}

torch::Tensor blocked_storage(int64_t n, int64_t c, int64_t h, int64_t w) {
  return torch::empty({n, blocks_of(c), h, w, kBlock}, torch::TensorOptions().dtype(torch::kFloat));
}

// Whether FeatureMap keeps `x` in the blocked layout.
bool blocks(const torch::Tensor& x) {
  return fast_conv_enabled() && x.defined() && x.layout() == torch::kStrided && x.dim() == 4 &&
         x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.numel() > 0 &&
         !(torch::GradMode::is_enabled() && x.requires_grad());
}

int64_t version_of(const torch::Tensor& t) {
  return !t.defined() || t.is_inference() ? -1 : static_cast<int64_t>(t._version());
}

// Explicit zero padding (top, bottom, left, right) of the options for the given kernel and dilation.
std::array<int64_t, 4> explicit_padding(const torch::nn::Conv2dOptions& options) {
  const auto& kernel = *options.kernel_size();
  const auto& dilation = *options.dilation();
  if (const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding()))
    return {(**padding)[0], (**padding)[0], (**padding)[1], (**padding)[1]};
  if (c10::get_if<torch::enumtype::kValid>(&options.padding())) return {0, 0, 0, 0};
  // "same" (stride 1): PyTorch puts the odd pixel at the bottom/right.
  const int64_t total_h = dilation[0] * (kernel[0] - 1);
  const int64_t total_w = dilation[1] * (kernel[1] - 1);
  return {total_h / 2, total_h - total_h / 2, total_w / 2, total_w - total_w / 2};
}

bool zero_padding_mode(const torch::nn::Conv2dOptions& options) {
  return c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()) != nullptr;
}

std::string hex(double value) {
  std::ostringstream stream;
  stream << std::hexfloat << value;
  return stream.str();
}

// PReLU on a blocked map in place with oneDNN's JIT PReLU primitive (its post-op form exists only as a
// reference implementation in oneDNN 2.6, and LibTorch's prelu does not know the blocked layout).
void prelu_in_place(const torch::Tensor& data, int64_t channels, const torch::Tensor& weight) {
  const int64_t n = data.size(0), h = data.size(2), w = data.size(3);
  const memory::desc data_desc = blocked_desc(n, channels, h, w);
  torch::Tensor slopes = weight.detach().to(torch::kFloat).contiguous().view(-1);
  TORCH_CHECK(slopes.numel() == 1 || slopes.numel() == channels, "PReLU has ", slopes.numel(), " slopes for ",
              channels, " channels");
  if (slopes.numel() == 1) slopes = slopes.expand({channels}).contiguous();
  const memory::desc user_slopes_desc({1, channels, 1, 1}, Dt::f32, Tag::abcd);
  const dnnl::prelu_forward::primitive_desc pd(
      dnnl::prelu_forward::desc(dnnl::prop_kind::forward_inference, data_desc,
                                memory::desc({1, channels, 1, 1}, Dt::f32, Tag::any)),
      cpu_engine());
  memory slopes_memory(pd.weights_desc(), cpu_engine());
  reorder(user_slopes_desc, slopes.data_ptr(), pd.weights_desc(), slopes_memory.get_data_handle());
  memory data_memory(data_desc, cpu_engine(), data.data_ptr());
  dnnl::prelu_forward(pd).execute(
      cpu_stream(), {{DNNL_ARG_SRC, data_memory}, {DNNL_ARG_WEIGHTS, slopes_memory}, {DNNL_ARG_DST, data_memory}});
  cpu_stream().wait();
}

}  // namespace

void set_fast_conv_enabled(bool enabled) { enabled_flag() = enabled; }
bool fast_conv_enabled() { return enabled_flag(); }
void set_fast_conv_winograd(bool enabled) { winograd_flag() = enabled; }
bool fast_conv_winograd() { return winograd_flag(); }
void set_fast_conv_sgemm(bool enabled) { sgemm_flag() = enabled; }
bool fast_conv_sgemm() { return sgemm_flag(); }

// ---- FeatureMap ----

FeatureMap::FeatureMap(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "FeatureMap: expected a 4-D tensor, got ", x.sizes());
  channels_ = x.size(1);
  if (!blocks(x)) {
    data_ = x;
    return;
  }
  torch::NoGradGuard no_grad;
  torch::Tensor source = x;
  memory::desc source_desc;
  if (!plain_desc(source, source_desc)) {
    source = x.contiguous();
    plain_desc(source, source_desc);
  }
  data_ = blocked_storage(x.size(0), channels_, x.size(2), x.size(3));
  blocked_ = true;
  reorder(source_desc, source.data_ptr(), blocked_desc(x.size(0), channels_, x.size(2), x.size(3)), data_.data_ptr());
}

FeatureMap FeatureMap::dense(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4, "FeatureMap: expected a 4-D tensor, got ", x.sizes());
  const int64_t channels = x.size(1);
  return FeatureMap(std::move(x), channels, false);
}

FeatureMap FeatureMap::empty_like(const FeatureMap& like, int64_t channels) {
  TORCH_CHECK(like.defined(), "FeatureMap::empty_like: undefined map");
  if (!like.blocked_)
    return FeatureMap(torch::empty({like.batch(), channels, like.height(), like.width()}, like.data_.options()),
                      channels, false);
  torch::Tensor data = blocked_storage(like.batch(), channels, like.height(), like.width());
  if (channels % kBlock != 0) data.select(1, data.size(1) - 1).narrow(-1, channels % kBlock, kBlock - channels % kBlock).zero_();
  return FeatureMap(std::move(data), channels, true);
}

torch::Tensor FeatureMap::to_tensor(c10::MemoryFormat format) const {
  if (!blocked_) return data_;
  torch::NoGradGuard no_grad;
  const torch::Tensor source = data_.contiguous();
  torch::Tensor output =
      torch::empty({batch(), channels_, height(), width()}, data_.options().memory_format(format));
  memory::desc output_desc;
  if (!plain_desc(output, output_desc)) {  // only for odd formats: go through NCHW
    output = torch::empty({batch(), channels_, height(), width()}, data_.options());
    plain_desc(output, output_desc);
  }
  reorder(blocked_desc(batch(), channels_, height(), width()), source.data_ptr(), output_desc, output.data_ptr());
  return output;
}

FeatureMap FeatureMap::narrow_channels(int64_t start, int64_t length) const {
  TORCH_CHECK(start >= 0 && length > 0 && start + length <= channels_, "FeatureMap::narrow_channels: [", start, ", ",
              start + length, ") is outside ", channels_, " channels");
  if (!blocked_) return FeatureMap(data_.narrow(1, start, length), length, false);
  TORCH_CHECK(start % kBlock == 0 && (length % kBlock == 0 || start + length == channels_),
              "FeatureMap::narrow_channels: blocked maps split at multiples of 16 channels");
  return FeatureMap(data_.narrow(1, start / kBlock, blocks_of(length)), length, true);
}

FeatureMap FeatureMap::cat(const std::vector<FeatureMap>& parts) {
  TORCH_CHECK(!parts.empty(), "FeatureMap::cat: no parts");
  bool all_blocked = true, any_blocked = false;
  int64_t channels = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    all_blocked = all_blocked && parts[i].blocked_ && (i + 1 == parts.size() || parts[i].channels_ % kBlock == 0);
    any_blocked = any_blocked || parts[i].blocked_;
    channels += parts[i].channels_;
  }
  std::vector<torch::Tensor> tensors;
  for (const FeatureMap& part : parts) tensors.push_back(all_blocked ? part.data_ : part.to_tensor());
  if (all_blocked) return FeatureMap(torch::cat(tensors, 1), channels, true);
  torch::Tensor dense = torch::cat(tensors, 1);
  return any_blocked ? FeatureMap(dense) : FeatureMap::dense(dense);
}

FeatureMap FeatureMap::converted_like(const FeatureMap& target) const {
  if (blocked_ == target.blocked_) return *this;
  if (!target.blocked_) return FeatureMap::dense(to_tensor());
  FeatureMap converted(data_.detach());  // blocked maps are for inference and carry no autograd history
  TORCH_CHECK(converted.blocked_, "FeatureMap: cannot combine a ", data_.scalar_type(), " ", data_.device(),
              " map with a blocked float32 map");
  return converted;
}

FeatureMap FeatureMap::add(const FeatureMap& other, double alpha) const {
  return FeatureMap(data_.add(other.converted_like(*this).data_, alpha), channels_, blocked_);
}

FeatureMap FeatureMap::mul(double factor) const { return FeatureMap(data_.mul(factor), channels_, blocked_); }

FeatureMap& FeatureMap::add_(const FeatureMap& other, double alpha) {
  data_.add_(other.converted_like(*this).data_, alpha);
  return *this;
}

FeatureMap& FeatureMap::mul_(double factor) {
  data_.mul_(factor);
  return *this;
}

FeatureMap& FeatureMap::copy_(const FeatureMap& source) {
  TORCH_CHECK(source.channels_ == channels_, "FeatureMap::copy_: ", source.channels_, " channels into ", channels_);
  data_.copy_(source.converted_like(*this).data_);
  return *this;
}

FeatureMap FeatureMap::clone() const { return FeatureMap(data_.clone(), channels_, blocked_); }

FeatureMap FeatureMap::upsample_nearest(int64_t factor) const {
  if (!blocked_) {
    const auto scale = static_cast<double>(factor);
    return FeatureMap::dense(F::interpolate(
        data_, F::InterpolateFuncOptions().scale_factor(std::vector<double>{scale, scale}).mode(torch::kNearest)));
  }
  const int64_t n = data_.size(0), c = data_.size(1), h = data_.size(2), w = data_.size(3);
  torch::Tensor upsampled = data_.unsqueeze(3).unsqueeze(5).expand({n, c, h, factor, w, factor, kBlock}).reshape(
      {n, c, h * factor, w * factor, kBlock});
  return FeatureMap(std::move(upsampled), channels_, true);
}

FeatureMap FeatureMap::map(const std::function<torch::Tensor(const torch::Tensor&)>& elementwise) const {
  torch::Tensor result = elementwise(data_);
  TORCH_CHECK(result.sizes() == data_.sizes(), "FeatureMap::map: the function changed the shape");
  if (blocked_ && channels_ % kBlock != 0) {
    if (!result.is_contiguous()) result = result.contiguous();
    result.select(1, result.size(1) - 1).narrow(-1, channels_ % kBlock, kBlock - channels_ % kBlock).zero_();
  }
  return FeatureMap(std::move(result), channels_, blocked_);
}

// ---- PostOps ----

PostOps& PostOps::scale(double factor) {
  ops_.push_back({Kind::Scale, factor, {}, {}});
  return *this;
}
PostOps& PostOps::relu() {
  ops_.push_back({Kind::Relu, 0, {}, {}});
  return *this;
}
PostOps& PostOps::leaky_relu(double negative_slope) {
  ops_.push_back({Kind::LeakyRelu, negative_slope, {}, {}});
  return *this;
}
PostOps& PostOps::prelu(const torch::Tensor& weight) {
  ops_.push_back({Kind::PRelu, 0, weight, {}});
  return *this;
}
PostOps& PostOps::add(const torch::Tensor& residual, double alpha) {
  ops_.push_back({Kind::Add, alpha, {}, FeatureMap::dense(residual)});
  return *this;
}
PostOps& PostOps::add(const FeatureMap& residual, double alpha) {
  ops_.push_back({Kind::Add, alpha, {}, residual});
  return *this;
}

PostOps& PostOps::append(const PostOps& more) {
  ops_.insert(ops_.end(), more.ops_.begin(), more.ops_.end());
  return *this;
}

torch::Tensor PostOps::apply(torch::Tensor y) const {
  for (const Op& op : ops_) {
    switch (op.kind) {
      case Kind::Scale: y = y * op.value; break;
      case Kind::Relu: y = torch::relu(y); break;
      case Kind::LeakyRelu: y = torch::leaky_relu(y, op.value); break;
      case Kind::PRelu: y = torch::prelu(y, op.weight); break;
      case Kind::Add: y = y.add(op.residual.to_tensor(), op.value); break;
    }
  }
  return y;
}

// ---- FastConv2d ----

namespace {

// One oneDNN convolution over input channels [first_channel, first_channel + channels).
struct Part {
  dnnl::convolution_forward primitive;
  memory::desc source_desc;  // what it reads
  memory::desc weights_desc;  // oneDNN's preferred weights layout
  memory::desc scratchpad_desc;
  int64_t first_channel = 0;
  int64_t channels = 0;
};

// How one input shape with one list of post-ops runs. Usually one part; Winograd convolutions whose transform
// buffers would be huge (oneDNN picks a whole-image variant for large ic * oc: 150 MiB of scratchpad at 256x256
// for 192->64, 2.3 GiB at 1024x1024) are split along input channels instead, each part accumulating into the
// output with a sum post-op; that is also faster.
struct Plan {
  bool use_torch = false;
  std::vector<Part> parts;
  memory::desc bias_desc;
  memory::desc output_desc;   // nChw16c
  bool source_to_nchw = false;  // the input is converted to NCHW first
  bool scale_folded = false;  // ops[0] is Scale and went into the weights and bias
  size_t fused = 0;           // ops fused into the primitives, after the folded scale
  int sum_op = -1;            // index of the fused Add (its residual pre-fills the output)
  std::string implementation;
};

struct PreparedWeights {
  memory::desc desc;
  double scale = 1;
  int64_t first_channel = 0;
  int64_t channels = 0;
  dnnl::memory weights;
  torch::Tensor scaled_bias;
};

// Winograd scratchpads above this are avoided by splitting the input channels (the tiled variant needs ~8 MiB).
constexpr size_t kMaxWinogradScratchpad = size_t{32} << 20;

}  // namespace

struct FastConv2dImpl::State {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Plan>> plans;
  const void* weight_data = nullptr;
  int64_t weight_version = -1;
  const void* bias_data = nullptr;
  int64_t bias_version = -1;
  std::vector<std::shared_ptr<PreparedWeights>> weights;
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
  state_ = std::make_shared<State>();
}

void FastConv2dImpl::reset_parameters() {
  // As torch::nn::Conv2d.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = weight.size(1) * weight.size(2) * weight.size(3);
    const double bound = 1 / std::sqrt(static_cast<double>(fan_in));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void FastConv2dImpl::pretty_print(std::ostream& stream) const {
  const auto padding = explicit_padding(options);
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

bool FastConv2dImpl::weights_ready() const {
  const bool grad = torch::GradMode::is_enabled() && (weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  return fast_conv_enabled() && !grad && zero_padding_mode(options) && weight.device().is_cpu() &&
         weight.scalar_type() == torch::kFloat &&
         (!bias.defined() || (bias.device().is_cpu() && bias.scalar_type() == torch::kFloat));
}

bool FastConv2dImpl::fast_path_applies(const torch::Tensor& x) const {
  return weights_ready() && x.defined() && x.dim() == 4 && x.numel() > 0 && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && !(torch::GradMode::is_enabled() && x.requires_grad());
}

bool FastConv2dImpl::winograd_eligible(int64_t height, int64_t width) const {
  const auto& kernel = *options.kernel_size();
  const auto& stride = *options.stride();
  const auto& dilation = *options.dilation();
  return fast_conv_winograd() && kernel[0] == 3 && kernel[1] == 3 && stride[0] == 1 && stride[1] == 1 &&
         dilation[0] == 1 && dilation[1] == 1 && options.groups() == 1 && options.in_channels() > kBlock &&
         height * width >= kMinWinogradPixels;
}

bool FastConv2dImpl::gemm_eligible(int64_t height, int64_t width) const {
  return fast_conv_sgemm() && options.groups() == 1 && !winograd_eligible(height, width);
}

torch::Tensor FastConv2dImpl::gemm_forward(const torch::Tensor& x) const {
  const auto padding = explicit_padding(options);
  const auto& kernel = *options.kernel_size();
  const auto& stride = *options.stride();
  const auto& dilation = *options.dilation();
  const torch::Tensor padded = F::pad(x.contiguous(), F::PadFuncOptions({padding[2], padding[3], padding[0], padding[1]}));
  const int64_t n = padded.size(0);
  const int64_t out_channels = options.out_channels();
  const int64_t out_height = (padded.size(2) - dilation[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
  const int64_t out_width = (padded.size(3) - dilation[1] * (kernel[1] - 1) - 1) / stride[1] + 1;
  TORCH_CHECK(out_height > 0 && out_width > 0, "FastConv2d: the input is smaller than the kernel");
  const torch::Tensor matrix = weight.reshape({out_channels, -1}).contiguous();
  const int64_t depth = matrix.size(1);  // channels * kernel area
  torch::Tensor output = torch::empty({n, out_channels, out_height, out_width}, x.options());
  if (bias.defined())
    output.copy_(bias.view({1, out_channels, 1, 1}).expand_as(output));
  else
    output.zero_();
  const int64_t row_bytes = depth * out_width * static_cast<int64_t>(sizeof(float));
  const int64_t band = std::max<int64_t>(1, kGemmColumnBytes / row_bytes);
  const int64_t plane = out_height * out_width;
  prepare_threads();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t row = 0; row < out_height; row += band) {
      const int64_t rows = std::min(band, out_height - row);
      const int64_t input_rows = (rows - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1;
      const torch::Tensor slice = padded.narrow(0, b, 1).narrow(2, row * stride[0], input_rows);
      const torch::Tensor columns =
          at::im2col(slice, {kernel[0], kernel[1]}, {dilation[0], dilation[1]}, {0, 0}, {stride[0], stride[1]})[0]
              .contiguous();
      // output[b][:, row:row + rows, :] += matrix x columns, with oneDNN's sgemm (row-major; each output channel's
      // band of rows is contiguous, channels a plane apart).
      float* destination = output.data_ptr<float>() + b * out_channels * plane + row * out_width;
      const dnnl_status_t status =
          dnnl_sgemm('N', 'N', out_channels, rows * out_width, depth, 1.f, matrix.data_ptr<float>(), depth,
                     columns.data_ptr<float>(), rows * out_width, 1.f, destination, plane);
      TORCH_CHECK(status == dnnl_success, "FastConv2d: oneDNN sgemm failed (status ", static_cast<int>(status), ")");
    }
  }
  return output;
}

torch::Tensor FastConv2dImpl::torch_forward(const torch::Tensor& x) const {
  const auto padding = explicit_padding(options);
  torch::Tensor input = x;
  std::vector<int64_t> conv_padding{padding[0], padding[2]};
  const bool symmetric = padding[0] == padding[1] && padding[2] == padding[3];
  if (!zero_padding_mode(options) || !symmetric) {
    F::PadFuncOptions::mode_t mode = torch::kConstant;
    if (c10::get_if<torch::enumtype::kReflect>(&options.padding_mode())) mode = torch::kReflect;
    if (c10::get_if<torch::enumtype::kReplicate>(&options.padding_mode())) mode = torch::kReplicate;
    if (c10::get_if<torch::enumtype::kCircular>(&options.padding_mode())) mode = torch::kCircular;
    input = F::pad(x, F::PadFuncOptions({padding[2], padding[3], padding[0], padding[1]}).mode(mode));
    conv_padding = {0, 0};
  }
  return torch::conv2d(input, weight, bias, *options.stride(), conv_padding, *options.dilation(), options.groups());
}

torch::Tensor FastConv2dImpl::forward(const torch::Tensor& x, const PostOps& post) { return forward_tensor(x, post); }

torch::Tensor FastConv2dImpl::forward_tensor(const torch::Tensor& x, const PostOps& post) const {
  // Plain tensors only gain from Winograd (the two layout conversions cost more than direct oneDNN saves).
  if (fast_path_applies(x) && winograd_eligible(x.size(2), x.size(3)))
    return run_fast(FeatureMap(x), nullptr, post).to_tensor(x.suggest_memory_format());
  const bool gemm = fast_path_applies(x) && gemm_eligible(x.size(2), x.size(3));
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->last_implementation = gemm ? "im2col+gemm" : "torch";
  }
  return post.apply(gemm ? gemm_forward(x) : torch_forward(x));
}

FeatureMap FastConv2dImpl::run(const FeatureMap& x, const PostOps& post) const {
  TORCH_CHECK(x.defined(), "FastConv2d::run: undefined input");
  if (x.blocked() && weights_ready()) return run_fast(x, nullptr, post);
  return FeatureMap::dense(forward_tensor(x.to_tensor(), post));
}

void FastConv2dImpl::run_into(const FeatureMap& x, const FeatureMap& out, const PostOps& post) const {
  TORCH_CHECK(x.defined() && out.defined(), "FastConv2d::run_into: undefined map");
  if (x.blocked() && out.blocked() && weights_ready()) {
    run_fast(x, &out, post);
    return;
  }
  FeatureMap(out).copy_(run(x, post));
}

FeatureMap FastConv2dImpl::run_fast(const FeatureMap& x, const FeatureMap* out, const PostOps& post) const {
  torch::NoGradGuard no_grad;
  prepare_threads();
  TORCH_CHECK(x.channels() == options.in_channels(), "FastConv2d: input has ", x.channels(), " channels, expected ",
              options.in_channels());
  const auto& ops = post.ops();
  const auto& kernel = *options.kernel_size();
  const auto& stride = *options.stride();
  const auto& dilation = *options.dilation();
  const auto padding = explicit_padding(options);
  const int64_t n = x.batch(), in_channels = x.channels(), height = x.height(), width = x.width();
  const int64_t out_channels = options.out_channels(), groups = options.groups();
  const int64_t out_height = (height + padding[0] + padding[1] - dilation[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
  const int64_t out_width = (width + padding[2] + padding[3] - dilation[1] * (kernel[1] - 1) - 1) / stride[1] + 1;

  // The input as the convolution reads it: contiguous blocked (callers convert plain tensors first).
  TORCH_CHECK(x.blocked(), "FastConv2d::run_fast: expected a blocked map");
  if (gemm_eligible(height, width)) {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->last_implementation = "im2col+gemm";
    }
    FeatureMap result(post.apply(gemm_forward(x.to_tensor())));
    if (out != nullptr) FeatureMap(*out).copy_(result);
    return result;
  }
  torch::Tensor source = x.data().contiguous();
  const memory::desc source_desc = blocked_desc(n, in_channels, height, width);

  std::ostringstream key;
  key << n << ',' << in_channels << ',' << height << ',' << width << ',' << at::get_num_threads() << ',' << fast_conv_winograd();
  for (const auto& op : ops) {
    key << ';' << static_cast<int>(op.kind);
    if (op.kind != PostOps::Kind::PRelu) key << hex(op.value);
  }

  std::shared_ptr<Plan> plan;
  std::vector<std::shared_ptr<PreparedWeights>> prepared;  // per part
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    State& state = *state_;
    // Weights changed (reloaded, moved, replaced): forget their reordered copies.
    const void* bias_data = bias.defined() ? bias.data_ptr() : nullptr;
    if (weight.data_ptr() != state.weight_data || version_of(weight) != state.weight_version ||
        bias_data != state.bias_data || version_of(bias) != state.bias_version) {
      state.weights.clear();
      state.weight_data = weight.data_ptr();
      state.weight_version = version_of(weight);
      state.bias_data = bias_data;
      state.bias_version = version_of(bias);
    }

    auto found = state.plans.find(key.str());
    if (found != state.plans.end()) {
      plan = found->second;
    } else {
      plan = std::make_shared<Plan>();
      plan->use_torch = true;
      plan->implementation = "torch";
      const int64_t padding_bottom =
          (out_height - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1 - height - padding[0];
      const int64_t padding_right = (out_width - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1 - width - padding[2];
      const size_t first = !ops.empty() && ops[0].kind == PostOps::Kind::Scale ? 1 : 0;
      // The longest run of ops oneDNN can express as post-ops (PReLU: oneDNN 2.6 has only a reference
      // implementation of that post-op; Add: one sum post-op).
      size_t fusable = 0;
      for (size_t i = first; i < ops.size(); ++i) {
        if (ops[i].kind == PostOps::Kind::PRelu) break;
        if (ops[i].kind == PostOps::Kind::Add &&
            std::any_of(ops.begin() + first, ops.begin() + i, [](const auto& op) { return op.kind == PostOps::Kind::Add; }))
          break;
        ++fusable;
      }
      const memory::desc output_desc = blocked_desc(n, out_channels, out_height, out_width);
      const memory::desc bias_desc = bias.defined() ? memory::desc({out_channels}, Dt::f32, Tag::x) : memory::desc();
      const memory::desc as_nchw({n, in_channels, height, width}, Dt::f32, Tag::nchw);

      // A primitive descriptor over `channels` input channels, or none (unsupported, or a reference
      // implementation: orders of magnitude slower than LibTorch).
      auto describe = [&](dnnl::algorithm algorithm, const memory::desc& conv_source, int64_t channels,
                          const dnnl::post_ops& post_ops, bool with_bias) -> std::unique_ptr<dnnl::convolution_forward::primitive_desc> {
        const memory::desc weights_any =
            groups == 1 ? memory::desc({out_channels, channels, kernel[0], kernel[1]}, Dt::f32, Tag::any)
                        : memory::desc({groups, out_channels / groups, channels / groups, kernel[0], kernel[1]},
                                       Dt::f32, Tag::any);
        dnnl::primitive_attr attr;
        attr.set_post_ops(post_ops);
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        try {
          const dnnl::convolution_forward::desc desc(
              dnnl::prop_kind::forward_inference, algorithm, conv_source, weights_any,
              with_bias ? bias_desc : memory::desc(), output_desc, {stride[0], stride[1]},
              {dilation[0] - 1, dilation[1] - 1}, {padding[0], padding[2]}, {padding_bottom, padding_right});
          auto pd = std::make_unique<dnnl::convolution_forward::primitive_desc>(desc, attr, cpu_engine());
          if (std::string(pd->impl_info_str()).rfind("ref", 0) == 0) return nullptr;
          return pd;
        } catch (const dnnl::error&) {
          return nullptr;
        }
      };
      auto make_part = [](const dnnl::convolution_forward::primitive_desc& pd, int64_t first_channel,
                          int64_t channels) {
        return Part{dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(), pd.scratchpad_desc(),
                    first_channel, channels};
      };

      struct Candidate {
        dnnl::algorithm algorithm;
        bool to_nchw;  // the implementation reads NCHW (e.g. direct convolutions of few input channels)
      };
      std::vector<Candidate> candidates;
      const bool winograd = winograd_eligible(height, width);
      if (winograd) candidates.push_back({dnnl::algorithm::convolution_winograd, false});
      candidates.push_back({dnnl::algorithm::convolution_direct, false});
      candidates.push_back({dnnl::algorithm::convolution_direct, true});

      for (const Candidate& candidate : candidates) {
        const memory::desc conv_source = candidate.to_nchw ? as_nchw : source_desc;
        const bool is_winograd = candidate.algorithm == dnnl::algorithm::convolution_winograd;
        for (size_t fused = fusable + 1; fused-- > 0 && plan->use_torch;) {
          dnnl::post_ops post_ops;
          int sum_op = -1;
          for (size_t i = first; i < first + fused; ++i) {
            const auto& op = ops[i];
            switch (op.kind) {
              case PostOps::Kind::Scale:
                post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, static_cast<float>(op.value), 0.f);
                break;
              case PostOps::Kind::Relu: post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
              case PostOps::Kind::LeakyRelu:
                post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, static_cast<float>(op.value), 0.f);
                break;
              case PostOps::Kind::Add:
                post_ops.append_sum(static_cast<float>(op.value));
                sum_op = static_cast<int>(i);
                break;
              case PostOps::Kind::PRelu: break;  // never fusable
            }
          }
          const auto pd = describe(candidate.algorithm, conv_source, in_channels, post_ops, true);
          if (!pd) continue;
          plan->use_torch = false;
          plan->parts = {make_part(*pd, 0, in_channels)};
          plan->fused = fused;
          plan->sum_op = sum_op;
          plan->implementation = pd->impl_info_str();
        }
        if (!plan->use_torch && is_winograd && plan->parts[0].scratchpad_desc.get_size() > kMaxWinogradScratchpad &&
            n == 1 && !candidate.to_nchw && in_channels % kBlock == 0 && in_channels >= 2 * kBlock) {
          // Split the input channels (whole channel blocks, batch 1: the slices are contiguous) until every
          // part runs the tiled Winograd variant. Part 0 takes the bias and pre-filled residual of a leading
          // Add (sum post-op with its alpha); the others add to the output (sum 1); the rest runs afterwards.
          const int64_t blocks = in_channels / kBlock;
          for (int64_t count = 2; count <= blocks; ++count) {
            const int64_t per_part = (blocks + count - 1) / count * kBlock;
            const bool leading_add = first < ops.size() && ops[first].kind == PostOps::Kind::Add;
            std::vector<Part> parts;
            std::string implementation;
            bool ok = true;
            for (int64_t start = 0; start < in_channels && ok; start += per_part) {
              const int64_t channels = std::min(per_part, in_channels - start);
              dnnl::post_ops post_ops;
              if (start > 0) post_ops.append_sum(1.f);
              if (start == 0 && leading_add) post_ops.append_sum(static_cast<float>(ops[first].value));
              const auto pd = describe(candidate.algorithm, blocked_desc(n, channels, height, width), channels,
                                       post_ops, start == 0 && bias.defined());
              ok = pd && pd->scratchpad_desc().get_size() <= kMaxWinogradScratchpad;
              if (ok) {
                parts.push_back(make_part(*pd, start, channels));
                implementation = pd->impl_info_str();
              }
            }
            if (!ok) continue;
            plan->parts = std::move(parts);
            plan->fused = leading_add ? 1 : 0;
            plan->sum_op = leading_add ? static_cast<int>(first) : -1;
            plan->implementation =
                implementation + " (input channels in " + std::to_string(plan->parts.size()) + " parts)";
            break;
          }
        }
        if (!plan->use_torch) {
          plan->bias_desc = bias_desc;
          plan->output_desc = output_desc;
          plan->source_to_nchw = candidate.to_nchw;
          plan->scale_folded = first == 1;
          break;
        }
      }
      state.plans.emplace(key.str(), plan);
    }
    state.last_implementation = plan->implementation;

    // The weights of every part in its layout (scaled when a leading Scale was folded into them).
    const double scale = plan->scale_folded ? ops[0].value : 1.0;
    for (const Part& part : plan->parts) {
      std::shared_ptr<PreparedWeights> entry;
      for (const auto& candidate : state.weights)
        if (candidate->desc == part.weights_desc && candidate->scale == scale &&
            candidate->first_channel == part.first_channel && candidate->channels == part.channels)
          entry = candidate;
      if (!entry) {
        entry = std::make_shared<PreparedWeights>();
        entry->desc = part.weights_desc;
        entry->scale = scale;
        entry->first_channel = part.first_channel;
        entry->channels = part.channels;
        torch::Tensor w = part.channels == in_channels ? weight : weight.narrow(1, part.first_channel, part.channels);
        w = scale != 1 ? (w * scale).contiguous() : w.contiguous();
        const memory::desc user_desc =
            groups == 1 ? memory::desc({out_channels, part.channels, kernel[0], kernel[1]}, Dt::f32, Tag::oihw)
                        : memory::desc({groups, out_channels / groups, part.channels / groups, kernel[0], kernel[1]},
                                       Dt::f32, Tag::goihw);
        entry->weights = dnnl::memory(part.weights_desc, cpu_engine());
        reorder(user_desc, w.data_ptr(), part.weights_desc, entry->weights.get_data_handle());
        if (bias.defined() && scale != 1) entry->scaled_bias = (bias * scale).contiguous();
        state.weights.push_back(entry);
      }
      prepared.push_back(entry);
    }
  }

  if (plan->use_torch) {
    const torch::Tensor y = post.apply(torch_forward(x.to_tensor()));
    FeatureMap result(y);
    if (out != nullptr) FeatureMap(*out).copy_(result);
    return result;
  }

  // Input conversion, if the implementation wants another layout.
  if (plan->source_to_nchw) {
    torch::Tensor converted = torch::empty({n, in_channels, height, width}, torch::kFloat);
    reorder(source_desc, source.data_ptr(), memory::desc({n, in_channels, height, width}, Dt::f32, Tag::nchw),
            converted.data_ptr());
    source = converted;
  }

  // Output: straight into `out` when it is a contiguous blocked map.
  torch::Tensor output;
  if (out != nullptr && out->blocked() && out->data().is_contiguous()) {
    TORCH_CHECK(out->channels() == out_channels && out->batch() == n && out->height() == out_height &&
                    out->width() == out_width,
                "FastConv2d::run_into: output map has the wrong shape");
    output = out->data();
  } else {
    output = blocked_storage(n, out_channels, out_height, out_width);
  }
  const FeatureMap output_map(output, out_channels, true);
  auto residual_of = [&](const PostOps::Op& op) {
    const FeatureMap residual = op.residual.converted_like(output_map);
    TORCH_CHECK(residual.channels() == out_channels && residual.batch() == n && residual.height() == out_height &&
                    residual.width() == out_width,
                "FastConv2d: the residual's shape does not match the output");
    return residual.data().contiguous();
  };
  if (plan->sum_op >= 0) {
    const torch::Tensor residual = residual_of(ops[plan->sum_op]);
    if (residual.data_ptr() != output.data_ptr()) output.copy_(residual);
  }

  torch::Tensor bias_values;
  if (bias.defined()) bias_values = prepared[0]->scaled_bias.defined() ? prepared[0]->scaled_bias : bias.contiguous();
  dnnl::engine& engine = cpu_engine();
  const memory destination(plan->output_desc, engine, output.data_ptr());
  for (size_t i = 0; i < plan->parts.size(); ++i) {
    const Part& part = plan->parts[i];
    // A part's input channels are whole channel blocks of the (batch 1) blocked input: a contiguous range.
    float* part_source = static_cast<float*>(source.data_ptr()) + part.first_channel * height * width;
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(part.source_desc, engine, part_source)},
        {DNNL_ARG_WEIGHTS, prepared[i]->weights},
        {DNNL_ARG_DST, destination},
        {DNNL_ARG_SCRATCHPAD, memory(part.scratchpad_desc, engine, scratchpad(part.scratchpad_desc.get_size()))},
    };
    if (bias.defined() && i == 0) args.emplace(DNNL_ARG_BIAS, memory(plan->bias_desc, engine, bias_values.data_ptr()));
    part.primitive.execute(cpu_stream(), args);
  }
  cpu_stream().wait();

  // The rest of the post-operations, in place: LibTorch's element-wise kernels work on any layout (the padding
  // channels stay zero), PReLU needs the channel of each element.
  for (size_t i = (plan->scale_folded ? 1 : 0) + plan->fused; i < ops.size(); ++i) {
    const auto& op = ops[i];
    switch (op.kind) {
      case PostOps::Kind::Scale: output.mul_(op.value); break;
      case PostOps::Kind::Relu: output.relu_(); break;
      case PostOps::Kind::LeakyRelu: torch::leaky_relu_(output, op.value); break;
      case PostOps::Kind::PRelu: prelu_in_place(output, out_channels, op.weight); break;
      case PostOps::Kind::Add: output.add_(residual_of(op), op.value); break;
    }
  }

  FeatureMap result(output, out_channels, true);
  if (out != nullptr && output.data_ptr() != out->data().data_ptr()) FeatureMap(*out).copy_(result);
  return result;
}

bool append_activation(PostOps& post, const torch::nn::Module& activation) {
  if (activation.as<torch::nn::ReLUImpl>() != nullptr) {
    post.relu();
    return true;
  }
  if (const auto* leaky = activation.as<torch::nn::LeakyReLUImpl>()) {
    post.leaky_relu(leaky->options.negative_slope());
    return true;
  }
  if (const auto* prelu = activation.as<torch::nn::PReLUImpl>()) {
    post.prelu(prelu->weight);
    return true;
  }
  return false;
}

}  // namespace uprez
