#include "arch/aurasr.h"

#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/any_dtype.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace aurasr {

constexpr int kBlocksPerStage = 6;     // ResnetBlocks per U-Net level
constexpr double kNoiseScale = 0.001;  // std of the noise added to the input
constexpr double kStyleLrMul = 0.1;    // StyleGanNetwork's lr_mul: EqualLinear scales weights and biases
constexpr double kStyleLeakySlope = 0.2;
constexpr double kDemodulationEps = 1e-8;
constexpr int64_t kModulatedKernelSize = 3;
constexpr int64_t kFeedForwardMult = 4;
constexpr int kFixedAttentionHeads = 8;  // spandrel cannot tell heads from dim_head and assumes 8

bool detect(const StateDict& state) {
  return state.has_all(
      {"mid_attn.layers.0.0.to_out.weight", "mid_block2.block1.proj.weights", "final_res_block.block1.proj.weights"});
}

AuraSrOptions detect_options(const StateDict& state) {
  AuraSrOptions options;
  options.dim = static_cast<int>(state.dim("final_to_rgb.weight", 1));
  options.init_dim = static_cast<int>(state.dim("ups.4.1.0.conv.bias", 0));
  options.style_network.dim_in = static_cast<int>(state.dim("style_network.net.0.weight", 1));
  options.style_network.dim_out = static_cast<int>(state.dim("style_network.net.0.weight", 0));
  options.style_network.depth = (sequence_length(state, "style_network.net") + 1) / 2;
  options.up_dim_mults.clear();
  options.full_attn.clear();
  options.attn_depths.clear();
  for (int up_index = 4; up_index >= 0; --up_index) {  // ups run inwards-out: ups.4 is the outermost level
    const std::string up = "ups." + std::to_string(up_index) + ".1.";
    options.up_dim_mults.push_back(static_cast<int>(state.dim(up + "0.conv.weight", 1) / options.dim));
    const bool full_attention = state.contains(up + "1.layers.0.0.to_qkv.weight");
    options.full_attn.push_back(full_attention);
    options.attn_depths.push_back(full_attention ? sequence_length(state, up + "1.layers") : 2);
  }
  options.down_dim_mults.clear();
  for (int level = 0; level < sequence_length(state, "downs"); ++level)
    options.down_dim_mults.push_back(
        static_cast<int>(state.dim("downs." + std::to_string(level) + ".1.1.weight", 0) / options.dim));
  options.channels = static_cast<int>(state.dim("final_to_rgb.weight", 0));
  options.self_attn_heads = kFixedAttentionHeads;
  options.self_attn_dim_head =
      static_cast<int>(state.dim("mid_attn.layers.0.0.to_out.weight", 1) / options.self_attn_heads);
  options.mid_attn_depth = sequence_length(state, "mid_attn.layers");
  options.num_conv_kernels = static_cast<int>(state.dim("mid_block1.block1.proj.weights", 0));
  if (options.num_conv_kernels < 2)
    throw Error("AuraSR with num_conv_kernels=" + std::to_string(options.num_conv_kernels) +
                " cannot run: its non-adaptive modulated convs reject the kernel modulation that the network "
                "always passes (as in spandrel)");
  return options;
}

ModelInfo model_info(const AuraSrOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "AuraSR";
  info.purpose = Purpose::SR;
  info.scale = options.style_network.dim_out / options.style_network.dim_in;  // spandrel's rule
  info.input_channels = info.output_channels = options.channels;
  info.size_requirements = SizeRequirements(16, 8);
  info.supports_half = false;
  info.supports_bfloat16 = false;
  info.hyperparameters = {
      {"init_dim", options.init_dim},
      {"out_dim", nullptr},
      {"style_network",
       {{"dim_in", options.style_network.dim_in},
        {"dim_out", options.style_network.dim_out},
        {"depth", options.style_network.depth}}},
      {"up_dim_mults", options.up_dim_mults},
      {"down_dim_mults", options.down_dim_mults},
      {"channels", options.channels},
      {"resnet_block_groups", 8},
      {"full_attn", options.full_attn},
      {"flash_attn", true},
      {"self_attn_dim_head", options.self_attn_dim_head},
      {"self_attn_heads", options.self_attn_heads},
      {"attn_depths", options.attn_depths},
      {"mid_attn_depth", options.mid_attn_depth},
      {"num_conv_kernels", options.num_conv_kernels},
      {"resize_mode", "bilinear"},
      {"unconditional", true},
      {"skip_connect_scale", options.skip_connect_scale},
      {"dim", options.dim},
      {"image_size", nullptr},
      {"input_image_size", nullptr},
  };
  return info;
}

Model load(const StateDict& state) {
  const AuraSrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<AuraSrNetwork>(options), state);
}

FastConv2d conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1) {
  return FastConv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).stride(stride).padding(kernel_size / 2));
}

}  // namespace aurasr

// The per-block modulations split from the style projection, handed out in the order the modulated convs
// consume them (Python's conv_mods iterator).
class AuraConvModulations {
 public:
  explicit AuraConvModulations(std::vector<torch::Tensor> modulations) : modulations_(std::move(modulations)) {}

  const torch::Tensor& next() {
    if (next_ == modulations_.size()) throw Error("AuraSR: the style projection has too few modulations");
    return modulations_[next_++];
  }

 private:
  std::vector<torch::Tensor> modulations_;
  size_t next_ = 0;
};

// AdaptiveConv2DMod ("weights": num_conv_kernels stacked kernels): per sample, the kernels mixed by the
// softmax of `kernel_mod`, modulated by (mod + 1) per input channel, demodulated (StyleGAN2), applied as a
// grouped "same" convolution.
class AuraModulatedConv : public torch::nn::Module {
 public:
  AuraModulatedConv(int64_t dim, int64_t dim_out, int64_t num_conv_kernels)
      : weights_(register_parameter(
            "weights", torch::empty({num_conv_kernels, dim_out, dim, aurasr::kModulatedKernelSize, aurasr::kModulatedKernelSize}))) {}

  torch::Tensor forward(const torch::Tensor& fmap, const torch::Tensor& mod, const torch::Tensor& kernel_mod) {
    const int64_t batch = fmap.size(0);
    const torch::Tensor kernel_attention = kernel_mod.softmax(-1).view({batch, -1, 1, 1, 1, 1});
    torch::Tensor weights = (weights_.unsqueeze(0) * kernel_attention).sum(1);
    weights = weights * (mod.view({batch, 1, -1, 1, 1}) + 1);
    weights = weights * weights.pow(2).sum({2, 3, 4}, true).clamp_min(aurasr::kDemodulationEps).rsqrt();
    const torch::Tensor output =
        F::conv2d(fmap.reshape({1, -1, fmap.size(2), fmap.size(3)}), weights.flatten(0, 1),
                  F::Conv2dFuncOptions().padding((aurasr::kModulatedKernelSize - 1) / 2).groups(batch));
    return output.view({batch, -1, output.size(2), output.size(3)});
  }

 private:
  torch::Tensor weights_;
};

// Block: SiLU(modulated 3x3 conv "proj"), taking its modulation and kernel modulation from `modulations`.
class AuraBlock : public torch::nn::Module {
 public:
  AuraBlock(int64_t dim, int64_t dim_out, int64_t num_conv_kernels)
      : proj_(register_module("proj", std::make_shared<AuraModulatedConv>(dim, dim_out, num_conv_kernels))) {}

  torch::Tensor forward(const torch::Tensor& x, AuraConvModulations& modulations) {
    const torch::Tensor& mod = modulations.next();
    const torch::Tensor& kernel_mod = modulations.next();
    return torch::silu(proj_->forward(x, mod, kernel_mod));
  }

 private:
  std::shared_ptr<AuraModulatedConv> proj_;
};

// ResnetBlock: block2(block1(x)) + res_conv(x) (a 1x1 conv where the channel count changes). Appends the
// modulation sizes its blocks consume to `style_dims`.
class AuraResnetBlock : public torch::nn::Module {
 public:
  AuraResnetBlock(int64_t dim, int64_t dim_out, int64_t num_conv_kernels, std::vector<int64_t>& style_dims)
      : block1_(register_module("block1", std::make_shared<AuraBlock>(dim, dim_out, num_conv_kernels))),
        block2_(register_module("block2", std::make_shared<AuraBlock>(dim_out, dim_out, num_conv_kernels))) {
    style_dims.insert(style_dims.end(), {dim, num_conv_kernels, dim_out, num_conv_kernels});
    if (dim != dim_out) res_conv_ = register_module("res_conv", aurasr::conv(dim, dim_out, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, AuraConvModulations& modulations) {
    const torch::Tensor h = block2_->forward(block1_->forward(x, modulations), modulations);
    return h + (res_conv_ ? res_conv_->forward(x) : x);
  }

 private:
  std::shared_ptr<AuraBlock> block1_;
  std::shared_ptr<AuraBlock> block2_;
  FastConv2d res_conv_{nullptr};
};

// RMSNorm over the channels of NCHW: normalize(x, dim=1) * g * sqrt(channels) ("g": (1, C, 1, 1)).
class AuraRmsNorm : public torch::nn::Module {
 public:
  explicit AuraRmsNorm(int64_t dim)
      : scale_(std::sqrt(static_cast<double>(dim))), g_(register_parameter("g", torch::ones({1, dim, 1, 1}))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    return F::normalize(x, F::NormalizeFuncOptions().dim(1)) * g_ * scale_;
  }

 private:
  double scale_;
  torch::Tensor g_;
};

// Attend in its flash mode: softmax(q k^T / sqrt(d)) v. Its learned "scale" is stored but unused.
class AuraAttend : public torch::nn::Module {
 public:
  AuraAttend() : scale_(register_parameter("scale", torch::empty({1}))) {}

  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return scaled_attention(q, k, v, 1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  }

 private:
  torch::Tensor scale_;
};

// Full self-attention over all pixels: "norm" (RMSNorm), "to_qkv" (1x1, no bias), "attend", "to_out" (1x1).
class AuraAttention : public torch::nn::Module {
 public:
  AuraAttention(int64_t dim, int64_t dim_head, int64_t heads)
      : heads_(heads),
        norm_(register_module("norm", std::make_shared<AuraRmsNorm>(dim))),
        attend_(register_module("attend", std::make_shared<AuraAttend>())),
        to_qkv_(register_module("to_qkv", same_conv(dim, 3 * dim_head * heads, 1, false))),
        to_out_(register_module("to_out", same_conv(dim_head * heads, dim, 1))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0);
    const int64_t height = x.size(2);
    const int64_t width = x.size(3);
    const std::vector<torch::Tensor> qkv = to_qkv_->forward(norm_->forward(x)).chunk(3, 1);
    const auto tokens = [&](const torch::Tensor& t) {  // b (h c) x y -> b h (x y) c
      return t.reshape({batch, heads_, -1, height * width}).transpose(-1, -2).contiguous();
    };
    const torch::Tensor out = attend_->forward(tokens(qkv[0]), tokens(qkv[1]), tokens(qkv[2]));
    return to_out_->forward(out.transpose(-1, -2).reshape({batch, -1, height, width}));
  }

 private:
  int64_t heads_;
  std::shared_ptr<AuraRmsNorm> norm_;
  std::shared_ptr<AuraAttend> attend_;
  FastConv2d to_qkv_;
  FastConv2d to_out_;
};

// Transformer: "layers.<i>" = (Attention "0", FeedForward "1" = RMSNorm, 1x1 conv to 4x, GELU, 1x1 conv back),
// each added to its input.
class AuraTransformer : public torch::nn::Module {
 public:
  AuraTransformer(int64_t dim, int64_t dim_head, int64_t heads, int64_t depth)
      : layers_(register_module("layers", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < depth; ++i) {
      attentions_.push_back(std::make_shared<AuraAttention>(dim, dim_head, heads));
      feed_forwards_.push_back(torch::nn::Sequential(std::make_shared<AuraRmsNorm>(dim),
                                                     same_conv(dim, dim * aurasr::kFeedForwardMult, 1), torch::nn::GELU(),
                                                     same_conv(dim * aurasr::kFeedForwardMult, dim, 1)));
      layers_->push_back(torch::nn::ModuleList(attentions_.back(), feed_forwards_.back()));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    for (size_t i = 0; i < attentions_.size(); ++i) {
      x = attentions_[i]->forward(x) + x;
      x = feed_forwards_[i]->forward(x) + x;
    }
    return x;
  }

 private:
  torch::nn::ModuleList layers_;
  std::vector<std::shared_ptr<AuraAttention>> attentions_;
  std::vector<torch::nn::Sequential> feed_forwards_;
};

// NearestNeighborhoodUpsample: nearest 2x, then a 3x3 "conv".
class AuraNearestUpsample : public torch::nn::Module {
 public:
  AuraNearestUpsample(int64_t dim, int64_t dim_out) : conv_(register_module("conv", aurasr::conv(dim, dim_out, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(upscale_nearest(x, 2)); }

 private:
  FastConv2d conv_;
};

// EqualLinear: a linear layer whose weight and bias are scaled by lr_mul at use.
class AuraEqualLinear : public torch::nn::Module {
 public:
  AuraEqualLinear(int64_t dim, int64_t dim_out)
      : weight_(register_parameter("weight", torch::empty({dim_out, dim}))),
        bias_(register_parameter("bias", torch::zeros({dim_out}))) {}

  torch::Tensor forward(const torch::Tensor& x) { return fast_linear(x, weight_ * aurasr::kStyleLrMul, bias_ * aurasr::kStyleLrMul); }

 private:
  torch::Tensor weight_;
  torch::Tensor bias_;
};

// StyleGanNetwork: the L2-normalised latent through "net" = depth x (EqualLinear, LeakyReLU(0.2)).
class AuraStyleNetwork : public torch::nn::Module {
 public:
  explicit AuraStyleNetwork(const AuraSrStyleNetworkOptions& options)
      : net_(register_module("net", torch::nn::Sequential())) {
    for (int i = 0; i < options.depth; ++i) {
      net_->push_back(std::make_shared<AuraEqualLinear>(i == 0 ? options.dim_in : options.dim_out, options.dim_out));
      net_->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(aurasr::kStyleLeakySlope)));
    }
  }

  torch::Tensor forward(const torch::Tensor& latent) {
    return net_->forward(F::normalize(latent, F::NormalizeFuncOptions().dim(1)));
  }

 private:
  torch::nn::Sequential net_;
};

// downs.<i>: "0" = ResnetBlocks whose outputs become skip connections, "1" = (full-attention Transformer "0"
// where the level has one, stride-2 3x3 conv "1").
class AuraDownStage : public torch::nn::Module {
 public:
  AuraDownStage(int64_t dim_in, int64_t dim_out, int64_t attention_depth, const AuraSrOptions& options,
                std::vector<int64_t>& style_dims)
      : blocks_(register_module("0", torch::nn::ModuleList())) {
    for (int i = 0; i < aurasr::kBlocksPerStage; ++i)
      blocks_->push_back(std::make_shared<AuraResnetBlock>(dim_in, dim_in, options.num_conv_kernels, style_dims));
    auto attention_and_downsample = register_module("1", std::make_shared<torch::nn::Module>());
    if (attention_depth > 0)
      attention_ = attention_and_downsample->register_module(
          "0", std::make_shared<AuraTransformer>(dim_in, options.self_attn_dim_head, options.self_attn_heads,
                                                 attention_depth));
    downsample_ = attention_and_downsample->register_module("1", aurasr::conv(dim_in, dim_out, 3, 2));
  }

  torch::Tensor forward(torch::Tensor x, AuraConvModulations& modulations, std::vector<torch::Tensor>& skips) {
    for (size_t i = 0; i < blocks_->size(); ++i) {
      x = blocks_->ptr<AuraResnetBlock>(i)->forward(x, modulations);
      skips.push_back(x);
    }
    if (attention_) x = attention_->forward(x);
    return downsample_->forward(x);
  }

 private:
  torch::nn::ModuleList blocks_;
  std::shared_ptr<AuraTransformer> attention_;
  FastConv2d downsample_{nullptr};
};

// ups.<i>: "1" = (NearestNeighborhoodUpsample "0", full-attention Transformer "1" where the level has one), "0" =
// ResnetBlocks, each fed the upsampled features concatenated with the latest skip connection while any are left.
class AuraUpStage : public torch::nn::Module {
 public:
  AuraUpStage(int64_t upsample_dim, int64_t block_input_dim, int64_t dim, int64_t attention_depth,
              const AuraSrOptions& options, std::vector<int64_t>& style_dims)
      : blocks_(register_module("0", torch::nn::ModuleList())) {
    for (int i = 0; i < aurasr::kBlocksPerStage; ++i)
      blocks_->push_back(std::make_shared<AuraResnetBlock>(block_input_dim, dim, options.num_conv_kernels, style_dims));
    auto upsample_and_attention = register_module("1", std::make_shared<torch::nn::Module>());
    upsample_ = upsample_and_attention->register_module("0", std::make_shared<AuraNearestUpsample>(upsample_dim, dim));
    if (attention_depth > 0)
      attention_ = upsample_and_attention->register_module(
          "1",
          std::make_shared<AuraTransformer>(dim, options.self_attn_dim_head, options.self_attn_heads, attention_depth));
  }

  torch::Tensor forward(torch::Tensor x, AuraConvModulations& modulations, std::vector<torch::Tensor>& skips,
                        double skip_connect_scale) {
    x = upsample_->forward(x);
    for (size_t i = 0; i < blocks_->size(); ++i) {
      if (!skips.empty()) {
        x = torch::cat({x, skips.back() * skip_connect_scale}, 1);
        skips.pop_back();
      }
      x = blocks_->ptr<AuraResnetBlock>(i)->forward(x, modulations);
    }
    return attention_ ? attention_->forward(x) : x;
  }

 private:
  torch::nn::ModuleList blocks_;
  std::shared_ptr<AuraNearestUpsample> upsample_;
  std::shared_ptr<AuraTransformer> attention_;
};

AuraSrNetwork::AuraSrNetwork(const AuraSrOptions& options) : options_(options) {
  const int64_t dim = options.dim;
  const size_t up_levels = options.up_dim_mults.size();
  const size_t down_levels = options.down_dim_mults.size();
  std::vector<int64_t> up_dims = {options.init_dim};
  for (const int mult : options.up_dim_mults) up_dims.push_back(dim * mult);
  std::vector<int64_t> down_dims = {up_dims[up_levels - down_levels]};
  for (const int mult : options.down_dim_mults) down_dims.push_back(dim * mult);
  // Levels without full attention have none (AuraSR builds no linear attention there).
  const auto attention_depth = [&](size_t level) {
    return options.full_attn[level] ? int64_t{options.attn_depths[level]} : int64_t{0};
  };

  style_network_ = register_module("style_network", std::make_shared<AuraStyleNetwork>(options.style_network));
  init_conv_ = register_module("init_conv", aurasr::conv(options.channels, down_dims[0], 7));
  auto downs = register_module("downs", torch::nn::ModuleList());
  for (size_t level = 0; level < down_levels; ++level) {
    downs_.push_back(std::make_shared<AuraDownStage>(down_dims[level], down_dims[level + 1], attention_depth(level),
                                                     options, style_embed_split_dims_));
    downs->push_back(downs_.back());
  }
  const int64_t mid_dim = up_dims.back();
  mid_block1_ = register_module("mid_block1", std::make_shared<AuraResnetBlock>(
                                                  mid_dim, mid_dim, options.num_conv_kernels, style_embed_split_dims_));
  mid_attn_ =
      register_module("mid_attn", std::make_shared<AuraTransformer>(mid_dim, options.self_attn_dim_head,
                                                                    options.self_attn_heads, options.mid_attn_depth));
  mid_block2_ = register_module("mid_block2", std::make_shared<AuraResnetBlock>(
                                                  mid_dim, mid_dim, options.num_conv_kernels, style_embed_split_dims_));
  auto ups = register_module("ups", torch::nn::ModuleList());
  for (size_t index = 0; index < up_levels; ++index) {  // from the innermost level outwards
    const size_t level = up_levels - 1 - index;
    const int64_t dim_in = up_dims[level];
    const int64_t block_input_dim = index < down_levels ? 2 * dim_in : dim_in;  // with skip connections
    ups_.push_back(std::make_shared<AuraUpStage>(up_dims[level + 1], block_input_dim, dim_in, attention_depth(level),
                                                 options, style_embed_split_dims_));
    ups->push_back(ups_.back());
  }
  final_res_block_ =
      register_module("final_res_block",
                      std::make_shared<AuraResnetBlock>(dim, dim, options.num_conv_kernels, style_embed_split_dims_));
  final_to_rgb_ = register_module("final_to_rgb", aurasr::conv(dim, options.channels, 1));
  int64_t modulation_count = 0;
  for (const int64_t size : style_embed_split_dims_) modulation_count += size;
  style_to_conv_modulations_ =
      register_module("style_to_conv_modulations", FastLinear(options.style_network.dim_out, modulation_count));
}

void AuraSrNetwork::replay_random_draws(std::vector<torch::Tensor> draws) {
  replayed_draws_ = std::move(draws);
  next_replayed_draw_ = 0;
}

torch::Tensor AuraSrNetwork::draw_normal(torch::IntArrayRef shape, const torch::TensorOptions& options) {
  if (next_replayed_draw_ == replayed_draws_.size()) return torch::randn(shape, options);
  const torch::Tensor& draw = replayed_draws_[next_replayed_draw_++];
  if (!draw.sizes().equals(shape)) throw Error("AuraSR: a replayed random draw has the wrong shape");
  return draw.to(options);
}

torch::Tensor AuraSrNetwork::forward(torch::Tensor x) {
  x = (x + draw_normal(x.sizes(), x.options()) * aurasr::kNoiseScale).clamp(0, 1);
  const torch::Tensor latent = draw_normal({x.size(0), options_.style_network.dim_in}, x.options());
  replayed_draws_.clear();  // replays serve one forward only
  next_replayed_draw_ = 0;

  const torch::Tensor styles = style_network_->forward(latent);
  AuraConvModulations modulations(
      style_to_conv_modulations_->forward(styles).split_with_sizes(style_embed_split_dims_, -1));

  x = init_conv_->forward(x);
  std::vector<torch::Tensor> skips;
  for (const auto& down : downs_) x = down->forward(x, modulations, skips);
  x = mid_block1_->forward(x, modulations);
  x = mid_attn_->forward(x);
  x = mid_block2_->forward(x, modulations);
  for (const auto& up : ups_) x = up->forward(x, modulations, skips, options_.skip_connect_scale);
  x = final_res_block_->forward(x, modulations);
  return final_to_rgb_->forward(x);
}

const Architecture kAuraSrArchitecture = {"AuraSR", aurasr::detect, aurasr::load, "4 (2^(up levels - down levels))", "any"};

}  // namespace uprez
