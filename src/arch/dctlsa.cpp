#include "arch/dctlsa.h"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace dctlsa {

constexpr int64_t kWindow = 16;
constexpr int kSwinLayersPerBlock = 2;  // SwinT modules in an LSAB
constexpr int kTransformerBlocks = 2;   // SwinTransformerBlocks in a BasicLayer (every second one shifted)
constexpr double kMlpRatio = 2.0;
constexpr double kFusionSlope = 0.05;  // LeakyReLU of the 1x1 fusion convs

bool detect(const StateDict& state) {
  return state.has_all({"fea_conv.weight", "B1.body.0.transformer_body.0.blocks.0.attn.qkv.weight",
                        "B1.body.0.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight",
                        "B1.body.1.transformer_body.0.blocks.0.attn.qkv.weight",
                        "B1.body.1.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight",
                        "B6.body.0.transformer_body.0.blocks.0.attn.qkv.weight",
                        "B6.body.0.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight",
                        "B6.body.1.transformer_body.0.blocks.0.attn.qkv.weight",
                        "B6.body.1.transformer_body.0.blocks.0.attn.local.pointwise_prenorm_1.weight", "c.0.weight",
                        "c1.0.weight", "c2.0.weight", "c3.0.weight", "c4.0.weight", "c5.0.weight", "LR_conv.weight",
                        "upsampler.0.weight"});
}

DctlsaOptions detect_options(const StateDict& state) {
  DctlsaOptions options;  // num_head cannot be recovered from the weights: spandrel assumes 5
  options.in_nc = static_cast<int>(state.dim("fea_conv.weight", 1));
  options.nf = static_cast<int>(state.dim("fea_conv.weight", 0));
  options.num_modules = static_cast<int>(state.dim("c.0.weight", 1) / options.nf);
  std::tie(options.upscale, options.out_nc) =
      scale_and_output_channels(state.dim("upsampler.0.weight", 0), options.in_nc);
  return options;
}

ModelInfo model_info(const DctlsaOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "DCTLSA";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {std::to_string(options.nf) + "nf", std::to_string(options.num_modules) + "nm",
               std::to_string(options.num_head) + "nh"};
  info.scale = options.upscale;
  info.input_channels = options.in_nc;
  info.output_channels = options.out_nc;
  info.size_requirements = SizeRequirements(16);
  info.supports_half = false;
  info.hyperparameters = {
      {"in_nc", options.in_nc},   {"nf", options.nf},           {"num_modules", options.num_modules},
      {"out_nc", options.out_nc}, {"upscale", options.upscale}, {"num_head", options.num_head},
  };
  return info;
}

Model load(const StateDict& state) {
  const DctlsaOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<DctlsaNetwork>(options), state);
}

// conv_block(kernel_size=1, act_type="lrelu"): Sequential(1x1 conv, LeakyReLU(0.05)).
torch::nn::Sequential fusion_conv(int64_t in_channels, int64_t out_channels) {
  torch::nn::Sequential fusion(same_conv(in_channels, out_channels, 1));
  fusion->push_back(make_activation("lrelu", kFusionSlope));
  return fusion;
}

FastConv2d unbiased_conv(int64_t channels, int64_t kernel_size, int64_t groups) {
  return FastConv2d(
      torch::nn::Conv2dOptions(channels, channels, kernel_size).padding(kernel_size / 2).groups(groups).bias(false));
}

// LocalModule: BatchNorm, 1x1 conv, depthwise 3x3 conv, BatchNorm, 1x1 conv (no conv biases).
torch::nn::Sequential local_module(int64_t channels) {
  return torch::nn::Sequential({
      {"pointwise_prenorm_0", torch::nn::BatchNorm2d(channels)},
      {"pointwise_conv_0", unbiased_conv(channels, 1, 1)},
      {"depthwise_conv", unbiased_conv(channels, 3, channels)},
      {"pointwise_prenorm_1", torch::nn::BatchNorm2d(channels)},
      {"pointwise_conv_1", unbiased_conv(channels, 1, 1)},
  });
}

// DCTLSA's WindowAttention on (B, H, W, C): local = x + local_module(x); q, k, v from local in 16x16 windows;
// linear attention q * scale @ (softmax over tokens of k)^T @ v; projected, and local added back.
class LinearWindowAttentionImpl : public torch::nn::Module {
 public:
  LinearWindowAttentionImpl(int64_t dim, int64_t num_heads)
      : num_heads_(num_heads),
        scale_(1.0 / std::sqrt(static_cast<double>(dim / num_heads))),
        qkv_(register_module("qkv", FastLinear(dim, dim * 3))),
        proj_(register_module("proj", FastLinear(dim, dim))),
        local_(register_module("local", local_module(dim))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t height = x.size(1), width = x.size(2), channels = x.size(3);
    const torch::Tensor image = x.permute({0, 3, 1, 2}).contiguous();
    const torch::Tensor local = (local_->forward(image) + image).permute({0, 2, 3, 1}).contiguous();
    const torch::Tensor windows = window_partition(qkv_->forward(local), kWindow);
    const int64_t window_count = windows.size(0), tokens = kWindow * kWindow;
    const torch::Tensor qkv =
        windows.reshape({window_count, tokens, 3, num_heads_, channels / num_heads_}).permute({2, 0, 3, 1, 4});
    const torch::Tensor context = fast_matmul(qkv[1].softmax(-2).transpose(-2, -1), qkv[2]);
    const torch::Tensor attended =
        fast_matmul(qkv[0] * scale_, context).transpose(1, 2).reshape({window_count, tokens, channels});
    const torch::Tensor merged = proj_->forward(attended).view({-1, kWindow, kWindow, channels});
    return window_reverse(merged, kWindow, height, width) + local;
  }

 private:
  int64_t num_heads_;
  double scale_;
  FastLinear qkv_;
  FastLinear proj_;
  torch::nn::Sequential local_;
};
TORCH_MODULE(LinearWindowAttention);

// DCTLSA's SwinTransformerBlock on (B, H*W, C) tokens: attention on the (cyclically shifted, without mask) feature
// map, replacing it, then x + mlp(x). No norms.
class LinearSwinBlockImpl : public torch::nn::Module {
 public:
  LinearSwinBlockImpl(int64_t dim, int64_t num_heads, int64_t shift)
      : shift_(shift),
        attn_(register_module("attn", LinearWindowAttention(dim, num_heads))),
        mlp_(register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * kMlpRatio), dim))) {}

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const int64_t batch = x.size(0), channels = x.size(2);
    torch::Tensor image = x.view({batch, height, width, channels});
    if (shift_ > 0) image = torch::roll(image, {-shift_, -shift_}, {1, 2});
    image = attn_->forward(image);
    if (shift_ > 0) image = torch::roll(image, {shift_, shift_}, {1, 2});
    const torch::Tensor tokens = image.view({batch, height * width, channels});
    return tokens + mlp_->forward(tokens);
  }

 private:
  int64_t shift_;
  LinearWindowAttention attn_;
  Mlp mlp_;
};
TORCH_MODULE(LinearSwinBlock);

// BasicLayer: reflect-pads the image to a multiple of the window, embeds it, runs the blocks (every second
// one shifted by half a window) and crops back.
class BasicLayerImpl : public torch::nn::Module {
 public:
  BasicLayerImpl(int64_t dim, int64_t num_heads)
      : blocks_(register_module("blocks", torch::nn::ModuleList())),
        patch_embed_(register_module("patch_embed", PatchEmbed(dim, /*patch_norm=*/true))) {
    for (int i = 0; i < kTransformerBlocks; ++i)
      blocks_->push_back(LinearSwinBlock(dim, num_heads, i % 2 == 0 ? 0 : kWindow / 2));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t height = x.size(2), width = x.size(3);
    const torch::Tensor padded = pad_to_multiple(x, kWindow, torch::kReflect);
    const int64_t padded_height = padded.size(2), padded_width = padded.size(3);
    torch::Tensor tokens = patch_embed_->forward(padded);
    for (const auto& block : *blocks_)
      tokens = block->as<LinearSwinBlockImpl>()->forward(tokens, padded_height, padded_width);
    return tokens_to_image(tokens, padded_height, padded_width).slice(2, 0, height).slice(3, 0, width).contiguous();
  }

 private:
  torch::nn::ModuleList blocks_;
  PatchEmbed patch_embed_;
};
TORCH_MODULE(BasicLayer);

// SwinT: a single BasicLayer ("transformer_body.0").
class SwinLayerImpl : public torch::nn::Module {
 public:
  SwinLayerImpl(int64_t dim, int64_t num_heads)
      : transformer_body_(register_module("transformer_body", torch::nn::Sequential(BasicLayer(dim, num_heads)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return transformer_body_->forward(x); }

 private:
  torch::nn::Sequential transformer_body_;
};
TORCH_MODULE(SwinLayer);

}  // namespace dctlsa

// LSAB: two SwinT layers ("body").
class LocalSelfAttentionBlock : public torch::nn::Module {
 public:
  LocalSelfAttentionBlock(int64_t dim, int64_t num_heads) : body_(register_module("body", torch::nn::Sequential())) {
    for (int i = 0; i < dctlsa::kSwinLayersPerBlock; ++i) body_->push_back(dctlsa::SwinLayer(dim, num_heads));
  }

  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x); }

 private:
  torch::nn::Sequential body_;
};

DctlsaNetwork::DctlsaNetwork(const DctlsaOptions& options) {
  const int64_t nf = options.nf;
  fea_conv_ = register_module("fea_conv", same_conv(options.in_nc, nf, 3));
  for (size_t i = 0; i < blocks_.size(); ++i)
    blocks_[i] =
        register_module("B" + std::to_string(i + 1), std::make_shared<LocalSelfAttentionBlock>(nf, options.num_head));
  for (size_t i = 0; i < dense_fusions_.size(); ++i)
    dense_fusions_[i] = register_module("c" + std::to_string(i + 1), dctlsa::fusion_conv(nf * (i + 2), nf));
  c_ = register_module("c", dctlsa::fusion_conv(nf * options.num_modules, nf));
  lr_conv_ = register_module("LR_conv", same_conv(nf, nf, 3));
  upsampler_ = register_module("upsampler", pixel_shuffle_block(nf, options.out_nc, options.upscale));
}

torch::Tensor DctlsaNetwork::forward(torch::Tensor x) {
  const torch::Tensor features = fea_conv_->forward(x);
  std::vector<torch::Tensor> block_outputs{blocks_[0]->forward(features)};
  torch::Tensor dense = features;  // input features and every block output so far, concatenated
  for (size_t i = 0; i < dense_fusions_.size(); ++i) {
    dense = torch::cat({dense, block_outputs.back()}, 1);
    block_outputs.push_back(blocks_[i + 1]->forward(dense_fusions_[i]->forward(dense)));
  }
  const torch::Tensor fused = c_->forward(torch::cat(block_outputs, 1));
  return upsampler_->forward(lr_conv_->forward(fused) + features);
}

const Architecture kDctlsaArchitecture = {"DCTLSA", dctlsa::detect, dctlsa::load, "any", "any (output: 1, 3, 4 or the input's)"};

}  // namespace uprez
