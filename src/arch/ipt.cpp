#include "arch/ipt.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "core/error.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace ipt {

constexpr int64_t kCropBatchSize = 64;  // Model's crop_batch_size: crops per network call
constexpr int64_t kHeadKernelSize = 3;
constexpr int64_t kResBlockKernelSize = 5;
constexpr int64_t kFeedForwardGain = 4;  // the transformer's hidden_dim is 4 * embedding_dim

bool detect(const StateDict& state) {
  return state.has_all({"sub_mean.weight",
                        "sub_mean.bias",
                        "add_mean.weight",
                        "add_mean.bias",
                        "head.0.0.weight",
                        "head.0.0.bias",
                        "head.0.1.body.0.weight",
                        "head.0.1.body.0.bias",
                        "head.0.1.body.2.weight",
                        "head.0.1.body.2.bias",
                        "head.0.2.body.0.weight",
                        "head.0.2.body.2.weight",
                        "body.encoder.layers.0.self_attn.in_proj_weight",
                        "body.encoder.layers.0.self_attn.out_proj.weight",
                        "body.encoder.layers.0.linear1.weight",
                        "body.encoder.layers.0.linear2.weight",
                        "body.decoder.layers.0.self_attn.in_proj_weight",
                        "body.decoder.layers.0.self_attn.out_proj.weight",
                        "body.decoder.layers.0.multihead_attn.in_proj_weight",
                        "body.decoder.layers.0.multihead_attn.out_proj.weight",
                        "body.decoder.layers.0.linear1.weight",
                        "body.decoder.layers.0.linear2.weight",
                        "tail.0.1.weight",
                        "tail.0.1.bias"});
}

// rgb_range from sub_mean's bias (-rgb_range * rgb_mean), rounded half to even as Python's round.
int detect_rgb_range(const StateDict& state) {
  const torch::Tensor bias = state.at("sub_mean.bias").to(torch::kFloat32);
  const double range = (-bias / div2k_mean(3).flatten()).mean().item<double>();
  return static_cast<int>(std::nearbyint(range));
}

IptOptions detect_options(const StateDict& state) {
  IptOptions options;
  options.n_feats = static_cast<int>(state.dim("head.0.0.weight", 0));
  const int64_t embedding_dim = state.dim("body.encoder.layers.0.self_attn.in_proj_weight", 1);
  options.patch_dim = static_cast<int>(integer_sqrt(embedding_dim / options.n_feats));
  options.num_layers = sequence_length(state, "body.encoder.layers");
  options.mlp = state.contains("body.linear_encoding.weight");
  options.no_pos = !state.contains("body.position_encoding.position_ids");
  options.no_norm = !state.contains("body.encoder.layers.0.norm1.weight");
  if (options.mlp) {
    options.num_queries = static_cast<int>(state.dim("body.query_embed.weight", 0));
    const int64_t seq_length = state.dim("body.query_embed.weight", 1) / embedding_dim;
    options.patch_size = static_cast<int>(integer_sqrt(seq_length)) * options.patch_dim;
  }  // otherwise num_queries and patch_size cannot be recovered and keep their defaults
  if (!options.no_pos) {
    const int64_t seq_length = state.dim("body.position_encoding.position_ids", 1);
    options.patch_size = static_cast<int>(integer_sqrt(seq_length)) * options.patch_dim;
  }
  options.rgb_range = detect_rgb_range(state);
  const int scale_count = sequence_length(state, "tail");
  if (scale_count == 0) throw Error("IPT: the model has no tail");
  options.scale.clear();
  for (int i = 0; i < scale_count; ++i)
    options.scale.push_back(pixel_shuffle_parameters(state, "tail." + std::to_string(i) + ".0").first);
  return options;
}

ModelInfo model_info(const IptOptions& options) {
  const int single_scale = *std::max_element(options.scale.begin(), options.scale.end());
  ModelInfo info;
  info.architecture_id = info.architecture_name = "IPT";
  info.purpose = purpose_for_scale(single_scale);
  info.tags = {std::to_string(options.n_feats) + "nf", std::to_string(options.patch_dim) + "pd",
               std::to_string(options.num_heads) + "nh", std::to_string(options.num_layers) + "nl"};
  info.scale = single_scale;
  info.input_channels = info.output_channels = 3;  // RGB only
  info.size_requirements = SizeRequirements(options.patch_size);
  info.supports_half = false;
  info.hyperparameters = {
      {"patch_size", options.patch_size},
      {"patch_dim", options.patch_dim},
      {"n_feats", options.n_feats},
      {"rgb_range", options.rgb_range},
      {"n_colors", 3},
      {"scale", options.scale},
      {"num_heads", options.num_heads},
      {"num_layers", options.num_layers},
      {"num_queries", options.num_queries},
      {"dropout_rate", 0},
      {"mlp", options.mlp},
      {"pos_every", false},  // spandrel cannot recover it and always builds IPT without it
      {"no_pos", options.no_pos},
      {"no_norm", options.no_norm},
      {"conv", "default_conv"},
  };
  return info;
}

Model load(const StateDict& state) {
  const IptOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<IptNetwork>(options), state);
}

torch::nn::LayerNorm optional_layer_norm(torch::nn::Module& module, const std::string& name, int64_t dim,
                                         bool enabled) {
  if (!enabled) return nullptr;
  return module.register_module(name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

// The LayerNorm, or the identity where the model has none (no_norm).
torch::Tensor normalize(torch::nn::LayerNorm& norm, const torch::Tensor& x) { return norm ? norm->forward(x) : x; }

torch::Tensor with_position(const torch::Tensor& x, const torch::Tensor& position) {
  return position.defined() ? x + position : x;
}

FastLinear linear(int64_t in_features, int64_t out_features, bool bias = true) {
  return FastLinear(torch::nn::LinearOptions(in_features, out_features).bias(bias));
}

// The crops of `x` (1, C, H, W) that unfold(size, stride) produces: (L, C, size, size).
torch::Tensor image_crops(const torch::Tensor& x, int64_t size, int64_t stride) {
  return F::unfold(x, F::UnfoldFuncOptions(size).stride(stride))
      .transpose(0, 2)
      .contiguous()
      .view({-1, x.size(1), size, size});
}

// fold of (L, C, kh, kw) crops onto an image of `output_size`: overlapping crops are summed.
torch::Tensor fold_crops(const torch::Tensor& crops, std::vector<int64_t> output_size, std::vector<int64_t> kernel,
                         int64_t stride) {
  return F::fold(crops.reshape({crops.size(0), -1, 1}).transpose(0, 2).contiguous(),
                 F::FoldFuncOptions(std::move(output_size), kernel).stride(stride));
}

// fold_crops divided by how many crops cover each pixel (IPT's divisor from fold(unfold(ones))).
torch::Tensor average_crops(const torch::Tensor& crops, std::vector<int64_t> output_size, std::vector<int64_t> kernel,
                            int64_t stride) {
  const torch::Tensor sum = fold_crops(crops, output_size, kernel, stride);
  const torch::Tensor coverage = F::fold(F::unfold(torch::ones_like(sum), F::UnfoldFuncOptions(kernel).stride(stride)),
                                         F::FoldFuncOptions(std::move(output_size), kernel).stride(stride));
  return sum / coverage;
}

}  // namespace ipt

// nn.MultiheadAttention(bias=False) on sequence-first (L, N, E) tensors: "in_proj_weight" (q, k, v stacked)
// and "out_proj".
class IptMultiheadAttention : public torch::nn::Module {
 public:
  IptMultiheadAttention(int64_t embedding_dim, int64_t num_heads)
      : num_heads_(num_heads),
        in_proj_weight_(register_parameter("in_proj_weight", torch::empty({3 * embedding_dim, embedding_dim}))),
        out_proj_(register_module("out_proj", ipt::linear(embedding_dim, embedding_dim, false))) {}

  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value) {
    const std::vector<torch::Tensor> weights = in_proj_weight_.chunk(3, 0);
    const int64_t head_dim = query.size(2) / num_heads_;
    const auto split_heads = [&](const torch::Tensor& x) {  // (L, N, E) -> (N, heads, L, head_dim)
      return x.view({x.size(0), x.size(1), num_heads_, head_dim}).permute({1, 2, 0, 3});
    };
    const torch::Tensor attended =
        scaled_attention(split_heads(fast_linear(query, weights[0])), split_heads(fast_linear(key, weights[1])),
                         split_heads(fast_linear(value, weights[2])), 1.0 / std::sqrt(static_cast<double>(head_dim)));
    return out_proj_->forward(attended.permute({2, 0, 1, 3}).reshape(query.sizes()));
  }

 private:
  int64_t num_heads_;
  torch::Tensor in_proj_weight_;
  FastLinear out_proj_;
};

// IPT's pre-norm TransformerEncoderLayer: src + self_attn(norm1(src)), then src + linear2(relu(linear1(norm2))).
class IptEncoderLayer : public torch::nn::Module {
 public:
  IptEncoderLayer(int64_t dim, int64_t num_heads, int64_t hidden_dim, bool norm)
      : self_attn_(register_module("self_attn", std::make_shared<IptMultiheadAttention>(dim, num_heads))),
        linear1_(register_module("linear1", ipt::linear(dim, hidden_dim))),
        linear2_(register_module("linear2", ipt::linear(hidden_dim, dim))),
        norm1_(ipt::optional_layer_norm(*this, "norm1", dim, norm)),
        norm2_(ipt::optional_layer_norm(*this, "norm2", dim, norm)) {}

  torch::Tensor forward(torch::Tensor src) {
    const torch::Tensor normed = ipt::normalize(norm1_, src);
    src = src + self_attn_->forward(normed, normed, normed);
    return src + linear2_->forward(torch::relu(linear1_->forward(ipt::normalize(norm2_, src))));
  }

 private:
  std::shared_ptr<IptMultiheadAttention> self_attn_;
  FastLinear linear1_;
  FastLinear linear2_;
  torch::nn::LayerNorm norm1_;
  torch::nn::LayerNorm norm2_;
};

// IPT's pre-norm TransformerDecoderLayer: self-attention (query_pos added to queries and keys), attention to
// `memory` (query_pos added to the queries), feed-forward; each with a residual.
class IptDecoderLayer : public torch::nn::Module {
 public:
  IptDecoderLayer(int64_t dim, int64_t num_heads, int64_t hidden_dim, bool norm)
      : self_attn_(register_module("self_attn", std::make_shared<IptMultiheadAttention>(dim, num_heads))),
        multihead_attn_(register_module("multihead_attn", std::make_shared<IptMultiheadAttention>(dim, num_heads))),
        linear1_(register_module("linear1", ipt::linear(dim, hidden_dim))),
        linear2_(register_module("linear2", ipt::linear(hidden_dim, dim))),
        norm1_(ipt::optional_layer_norm(*this, "norm1", dim, norm)),
        norm2_(ipt::optional_layer_norm(*this, "norm2", dim, norm)),
        norm3_(ipt::optional_layer_norm(*this, "norm3", dim, norm)) {}

  torch::Tensor forward(torch::Tensor tgt, const torch::Tensor& memory, const torch::Tensor& query_pos) {
    torch::Tensor normed = ipt::normalize(norm1_, tgt);
    const torch::Tensor positioned = ipt::with_position(normed, query_pos);
    tgt = tgt + self_attn_->forward(positioned, positioned, normed);
    normed = ipt::normalize(norm2_, tgt);
    tgt = tgt + multihead_attn_->forward(ipt::with_position(normed, query_pos), memory, memory);
    return tgt + linear2_->forward(torch::relu(linear1_->forward(ipt::normalize(norm3_, tgt))));
  }

 private:
  std::shared_ptr<IptMultiheadAttention> self_attn_;
  std::shared_ptr<IptMultiheadAttention> multihead_attn_;
  FastLinear linear1_;
  FastLinear linear2_;
  torch::nn::LayerNorm norm1_;
  torch::nn::LayerNorm norm2_;
  torch::nn::LayerNorm norm3_;
};

// TransformerEncoder: "layers", applied in turn.
class IptEncoder : public torch::nn::Module {
 public:
  IptEncoder(int64_t num_layers, int64_t dim, int64_t num_heads, int64_t hidden_dim, bool norm)
      : layers_(register_module("layers", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < num_layers; ++i)
      layers_->push_back(std::make_shared<IptEncoderLayer>(dim, num_heads, hidden_dim, norm));
  }

  torch::Tensor forward(torch::Tensor x) {
    for (size_t i = 0; i < layers_->size(); ++i) x = layers_->ptr<IptEncoderLayer>(i)->forward(x);
    return x;
  }

 private:
  torch::nn::ModuleList layers_;
};

// TransformerDecoder: "layers", each attending to the same memory.
class IptDecoder : public torch::nn::Module {
 public:
  IptDecoder(int64_t num_layers, int64_t dim, int64_t num_heads, int64_t hidden_dim, bool norm)
      : layers_(register_module("layers", torch::nn::ModuleList())) {
    for (int64_t i = 0; i < num_layers; ++i)
      layers_->push_back(std::make_shared<IptDecoderLayer>(dim, num_heads, hidden_dim, norm));
  }

  torch::Tensor forward(torch::Tensor x, const torch::Tensor& memory, const torch::Tensor& query_pos) {
    for (size_t i = 0; i < layers_->size(); ++i) x = layers_->ptr<IptDecoderLayer>(i)->forward(x, memory, query_pos);
    return x;
  }

 private:
  torch::nn::ModuleList layers_;
};

// LearnedPositionalEncoding: an embedding "pe" looked up at the stored "position_ids" (1, seq_length).
class IptPositionalEncoding : public torch::nn::Module {
 public:
  IptPositionalEncoding(int64_t seq_length, int64_t dim)
      : pe_(register_module("pe", torch::nn::Embedding(seq_length, dim))),
        position_ids_(register_buffer("position_ids", torch::arange(seq_length).unsqueeze(0))) {}

  // (1, seq_length, dim)
  torch::Tensor forward() { return pe_->forward(position_ids_.to(torch::kLong)); }

 private:
  torch::nn::Embedding pe_;
  torch::Tensor position_ids_;
};

// IPT's VisionTransformer on (N, n_feats, patch_size, patch_size) features: tokens are patch_dim x patch_dim
// patches; encoder (with the position encoding added), decoder queried with the task's query embedding.
class IptVisionTransformer : public torch::nn::Module {
 public:
  explicit IptVisionTransformer(const IptOptions& options)
      : options_(options), embedding_dim_(int64_t{options.n_feats} * options.patch_dim * options.patch_dim) {
    const int64_t hidden_dim = embedding_dim_ * ipt::kFeedForwardGain;
    const int64_t seq_length = (options.patch_size / options.patch_dim) * (options.patch_size / options.patch_dim);
    if (options.mlp) {
      linear_encoding_ = register_module("linear_encoding", ipt::linear(embedding_dim_, embedding_dim_));
      mlp_head_ = register_module(
          "mlp_head", torch::nn::Sequential(ipt::linear(embedding_dim_, hidden_dim), torch::nn::Dropout(), torch::nn::ReLU(),
                                            ipt::linear(hidden_dim, embedding_dim_), torch::nn::Dropout()));
      query_embed_ =
          register_module("query_embed", torch::nn::Embedding(options.num_queries, embedding_dim_ * seq_length));
    }
    const bool norm = !options.no_norm;
    encoder_ = register_module("encoder", std::make_shared<IptEncoder>(options.num_layers, embedding_dim_,
                                                                       options.num_heads, hidden_dim, norm));
    decoder_ = register_module("decoder", std::make_shared<IptDecoder>(options.num_layers, embedding_dim_,
                                                                       options.num_heads, hidden_dim, norm));
    if (!options.no_pos)
      position_encoding_ =
          register_module("position_encoding", std::make_shared<IptPositionalEncoding>(seq_length, embedding_dim_));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t query_index) {
    const int64_t batch = x.size(0);
    const auto patches = F::UnfoldFuncOptions(options_.patch_dim).stride(options_.patch_dim);
    // (seq_length, N, embedding_dim), sequence first as nn.MultiheadAttention takes it
    torch::Tensor tokens = F::unfold(x, patches).transpose(1, 2).transpose(0, 1).contiguous();
    torch::Tensor query_pos;
    if (options_.mlp) {
      tokens = linear_encoding_->forward(tokens) + tokens;
      query_pos = query_embed_->weight[query_index].view({-1, 1, embedding_dim_}).repeat({1, batch, 1});
    }
    if (position_encoding_) tokens = tokens + position_encoding_->forward().transpose(0, 1);
    tokens = encoder_->forward(tokens);
    tokens = decoder_->forward(tokens, tokens, query_pos);
    if (options_.mlp) tokens = mlp_head_->forward(tokens) + tokens;
    tokens = tokens.transpose(0, 1).contiguous().view({batch, -1, embedding_dim_});
    return F::fold(tokens.transpose(1, 2).contiguous(),
                   F::FoldFuncOptions(options_.patch_size, options_.patch_dim).stride(options_.patch_dim));
  }

 private:
  IptOptions options_;
  int64_t embedding_dim_;
  FastLinear linear_encoding_{nullptr};
  torch::nn::Sequential mlp_head_{nullptr};
  torch::nn::Embedding query_embed_{nullptr};
  std::shared_ptr<IptEncoder> encoder_;
  std::shared_ptr<IptDecoder> decoder_;
  std::shared_ptr<IptPositionalEncoding> position_encoding_;
};

// EDSR's ResBlock: x + conv(relu(conv(x))) ("body.0", "body.2").
class IptResBlock : public torch::nn::Module {
 public:
  explicit IptResBlock(int64_t channels)
      : body_(register_module(
            "body", torch::nn::Sequential(same_conv(channels, channels, ipt::kResBlockKernelSize), torch::nn::ReLU(),
                                          same_conv(channels, channels, ipt::kResBlockKernelSize)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x) + x; }

 private:
  torch::nn::Sequential body_;
};

// A tail: Upsampler "0" (SwinIR-style pixel-shuffle convs; empty for scale 1), then a 3x3 conv "1" to RGB.
class IptTail : public torch::nn::Module {
 public:
  IptTail(int64_t scale, int64_t features) {
    if (scale > 1) upsampler_ = register_module("0", power_of_two_or_three_upsampler(scale, features));
    conv_ = register_module("1", same_conv(features, 3, ipt::kHeadKernelSize));
  }

  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(upsampler_ ? upsampler_->forward(x) : x); }

 private:
  torch::nn::Sequential upsampler_{nullptr};
  FastConv2d conv_{nullptr};
};

IptNetwork::IptNetwork(const IptOptions& options) : options_(options) {
  const auto largest = std::max_element(options.scale.begin(), options.scale.end());
  scale_index_ = largest - options.scale.begin();
  scale_ = *largest;
  shave_ = options.patch_size / 2;
  if (shave_ / 2 == 0) throw Error("IPT: patch_size " + std::to_string(options.patch_size) + " is too small to chop");
  out_step_ = static_cast<int64_t>(shave_ / 2.0 * scale_);
  const int64_t features = options.n_feats;
  sub_mean_ = register_module("sub_mean", same_conv(3, 3, 1));
  add_mean_ = register_module("add_mean", same_conv(3, 3, 1));
  head_ = register_module("head", torch::nn::ModuleList());
  tail_ = register_module("tail", torch::nn::ModuleList());
  for (const int scale : options.scale) {
    head_->push_back(torch::nn::Sequential(same_conv(3, features, ipt::kHeadKernelSize),
                                           std::make_shared<IptResBlock>(features),
                                           std::make_shared<IptResBlock>(features)));
    tail_->push_back(std::make_shared<IptTail>(scale, features));
  }
  body_ = register_module("body", std::make_shared<IptVisionTransformer>(options));
}

torch::Tensor IptNetwork::forward(torch::Tensor x) {
  const double range = options_.rgb_range;
  return forward_chop(x * range) / range;
}

torch::Tensor IptNetwork::forward_patches(const torch::Tensor& x) {
  const torch::Tensor features = head_->ptr<torch::nn::SequentialImpl>(scale_index_)->forward(sub_mean_->forward(x));
  const torch::Tensor merged = body_->forward(features, scale_index_) + features;
  return add_mean_->forward(tail_->ptr<IptTail>(scale_index_)->forward(merged));
}

torch::Tensor IptNetwork::forward_crops(const torch::Tensor& crops) {
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < crops.size(0); start += ipt::kCropBatchSize)
    outputs.push_back(forward_patches(crops.slice(0, start, start + ipt::kCropBatchSize)));
  return torch::cat(outputs, 0);
}

torch::Tensor IptNetwork::forward_strip(const torch::Tensor& strip, int64_t dim, int64_t covered_length) {
  const int64_t patch = options_.patch_size;
  const int64_t out_patch = patch * scale_;
  const auto along = [dim](int64_t across, int64_t length) -> std::vector<int64_t> {
    return dim == 3 ? std::vector<int64_t>{across, length} : std::vector<int64_t>{length, across};
  };
  const torch::Tensor crops = forward_crops(ipt::image_crops(strip, patch, shave_ / 2));
  torch::Tensor output =
      ipt::fold_crops(crops, along(out_patch, covered_length * scale_), {out_patch, out_patch}, out_step_);
  const torch::Tensor inner = crops.slice(dim, out_step_, out_patch - out_step_);
  output.slice(dim, out_step_, covered_length * scale_ - out_step_)
      .copy_(ipt::average_crops(inner, along(out_patch, (covered_length - shave_) * scale_),
                           along(out_patch, out_patch - shave_ * scale_), out_step_));
  return output;
}

torch::Tensor IptNetwork::forward_chop(const torch::Tensor& x) {
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  const int64_t patch = options_.patch_size;
  const int64_t step = shave_ / 2;
  const int64_t out_patch = patch * scale_;
  // rows/columns past the last crop of the regular grid
  const int64_t height_cut = (height - patch) % step;
  const int64_t width_cut = (width - patch) % step;

  const torch::Tensor corner = forward_patches(x.slice(2, height - patch).slice(3, width - patch));
  const torch::Tensor bottom = forward_strip(x.slice(2, height - patch), 3, width - width_cut);
  const torch::Tensor right = forward_strip(x.slice(3, width - patch), 2, height - height_cut);
  const torch::Tensor top = forward_strip(x.slice(2, 0, patch), 3, width - width_cut);
  const torch::Tensor left = forward_strip(x.slice(3, 0, patch), 2, height - height_cut);

  const torch::Tensor crops = forward_crops(ipt::image_crops(x, patch, step));
  const int64_t covered_height = (height - height_cut) * scale_;
  const int64_t covered_width = (width - width_cut) * scale_;
  torch::Tensor y = ipt::fold_crops(crops, {covered_height, covered_width}, {out_patch, out_patch}, out_step_);
  y.slice(2, 0, out_patch).copy_(top);
  y.slice(3, 0, out_patch).copy_(left);
  const int64_t inner_patch = out_patch - shave_ * scale_;
  const torch::Tensor inner =
      crops.slice(2, out_step_, out_patch - out_step_).slice(3, out_step_, out_patch - out_step_);
  y.slice(2, out_step_, covered_height - out_step_)
      .slice(3, out_step_, covered_width - out_step_)
      .copy_(ipt::average_crops(inner, {covered_height - shave_ * scale_, covered_width - shave_ * scale_},
                           {inner_patch, inner_patch}, out_step_));

  // Below and right of the grid, the bottom/right strips (and the corner crop) take over half a patch early.
  const double bottom_takeover = (patch - height_cut) / 2.0 * scale_;
  const double right_takeover = (patch - width_cut) / 2.0 * scale_;
  const auto keep_height = [&](const torch::Tensor& t) {
    return t.slice(2, 0, t.size(2) - static_cast<int64_t>(bottom_takeover));
  };
  const auto skip_height = [&](const torch::Tensor& t) {
    return t.slice(2, static_cast<int64_t>(bottom_takeover + 0.5));
  };
  y = torch::cat({keep_height(y), skip_height(bottom)}, 2);
  const torch::Tensor right_column = torch::cat({keep_height(right), skip_height(corner)}, 2);
  return torch::cat({y.slice(3, 0, y.size(3) - static_cast<int64_t>(right_takeover)),
                     right_column.slice(3, static_cast<int64_t>(right_takeover + 0.5))},
                    3);
}

const Architecture kIptArchitecture = {"IPT", ipt::detect, ipt::load, "1, 2^n, 3 (one tail per scale; the largest is used)", "3"};

}  // namespace uprez
