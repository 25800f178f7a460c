#include "arch/swiftsrgan.h"

#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"


namespace uprez {

// A depthwise k x k convolution ("depthwise") followed by a pointwise 1x1 one ("pointwise").
class SwiftSrganSeparableConv : public torch::nn::Module {
 public:
  SwiftSrganSeparableConv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool bias = true)
      : depthwise_(register_module("depthwise",
                                   FastConv2d(torch::nn::Conv2dOptions(in_channels, in_channels, kernel_size)
                                                         .padding(kernel_size / 2)
                                                         .groups(in_channels)
                                                         .bias(bias)))),
        pointwise_(register_module("pointwise", same_conv(in_channels, out_channels, 1, bias))) {}

  torch::Tensor forward(const torch::Tensor& x) { return pointwise_->forward(depthwise_->forward(x)); }

 private:
  FastConv2d depthwise_;
  FastConv2d pointwise_;
};

// Swift-SRGAN's ConvBlock: separable conv ("cnn"), optional batch norm ("bn"; the conv then has no bias) and a
// per-channel PReLU ("act"), which is stored even for blocks that skip it.
class SwiftSrganConvBlock : public torch::nn::Module {
 public:
  SwiftSrganConvBlock(int64_t in_channels, int64_t out_channels, int64_t kernel_size, bool use_act, bool use_bn)
      : use_act_(use_act),
        cnn_(register_module("cnn", std::make_shared<SwiftSrganSeparableConv>(in_channels, out_channels, kernel_size,
                                                                              /*bias=*/!use_bn))),
        act_(register_module("act", torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(out_channels)))) {
    if (use_bn) bn_ = register_module("bn", torch::nn::BatchNorm2d(out_channels));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = cnn_->forward(x);
    if (bn_) out = bn_->forward(out);
    return use_act_ ? act_->forward(out) : out;
  }

 private:
  bool use_act_;
  std::shared_ptr<SwiftSrganSeparableConv> cnn_;
  torch::nn::PReLU act_;
  torch::nn::BatchNorm2d bn_{nullptr};
};

namespace swiftsrgan {

constexpr int64_t kBodyKernelSize = 3;
constexpr int64_t kOuterKernelSize = 9;  // the first and the last convolution

// Two ConvBlocks (the second without activation) plus the input.
class SwiftSrganResidualBlock : public torch::nn::Module {
 public:
  explicit SwiftSrganResidualBlock(int64_t channels)
      : block1_(register_module("block1", std::make_shared<SwiftSrganConvBlock>(channels, channels, kBodyKernelSize,
                                                                                /*use_act=*/true, /*use_bn=*/true))),
        block2_(register_module("block2", std::make_shared<SwiftSrganConvBlock>(channels, channels, kBodyKernelSize,
                                                                                /*use_act=*/false, /*use_bn=*/true))) {}

  torch::Tensor forward(const torch::Tensor& x) { return block2_->forward(block1_->forward(x)) + x; }

 private:
  std::shared_ptr<SwiftSrganConvBlock> block1_;
  std::shared_ptr<SwiftSrganConvBlock> block2_;
};

// 2x upsampling: separable conv to 4x the channels ("conv"), PixelShuffle(2), per-channel PReLU ("act").
class SwiftSrganUpsampleBlock : public torch::nn::Module {
 public:
  explicit SwiftSrganUpsampleBlock(int64_t channels)
      : conv_(register_module("conv",
                              std::make_shared<SwiftSrganSeparableConv>(channels, channels * 4, kBodyKernelSize))),
        shuffle_(register_module("ps", torch::nn::PixelShuffle(2))),
        act_(register_module("act", torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(channels)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return act_->forward(shuffle_->forward(conv_->forward(x))); }

 private:
  std::shared_ptr<SwiftSrganSeparableConv> conv_;
  torch::nn::PixelShuffle shuffle_;
  torch::nn::PReLU act_;
};

bool detect(const StateDict& state) {
  return state.has_all({"initial.cnn.depthwise.weight", "final_conv.pointwise.weight"});
}

SwiftSrganOptions detect_options(const StateDict& state) {
  SwiftSrganOptions options;
  options.in_channels = static_cast<int>(state.dim("initial.cnn.depthwise.weight", 0));
  options.num_channels = static_cast<int>(state.dim("initial.cnn.pointwise.weight", 0));
  options.num_blocks = sequence_length(state, "residual");
  options.upscale_factor = 1 << sequence_length(state, "upsampler");
  return options;
}

ModelInfo model_info(const SwiftSrganOptions& options) {
  ModelInfo info;
  info.architecture_id = "SwiftSRGAN";
  info.architecture_name = "Swift-SRGAN";
  info.purpose = purpose_for_scale(options.upscale_factor);
  info.tags = {std::to_string(options.num_channels) + "nf", std::to_string(options.num_blocks) + "nb"};
  info.scale = options.upscale_factor;
  info.input_channels = info.output_channels = options.in_channels;
  info.hyperparameters = {
      {"in_channels", options.in_channels},
      {"num_channels", options.num_channels},
      {"num_blocks", options.num_blocks},
      {"upscale_factor", options.upscale_factor},
  };
  return info;
}

Model load(const StateDict& state) {
  const SwiftSrganOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<SwiftSrganNetwork>(options), state);
}

}  // namespace swiftsrgan

SwiftSrganNetwork::SwiftSrganNetwork(const SwiftSrganOptions& options) {
  const int64_t channels = options.num_channels;
  initial_ = register_module("initial", std::make_shared<SwiftSrganConvBlock>(options.in_channels, channels,
                                                                              swiftsrgan::kOuterKernelSize, /*use_act=*/true,
                                                                              /*use_bn=*/false));
  residual_ = register_module("residual", torch::nn::Sequential());
  for (int i = 0; i < options.num_blocks; ++i)
    residual_->push_back(std::make_shared<swiftsrgan::SwiftSrganResidualBlock>(channels));
  convblock_ = register_module("convblock", std::make_shared<SwiftSrganConvBlock>(channels, channels, swiftsrgan::kBodyKernelSize,
                                                                                  /*use_act=*/false, /*use_bn=*/true));
  upsampler_ = register_module("upsampler", torch::nn::Sequential());
  for (int factor = options.upscale_factor; factor > 1; factor /= 2)
    upsampler_->push_back(std::make_shared<swiftsrgan::SwiftSrganUpsampleBlock>(channels));
  final_conv_ = register_module(
      "final_conv", std::make_shared<SwiftSrganSeparableConv>(channels, options.in_channels, swiftsrgan::kOuterKernelSize));
}

torch::Tensor SwiftSrganNetwork::forward(torch::Tensor x) {
  const torch::Tensor initial = initial_->forward(x);
  torch::Tensor features = convblock_->forward(residual_->forward(initial)) + initial;
  features = upsampler_->forward(features);
  return (torch::tanh(final_conv_->forward(features)) + 1) / 2;
}

const Architecture kSwiftSrganArchitecture = {"SwiftSRGAN", swiftsrgan::detect, swiftsrgan::load, "2^n", "any"};

}  // namespace uprez
