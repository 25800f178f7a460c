// ncnn's Convolution (and ConvolutionDepthWise, which adds param 7 group): 0 num_output, the window of
// spatial::KernelGeometry, 18 pad_value, 5 bias_term, 6 weight_data_size, 9/10 fused activation. Weights are
// (num_output, channels / group, kernel_h, kernel_w), then num_output biases. Runs on FastConv2d (oneDNN on the
// CPU). int8 models (param 8) and dynamic weights (param 19) are refused.
#include "ncnn/layers/convolution.h"

#include <algorithm>

#include "ncnn/fused_activation.h"
#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"
#include "nn/fast_conv.h"

namespace uprez::ncnn {

namespace convolution {

using spatial::KernelGeometry;

class Convolution final : public Layer {
 public:
  explicit Convolution(bool grouped) : grouped_(grouped) {}

  void load_param(const ParamDict& params) override {
    num_output_ = params.get_int(0, 0);
    geometry_ = KernelGeometry::load(params);
    pad_value_ = params.get_float(18, 0.f);
    bias_term_ = params.get_int(5, 0) != 0;
    const int64_t weight_data_size = params.get_int(6, 0);
    group_ = grouped_ ? params.get_int(7, 1) : 1;
    if (params.get_int(8, 0) != 0) params.fail(8, "int8 quantized convolutions are not supported");
    if (params.get_int(19, 0) != 0) params.fail(19, "dynamic weights (taken from input blobs) are not supported");
    activation_ = FusedActivation::load(params);

    if (num_output_ <= 0) params.fail(0, "num_output must be positive");
    if (group_ <= 0 || num_output_ % group_ != 0)
      params.fail(7, "group " + std::to_string(group_) + " does not divide num_output " + std::to_string(num_output_));
    const int64_t weights_per_input_channel = num_output_ * geometry_.kernel_h * geometry_.kernel_w;
    if (weight_data_size <= 0 || weight_data_size % weights_per_input_channel != 0)
      params.fail(6, "weight_data_size " + std::to_string(weight_data_size) + " is not a positive multiple of " +
                         "num_output * kernel_w * kernel_h = " + std::to_string(weights_per_input_channel));
    input_channels_ = weight_data_size / weights_per_input_channel * group_;
    // oneDNN pads with zeros by itself, symmetrically; other borders are added before the convolution.
    convolution_pads_ = geometry_.padding == KernelGeometry::Padding::Explicit && pad_value_ == 0.f &&
                        geometry_.pads.top == geometry_.pads.bottom && geometry_.pads.left == geometry_.pads.right;
  }

  void load_model(ModelBin& bin) override {
    const int64_t kernel_h = geometry_.kernel_h, kernel_w = geometry_.kernel_w;
    torch::Tensor weight = bin.load(input_channels_ / group_ * num_output_ * kernel_h * kernel_w, 0);
    torch::Tensor bias = bias_term_ ? bin.load(num_output_, 1) : torch::Tensor();

    auto options = torch::nn::Conv2dOptions(input_channels_, num_output_, {kernel_h, kernel_w})
                       .stride({geometry_.stride_h, geometry_.stride_w})
                       .dilation({geometry_.dilation_h, geometry_.dilation_w})
                       .groups(group_)
                       .bias(bias_term_);
    if (convolution_pads_) options.padding(torch::ExpandingArray<2>({geometry_.pads.top, geometry_.pads.left}));
    conv_ = FastConv2d(options);
    torch::NoGradGuard no_grad;
    conv_->weight.copy_(weight.view(conv_->weight.sizes())).set_requires_grad(false);
    if (bias_term_) conv_->bias.copy_(bias).set_requires_grad(false);
  }

  void create_pipeline(const Option& opt) override { conv_options_ = opt.conv; }

  void to(const torch::Device& device, torch::Dtype dtype) override { conv_->to(device, dtype); }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    if (input.dim() == 1 && geometry_.kernel_w == 1 && geometry_.kernel_h == 1 && !grouped_)
      return {flat_forward(input)};
    spatial::require_image(*this, input);
    check_image_size(input.size(0), input.size(1), input.size(2));
    const torch::Tensor padded = convolution_pads_ ? input : spatial::pad_constant(input, borders(input.size(1), input.size(2)), pad_value_);
    PostOps post;
    const bool fused = activation_.append_to(post);
    const torch::Tensor output = conv_->forward_tensor(padded.unsqueeze(0), post, conv_options_).squeeze(0);
    return {fused ? output : activation_.apply(output)};
  }

  // Convolutions whose padding FastConv2d does itself run on maps; others pad the tensor first.
  MapUse map_use() const override { return convolution_pads_ ? MapUse::Always : MapUse::Never; }

  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps& epilogue) const override {
    const FeatureMap& input = checked_map_input(inputs);
    if (!epilogue_fits(input, epilogue)) return {};  // a broadcast operand: the sum runs as its own layer
    PostOps post;
    if (activation_.type() == FusedActivation::Type::None || activation_.append_to(post))
      return {conv_->run(input, post.append(epilogue), conv_options_)};
    const FeatureMap output = conv_->run(input, {}, conv_options_);
    return {output.map([&](const torch::Tensor& data) { return activation_.apply(data); })};
  }

  bool forward_map_into(const std::vector<FeatureMap>& inputs, const PostOps& epilogue,
                        const FeatureMap& destination) const override {
    const FeatureMap& input = checked_map_input(inputs);
    PostOps post;
    const bool activation_fuses = activation_.type() == FusedActivation::Type::None || activation_.append_to(post);
    if (!activation_fuses || !epilogue_fits(input, epilogue) || !destination.blocked() ||
        destination.batch() != input.batch() || destination.channels() != num_output_ ||
        destination.height() != output_height(input) || destination.width() != output_width(input))
      return false;
    conv_->run_into(input, destination, post.append(epilogue), conv_options_);
    return true;
  }

  int64_t output_channels() const override { return num_output_; }

  // The activation and residual of the layers after it, when its own activation is one FastConv2d fuses (or none).
  bool accepts_epilogue() const override {
    PostOps post;
    return convolution_pads_ && (activation_.type() == FusedActivation::Type::None || activation_.append_to(post));
  }

 private:
  const FeatureMap& checked_map_input(const std::vector<FeatureMap>& inputs) const {
    if (inputs.size() != 1) layer_error(*this, "expects 1 input blob, got " + std::to_string(inputs.size()));
    check_image_size(inputs[0].channels(), inputs[0].height(), inputs[0].width());
    return inputs[0];
  }
  int64_t output_height(const FeatureMap& input) const {
    return (input.height() + 2 * geometry_.pads.top - geometry_.extent_h()) / geometry_.stride_h + 1;
  }
  int64_t output_width(const FeatureMap& input) const {
    return (input.width() + 2 * geometry_.pads.left - geometry_.extent_w()) / geometry_.stride_w + 1;
  }
  // Whether every residual of `epilogue` has the output's shape.
  bool epilogue_fits(const FeatureMap& input, const PostOps& epilogue) const {
    return std::all_of(epilogue.ops().begin(), epilogue.ops().end(), [&](const PostOps::Op& op) {
      return op.kind != PostOps::Kind::Add ||
             (op.residual.channels() == num_output_ && op.residual.height() == output_height(input) &&
              op.residual.width() == output_width(input));
    });
  }

  // The borders ncnn adds to a height x width input before convolving (explicit pads, or SAME padding for its size).
  spatial::Borders borders(int64_t height, int64_t width) const {
    if (geometry_.padding == KernelGeometry::Padding::Explicit) return geometry_.pads;
    return spatial::same_borders(height, width, geometry_.extent_h(), geometry_.extent_w(),
                                 geometry_.stride_h, geometry_.stride_w,
                                 geometry_.padding == KernelGeometry::Padding::SameUpper);
  }

  // Throws unless a (channels, height, width) input fits: its channel count, and at least the kernel's extent once
  // padded.
  void check_image_size(int64_t channels, int64_t height, int64_t width) const {
    const std::string shape =
        "(" + std::to_string(channels) + ", " + std::to_string(height) + ", " + std::to_string(width) + ")";
    if (channels != input_channels_)
      layer_error(*this, "expects " + std::to_string(input_channels_) + " channels, got shape " + shape);
    const spatial::Borders pads = borders(height, width);
    if (height + pads.top + pads.bottom < geometry_.extent_h() || width + pads.left + pads.right < geometry_.extent_w())
      layer_error(*this, "input " + shape + " is smaller than the kernel");
  }

  // ncnn's compatibility path for a flattened (w) blob and a 1x1 kernel: an inner product with a (num_output) result.
  torch::Tensor flat_forward(const torch::Tensor& input) const {
    if (input.size(0) != input_channels_)
      layer_error(*this,
                    "expects " + std::to_string(input_channels_) + " values, got shape " + shape_text(input));
    const torch::Tensor weight = conv_->weight.view({num_output_, input_channels_});
    return activation_.apply(torch::linear(input, weight, conv_->bias));
  }

  const bool grouped_;
  int64_t num_output_ = 0;
  KernelGeometry geometry_;
  float pad_value_ = 0.f;
  bool bias_term_ = false;
  int64_t group_ = 1;
  int64_t input_channels_ = 0;
  bool convolution_pads_ = false;  // FastConv2d adds the (symmetric, zero) pads itself
  FusedActivation activation_;
  FastConv2d conv_{nullptr};
  ConvOptions conv_options_;
};

}  // namespace convolution

std::unique_ptr<Layer> make_convolution_layer(bool grouped) { return std::make_unique<convolution::Convolution>(grouped); }

std::unique_ptr<Layer> make_convolution_layer() { return make_convolution_layer(/*grouped=*/false); }

}  // namespace uprez::ncnn
