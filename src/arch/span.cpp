#include "arch/span.h"

#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"


namespace uprez {

namespace span {

constexpr int64_t kChainGain = 2;  // the 1x1-3x3-1x1 chain widens to gain * channels
constexpr double kSimilarityOffset = 0.5;

// The kernel of conv(second, conv(first, x)) for stride-1 convolutions, where `padding` is the second
// kernel's size - 1 when the first kernel is 1x1 (spandrel's Conv3XC.update_params).
torch::Tensor compose_kernels(const torch::Tensor& first, const torch::Tensor& second, int64_t padding) {
  return torch::conv2d(first.flip({2, 3}).permute({1, 0, 2, 3}), second, {}, 1, padding)
      .flip({2, 3})
      .permute({1, 0, 2, 3});
}

// The bias of conv(second, conv(first, x)) given the first conv's bias.
torch::Tensor compose_biases(const torch::Tensor& first_bias, const torch::Tensor& second_weight,
                             const torch::Tensor& second_bias) {
  return (second_weight * first_bias.reshape({1, -1, 1, 1})).sum({1, 2, 3}) + second_bias;
}

FastConv2d unpadded_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
  return FastConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size));
}

bool detect(const StateDict& state) {
  return state.has_all({"conv_1.sk.weight", "block_1.c1_r.sk.weight", "block_1.c1_r.eval_conv.weight",
                        "block_1.c3_r.eval_conv.weight", "conv_cat.weight", "conv_2.sk.weight",
                        "conv_2.eval_conv.weight", "upsampler.0.weight"});
}

SpanOptions detect_options(const StateDict& state) {
  SpanOptions options;
  options.num_in_ch = static_cast<int>(state.dim("conv_1.sk.weight", 1));
  options.feature_channels = static_cast<int>(state.dim("conv_1.sk.weight", 0));
  std::tie(options.upscale, options.num_out_ch) =
      scale_and_output_channels(state.dim("upsampler.0.weight", 0), options.num_in_ch);
  options.norm = !state.contains("no_norm");
  return options;
}

ModelInfo model_info(const SpanOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "SPAN";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {std::to_string(options.feature_channels) + "nf"};
  info.scale = options.upscale;
  info.input_channels = options.num_in_ch;
  info.output_channels = options.num_out_ch;
  info.hyperparameters = {
      {"num_in_ch", options.num_in_ch},
      {"num_out_ch", options.num_out_ch},
      {"feature_channels", options.feature_channels},
      {"upscale", options.upscale},
      {"bias", true},
      {"norm", options.norm},
      {"img_range", options.img_range},
      {"rgb_mean", options.rgb_mean},
  };
  return info;
}

Model load(const StateDict& file_state) {
  const SpanOptions options = detect_options(file_state);
  StateDict state = file_state;
  if (!options.norm) state.set("no_norm", torch::zeros({1}));  // spandrel resets it, whatever was stored
  auto network = std::make_shared<SpanNetwork>(options);
  Model model = assemble_model(model_info(options), network, state);
  network->fuse_reparameterized_convs();
  return model;
}

}  // namespace span

// A 3x3 convolution trained as the sum of a 1x1 skip conv (`sk`) and a 1x1-3x3-1x1 chain (`conv`), run as
// the single fused 3x3 conv (`eval_conv`).
class Conv3XC : public torch::nn::Module {
 public:
  Conv3XC(int64_t in_channels, int64_t out_channels)
      : sk_(register_module("sk", span::unpadded_conv(in_channels, out_channels, 1))),
        conv_(register_module("conv", torch::nn::Sequential(
                                          span::unpadded_conv(in_channels, in_channels * span::kChainGain, 1),
                                          span::unpadded_conv(in_channels * span::kChainGain, out_channels * span::kChainGain, 3),
                                          span::unpadded_conv(out_channels * span::kChainGain, out_channels, 1)))),
        eval_conv_(register_module("eval_conv", same_conv(in_channels, out_channels, 3))) {}

  void fuse() {
    torch::NoGradGuard no_grad;
    const auto& expand = conv_[0]->as<FastConv2d>();
    const auto& spatial = conv_[1]->as<FastConv2d>();
    const auto& project = conv_[2]->as<FastConv2d>();

    const torch::Tensor chain_weight =
        span::compose_kernels(span::compose_kernels(expand->weight, spatial->weight, 2), project->weight, 0);
    const torch::Tensor chain_bias =
        span::compose_biases(span::compose_biases(expand->bias, spatial->weight, spatial->bias), project->weight, project->bias);
    // The 1x1 skip conv is the centre tap of a 3x3 kernel.
    const torch::Tensor skip_weight = torch::constant_pad_nd(sk_->weight, {1, 1, 1, 1});
    eval_conv_->weight.copy_(chain_weight + skip_weight);
    eval_conv_->bias.copy_(chain_bias + sk_->bias);
  }

  torch::Tensor forward(const torch::Tensor& x) { return eval_conv_->forward(x); }

 private:
  FastConv2d sk_;
  torch::nn::Sequential conv_;
  FastConv2d eval_conv_;
};

// SPAN's attention block (SPAB): three Conv3XC with SiLU between them and a parameter-free attention
// (sigmoid(out3) - 0.5) applied to out3 + x.
class SpanAttentionBlock : public torch::nn::Module {
 public:
  struct Output {
    torch::Tensor features;
    torch::Tensor first_activation;  // SiLU(c1_r(x)): spandrel's in-place SiLU makes this the value returned
  };

  explicit SpanAttentionBlock(int64_t channels) {
    for (size_t i = 0; i < convs_.size(); ++i)
      convs_[i] = register_module("c" + std::to_string(i + 1) + "_r", std::make_shared<Conv3XC>(channels, channels));
  }

  void fuse() {
    for (const auto& conv : convs_) conv->fuse();
  }

  Output forward(const torch::Tensor& x) {
    torch::Tensor first = torch::silu(convs_[0]->forward(x));
    const torch::Tensor second = torch::silu(convs_[1]->forward(first));
    const torch::Tensor third = convs_[2]->forward(second);
    const torch::Tensor attention = torch::sigmoid(third) - span::kSimilarityOffset;
    return {(third + x) * attention, std::move(first)};
  }

 private:
  std::array<std::shared_ptr<Conv3XC>, 3> convs_;
};

SpanNetwork::SpanNetwork(const SpanOptions& options)
    : options_(options), mean_(torch::tensor(options.rgb_mean, torch::kFloat32).view({1, -1, 1, 1})) {
  const int64_t features = options.feature_channels;
  if (!options.norm) register_buffer("no_norm", torch::zeros({1}));
  conv_1_ = register_module("conv_1", std::make_shared<Conv3XC>(options.num_in_ch, features));
  for (size_t i = 0; i < blocks_.size(); ++i)
    blocks_[i] = register_module("block_" + std::to_string(i + 1), std::make_shared<SpanAttentionBlock>(features));
  conv_cat_ = register_module("conv_cat", same_conv(features * 4, features, 1));
  conv_2_ = register_module("conv_2", std::make_shared<Conv3XC>(features, features));
  upsampler_ = register_module("upsampler", pixel_shuffle_block(features, options.num_out_ch, options.upscale));
}

void SpanNetwork::fuse_reparameterized_convs() {
  conv_1_->fuse();
  for (const auto& block : blocks_) block->fuse();
  conv_2_->fuse();
}

torch::Tensor SpanNetwork::forward(torch::Tensor x) {
  if (options_.norm) x = (x - mean_.to(x.options())) * options_.img_range;
  const torch::Tensor features = conv_1_->forward(x);
  torch::Tensor block_output = features;
  torch::Tensor first_block_output;
  SpanAttentionBlock::Output last{};
  for (size_t i = 0; i < blocks_.size(); ++i) {
    last = blocks_[i]->forward(block_output);
    block_output = last.features;
    if (i == 0) first_block_output = block_output;
  }
  const torch::Tensor refined = conv_2_->forward(block_output);
  const torch::Tensor merged =
      conv_cat_->forward(torch::cat({features, refined, first_block_output, last.first_activation}, 1));
  return upsampler_->forward(merged);
}

const Architecture kSpanArchitecture = {"SPAN", span::detect, span::load, "1-8", "1, 3"};

}  // namespace uprez
