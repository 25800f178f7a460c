#include "nn/onednn_conv.h"

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <ATen/Parallel.h>

#include "nn/onednn.h"

namespace uprez {


namespace onednn_conv {

// Winograd pays off from 16x16 pixels (1.4x faster than direct there, 2-2.7x from 128x128) and more than 16 input
// channels (16 -> 16 at 256x256 is 2x slower than direct; 24 -> 24 1.9x faster); measured on AVX-512, 2 threads.
constexpr int64_t kMinWinogradPixels = 16 * 16;
// Winograd keeps its weights transformed to 6x6 tiles (4x the bytes of the 3x3 weights): it is used only where the
// input map outweighs that copy, i.e. from 36 * out_channels pixels (a diffusion UNet's 1024-channel layers on
// 16x16 maps would otherwise hold 4 GiB of transformed weights for little gain).
constexpr int64_t kWinogradWeightPixelsPerOutputChannel = 36;
// Winograd scratchpads above this are avoided by splitting the input channels (the tiled variant needs ~8 MiB).
constexpr size_t kMaxWinogradScratchpad = size_t{32} << 20;

int64_t version_of(const torch::Tensor& t) {
  return !t.defined() || t.is_inference() ? -1 : static_cast<int64_t>(t._version());
}

std::string hex(double value) {
  std::ostringstream stream;
  stream << std::hexfloat << value;
  return stream.str();
}

std::string plan_key(const FeatureMap& x, const PostOps& post, bool winograd) {
  std::ostringstream key;
  key << x.batch() << ',' << x.channels() << ',' << x.height() << ',' << x.width() << ',' << at::get_num_threads()
      << ',' << winograd;
  for (const auto& op : post.ops()) {
    key << ';' << static_cast<int>(op.kind);
    if (op.kind != PostOps::Kind::PRelu) key << hex(op.value);
  }
  return key.str();
}

// The longest run of ops from `first` that oneDNN can express as post-ops (PReLU: oneDNN 2.6 has only a reference
// implementation of that post-op; Add: one sum post-op).
size_t fusable_ops(const std::vector<PostOps::Op>& ops, size_t first) {
  size_t fusable = 0;
  bool added = false;
  for (size_t i = first; i < ops.size(); ++i) {
    if (ops[i].kind == PostOps::Kind::PRelu || (ops[i].kind == PostOps::Kind::Add && added)) break;
    added = added || ops[i].kind == PostOps::Kind::Add;
    ++fusable;
  }
  return fusable;
}

// ops[first, first + count) as oneDNN post-ops; `sum_op` receives the index of the Add among them, or -1.
dnnl::post_ops onednn_post_ops(const std::vector<PostOps::Op>& ops, size_t first, size_t count, int& sum_op) {
  dnnl::post_ops post_ops;
  sum_op = -1;
  for (size_t i = first; i < first + count; ++i) {
    const auto value = static_cast<float>(ops[i].value);
    switch (ops[i].kind) {
      case PostOps::Kind::Scale: post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, value, 0.f); break;
      case PostOps::Kind::Relu: post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
      case PostOps::Kind::LeakyRelu: post_ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, value, 0.f); break;
      case PostOps::Kind::Add:
        post_ops.append_sum(value);
        sum_op = static_cast<int>(i);
        break;
      case PostOps::Kind::PRelu: break;  // never fusable
    }
  }
  return post_ops;
}

}  // namespace onednn_conv

// ---- geometry ----

ConvGeometry::ConvGeometry(const torch::nn::Conv2dOptions& options)
    : in_channels(options.in_channels()), out_channels(options.out_channels()), groups(options.groups()) {
  for (int i = 0; i < 2; ++i) {
    kernel[i] = (*options.kernel_size())[i];
    stride[i] = (*options.stride())[i];
    dilation[i] = (*options.dilation())[i];
  }
  if (const auto* explicit_padding = c10::get_if<torch::ExpandingArray<2>>(&options.padding())) {
    padding = {(**explicit_padding)[0], (**explicit_padding)[0], (**explicit_padding)[1], (**explicit_padding)[1]};
  } else if (c10::get_if<torch::enumtype::kSame>(&options.padding())) {
    // "same" (stride 1): PyTorch puts the odd pixel at the bottom/right.
    const int64_t total_h = dilation[0] * (kernel[0] - 1), total_w = dilation[1] * (kernel[1] - 1);
    padding = {total_h / 2, total_h - total_h / 2, total_w / 2, total_w - total_w / 2};
  }
}

int64_t ConvGeometry::out_height(int64_t height) const {
  return (height + padding[0] + padding[1] - dilation[0] * (kernel[0] - 1) - 1) / stride[0] + 1;
}

int64_t ConvGeometry::out_width(int64_t width) const {
  return (width + padding[2] + padding[3] - dilation[1] * (kernel[1] - 1) - 1) / stride[1] + 1;
}

bool ConvGeometry::winograd_eligible(int64_t height, int64_t width) const {
  return kernel[0] == 3 && kernel[1] == 3 && stride[0] == 1 && stride[1] == 1 && dilation[0] == 1 &&
         dilation[1] == 1 && groups == 1 && in_channels > onednn::kBlock && height * width >= onednn_conv::kMinWinogradPixels &&
         height * width >= onednn_conv::kWinogradWeightPixelsPerOutputChannel * out_channels;
}

// ---- plan ----

// One oneDNN convolution over input channels [first_channel, first_channel + channels).
struct Part {
  dnnl::convolution_forward primitive;
  dnnl::memory::desc source_desc;   // what it reads
  dnnl::memory::desc weights_desc;  // oneDNN's preferred weights layout
  dnnl::memory::desc scratchpad_desc;
  int64_t first_channel = 0;
  int64_t channels = 0;
};

// How one input shape with one list of post-ops runs (or use_torch: no oneDNN implementation). Usually one part;
// Winograd convolutions whose transform buffers would be huge (oneDNN picks a whole-image variant for large
// ic * oc: 150 MiB of scratchpad at 256x256 for 192->64, 2.3 GiB at 1024x1024) are split along input channels
// instead, each part accumulating into the output with a sum post-op; that is also faster.
struct OneDnnConvolution::Plan {
  bool use_torch = true;
  std::vector<Part> parts;
  dnnl::memory::desc bias_desc;
  dnnl::memory::desc output_desc;     // nChw16c
  bool source_to_nchw = false;  // the input is converted to NCHW first
  bool scale_folded = false;    // ops[0] is Scale and went into the weights and bias
  size_t fused = 0;             // ops fused into the primitives, after the folded scale
  int sum_op = -1;              // index of the fused Add (its residual pre-fills the output)
  std::string implementation = "torch";
};

namespace onednn_conv {

// Describes convolutions of one input shape: primitive descriptors over some of its input channels.
class PlanBuilder {
 public:
  PlanBuilder(const ConvGeometry& g, const FeatureMap& x, bool with_bias)
      : g_(g), n_(x.batch()), height_(x.height()), width_(x.width()), with_bias_(with_bias),
        output_desc_(onednn::blocked_desc(n_, g.out_channels, g.out_height(height_), g.out_width(width_))),
        bias_desc_(with_bias ? dnnl::memory::desc({g.out_channels}, onednn::Dt::f32, onednn::Tag::x) : dnnl::memory::desc()) {}

  // A primitive descriptor over `channels` input channels, or none (unsupported, or a reference implementation:
  // orders of magnitude slower than LibTorch).
  std::unique_ptr<dnnl::convolution_forward::primitive_desc> describe(dnnl::algorithm algorithm, const dnnl::memory::desc& source, int64_t channels,
                                          const dnnl::post_ops& post_ops, bool bias) const {
    const dnnl::memory::desc weights_any =
        g_.groups == 1
            ? dnnl::memory::desc({g_.out_channels, channels, g_.kernel[0], g_.kernel[1]}, onednn::Dt::f32, onednn::Tag::any)
            : dnnl::memory::desc({g_.groups, g_.out_channels / g_.groups, channels / g_.groups, g_.kernel[0], g_.kernel[1]},
                           onednn::Dt::f32, onednn::Tag::any);
    dnnl::primitive_attr attr;
    attr.set_post_ops(post_ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const int64_t bottom = (g_.out_height(height_) - 1) * g_.stride[0] + g_.dilation[0] * (g_.kernel[0] - 1) + 1 -
                           height_ - g_.padding[0];
    const int64_t right = (g_.out_width(width_) - 1) * g_.stride[1] + g_.dilation[1] * (g_.kernel[1] - 1) + 1 -
                          width_ - g_.padding[2];
    try {
      const dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, algorithm, source, weights_any, bias ? bias_desc_ : dnnl::memory::desc(),
          output_desc_, {g_.stride[0], g_.stride[1]}, {g_.dilation[0] - 1, g_.dilation[1] - 1},
          {g_.padding[0], g_.padding[2]}, {bottom, right});
      auto pd = std::make_unique<dnnl::convolution_forward::primitive_desc>(desc, attr, onednn::cpu_engine());
      if (std::string(pd->impl_info_str()).rfind("ref", 0) == 0) return nullptr;
      return pd;
    } catch (const dnnl::error&) {
      return nullptr;
    }
  }

  static Part part(const dnnl::convolution_forward::primitive_desc& pd, int64_t first_channel, int64_t channels) {
    return Part{dnnl::convolution_forward(pd), pd.src_desc(), pd.weights_desc(), pd.scratchpad_desc(), first_channel,
                channels};
  }

  // The whole convolution with as many of ops[first...] fused as the algorithm takes; false when it takes none.
  bool whole(OneDnnConvolution::Plan& plan, dnnl::algorithm algorithm, bool to_nchw,
             const std::vector<PostOps::Op>& ops, size_t first) const {
    const dnnl::memory::desc source = to_nchw ? dnnl::memory::desc({n_, g_.in_channels, height_, width_}, onednn::Dt::f32, onednn::Tag::nchw)
                                        : onednn::blocked_desc(n_, g_.in_channels, height_, width_);
    for (size_t fused = fusable_ops(ops, first) + 1; fused-- > 0;) {
      int sum_op = -1;
      const auto pd = describe(algorithm, source, g_.in_channels, onednn_post_ops(ops, first, fused, sum_op), true);
      if (!pd) continue;
      plan.use_torch = false;
      plan.parts = {part(*pd, 0, g_.in_channels)};
      plan.fused = fused;
      plan.sum_op = sum_op;
      plan.implementation = pd->impl_info_str();
      return true;
    }
    return false;
  }

  // Winograd split along input channels (whole channel blocks, batch 1: the slices are contiguous) until every part
  // runs the tiled variant. Part 0 takes the bias and the pre-filled residual of a leading Add (a sum post-op with
  // its alpha); the others add to the output (sum 1); the remaining ops run afterwards.
  bool split(OneDnnConvolution::Plan& plan, const std::vector<PostOps::Op>& ops, size_t first) const {
    const int64_t blocks = g_.in_channels / onednn::kBlock;
    const bool leading_add = first < ops.size() && ops[first].kind == PostOps::Kind::Add;
    for (int64_t count = 2; count <= blocks; ++count) {
      const int64_t per_part = (blocks + count - 1) / count * onednn::kBlock;
      std::vector<Part> parts;
      std::string implementation;
      for (int64_t start = 0; start < g_.in_channels; start += per_part) {
        const int64_t channels = std::min(per_part, g_.in_channels - start);
        dnnl::post_ops post_ops;
        if (start > 0) post_ops.append_sum(1.f);
        if (start == 0 && leading_add) post_ops.append_sum(static_cast<float>(ops[first].value));
        const auto pd = describe(dnnl::algorithm::convolution_winograd, onednn::blocked_desc(n_, channels, height_, width_),
                                 channels, post_ops, start == 0 && with_bias_);
        if (!pd || pd->scratchpad_desc().get_size() > kMaxWinogradScratchpad) break;
        parts.push_back(part(*pd, start, channels));
        implementation = pd->impl_info_str();
      }
      if (parts.empty() || parts.back().first_channel + parts.back().channels != g_.in_channels) continue;
      plan.parts = std::move(parts);
      plan.fused = leading_add ? 1 : 0;
      plan.sum_op = leading_add ? static_cast<int>(first) : -1;
      plan.implementation = implementation + " (input channels in " + std::to_string(plan.parts.size()) + " parts)";
      return true;
    }
    return false;
  }

  bool splittable(const OneDnnConvolution::Plan& plan) const {
    return plan.parts[0].scratchpad_desc.get_size() > kMaxWinogradScratchpad && n_ == 1 &&
           g_.in_channels % onednn::kBlock == 0 && g_.in_channels >= 2 * onednn::kBlock;
  }

  bool winograd_eligible(bool winograd) const { return winograd && g_.winograd_eligible(height_, width_); }

  const dnnl::memory::desc& output_desc() const { return output_desc_; }
  const dnnl::memory::desc& bias_desc() const { return bias_desc_; }

 private:
  const ConvGeometry& g_;
  int64_t n_, height_, width_;
  bool with_bias_;
  dnnl::memory::desc output_desc_, bias_desc_;
};

}  // namespace onednn_conv

std::shared_ptr<const OneDnnConvolution::Plan> OneDnnConvolution::plan_for(const FeatureMap& x, const PostOps& post,
                                                                           bool with_bias, bool winograd) {
  const std::string key = onednn_conv::plan_key(x, post, winograd);
  if (const auto found = plans_.find(key); found != plans_.end()) return found->second;
  const auto& ops = post.ops();
  const size_t first = !ops.empty() && ops[0].kind == PostOps::Kind::Scale ? 1 : 0;
  const onednn_conv::PlanBuilder builder(geometry_, x, with_bias);
  struct Candidate {
    dnnl::algorithm algorithm;
    bool to_nchw;  // the implementation reads NCHW (e.g. direct convolutions of few input channels)
  };
  std::vector<Candidate> candidates;
  if (builder.winograd_eligible(winograd)) candidates.push_back({dnnl::algorithm::convolution_winograd, false});
  candidates.push_back({dnnl::algorithm::convolution_direct, false});
  candidates.push_back({dnnl::algorithm::convolution_direct, true});
  auto plan = std::make_shared<Plan>();
  for (const Candidate& candidate : candidates) {
    if (!builder.whole(*plan, candidate.algorithm, candidate.to_nchw, ops, first)) continue;
    if (candidate.algorithm == dnnl::algorithm::convolution_winograd && builder.splittable(*plan))
      builder.split(*plan, ops, first);
    plan->bias_desc = builder.bias_desc();
    plan->output_desc = builder.output_desc();
    plan->source_to_nchw = candidate.to_nchw;
    plan->scale_folded = first == 1;
    break;
  }
  plans_.emplace(key, plan);
  return plan;
}

// ---- weights ----

struct OneDnnConvolution::PreparedWeights {
  dnnl::memory::desc desc;
  double scale = 1;
  int64_t first_channel = 0;
  int64_t channels = 0;
  dnnl::memory weights;
  torch::Tensor scaled_bias;
};

void OneDnnConvolution::forget_changed_weights(const torch::Tensor& weight, const torch::Tensor& bias) {
  const void* bias_data = bias.defined() ? bias.data_ptr() : nullptr;
  if (weight.data_ptr() == weight_data_ && onednn_conv::version_of(weight) == weight_version_ && bias_data == bias_data_ &&
      onednn_conv::version_of(bias) == bias_version_)
    return;
  weights_.clear();
  weight_data_ = weight.data_ptr();
  weight_version_ = onednn_conv::version_of(weight);
  bias_data_ = bias_data;
  bias_version_ = onednn_conv::version_of(bias);
}

std::vector<std::shared_ptr<OneDnnConvolution::PreparedWeights>> OneDnnConvolution::prepare_weights(
    const Plan& plan, const torch::Tensor& weight, const torch::Tensor& bias, double scale) {
  const ConvGeometry& g = geometry_;
  std::vector<std::shared_ptr<PreparedWeights>> prepared;
  for (const Part& part : plan.parts) {
    std::shared_ptr<PreparedWeights> entry;
    for (const auto& candidate : weights_)
      if (candidate->desc == part.weights_desc && candidate->scale == scale &&
          candidate->first_channel == part.first_channel && candidate->channels == part.channels)
        entry = candidate;
    if (!entry) {
      entry = std::make_shared<PreparedWeights>(PreparedWeights{part.weights_desc, scale, part.first_channel,
                                                                part.channels, {}, {}});
      torch::Tensor w = part.channels == g.in_channels ? weight : weight.narrow(1, part.first_channel, part.channels);
      w = scale != 1 ? (w * scale).contiguous() : w.contiguous();
      const dnnl::memory::desc user_desc =
          g.groups == 1 ? dnnl::memory::desc({g.out_channels, part.channels, g.kernel[0], g.kernel[1]}, onednn::Dt::f32, onednn::Tag::oihw)
                        : dnnl::memory::desc({g.groups, g.out_channels / g.groups, part.channels / g.groups, g.kernel[0],
                                        g.kernel[1]},
                                       onednn::Dt::f32, onednn::Tag::goihw);
      entry->weights = dnnl::memory(part.weights_desc, onednn::cpu_engine());
      onednn::reorder(user_desc, w.data_ptr(), part.weights_desc, entry->weights.get_data_handle());
      if (bias.defined() && scale != 1) entry->scaled_bias = (bias * scale).contiguous();
      weights_.push_back(entry);
    }
    prepared.push_back(entry);
  }
  return prepared;
}

// ---- execute ----

namespace onednn_conv {

// The residual of an Add as contiguous blocked storage of the output's shape.
torch::Tensor residual_storage(const PostOps::Op& op, const FeatureMap& output) {
  const FeatureMap residual = op.residual.converted_like(output);
  TORCH_CHECK(residual.channels() == output.channels() && residual.batch() == output.batch() &&
                  residual.height() == output.height() && residual.width() == output.width(),
              "FastConv2d: the residual's shape does not match the output");
  return residual.data().contiguous();
}

// The post-operations from `first` on, in place: LibTorch's element-wise kernels work on any layout (the padding
// channels stay zero), PReLU needs the channel of each element.
void apply_remaining(const std::vector<PostOps::Op>& ops, size_t first, const FeatureMap& output) {
  torch::Tensor storage = output.data();
  for (size_t i = first; i < ops.size(); ++i) {
    const auto& op = ops[i];
    switch (op.kind) {
      case PostOps::Kind::Scale: storage.mul_(op.value); break;
      case PostOps::Kind::Relu: storage.relu_(); break;
      case PostOps::Kind::LeakyRelu: torch::leaky_relu_(storage, op.value); break;
      case PostOps::Kind::PRelu: prelu_in_place(storage, output.channels(), op.weight); break;
      case PostOps::Kind::Add: storage.add_(residual_storage(op, output), op.value); break;
    }
  }
}

}  // namespace onednn_conv

FeatureMap OneDnnConvolution::execute(const Plan& plan, const std::vector<std::shared_ptr<PreparedWeights>>& weights,
                                      const FeatureMap& x, const FeatureMap* out, const PostOps& post,
                                      const torch::Tensor& bias) {
  const int64_t n = x.batch(), height = x.height(), width = x.width();
  const int64_t out_height = geometry_.out_height(height), out_width = geometry_.out_width(width);
  torch::Tensor source = x.data().contiguous();
  if (plan.source_to_nchw) {  // the implementation wants the plain layout
    torch::Tensor converted = torch::empty({n, x.channels(), height, width}, torch::kFloat);
    onednn::reorder(onednn::blocked_desc(n, x.channels(), height, width), source.data_ptr(),
            dnnl::memory::desc({n, x.channels(), height, width}, onednn::Dt::f32, onednn::Tag::nchw), converted.data_ptr());
    source = converted;
  }
  // Output: straight into `out` when it is a contiguous blocked map.
  const bool into_out = out != nullptr && out->blocked() && out->data().is_contiguous();
  if (into_out)
    TORCH_CHECK(out->channels() == geometry_.out_channels && out->batch() == n && out->height() == out_height &&
                    out->width() == out_width,
                "FastConv2d::run_into: output map has the wrong shape");
  const FeatureMap output = FeatureMap::wrap_blocked(
      into_out ? out->data() : onednn::blocked_storage(n, geometry_.out_channels, out_height, out_width),
      geometry_.out_channels);
  const auto& ops = post.ops();
  if (plan.sum_op >= 0) {
    const torch::Tensor residual = onednn_conv::residual_storage(ops[plan.sum_op], output);
    if (residual.data_ptr() != output.data().data_ptr()) output.data().copy_(residual);
  }
  torch::Tensor bias_values;
  if (bias.defined()) bias_values = weights[0]->scaled_bias.defined() ? weights[0]->scaled_bias : bias.contiguous();
  dnnl::engine& engine = onednn::cpu_engine();
  const dnnl::memory destination(plan.output_desc, engine, output.data().data_ptr());
  for (size_t i = 0; i < plan.parts.size(); ++i) {
    const Part& part = plan.parts[i];
    // A part's input channels are whole channel blocks of the (batch 1) blocked input: a contiguous range.
    float* part_source = static_cast<float*>(source.data_ptr()) + part.first_channel * height * width;
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(part.source_desc, engine, part_source)},
        {DNNL_ARG_WEIGHTS, weights[i]->weights},
        {DNNL_ARG_DST, destination},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(part.scratchpad_desc, engine, onednn::scratchpad(part.scratchpad_desc.get_size()))},
    };
    if (bias.defined() && i == 0) args.emplace(DNNL_ARG_BIAS, dnnl::memory(plan.bias_desc, engine, bias_values.data_ptr()));
    part.primitive.execute(onednn::cpu_stream(), args);
  }
  onednn::cpu_stream().wait();
  onednn_conv::apply_remaining(ops, (plan.scale_folded ? 1 : 0) + plan.fused, output);
  if (out != nullptr && !into_out) FeatureMap(*out).copy_(output);
  return output;
}

FeatureMap OneDnnConvolution::run(const FeatureMap& x, const FeatureMap* out, const PostOps& post,
                                  const torch::Tensor& weight, const torch::Tensor& bias, bool winograd,
                                  std::string& implementation) {
  TORCH_CHECK(x.blocked(), "FastConv2d: the oneDNN path takes blocked maps");
  TORCH_CHECK(x.channels() == geometry_.in_channels, "FastConv2d: input has ", x.channels(), " channels, expected ",
              geometry_.in_channels);
  onednn::prepare_threads();
  std::shared_ptr<const Plan> plan;
  std::vector<std::shared_ptr<PreparedWeights>> prepared;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    forget_changed_weights(weight, bias);
    plan = plan_for(x, post, bias.defined(), winograd);
    implementation = plan->implementation;
    if (plan->use_torch) return {};
    prepared = prepare_weights(*plan, weight, bias, plan->scale_folded ? post.ops()[0].value : 1.0);
  }
  return execute(*plan, prepared, x, out, post, bias);
}

}  // namespace uprez
