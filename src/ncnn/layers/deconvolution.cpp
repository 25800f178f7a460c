// ncnn's Deconvolution (transposed convolution): 0 num_output, the window of spatial::KernelGeometry, 18
// output_pad_right, 19 output_pad_bottom, 20 output_w, 21 output_h, 5 bias_term, 6 weight_data_size, 9/10 fused
// activation. Weights are (num_output, channels, kernel_h, kernel_w), then num_output biases. As in ncnn, every
// input pixel scatters its kernel-weighted values, stride apart, onto a bias-filled output of
// (size - 1) * stride + kernel extent + output pad; that is activated and then cut: by the pads when any is
// positive, else to output_w x output_h as SAME_UPPER / SAME_LOWER say. The per-pixel products are one 1x1
// convolution to num_output * kernel_h * kernel_w channels, run by FastConv2d in oneDNN's blocked layout (an order
// of magnitude faster than LibTorch's transposed convolution on the CPU). Dynamic weights (param 28) are refused.
#include "ncnn/fused_activation.h"
#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"
#include "nn/fast_conv.h"

namespace uprez::ncnn {

namespace deconvolution {

using spatial::KernelGeometry;

class Deconvolution final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    num_output_ = params.get_int(0, 0);
    geometry_ = KernelGeometry::load(params);
    output_pad_right_ = params.get_int(18, 0);
    output_pad_bottom_ = params.get_int(19, static_cast<int>(output_pad_right_));
    output_w_ = params.get_int(20, 0);
    output_h_ = params.get_int(21, static_cast<int>(output_w_));
    bias_term_ = params.get_int(5, 0) != 0;
    const int64_t weight_data_size = params.get_int(6, 0);
    if (params.get_int(28, 0) != 0) params.fail(28, "dynamic weights (taken from input blobs) are not supported");
    activation_ = FusedActivation::load(params);

    if (num_output_ <= 0) params.fail(0, "num_output must be positive");
    if (output_pad_right_ < 0 || output_pad_bottom_ < 0) params.fail(18, "output pads must not be negative");
    const int64_t weights_per_input_channel = num_output_ * geometry_.kernel_h * geometry_.kernel_w;
    if (weight_data_size <= 0 || weight_data_size % weights_per_input_channel != 0)
      params.fail(6, "weight_data_size " + std::to_string(weight_data_size) + " is not a positive multiple of " +
                         "num_output * kernel_w * kernel_h = " + std::to_string(weights_per_input_channel));
    input_channels_ = weight_data_size / weights_per_input_channel;
    const bool cut_to_output_size = !geometry_.pads.any() && output_w_ > 0 && output_h_ > 0;
    if (cut_to_output_size && geometry_.padding == KernelGeometry::Padding::Explicit)
      params.fail(20, "output_w/output_h need pads -233 (SAME_UPPER) or -234 (SAME_LOWER)");
  }

  void load_model(ModelBin& bin) override {
    const int64_t kernel_h = geometry_.kernel_h, kernel_w = geometry_.kernel_w;
    const torch::Tensor weight = bin.load(num_output_ * input_channels_ * kernel_h * kernel_w, 0)
                                     .view({num_output_, input_channels_, kernel_h, kernel_w});
    if (bias_term_) bias_ = bin.load(num_output_, 1).view({num_output_, 1, 1});
    // Channel (o, ky, kx) of the 1x1 convolution: each input pixel's contribution to output channel o at tap (ky, kx).
    products_ = FastConv2d(torch::nn::Conv2dOptions(input_channels_, num_output_ * kernel_h * kernel_w, 1).bias(false));
    torch::NoGradGuard no_grad;
    products_->weight.copy_(weight.permute({0, 2, 3, 1}).reshape(products_->weight.sizes())).set_requires_grad(false);
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    products_->to(device, dtype);
    if (bias_.defined()) bias_ = bias_.to(device, dtype);
  }

  void create_pipeline(const Option& opt) override { conv_options_ = opt.conv; }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    spatial::require_image(*this, input);
    if (input.size(0) != input_channels_)
      layer_error(
          *this, "expects " + std::to_string(input_channels_) + " channels, got shape " + shape_text(input));
    return {cut(activation_.apply(scatter(input)))};
  }

 private:
  // ncnn's full output: the bias (or zeros), plus each input pixel's kernel-weighted values at its strided place.
  torch::Tensor scatter(const torch::Tensor& input) const {
    const int64_t height = input.size(1), width = input.size(2);
    const int64_t kernel_h = geometry_.kernel_h, kernel_w = geometry_.kernel_w;
    const torch::Tensor products = products_->run(FeatureMap(input.unsqueeze(0)), {}, conv_options_)
                                       .to_tensor()
                                       .view({num_output_, kernel_h, kernel_w, height, width});
    const int64_t full_h = (height - 1) * geometry_.stride_h + geometry_.extent_h() + output_pad_bottom_;
    const int64_t full_w = (width - 1) * geometry_.stride_w + geometry_.extent_w() + output_pad_right_;
    torch::Tensor output = bias_.defined() ? bias_.expand({num_output_, full_h, full_w}).clone()
                                           : torch::zeros({num_output_, full_h, full_w}, products.options());
    for (int64_t ky = 0; ky < kernel_h; ++ky) {
      const int64_t top = ky * geometry_.dilation_h;
      for (int64_t kx = 0; kx < kernel_w; ++kx) {
        const int64_t left = kx * geometry_.dilation_w;
        output.slice(1, top, top + (height - 1) * geometry_.stride_h + 1, geometry_.stride_h)
            .slice(2, left, left + (width - 1) * geometry_.stride_w + 1, geometry_.stride_w)
            .add_(products.select(1, ky).select(1, kx));
      }
    }
    return output;
  }

  // ncnn's cut_padding: what remains of the full output.
  torch::Tensor cut(const torch::Tensor& full) const {
    const int64_t height = full.size(1), width = full.size(2);
    spatial::Borders borders = geometry_.pads;
    if (!borders.any() && output_w_ > 0 && output_h_ > 0) {
      const int64_t cut_h = height - output_h_, cut_w = width - output_w_;
      const bool upper = geometry_.padding == KernelGeometry::Padding::SameUpper;
      borders.top = upper ? cut_h / 2 : cut_h - cut_h / 2;
      borders.bottom = cut_h - borders.top;
      borders.left = upper ? cut_w / 2 : cut_w - cut_w / 2;
      borders.right = cut_w - borders.left;
    }
    if (!borders.any()) return full;
    const int64_t out_h = height - borders.top - borders.bottom, out_w = width - borders.left - borders.right;
    if (borders.top < 0 || borders.bottom < 0 || borders.left < 0 || borders.right < 0 || out_h <= 0 || out_w <= 0)
      layer_error(*this, "cannot cut a " + std::to_string(height) + "x" + std::to_string(width) + " output to " +
                               std::to_string(out_h) + "x" + std::to_string(out_w));
    return full.narrow(1, borders.top, out_h).narrow(2, borders.left, out_w).contiguous();
  }

  int64_t num_output_ = 0;
  KernelGeometry geometry_;
  int64_t output_pad_right_ = 0, output_pad_bottom_ = 0;
  int64_t output_w_ = 0, output_h_ = 0;
  bool bias_term_ = false;
  int64_t input_channels_ = 0;
  FusedActivation activation_;
  FastConv2d products_{nullptr};  // the 1x1 convolution giving every (output channel, kernel tap) product
  ConvOptions conv_options_;
  torch::Tensor bias_;            // (num_output, 1, 1), or undefined
};

}  // namespace deconvolution

std::unique_ptr<Layer> make_deconvolution_layer() { return std::make_unique<deconvolution::Deconvolution>(); }

}  // namespace uprez::ncnn
