#include "arch/realcugan.h"

#include <utility>

#include "arch/detection.h"
#include "nn/any_dtype.h"
#include "nn/padding.h"
#include "nn/transposed_conv.h"


namespace uprez {

namespace realcugan {

constexpr double kLeakyReluSlope = 0.1;
constexpr int64_t kFeatures = 64;
// UNet1 crops its skip connection by 4, UNet2 by 16 (outer) and 4 (inner); the cascade crops UNet1's output by
// 20 to add it to UNet2's.
constexpr int64_t kUNet1SkipCrop = 4;
constexpr int64_t kUNet2OuterSkipCrop = 16;
constexpr int64_t kUNet2InnerSkipCrop = 4;
constexpr int64_t kCascadeCrop = 20;
// The "pro" models' input range: x * kProGain + kProOffset.
constexpr double kProGain = 0.7;
constexpr double kProOffset = 0.15;

FastConv2d unpadded_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1) {
  return FastConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).stride(stride));
}

torch::nn::LeakyReLU leaky_relu_layer() {
  return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(kLeakyReluSlope).inplace(true));
}

torch::Tensor activate(const torch::Tensor& x) { return torch::leaky_relu(x, kLeakyReluSlope); }

// F.pad with negative padding: drops `border` pixels on every side.
torch::Tensor crop(const torch::Tensor& x, int64_t border) {
  return x.narrow(2, border, x.size(2) - 2 * border).narrow(3, border, x.size(3) - 2 * border);
}

// Squeeze-excitation: x * sigmoid(conv2(relu(conv1(mean over H, W)))) with 1x1 convs "conv1" (channels ->
// channels / 8) and "conv2" (back); half inputs take the mean in float32.
class SqueezeExcitationBlock : public torch::nn::Module {
 public:
  explicit SqueezeExcitationBlock(int64_t channels)
      : conv1_(register_module("conv1", unpadded_conv(channels, channels / kReduction, 1))),
        conv2_(register_module("conv2", unpadded_conv(channels / kReduction, channels, 1))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor mean = x.scalar_type() == torch::kHalf
                                   ? x.to(torch::kFloat32).mean({2, 3}, /*keepdim=*/true).to(torch::kHalf)
                                   : x.mean({2, 3}, /*keepdim=*/true);
    return x * torch::sigmoid(conv2_->forward(torch::relu(conv1_->forward(mean))));
  }

 private:
  static constexpr int64_t kReduction = 8;
  FastConv2d conv1_;
  FastConv2d conv2_;
};

// Two unpadded 3x3 convs with LeakyReLU(0.1) ("conv.0", "conv.2"), optionally followed by squeeze-excitation
// ("seblock").
class UNetConv : public torch::nn::Module {
 public:
  UNetConv(int64_t in_channels, int64_t mid_channels, int64_t out_channels, bool squeeze_excitation)
      : conv_(register_module(
            "conv", torch::nn::Sequential(unpadded_conv(in_channels, mid_channels, 3), leaky_relu_layer(),
                                          unpadded_conv(mid_channels, out_channels, 3), leaky_relu_layer()))) {
    if (squeeze_excitation)
      seblock_ = register_module("seblock", std::make_shared<SqueezeExcitationBlock>(out_channels));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor features = conv_->forward(x);
    return seblock_ ? seblock_->forward(features) : features;
  }

 private:
  torch::nn::Sequential conv_;
  std::shared_ptr<SqueezeExcitationBlock> seblock_;
};

bool detect(const StateDict& state) {
  return state.has_all({"unet1.conv1.conv.0.weight", "unet1.conv1.conv.2.weight", "unet1.conv1_down.weight",
                        "unet1.conv2.conv.0.weight", "unet1.conv2.conv.2.weight", "unet1.conv2.seblock.conv1.weight",
                        "unet1.conv2_up.weight", "unet1.conv_bottom.weight", "unet2.conv1.conv.0.weight",
                        "unet2.conv1_down.weight", "unet2.conv2.conv.0.weight", "unet2.conv2.seblock.conv1.weight",
                        "unet2.conv3.conv.0.weight", "unet2.conv3.seblock.conv1.weight", "unet2.conv3_up.weight",
                        "unet2.conv4.conv.0.weight", "unet2.conv4_up.weight", "unet2.conv5.weight",
                        "unet2.conv_bottom.weight"});
}

RealCuganOptions detect_options(const StateDict& state) {
  RealCuganOptions options;
  options.pro = state.contains("pro");
  options.in_channels = static_cast<int>(state.dim("unet1.conv1.conv.0.weight", 1));
  if (state.contains("conv_final.weight")) {
    // UpCunet4x(in=4k) and UpCunet2x_fast(in=k) have the same shapes; spandrel assumes the latter.
    options.out_channels = static_cast<int>(state.dim("conv_final.weight", 0) / 4);
    if (options.out_channels * 4 == options.in_channels) {
      options.scale = 2;
      options.fast = true;
      options.in_channels /= 4;
    } else {
      options.scale = 4;
    }
  } else {
    options.scale = state.dim("unet1.conv_bottom.weight", 2) == 5 ? 3 : 2;
    options.out_channels = static_cast<int>(state.dim("unet2.conv_bottom.weight", 0));
  }
  return options;
}

ModelInfo model_info(const RealCuganOptions& options) {
  ModelInfo info;
  if (options.pro) info.tags.push_back("pro");
  info.size_requirements = SizeRequirements(32);
  if (options.fast) {
    info.size_requirements = SizeRequirements(40, 4);
    info.tags.push_back("fast");
  }
  info.architecture_id = info.architecture_name = "RealCUGAN";
  info.purpose = Purpose::SR;
  info.scale = options.scale;
  info.input_channels = options.in_channels;
  info.output_channels = options.out_channels;
  info.hyperparameters = {
      {"in_channels", options.in_channels}, {"out_channels", options.out_channels}, {"scale", options.scale}};
  if (!options.fast) info.hyperparameters["pro"] = options.pro;
  if (options.scale == 2) info.hyperparameters["fast"] = options.fast;
  return info;
}

Model load(const StateDict& file_state) {
  const RealCuganOptions options = detect_options(file_state);
  StateDict state = file_state;
  if (options.pro) state.set("pro", torch::zeros({1}));  // spandrel resets it, whatever was stored
  return assemble_model(model_info(options), std::make_shared<RealCuganNetwork>(options), state);
}

}  // namespace realcugan

// The first, shallow U-Net (UNet1; UNet1x3 for 3x): one down/up level, ending in a transposed conv that upscales
// by `scale` (2 or 3).
class RealCuganUNet1 : public torch::nn::Module {
 public:
  RealCuganUNet1(int64_t in_channels, int64_t out_channels, int64_t scale)
      : conv1_(register_module("conv1", std::make_shared<realcugan::UNetConv>(in_channels, 32, realcugan::kFeatures, false))),
        conv1_down_(register_module("conv1_down", realcugan::unpadded_conv(realcugan::kFeatures, realcugan::kFeatures, 2, 2))),
        conv2_(register_module("conv2", std::make_shared<realcugan::UNetConv>(realcugan::kFeatures, 128, realcugan::kFeatures, true))),
        conv2_up_(register_module("conv2_up", transposed_conv(realcugan::kFeatures, realcugan::kFeatures, 2, 2))),
        conv3_(register_module("conv3", realcugan::unpadded_conv(realcugan::kFeatures, realcugan::kFeatures, 3))),
        conv_bottom_(register_module("conv_bottom", scale == 3 ? transposed_conv(realcugan::kFeatures, out_channels, 5, 3, 2)
                                                               : transposed_conv(realcugan::kFeatures, out_channels, 4, 2, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor x1 = conv1_->forward(x);
    torch::Tensor x2 = realcugan::activate(conv1_down_->forward(x1));
    x2 = realcugan::activate(conv2_up_->forward(conv2_->forward(x2)));
    const torch::Tensor x3 = realcugan::activate(conv3_->forward(realcugan::crop(x1, realcugan::kUNet1SkipCrop) + x2));
    return conv_bottom_->forward(x3);
  }

 private:
  std::shared_ptr<realcugan::UNetConv> conv1_;
  FastConv2d conv1_down_;
  std::shared_ptr<realcugan::UNetConv> conv2_;
  TransposedConv2d conv2_up_;
  FastConv2d conv3_;
  TransposedConv2d conv_bottom_;
};

// The second, deeper U-Net (UNet2): two down/up levels, ending in an unpadded 3x3 conv.
class RealCuganUNet2 : public torch::nn::Module {
 public:
  RealCuganUNet2(int64_t in_channels, int64_t out_channels)
      : conv1_(register_module("conv1", std::make_shared<realcugan::UNetConv>(in_channels, 32, realcugan::kFeatures, false))),
        conv1_down_(register_module("conv1_down", realcugan::unpadded_conv(realcugan::kFeatures, realcugan::kFeatures, 2, 2))),
        conv2_(register_module("conv2", std::make_shared<realcugan::UNetConv>(realcugan::kFeatures, realcugan::kFeatures, 128, true))),
        conv2_down_(register_module("conv2_down", realcugan::unpadded_conv(128, 128, 2, 2))),
        conv3_(register_module("conv3", std::make_shared<realcugan::UNetConv>(128, 256, 128, true))),
        conv3_up_(register_module("conv3_up", transposed_conv(128, 128, 2, 2))),
        conv4_(register_module("conv4", std::make_shared<realcugan::UNetConv>(128, realcugan::kFeatures, realcugan::kFeatures, true))),
        conv4_up_(register_module("conv4_up", transposed_conv(realcugan::kFeatures, realcugan::kFeatures, 2, 2))),
        conv5_(register_module("conv5", realcugan::unpadded_conv(realcugan::kFeatures, realcugan::kFeatures, 3))),
        conv_bottom_(register_module("conv_bottom", realcugan::unpadded_conv(realcugan::kFeatures, out_channels, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor x1 = conv1_->forward(x);
    const torch::Tensor x2 = conv2_->forward(realcugan::activate(conv1_down_->forward(x1)));
    torch::Tensor x3 = conv3_->forward(realcugan::activate(conv2_down_->forward(x2)));
    x3 = realcugan::activate(conv3_up_->forward(x3));
    torch::Tensor x4 = conv4_->forward(realcugan::crop(x2, realcugan::kUNet2InnerSkipCrop) + x3);
    x4 = realcugan::activate(conv4_up_->forward(x4));
    const torch::Tensor x5 = realcugan::activate(conv5_->forward(realcugan::crop(x1, realcugan::kUNet2OuterSkipCrop) + x4));
    return conv_bottom_->forward(x5);
  }

 private:
  std::shared_ptr<realcugan::UNetConv> conv1_;
  FastConv2d conv1_down_;
  std::shared_ptr<realcugan::UNetConv> conv2_;
  FastConv2d conv2_down_;
  std::shared_ptr<realcugan::UNetConv> conv3_;
  TransposedConv2d conv3_up_;
  std::shared_ptr<realcugan::UNetConv> conv4_;
  TransposedConv2d conv4_up_;
  FastConv2d conv5_;
  FastConv2d conv_bottom_;
};

RealCuganNetwork::RealCuganNetwork(const RealCuganOptions& options) : options_(options) {
  if (options.pro) register_buffer("pro", torch::zeros({1}));
  // UpCunet4x and UpCunet2x_fast run 2x U-Nets on 64 features and finish with conv_final + PixelShuffle(2).
  const bool final_shuffle = options.scale == 4 || options.fast;
  const int64_t unet_in = options.fast ? 4 * options.in_channels : options.in_channels;
  const int64_t unet_out = final_shuffle ? realcugan::kFeatures : options.out_channels;
  unet1_ = register_module("unet1", std::make_shared<RealCuganUNet1>(unet_in, unet_out, options.scale == 3 ? 3 : 2));
  unet2_ = register_module("unet2", std::make_shared<RealCuganUNet2>(unet_out, unet_out));
  if (final_shuffle) conv_final_ = register_module("conv_final", realcugan::unpadded_conv(realcugan::kFeatures, 4 * options.out_channels, 3));
}

torch::Tensor RealCuganNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  if (options_.pro) x = x * realcugan::kProGain + realcugan::kProOffset;
  const torch::Tensor input = x;

  // Reflect-pad by the U-Nets' border plus up to a multiple of 2 (4 for 3x): 18 for 2x, 14 for 3x, 19 for 4x and
  // 38 for 2x fast (19 after unshuffling).
  const int64_t multiple = options_.scale == 3 ? 4 : 2;
  const int64_t border = options_.fast ? 38 : options_.scale == 2 ? 18 : options_.scale == 3 ? 14 : 19;
  const int64_t pad_height = (height + multiple - 1) / multiple * multiple - height;
  const int64_t pad_width = (width + multiple - 1) / multiple * multiple - width;
  x = pad_any_dtype(x, torch::nn::functional::PadFuncOptions({border, border + pad_width, border, border + pad_height})
                          .mode(torch::kReflect));
  if (options_.fast) x = torch::pixel_unshuffle(x, 2);

  x = unet1_->forward(x);
  x = unet2_->forward(x) + realcugan::crop(x, realcugan::kCascadeCrop);
  if (conv_final_) x = torch::pixel_shuffle(realcugan::crop(conv_final_->forward(x), 1), 2);
  x = x.narrow(2, 0, height * options_.scale).narrow(3, 0, width * options_.scale);
  if (conv_final_) x = x + upscale_nearest(input, options_.scale);

  if (options_.pro) x = (x - realcugan::kProOffset) / realcugan::kProGain;
  return x;
}

const Architecture kRealCuganArchitecture = {"RealCUGAN", realcugan::detect, realcugan::load, "2, 3, 4", "any"};

}  // namespace uprez
