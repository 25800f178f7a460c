#include "arch/seemore.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace seemore {

constexpr int64_t kMlpRatio = 2;
constexpr int64_t kAggregationStride = 4;

const char* to_string(SeemoreLowRankSpace space) {
  switch (space) {
    case SeemoreLowRankSpace::Linear:
      return "linear";
    case SeemoreLowRankSpace::Exp:
      return "exp";
    case SeemoreLowRankSpace::Double:
      return "double";
  }
  return "";
}

// The low-rank dimension of expert `index`.
int64_t low_rank_dimension(SeemoreLowRankSpace space, int64_t index) {
  switch (space) {
    case SeemoreLowRankSpace::Linear:
      return index + 2;
    case SeemoreLowRankSpace::Exp:
      return int64_t{1} << (index + 1);
    case SeemoreLowRankSpace::Double:
      return 2 * index + 2;
  }
  return 0;
}

FastConv2d conv(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size,
                       int64_t groups = 1) {
  return FastConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size)
                               .padding(torch::ExpandingArray<2>({(*kernel_size)[0] / 2, (*kernel_size)[1] / 2}))
                               .groups(groups));
}

// ShuffleNet's channel shuffle with two groups: interleaves the first and second halves of the channels.
torch::Tensor channel_shuffle(const torch::Tensor& x) {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  return x.view({batch, 2, channels / 2, height, width}).transpose(1, 2).contiguous().view({batch, -1, height, width});
}

// StripedConv2d (depthwise): a 1 x k conv then a k x 1 conv, "conv.0" and "conv.1".
class SeemoreStripedConv : public torch::nn::Module {
 public:
  SeemoreStripedConv(int64_t channels, int64_t kernel_size)
      : conv_(register_module("conv", torch::nn::Sequential(conv(channels, channels, {1, kernel_size}, channels),
                                                            conv(channels, channels, {kernel_size, 1}, channels)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(x); }

 private:
  torch::nn::Sequential conv_;
};

// GatedFFN: GELU(1x1 "fn_1") split in halves, first half * depthwise 3x3 "gate"(second half), GELU(1x1 "fn_2").
class SeemoreGatedFeedForward : public torch::nn::Module {
 public:
  explicit SeemoreGatedFeedForward(int64_t channels)
      : fn_1_(
            register_module("fn_1", torch::nn::Sequential(conv(channels, channels * kMlpRatio, 1), torch::nn::GELU()))),
        fn_2_(register_module("fn_2", torch::nn::Sequential(conv(channels, channels, 1), torch::nn::GELU()))),
        gate_(register_module("gate",
                              conv(channels * kMlpRatio / 2, channels * kMlpRatio / 2, 3, channels * kMlpRatio / 2))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> halves = fn_1_->forward(x).chunk(2, 1);
    return fn_2_->forward(halves[0] * gate_->forward(halves[1]));
  }

 private:
  torch::nn::Sequential fn_1_;
  torch::nn::Sequential fn_2_;
  FastConv2d gate_;
};

// StripedConvFormer: proj(striped conv "attn"(q) * v), with q, v = GELU(1x1 "to_qv"(x)).
class SeemoreStripedConvFormer : public torch::nn::Module {
 public:
  SeemoreStripedConvFormer(int64_t channels, int64_t kernel_size)
      : proj_(register_module("proj", conv(channels, channels, 1))),
        to_qv_(register_module("to_qv", torch::nn::Sequential(conv(channels, channels * 2, 1), torch::nn::GELU()))),
        attn_(register_module("attn", std::make_shared<SeemoreStripedConv>(channels, kernel_size))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> qv = to_qv_->forward(x).chunk(2, 1);
    return proj_->forward(attn_->forward(qv[0]) * qv[1]);
  }

 private:
  FastConv2d proj_;
  torch::nn::Sequential to_qv_;
  std::shared_ptr<SeemoreStripedConv> attn_;
};

// Expert: a low-rank product conv_3(conv_1(x) * conv_2(k)) of 1x1 convs.
class SeemoreExpert : public torch::nn::Module {
 public:
  SeemoreExpert(int64_t channels, int64_t low_dim)
      : conv_1_(register_module("conv_1", conv(channels, low_dim, 1))),
        conv_2_(register_module("conv_2", conv(channels, low_dim, 1))),
        conv_3_(register_module("conv_3", conv(low_dim, channels, 1))) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& k) {
    return conv_3_->forward(conv_2_->forward(k) * conv_1_->forward(x));
  }

 private:
  FastConv2d conv_1_;
  FastConv2d conv_2_;
  FastConv2d conv_3_;
};

// Router: routing logits from global average pooling, flatten and a linear layer "body.2".
class SeemoreRouter : public torch::nn::Module {
 public:
  SeemoreRouter(int64_t channels, int64_t num_experts)
      : body_(register_module(
            "body",
            torch::nn::Sequential(torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                                  FastLinear(torch::nn::LinearOptions(channels, num_experts).bias(false))))) {}

  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x); }

 private:
  torch::nn::Sequential body_;
};

// MoELayer: each image adds its top-k experts' outputs, weighted by their softmax routing weights, to the input.
class SeemoreMixtureOfExperts : public torch::nn::Module {
 public:
  explicit SeemoreMixtureOfExperts(const SeemoreOptions& options)
      : topk_(options.topk),
        experts_(register_module("experts", torch::nn::ModuleList())),
        gate_(register_module("gate", std::make_shared<SeemoreRouter>(options.embedding_dim, options.num_experts))) {
    for (int i = 0; i < options.num_experts; ++i)
      experts_->push_back(
          std::make_shared<SeemoreExpert>(options.embedding_dim, low_rank_dimension(options.lr_space, i)));
  }

  torch::Tensor forward(const torch::Tensor& inputs, const torch::Tensor& k) {
    const torch::Tensor weights = torch::softmax(gate_->forward(inputs), 1, torch::kFloat).to(inputs.dtype());
    const auto [top_weights, top_experts] = torch::topk(weights, topk_);
    // spandrel routes the batch by its first image; routing each image by its own choice is the same for one image.
    std::vector<torch::Tensor> outputs;
    for (int64_t b = 0; b < inputs.size(0); ++b) {
      const torch::Tensor image = inputs.narrow(0, b, 1);
      const torch::Tensor image_k = k.narrow(0, b, 1);
      torch::Tensor output = image.clone();
      for (int64_t i = 0; i < topk_; ++i) {
        auto* expert = experts_[top_experts[b][i].item<int64_t>()]->as<SeemoreExpert>();
        output += expert->forward(image, image_k) * top_weights.narrow(0, b, 1).narrow(1, i, 1).view({1, 1, 1, 1});
      }
      outputs.push_back(std::move(output));
    }
    return torch::cat(outputs, 0);
  }

 private:
  int64_t topk_;
  torch::nn::ModuleList experts_;
  std::shared_ptr<SeemoreRouter> gate_;
};

// MoEBlock: conv_1 (3x3, GELU, 1x1 to twice the channels), optionally channel-shuffled, split into x and k;
// x goes through a striped conv, k through the calibration (stride-4 aggregation, convs, bilinear upscaling,
// residual), then the experts and a 1x1 "proj".
class SeemoreMixtureBlock : public torch::nn::Module {
 public:
  explicit SeemoreMixtureBlock(const SeemoreOptions& options)
      : use_shuffle_(options.use_shuffle), recursive_(options.recursive) {
    const int64_t channels = options.embedding_dim;
    conv_1_ = register_module("conv_1", torch::nn::Sequential(conv(channels, channels, 3), torch::nn::GELU(),
                                                              conv(channels, 2 * channels, 1)));
    agg_conv_ = register_module(
        "agg_conv",
        torch::nn::Sequential(FastConv2d(torch::nn::Conv2dOptions(channels, channels, kAggregationStride)
                                                    .stride(kAggregationStride)
                                                    .groups(channels)),
                              torch::nn::GELU()));
    conv_ = register_module("conv",
                            torch::nn::Sequential(conv(channels, channels, 3, channels), conv(channels, channels, 1)));
    conv_2_ = register_module("conv_2", torch::nn::Sequential(SeemoreStripedConv(channels, 3), torch::nn::GELU()));
    moe_layer_ = register_module("moe_layer", std::make_shared<SeemoreMixtureOfExperts>(options));
    proj_ = register_module("proj", conv(channels, channels, 1));
  }

  torch::Tensor forward(const torch::Tensor& input) {
    torch::Tensor features = conv_1_->forward(input);
    if (use_shuffle_) features = channel_shuffle(features);
    const std::vector<torch::Tensor> halves = features.chunk(2, 1);
    return proj_->forward(moe_layer_->forward(conv_2_->forward(halves[0]), calibrate(halves[1])));
  }

 private:
  torch::Tensor calibrate(const torch::Tensor& x) {
    torch::Tensor aggregated = x;
    for (int i = 0; i < recursive_; ++i) aggregated = agg_conv_->forward(aggregated);
    const torch::Tensor refined = conv_->forward(aggregated);
    return x + F::interpolate(refined, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{x.size(2), x.size(3)})
                                           .mode(torch::kBilinear)
                                           .align_corners(false));
  }

  bool use_shuffle_;
  int recursive_;
  torch::nn::Sequential conv_1_{nullptr};
  torch::nn::Sequential agg_conv_{nullptr};
  torch::nn::Sequential conv_{nullptr};
  torch::nn::Sequential conv_2_{nullptr};
  std::shared_ptr<SeemoreMixtureOfExperts> moe_layer_;
  FastConv2d proj_{nullptr};
};

// RME / SME: x + block(norm_1(x)), then x + ffn(norm_2(x)), with the mixture block (local) or the striped
// conv former (global) as "block".
class SeemoreExpertsBlock : public torch::nn::Module {
 public:
  SeemoreExpertsBlock(int64_t channels, torch::nn::AnyModule block)
      : norm_1_(register_module("norm_1", ChannelLayerNorm(channels))),
        block_(std::move(block)),
        norm_2_(register_module("norm_2", ChannelLayerNorm(channels))),
        ffn_(register_module("ffn", std::make_shared<SeemoreGatedFeedForward>(channels))) {
    register_module("block", block_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor mixed = block_.forward(norm_1_->forward(x)) + x;
    return ffn_->forward(norm_2_->forward(mixed)) + mixed;
  }

 private:
  ChannelLayerNorm norm_1_;
  torch::nn::AnyModule block_;
  ChannelLayerNorm norm_2_;
  std::shared_ptr<SeemoreGatedFeedForward> ffn_;
};

// ResGroup: the local (mixture of experts) block, then the global (striped conv) block.
class SeemoreResidualGroup : public torch::nn::Module {
 public:
  explicit SeemoreResidualGroup(const SeemoreOptions& options)
      : local_block_(register_module(
            "local_block",
            std::make_shared<SeemoreExpertsBlock>(
                options.embedding_dim, torch::nn::AnyModule(std::make_shared<SeemoreMixtureBlock>(options))))),
        global_block_(register_module(
            "global_block", std::make_shared<SeemoreExpertsBlock>(
                                options.embedding_dim, torch::nn::AnyModule(std::make_shared<SeemoreStripedConvFormer>(
                                                           options.embedding_dim, options.global_kernel_size))))) {}

  torch::Tensor forward(const torch::Tensor& x) { return global_block_->forward(local_block_->forward(x)); }

 private:
  std::shared_ptr<SeemoreExpertsBlock> local_block_;
  std::shared_ptr<SeemoreExpertsBlock> global_block_;
};

}  // namespace seemore

SeemoreNetwork::SeemoreNetwork(const SeemoreOptions& options)
    : img_range_(options.img_range), mean_(div2k_mean(3)) {
  const int64_t dim = options.embedding_dim;
  conv_1_ = register_module("conv_1", seemore::conv(options.in_chans, dim, 3));
  body_ = register_module("body", torch::nn::Sequential());
  for (int i = 0; i < options.num_layers; ++i) body_->push_back(std::make_shared<seemore::SeemoreResidualGroup>(options));
  norm_ = register_module("norm", ChannelLayerNorm(dim));
  conv_2_ = register_module("conv_2", seemore::conv(dim, dim, 3));
  upsampler_ = register_module("upsampler", pixel_shuffle_block(dim, options.in_chans, options.scale));
}

torch::Tensor SeemoreNetwork::forward(torch::Tensor x) {
  const torch::Tensor mean = mean_.to(x.options());
  const torch::Tensor shallow = conv_1_->forward((x - mean) * img_range_);
  const torch::Tensor deep = norm_->forward(body_->forward(shallow));
  return upsampler_->forward(conv_2_->forward(deep) + shallow) / img_range_ + mean;
}

namespace seemore {

bool detect(const StateDict& state) {
  return state.has_all({"conv_1.weight",
                        "conv_1.bias",
                        "norm.weight",
                        "norm.bias",
                        "conv_2.weight",
                        "conv_2.bias",
                        "upsampler.0.weight",
                        "upsampler.0.bias",
                        "body.0.local_block.norm_1.weight",
                        "body.0.local_block.norm_1.bias",
                        "body.0.local_block.block.conv_1.0.weight",
                        "body.0.local_block.block.conv_1.2.weight",
                        "body.0.local_block.block.agg_conv.0.weight",
                        "body.0.local_block.block.conv.0.weight",
                        "body.0.local_block.block.conv.1.weight",
                        "body.0.local_block.block.conv_2.0.conv.0.weight",
                        "body.0.local_block.block.conv_2.0.conv.1.weight",
                        "body.0.local_block.block.moe_layer.experts.0.conv_1.weight",
                        "body.0.local_block.block.moe_layer.experts.0.conv_2.weight",
                        "body.0.local_block.block.moe_layer.experts.0.conv_3.weight",
                        "body.0.local_block.block.proj.weight",
                        "body.0.local_block.norm_2.weight",
                        "body.0.local_block.ffn.gate.weight",
                        "body.0.global_block.norm_1.weight",
                        "body.0.global_block.block.proj.weight",
                        "body.0.global_block.block.attn.conv.0.weight",
                        "body.0.global_block.ffn.fn_2.0.weight",
                        "body.0.global_block.ffn.gate.weight"});
}

// spandrel's _get_lr_space: the growth of the experts' low-rank dimensions from the second and third experts.
SeemoreLowRankSpace detect_low_rank_space(const StateDict& state) {
  const std::string third = "body.0.local_block.block.moe_layer.experts.2.conv_1.weight";
  if (state.contains(third)) {
    switch (state.dim(third, 0)) {
      case 4:
        return SeemoreLowRankSpace::Linear;
      case 6:
        return SeemoreLowRankSpace::Double;
      case 8:
        return SeemoreLowRankSpace::Exp;
      default:
        throw Error("SeemoRe: unknown low-rank dimension " + std::to_string(state.dim(third, 0)));
    }
  }
  const std::string second = "body.0.local_block.block.moe_layer.experts.1.conv_1.weight";
  if (state.contains(second)) {
    switch (state.dim(second, 0)) {
      case 3:
        return SeemoreLowRankSpace::Linear;
      case 4:
        return SeemoreLowRankSpace::Double;  // or Exp: the same networks
      default:
        throw Error("SeemoRe: unknown low-rank dimension " + std::to_string(state.dim(second, 0)));
    }
  }
  return SeemoreLowRankSpace::Linear;  // one expert: the growth does not matter
}

SeemoreOptions detect_options(const StateDict& state) {
  SeemoreOptions options;
  options.in_chans = static_cast<int>(state.dim("conv_1.weight", 1));
  options.embedding_dim = static_cast<int>(state.dim("conv_1.weight", 0));
  options.num_layers = sequence_length(state, "body");
  options.num_experts = sequence_length(state, "body.0.local_block.block.moe_layer.experts");
  options.lr_space = detect_low_rank_space(state);
  options.scale = static_cast<int>(integer_sqrt(state.dim("upsampler.0.weight", 0) / options.in_chans));
  options.global_kernel_size = static_cast<int>(state.dim("body.0.global_block.block.attn.conv.0.weight", 3));

  // img_range, use_shuffle, recursive and topk are undetectable: spandrel keeps its defaults except for the
  // published model sizes.
  if (options.num_layers == 16 && options.embedding_dim == 48) {  // Large
    options.use_shuffle = false;
    options.recursive = 1;
  }
  return options;
}

ModelInfo model_info(const SeemoreOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "SeemoRe";
  info.purpose = purpose_for_scale(options.scale);
  if (options.num_layers == 6 && options.embedding_dim == 36) {
    info.tags = {"Tiny"};
  } else if (options.num_layers == 8 && options.embedding_dim == 48) {
    info.tags = {"Big"};
  } else if (options.num_layers == 16 && options.embedding_dim == 48) {
    info.tags = {"Large"};
  }
  info.tags.insert(info.tags.end(),
                   {std::to_string(options.embedding_dim) + "dim", std::to_string(options.num_experts) + "ne",
                    std::to_string(options.num_layers) + "nl"});
  info.scale = options.scale;
  info.input_channels = info.output_channels = options.in_chans;
  info.size_requirements = SizeRequirements(16);
  info.supports_half = false;
  info.hyperparameters = {
      {"scale", options.scale},
      {"in_chans", options.in_chans},
      {"num_experts", options.num_experts},
      {"num_layers", options.num_layers},
      {"embedding_dim", options.embedding_dim},
      {"img_range", options.img_range},
      {"use_shuffle", options.use_shuffle},
      {"global_kernel_size", options.global_kernel_size},
      {"recursive", options.recursive},
      {"lr_space", to_string(options.lr_space)},
      {"topk", options.topk},
  };
  return info;
}

Model load(const StateDict& state) {
  const SeemoreOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<SeemoreNetwork>(options), state);
}

}  // namespace seemore

const Architecture kSeemoreArchitecture = {"SeemoRe", seemore::detect, seemore::load, "any", "3"};

}  // namespace uprez
