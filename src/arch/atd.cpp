#include "arch/atd.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace atd {

constexpr int kPatchSize = 1;
constexpr double kMaxLogitScale = 100.0;  // AC_MSA clamps its logit scale to log(1 / 0.01)
constexpr int kLightEmbedDim = 48;        // ATD-light: pixelshuffledirect with 48 channels
constexpr int kLightCategorySize = 128;

bool detect(const StateDict& state) {
  return state.has_all({"relative_position_index_SA",
                        "conv_first.weight",
                        "conv_first.bias",
                        "layers.0.residual_group.td",
                        "layers.0.residual_group.layers.0.sigma",
                        "layers.0.residual_group.layers.0.norm1.weight",
                        "layers.0.residual_group.layers.0.norm1.bias",
                        "layers.0.residual_group.layers.0.norm2.weight",
                        "layers.0.residual_group.layers.0.norm2.bias",
                        "layers.0.residual_group.layers.0.norm3.weight",
                        "layers.0.residual_group.layers.0.norm3.bias",
                        "layers.0.residual_group.layers.0.wqkv.weight",
                        "layers.0.residual_group.layers.0.attn_win.relative_position_bias_table",
                        "layers.0.residual_group.layers.0.attn_win.proj.weight",
                        "layers.0.residual_group.layers.0.attn_win.proj.bias",
                        "layers.0.residual_group.layers.0.attn_atd.scale",
                        "layers.0.residual_group.layers.0.attn_atd.wq.weight",
                        "layers.0.residual_group.layers.0.attn_atd.wk.weight",
                        "layers.0.residual_group.layers.0.attn_atd.wv.weight",
                        "layers.0.residual_group.layers.0.attn_aca.logit_scale",
                        "layers.0.residual_group.layers.0.attn_aca.proj.weight",
                        "layers.0.residual_group.layers.0.convffn.fc1.weight",
                        "layers.0.residual_group.layers.0.convffn.fc1.bias",
                        "layers.0.residual_group.layers.0.convffn.dwconv.depthwise_conv.0.weight",
                        "layers.0.residual_group.layers.0.convffn.dwconv.depthwise_conv.0.bias",
                        "layers.0.residual_group.layers.0.convffn.fc2.weight",
                        "layers.0.residual_group.layers.0.convffn.fc2.bias",
                        "norm.weight",
                        "norm.bias"});
}

// ATD-light, as spandrel guesses it.
bool is_light(const AtdOptions& options) {
  return options.upsampler == "pixelshuffledirect" && options.embed_dim == kLightEmbedDim;
}

AtdOptions detect_options(const StateDict& state) {
  AtdOptions options;
  const std::string layer = "layers.0.residual_group.layers.0.";
  detect_swin_family(state,
                     {"residual_group.layers", 6, "residual_group.layers.0.attn_win.relative_position_bias_table", 1,
                      layer + "convffn.fc1.weight", layer + "wqkv.bias"},
                     options);
  options.window_size = static_cast<int>(integer_sqrt(state.dim("relative_position_index_SA", 0)));
  options.num_tokens = static_cast<int>(state.dim(layer + "attn_atd.scale", 0));
  options.reducted_dim = static_cast<int>(state.dim(layer + "attn_atd.wq.weight", 0));
  options.convffn_kernel_size = static_cast<int>(state.dim(layer + "convffn.dwconv.depthwise_conv.0.weight", 2));
  options.resi_connection = state.contains("layers.0.conv.weight") ? "1conv" : "3conv";
  // Without a pixelshuffle or nearest+conv head, ATD's own test: conv_last means restoration, else direct.
  if (state.contains("conv_up1.weight") || state.contains("conv_before_upsample.0.weight"))
    options.upsampler = detect_swin_upsampler(state, "conv_up1.weight");
  else
    options.upsampler = state.contains("conv_last.weight") ? "" : "pixelshuffledirect";
  options.upscale = detect_swin_upscale(state, options.upsampler, options.in_chans, /*nearest_conv_scale=*/4);
  options.norm = !state.contains("no_norm");
  if (is_light(options)) options.category_size = kLightCategorySize;  // spandrel's heuristic
  return options;
}

ModelInfo model_info(const AtdOptions& options) {
  ModelInfo info = swin_model_info("ATD", options, SizeRequirements(8), {false, false, false});
  info.tags = {std::to_string(options.embed_dim) + "dim", std::to_string(options.window_size) + "w",
               std::to_string(options.category_size) + "cat"};
  if (is_light(options)) info.tags.insert(info.tags.begin(), "light");
  info.hyperparameters["category_size"] = options.category_size;
  info.hyperparameters["num_tokens"] = options.num_tokens;
  info.hyperparameters["reducted_dim"] = options.reducted_dim;
  info.hyperparameters["convffn_kernel_size"] = options.convffn_kernel_size;
  info.hyperparameters["norm"] = options.norm;
  return info;
}

Model load(const StateDict& state) {
  const AtdOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<AtdNetwork>(options), state);
}

FastLinear linear(int64_t in_features, int64_t out_features, bool bias) {
  return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(bias));
}

// Reorders the tokens (dimension 1) of x (B, N, C) by a (B, N) permutation, as ATD's feature_shuffle.
torch::Tensor shuffle_tokens(const torch::Tensor& x, const torch::Tensor& order) {
  return x.gather(1, order.unsqueeze(-1).expand(x.sizes()));
}

// The inverse of a (B, N) permutation, as ATD's index_reverse.
torch::Tensor inverse_permutation(const torch::Tensor& order) {
  const torch::Tensor positions = torch::arange(order.size(-1), order.options()).expand(order.sizes());
  return torch::zeros_like(order).scatter_(1, order, positions);
}

}  // namespace atd

// What every ATD layer of a forward pass shares: the (padded) feature size, Swin's mask for shifted windows of
// that size and the window's relative-position index.
struct AtdLayerContext {
  int64_t height;
  int64_t width;
  torch::Tensor attn_mask;
  torch::Tensor relative_position_index;
};

// ATD's WindowAttention ("attn_win"): window self-attention on already projected q, k, v with Swin's relative
// position bias, then "proj".
class AtdWindowAttention : public torch::nn::Module {
 public:
  AtdWindowAttention(int64_t dim, int64_t window, int64_t num_heads)
      : area_(window * window),
        num_heads_(num_heads),
        scale_(std::pow(static_cast<double>(dim / num_heads), -0.5)),
        relative_position_bias_table_(register_parameter(
            "relative_position_bias_table", torch::zeros({(2 * window - 1) * (2 * window - 1), num_heads}))),
        proj_(register_module("proj", FastLinear(dim, dim))) {}

  // qkv: (nW * B, window^2, 3 * dim) windows; mask: (nW, window^2, window^2) or undefined.
  torch::Tensor forward(const torch::Tensor& qkv, const torch::Tensor& index, const torch::Tensor& mask) {
    const int64_t windows = qkv.size(0), tokens = qkv.size(1), channels = qkv.size(2) / 3;
    const torch::Tensor heads =
        qkv.reshape({windows, tokens, 3, num_heads_, channels / num_heads_}).permute({2, 0, 3, 1, 4});
    const torch::Tensor bias = relative_position_bias_table_.index_select(0, index.view(-1))
                                   .view({area_, area_, -1})
                                   .permute({2, 0, 1})
                                   .unsqueeze(0);
    const torch::Tensor attended = scaled_attention(heads[0], heads[1], heads[2], scale_, bias, mask);
    return proj_->forward(attended.transpose(1, 2).reshape({windows, tokens, channels}));
  }

 private:
  int64_t area_;
  int64_t num_heads_;
  double scale_;
  torch::Tensor relative_position_bias_table_;
  FastLinear proj_;
};

// ATD_CA ("attn_atd"): cross-attention from the tokens to the token dictionary with cosine similarity sharpened
// per dictionary entry by 1 + clamp(scale, 0, 1) * log(num_tokens).
class TokenDictionaryAttention : public torch::nn::Module {
 public:
  struct Output {
    torch::Tensor features;    // (B, N, dim)
    torch::Tensor similarity;  // (B, N, num_tokens): the attention weights
  };

  TokenDictionaryAttention(int64_t dim, int64_t num_tokens, int64_t reducted_dim, bool qkv_bias)
      : log_num_tokens_(std::log(static_cast<double>(num_tokens))),
        wq_(register_module("wq", atd::linear(dim, reducted_dim, qkv_bias))),
        wk_(register_module("wk", atd::linear(dim, reducted_dim, qkv_bias))),
        wv_(register_module("wv", atd::linear(dim, dim, qkv_bias))),
        scale_(register_parameter("scale", torch::full({num_tokens}, 0.5))) {}

  Output forward(const torch::Tensor& x, const torch::Tensor& dictionary) {
    namespace F = torch::nn::functional;
    const torch::Tensor q = F::normalize(wq_->forward(x), F::NormalizeFuncOptions().dim(-1));
    const torch::Tensor k = F::normalize(wk_->forward(dictionary), F::NormalizeFuncOptions().dim(-1));
    const torch::Tensor sharpness = 1 + scale_.clamp(0, 1) * log_num_tokens_;
    torch::Tensor similarity = (fast_matmul(q, k.transpose(-2, -1)) * sharpness).softmax(-1);
    torch::Tensor features = fast_matmul(similarity, wv_->forward(dictionary));
    return {std::move(features), std::move(similarity)};
  }

 private:
  double log_num_tokens_;
  FastLinear wq_, wk_, wv_;
  torch::Tensor scale_;
};

// AC_MSA ("attn_aca"): tokens sorted by their most similar dictionary entry (PyTorch's non-stable sort, as in
// Python), split into groups of category_size (the last group padded with the mirrored last tokens), full
// self-attention within each group scaled by exp(logit_scale), then back to the original order and "proj".
class CategoryAttention : public torch::nn::Module {
 public:
  CategoryAttention(int64_t dim, int64_t num_heads, int64_t category_size, bool qkv_bias)
      : num_heads_(num_heads),
        category_size_(category_size),
        proj_(register_module("proj", atd::linear(dim, dim, qkv_bias))),
        logit_scale_(register_parameter("logit_scale", torch::full({1, 1}, std::log(10.0)))) {}

  // qkv: (B, N, 3 * dim) projected tokens; similarity: (B, N, num_tokens).
  torch::Tensor forward(const torch::Tensor& qkv, const torch::Tensor& similarity) {
    const int64_t batch = qkv.size(0), tokens = qkv.size(1), channels = qkv.size(2) / 3;
    const int64_t group_size = std::min(tokens, category_size_);
    const int64_t groups = (tokens + group_size - 1) / group_size;
    const int64_t padding = groups * group_size - tokens;

    const torch::Tensor categories = similarity.argmax(-1);
    // The optional<bool> picks sort's stable= overload; a plain `false` would bind to sort(self, dim, descending).
    const torch::Tensor order = std::get<1>(torch::sort(categories, c10::optional<bool>(false), /*dim=*/-1));
    const torch::Tensor sorted = atd::shuffle_tokens(qkv, order);
    const torch::Tensor padded = torch::cat({sorted, sorted.slice(1, tokens - padding, tokens).flip({1})}, 1);
    const torch::Tensor heads = padded.reshape({batch, groups, group_size, 3, num_heads_, channels / num_heads_})
                                    .permute({3, 0, 1, 4, 2, 5});
    const torch::Tensor logit_scale = logit_scale_.clamp_max(std::log(atd::kMaxLogitScale)).exp();
    const torch::Tensor weights = (fast_matmul(heads[0], heads[1].transpose(-2, -1)) * logit_scale).softmax(-1);
    const torch::Tensor attended = fast_matmul(weights, heads[2])
                                       .permute({0, 1, 3, 2, 4})
                                       .reshape({batch, tokens + padding, channels})
                                       .slice(1, 0, tokens);
    return proj_->forward(atd::shuffle_tokens(attended, atd::inverse_permutation(order)));
  }

 private:
  int64_t num_heads_;
  int64_t category_size_;
  FastLinear proj_;
  torch::Tensor logit_scale_;
};

// ATDTransformerLayer: from norm1(x) one "wqkv" projection feeds (shifted) window attention and category
// attention, the dictionary attention reads norm1(x) itself; their sum is added to x, then the ConvFFN
// ("convffn") on norm2. All layers but a group's last then refine the dictionary: each entry moves towards the
// tokens weighted by softmax over tokens of "norm3" (InstanceNorm) of its similarities, by 1 - sigmoid("sigma").
class AtdTransformerLayer : public torch::nn::Module {
 public:
  AtdTransformerLayer(const AtdOptions& options, int64_t num_heads, int64_t shift, bool is_last)
      : window_(options.window_size), shift_(shift) {
    const int64_t dim = options.embed_dim;
    norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (!is_last) {
      norm3_ = register_module(
          "norm3", torch::nn::InstanceNorm1d(torch::nn::InstanceNorm1dOptions(options.num_tokens).affine(true)));
      sigma_ = register_parameter("sigma", torch::zeros({options.num_tokens, 1}));
    }
    wqkv_ = register_module("wqkv", atd::linear(dim, 3 * dim, options.qkv_bias));
    attn_win_ = register_module("attn_win", std::make_shared<AtdWindowAttention>(dim, window_, num_heads));
    attn_atd_ = register_module("attn_atd", std::make_shared<TokenDictionaryAttention>(
                                                dim, options.num_tokens, options.reducted_dim, options.qkv_bias));
    attn_aca_ = register_module(
        "attn_aca", std::make_shared<CategoryAttention>(dim, num_heads, options.category_size, options.qkv_bias));
    convffn_ = register_module("convffn", ConvFFN(dim, static_cast<int64_t>(dim * options.mlp_ratio),
                                                  options.convffn_kernel_size));
  }

  // x: (B, H*W, dim) tokens; dictionary: (B, num_tokens, dim). Returns the new tokens and dictionary.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& dictionary,
                                                  const AtdLayerContext& context) {
    const int64_t batch = x.size(0), dim = x.size(2);
    const torch::Tensor normed = norm1_->forward(x);
    const torch::Tensor qkv = wqkv_->forward(normed);
    const TokenDictionaryAttention::Output cross = attn_atd_->forward(normed, dictionary);
    const torch::Tensor categorized = attn_aca_->forward(qkv, cross.similarity);
    const torch::Tensor mask = shift_ > 0 ? context.attn_mask : torch::Tensor();
    const torch::Tensor windowed = apply_in_shifted_windows(
        qkv.view({batch, context.height, context.width, 3 * dim}),
        [&](const torch::Tensor& windows) {
          return attn_win_->forward(windows, context.relative_position_index, mask);
        },
        window_, shift_);
    torch::Tensor tokens = x + windowed + cross.features + categorized;
    tokens = tokens + convffn_->forward(norm2_->forward(tokens), context.height, context.width);
    if (!norm3_) return {tokens, dictionary};

    const torch::Tensor token_weights = norm3_->forward(cross.similarity.transpose(-1, -2)).softmax(-1);
    const torch::Tensor keep = torch::sigmoid(sigma_);
    return {tokens, keep * dictionary + (1 - keep) * fast_matmul(token_weights, tokens)};
  }

 private:
  int64_t window_;
  int64_t shift_;
  torch::nn::LayerNorm norm1_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  torch::nn::InstanceNorm1d norm3_{nullptr};
  torch::Tensor sigma_;
  FastLinear wqkv_{nullptr};
  std::shared_ptr<AtdWindowAttention> attn_win_;
  std::shared_ptr<TokenDictionaryAttention> attn_atd_;
  std::shared_ptr<CategoryAttention> attn_aca_;
  ConvFFN convffn_{nullptr};
};

// BasicBlock ("residual_group"): the ATD layers "layers", unshifted and shifted by half a window in turn, passing
// along the token dictionary that starts from the learned "td".
class AtdBasicBlock : public torch::nn::Module {
 public:
  AtdBasicBlock(const AtdOptions& options, int64_t depth, int64_t num_heads) {
    auto layers = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) {
      layers_.push_back(std::make_shared<AtdTransformerLayer>(options, num_heads,
                                                              i % 2 == 0 ? 0 : options.window_size / 2,
                                                              /*is_last=*/i == depth - 1));
      layers->push_back(layers_.back());
    }
    td_ = register_parameter("td", torch::zeros({options.num_tokens, options.embed_dim}));
  }

  // height and width: as in `context` (SwinResidualGroup passes them).
  torch::Tensor forward(torch::Tensor x, int64_t height, int64_t width, const AtdLayerContext& context) {
    torch::Tensor dictionary = td_.expand({x.size(0), -1, -1});
    for (auto& layer : layers_) std::tie(x, dictionary) = layer->forward(x, dictionary, context);
    return x;
  }

 private:
  std::vector<std::shared_ptr<AtdTransformerLayer>> layers_;
  torch::Tensor td_;
};

// ATDB: the "residual_group", then the resi_connection "conv" on the image, plus the input tokens.
class AdaptiveTokenDictionaryBlock : public SwinResidualGroup<AtdBasicBlock> {
 public:
  AdaptiveTokenDictionaryBlock(const AtdOptions& options, int64_t depth, int64_t num_heads)
      : SwinResidualGroup(std::make_shared<AtdBasicBlock>(options, depth, num_heads), options.embed_dim,
                          options.resi_connection) {}
};

AtdNetwork::AtdNetwork(const AtdOptions& options)
    : SwinFamilyNetwork(options, options.in_chans,
                        int64_t{options.img_size / atd::kPatchSize} * (options.img_size / atd::kPatchSize)),
      options_(options),
      mean_(div2k_mean(options.in_chans)) {
  if (!options.norm) register_buffer("no_norm", torch::zeros({1}));
  relative_position_index_sa_ =
      register_buffer("relative_position_index_SA", relative_position_index(options.window_size));
  layers_ = register_layers<AdaptiveTokenDictionaryBlock>(options.depths.size(), [&](size_t i) {
    return std::make_shared<AdaptiveTokenDictionaryBlock>(options, options.depths[i], options.num_heads[i]);
  });
  reconstruction_ = std::make_unique<SwinIRReconstruction>(*this, options.upsampler, options.embed_dim,
                                                           options.in_chans, options.upscale);
}

torch::Tensor AtdNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t window = options_.window_size;
  const int64_t padded_height = (height + window - 1) / window * window;
  const int64_t padded_width = (width + window - 1) / window * window;
  // ATD pads by appending the mirrored image (the edge row / column repeated), not by reflection.
  x = torch::cat({x, x.flip({2})}, 2).slice(2, 0, padded_height);
  x = torch::cat({x, x.flip({3})}, 3).slice(3, 0, padded_width);
  const torch::Tensor mean = mean_.to(x.options());
  if (options_.norm) x = (x - mean) * options_.img_range;

  const AtdLayerContext context{
      padded_height, padded_width,
      shifted_window_mask(padded_height, padded_width, window, window / 2).to(x.options()),
      relative_position_index_sa_};
  const torch::Tensor features = deep_features(conv_first_->forward(x), [&](torch::Tensor tokens) {
    for (const auto& layer : layers_) tokens = layer->forward(tokens, padded_height, padded_width, context);
    return tokens;
  });
  x = reconstruction_->forward(features, x);
  if (options_.norm) x = x / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kAtdArchitecture = {"ATD", atd::detect, atd::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
