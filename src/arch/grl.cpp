#include "arch/grl.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/any_dtype.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace grl {

namespace F = torch::nn::functional;

constexpr int64_t kReconstructionFeatures = 64;  // num_out_feats of the reconstruction heads
constexpr int64_t kPositionMlpFeatures = 512;    // hidden width of CPB_MLP
constexpr int64_t kCabCompressRatio = 4;
constexpr int64_t kCabReduction = 18;

// Buffers some checkpoints carry although GRL does not persist them (spandrel deletes them).
const std::vector<std::string> kNonPersistentBuffers = {
    "table_w",      "table_sh", "table_sv",    "index_w",     "index_sh_a2w", "index_sh_w2a", "index_sv_a2w",
    "index_sv_w2a", "mask_w",   "mask_sh_a2w", "mask_sh_w2a", "mask_sv_a2w",  "mask_sv_w2a"};

// ---- detection ----

bool has_grl_keys(const StateDict& state, const std::string& prefix) {
  for (const char* key : {"conv_first.weight", "norm_start.weight", "norm_end.weight",
                          "layers.0.blocks.0.attn.window_attn.attn_transform.logit_scale",
                          "layers.0.blocks.0.attn.stripe_attn.attn_transform1.logit_scale"})
    if (!state.contains(prefix + key)) return false;
  return true;
}

bool detect(const StateDict& state) {
  return has_grl_keys(state, "") || has_grl_keys(state, "model.") || has_grl_keys(state, "model_g.");
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// `state` without `prefix` on its keys; keys without it are dropped (spandrel's remove_common_prefix when every
// key has it, and its "model_g." filter).
StateDict keys_with_prefix(const StateDict& state, const std::string& prefix) {
  StateDict stripped;
  for (const std::string& key : state.keys())
    if (starts_with(key, prefix)) stripped.set(key.substr(prefix.size()), state.at(key));
  return stripped;
}

// spandrel's _clean_up_checkpoint: official checkpoints prefix every key with "model.", and bsr_grl_base keeps
// the generator's keys under "model_g." among unrelated ones.
StateDict clean_up_checkpoint(const StateDict& state) {
  StateDict cleaned = state;
  if (!state.empty() && std::all_of(state.keys().begin(), state.keys().end(),
                                    [](const std::string& key) { return starts_with(key, "model."); }))
    cleaned = keys_with_prefix(state, "model.");
  if (cleaned.contains("model_g.conv_first.weight")) cleaned = keys_with_prefix(cleaned, "model_g.");
  return cleaned;
}

// spandrel's _get_output_params: sets upsampler, out_channels and upscale.
void detect_output(const StateDict& state, GrlOptions& options) {
  if (state.contains("conv_before_upsample.0.weight") && state.contains("upsample.up.0.weight")) {
    options.upsampler = "pixelshuffle";
    options.out_channels = static_cast<int>(state.dim("conv_last.weight", 0));
    options.upscale = pixel_shuffle_parameters(state, "upsample.up").first;
  } else if (state.contains("upsample.up.0.weight")) {
    options.upsampler = "pixelshuffledirect";
    std::tie(options.upscale, options.out_channels) =
        scale_and_output_channels(state.dim("upsample.up.0.weight", 0), options.in_channels);
  } else if (state.contains("conv_up1.weight")) {
    options.upsampler = "nearest+conv";
    options.out_channels = static_cast<int>(state.dim("conv_last.weight", 0));
    options.upscale = 4;
  } else {
    options.upsampler = "";
    options.out_channels = static_cast<int>(state.dim("conv_last.weight", 0));
    options.upscale = 1;
  }
}

// spandrel's _get_anchor_params; where the down factor cannot be told, the official configs' 4 is assumed.
void detect_anchor(const StateDict& state, GrlOptions& options) {
  constexpr int kDefaultDownFactor = 4;
  const std::string body = "layers.0.blocks.0.attn.anchor.body";
  const int stages = sequence_length(state, body);
  const bool has_reduction = state.contains(body + ".0.reduction.weight");  // AnchorLinear or PatchMerging
  const bool conv = state.contains(body + ".0.weight");
  options.anchor_one_stage = stages == 1;
  if (stages == 1) {
    if (has_reduction) {
      // a biased reduction is AnchorLinear's (avgpool, or maxpool: indistinguishable)
      options.anchor_proj_type = state.contains(body + ".0.reduction.bias") ? "avgpool" : "patchmerging";
      options.anchor_window_down_factor = kDefaultDownFactor;
    } else if (conv) {
      options.anchor_proj_type = "conv2d";
      options.anchor_window_down_factor = static_cast<int>(state.dim(body + ".0.weight", 2)) - 1;
    } else {
      options.anchor_proj_type = "separable_conv";
      options.anchor_window_down_factor = static_cast<int>(state.dim(body + ".0.0.weight", 2)) - 1;
    }
  } else {
    options.anchor_window_down_factor = 1 << stages;
    options.anchor_proj_type = has_reduction ? "patchmerging" : conv ? "conv2d" : "separable_conv";
  }
}

// spandrel's _inv_div_add: b with a == b + b // d (Python's round, halves to even).
int inverse_div_add(int64_t a, int64_t d) {
  return static_cast<int>(std::nearbyint(static_cast<double>(a) / (1.0 + 1.0 / static_cast<double>(d))));
}

// Window size, stripe size and down factor: from the buffers when the checkpoint carries them, otherwise
// spandrel's guesses for the official models.
void detect_window_and_stripes(const StateDict& state, GrlOptions& options) {
  if (state.contains("table_w") && state.contains("table_sh") && state.contains("index_sh_a2w")) {
    options.window_size = static_cast<int>((state.dim("table_w", 1) + 1) / 2);
    const std::vector<int64_t> index_shape = state.shape("index_sh_a2w");
    const auto [smaller, larger] = std::minmax(index_shape[0], index_shape[1]);
    options.anchor_window_down_factor =
        static_cast<int>(std::sqrt(static_cast<double>(larger) / static_cast<double>(smaller)));
    options.stripe_size = {inverse_div_add(state.dim("table_sh", 1) + 1, options.anchor_window_down_factor),
                           inverse_div_add(state.dim("table_sh", 2) + 1, options.anchor_window_down_factor)};
  } else if (options.upscale != 1) {
    const bool blind = options.upsampler == "nearest+conv";
    options.window_size = blind ? 16 : 32;
    options.stripe_size = blind ? std::array<int, 2>{32, 64} : std::array<int, 2>{64, 64};
  }
}

std::string conv_type_of(const StateDict& state) {
  if (!state.contains("conv_after_body.weight")) return "3conv";
  const std::vector<int64_t> shape = state.shape("conv_after_body.weight");
  if (shape.size() == 2) return "linear";
  return shape[2] == 1 ? "1conv1x1" : "1conv";
}

// The hyper-parameters, from the key names and shapes of a cleaned-up checkpoint.
GrlOptions detect_options(const StateDict& state) {
  GrlOptions options;
  options.in_channels = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  detect_output(state, options);
  options.conv_type = conv_type_of(state);
  const int stages = sequence_length(state, "layers");
  options.depths.assign(stages, 6);
  options.num_heads_window.assign(stages, 3);
  options.num_heads_stripe.assign(stages, 3);
  for (int i = 0; i < stages; ++i) {
    const std::string layer = "layers." + std::to_string(i);
    options.depths[i] = sequence_length(state, layer + ".blocks");
    options.num_heads_window[i] =
        static_cast<int>(state.dim(layer + ".blocks.0.attn.window_attn.attn_transform.logit_scale", 0));
    options.num_heads_stripe[i] =
        static_cast<int>(state.dim(layer + ".blocks.0.attn.stripe_attn.attn_transform1.logit_scale", 0));
  }
  if (state.contains("layers.0.blocks.0.attn.qkv.body.weight")) {
    options.qkv_proj_type = "linear";
    options.qkv_bias = state.contains("layers.0.blocks.0.attn.qkv.body.bias");
  } else {
    options.qkv_proj_type = "separable_conv";
    options.qkv_bias = state.contains("layers.0.blocks.0.attn.qkv.body.0.bias");
  }
  detect_anchor(state, options);
  options.local_connection = state.contains("layers.0.blocks.0.conv.cab.0.weight");
  options.mlp_ratio = static_cast<double>(state.dim("layers.0.blocks.0.mlp.fc1.weight", 0)) / options.embed_dim;
  detect_window_and_stripes(state, options);
  return options;
}

ModelInfo model_info(const GrlOptions& options) {
  std::string size_tag = "base";
  if (options.depths.size() < 6) size_tag = options.embed_dim >= 96 ? "small" : "tiny";
  ModelInfo info;
  info.architecture_id = info.architecture_name = "GRL";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {size_tag, std::to_string(options.embed_dim) + "dim",
               "w" + std::to_string(options.window_size) + "df" + std::to_string(options.anchor_window_down_factor),
               "s" + std::to_string(options.stripe_size[0]) + "x" + std::to_string(options.stripe_size[1])};
  info.scale = options.upscale;
  info.input_channels = options.in_channels;
  info.output_channels = options.out_channels;
  info.supports_half = false;
  info.hyperparameters = {
      {"img_size", 64},
      {"in_channels", options.in_channels},
      {"out_channels", options.out_channels},
      {"embed_dim", options.embed_dim},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"upsampler", options.upsampler},
      {"depths", options.depths},
      {"num_heads_window", options.num_heads_window},
      {"num_heads_stripe", options.num_heads_stripe},
      {"window_size", options.window_size},
      {"stripe_size", options.stripe_size},
      {"stripe_groups", nlohmann::json::array({nullptr, nullptr})},
      {"stripe_shift", true},
      {"mlp_ratio", options.mlp_ratio},
      {"qkv_bias", options.qkv_bias},
      {"qkv_proj_type", options.qkv_proj_type},
      {"anchor_proj_type", options.anchor_proj_type},
      {"anchor_one_stage", options.anchor_one_stage},
      {"anchor_window_down_factor", options.anchor_window_down_factor},
      {"out_proj_type", "linear"},
      {"local_connection", options.local_connection},
      {"drop_rate", 0.0},
      {"attn_drop_rate", 0.0},
      {"drop_path_rate", 0.1},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"pretrained_window_size", {0, 0}},
      {"pretrained_stripe_size", {0, 0}},
      {"conv_type", options.conv_type},
      {"init_method", "n"},
      {"fairscale_checkpoint", false},
      {"offload_to_cpu", false},
      {"euclidean_dist", false},
  };
  return info;
}

Model load(const StateDict& file_state) {
  StateDict state = clean_up_checkpoint(file_state);
  const GrlOptions options = detect_options(state);
  for (const std::string& key : kNonPersistentBuffers) state.erase(key);
  return assemble_model(model_info(options), std::make_shared<GrlNetwork>(options), state);
}

// ---- relative positions and masks, for the actual (padded) feature size ----

// One axis of get_relative_coords_table_all for a window and its anchor window: the offsets from
// -(anchor - 1) - (window - anchor) // 2 to window - 1 - (window - anchor) // 2, scaled so that the largest
// positive one is 8, then log-spaced: sign(t) * log2(|t| + 1) / log2(8).
torch::Tensor log_spaced_offsets(int64_t window, int64_t anchor) {
  const int64_t centring = (window - anchor) / 2;
  const int64_t largest = window - 1 - centring;
  const torch::Tensor offsets = torch::arange(-(anchor - 1) - centring, largest + 1, torch::kFloat32) / largest * 8;
  return torch::sign(offsets) * torch::log2(torch::abs(offsets) + 1.0) / 3.0;
}

// get_relative_coords_table_all: (1, Th, Tw, 2) inputs of the continuous position bias MLP for a
// window_height x window_width window attending to (or from) its anchor window (sides / down_factor).
torch::Tensor relative_coords_table(int64_t window_height, int64_t window_width, int64_t down_factor) {
  const std::vector<torch::Tensor> grid =
      torch::meshgrid({log_spaced_offsets(window_height, window_height / down_factor),
                       log_spaced_offsets(window_width, window_width / down_factor)},
                      "ij");
  return torch::stack(grid, -1).unsqueeze(0);
}

// get_relative_position_index_simple with a down factor: for each position of a window_height x window_width
// window and each position of its anchor window (both starting at (0, 0)), the row of the flattened
// relative_coords_table for their offset: (N_window, N_anchor) from window to anchor, else the transpose order.
torch::Tensor anchor_relative_position_index(int64_t window_height, int64_t window_width, int64_t down_factor,
                                             bool window_to_anchor) {
  const int64_t anchor_height = window_height / down_factor, anchor_width = window_width / down_factor;
  const int64_t row_stride = anchor_width + window_width - 1;
  const torch::Tensor window_rows = torch::arange(window_height).repeat_interleave(window_width);
  const torch::Tensor window_cols = torch::arange(window_width).repeat({window_height});
  const torch::Tensor anchor_rows = torch::arange(anchor_height).repeat_interleave(anchor_width);
  const torch::Tensor anchor_cols = torch::arange(anchor_width).repeat({anchor_height});
  if (window_to_anchor)
    return (window_rows.view({-1, 1}) - anchor_rows.view({1, -1}) + (anchor_height - 1)) * row_stride +
           (window_cols.view({-1, 1}) - anchor_cols.view({1, -1}) + (anchor_width - 1));
  return (anchor_rows.view({-1, 1}) - window_rows.view({1, -1}) + (window_height - 1)) * row_stride +
         (anchor_cols.view({-1, 1}) - window_cols.view({1, -1}) + (window_width - 1));
}

// One axis of GRL's _fill_window regions with Python's slice semantics: 0 before size - window, 1 up to
// size - shift, 2 from there; a zero shift makes slice(-0, None) the whole axis, so every position is 2.
torch::Tensor shift_region_labels(int64_t size, int64_t window, int64_t shift) {
  torch::Tensor labels = torch::zeros({size}, torch::kFloat32);
  if (shift == 0) return labels.fill_(2);
  labels.slice(0, std::max<int64_t>(size - window, 0)).fill_(1);
  labels.slice(0, std::max<int64_t>(size - shift, 0)).fill_(2);
  return labels;
}

// _fill_window: (nW, wh*ww) region label of each position of each window of a shifted H x W map.
torch::Tensor window_region_labels(int64_t height, int64_t width, int64_t window_height, int64_t window_width,
                                   int64_t shift_height, int64_t shift_width) {
  const torch::Tensor labels = shift_region_labels(height, window_height, shift_height).view({-1, 1}) * 3 +
                               shift_region_labels(width, window_width, shift_width).view({1, -1});
  return window_partition(labels.view({1, height, width, 1}), window_height, window_width)
      .view({-1, window_height * window_width});
}

// calculate_mask_all for stripes shifted by half their size: -100 between a stripe position and an anchor
// position from different regions, else 0; (nW, N_stripe, N_anchor) from window to anchor, else transposed.
torch::Tensor anchor_stripe_mask(int64_t height, int64_t width, int64_t stripe_height, int64_t stripe_width,
                                 int64_t down_factor, bool window_to_anchor) {
  const torch::Tensor stripe_labels =
      window_region_labels(height, width, stripe_height, stripe_width, stripe_height / 2, stripe_width / 2);
  const torch::Tensor anchor_labels =
      window_region_labels(height / down_factor, width / down_factor, stripe_height / down_factor,
                           stripe_width / down_factor, stripe_height / 2 / down_factor, stripe_width / 2 / down_factor);
  const torch::Tensor differs = window_to_anchor ? stripe_labels.unsqueeze(2) != anchor_labels.unsqueeze(1)
                                                 : anchor_labels.unsqueeze(2) != stripe_labels.unsqueeze(1);
  return torch::zeros(differs.sizes(), torch::kFloat32).masked_fill_(differs, -100.0);
}

// Table, indices and masks of the anchor stripe attention for one stripe orientation.
struct StripeGeometry {
  torch::Tensor table;
  torch::Tensor index_a2w;
  torch::Tensor index_w2a;
  torch::Tensor mask_a2w;
  torch::Tensor mask_w2a;
};

// What every block of one forward pass shares (GRL's set_table_index_mask for the actual feature size).
struct AttentionGeometry {
  torch::Tensor window_table;
  torch::Tensor window_index;
  torch::Tensor window_mask;
  StripeGeometry horizontal;  // stripe_size
  StripeGeometry vertical;    // stripe_size transposed
};

StripeGeometry stripe_geometry(int64_t height, int64_t width, int64_t stripe_height, int64_t stripe_width,
                               int64_t down_factor, const torch::TensorOptions& options) {
  return {relative_coords_table(stripe_height, stripe_width, down_factor).to(options),
          anchor_relative_position_index(stripe_height, stripe_width, down_factor, false).to(options.device()),
          anchor_relative_position_index(stripe_height, stripe_width, down_factor, true).to(options.device()),
          anchor_stripe_mask(height, width, stripe_height, stripe_width, down_factor, false).to(options),
          anchor_stripe_mask(height, width, stripe_height, stripe_width, down_factor, true).to(options)};
}

AttentionGeometry attention_geometry(const GrlOptions& grl, int64_t height, int64_t width,
                                     const torch::TensorOptions& options) {
  const int64_t window = grl.window_size, down_factor = grl.anchor_window_down_factor;
  const int64_t stripe_height = grl.stripe_size[0], stripe_width = grl.stripe_size[1];
  return {relative_coords_table(window, window, 1).to(options), relative_position_index(window).to(options.device()),
          shifted_window_mask(height, width, window, window / 2).to(options),
          stripe_geometry(height, width, stripe_height, stripe_width, down_factor, options),
          stripe_geometry(height, width, stripe_width, stripe_height, down_factor, options)};
}

// ---- attention ----

// AffineTransform: turns cosine similarities into logits: a clamped learnt per-head scale ("logit_scale"),
// plus 16 * sigmoid of the continuous position bias that "cpb_mlp" (2 -> 512 -> heads) computes from the
// coordinates table, plus the shift mask.
class AffineTransform : public torch::nn::Module {
 public:
  explicit AffineTransform(int64_t num_heads)
      : logit_scale_(register_parameter("logit_scale", torch::log(10 * torch::ones({num_heads, 1, 1})))),
        cpb_mlp_(register_module(
            "cpb_mlp", torch::nn::Sequential(
                           FastLinear(2, kPositionMlpFeatures), torch::nn::ReLU(),
                           FastLinear(torch::nn::LinearOptions(kPositionMlpFeatures, num_heads).bias(false))))) {
  }

  // similarity: (B_, heads, N1, N2); index: (N1, N2) rows of the table; mask: (nW, N1, N2) or undefined.
  torch::Tensor forward(const torch::Tensor& similarity, const torch::Tensor& table, const torch::Tensor& index,
                        const torch::Tensor& mask) {
    const int64_t heads = similarity.size(1), queries = similarity.size(2), keys = similarity.size(3);
    const torch::Tensor scaled = similarity * torch::clamp_max(logit_scale_, std::log(1.0 / 0.01)).exp();
    const torch::Tensor bias = cpb_mlp_->forward(table)
                                   .view({-1, heads})
                                   .index_select(0, index.view(-1))
                                   .view({queries, keys, heads})
                                   .permute({2, 0, 1});
    const torch::Tensor logits = scaled + (16 * torch::sigmoid(bias)).unsqueeze(0);
    return mask.defined() ? add_window_mask(logits, mask) : logits;
  }

 private:
  torch::Tensor logit_scale_;
  torch::nn::Sequential cpb_mlp_;
};

// GRL's Attention.attn: softmax(transform(normalize(q) @ normalize(k)^T)) @ v on (B_, heads, N, d) tensors.
torch::Tensor cosine_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               AffineTransform& transform, const torch::Tensor& table, const torch::Tensor& index,
                               const torch::Tensor& mask) {
  const auto unit = [](const torch::Tensor& t) { return F::normalize(t, F::NormalizeFuncOptions().dim(-1)); };
  const torch::Tensor similarity = fast_matmul(unit(q), unit(k).transpose(-2, -1));
  return fast_matmul(transform.forward(similarity, table, index, mask).softmax(-1), v);
}

// (B*nW, heads, N, d) attention output -> (B*nW, wh, ww, heads*d).
torch::Tensor merge_heads(const torch::Tensor& attended, int64_t window_height, int64_t window_width) {
  return attended.transpose(1, 2).reshape({attended.size(0), window_height, window_width, -1});
}

// GRL's WindowAttention: cosine attention in square windows ("attn_transform"), cyclically shifted by half a
// window in shifted blocks.
class CosineWindowAttention : public torch::nn::Module {
 public:
  CosineWindowAttention(int64_t window, int64_t num_heads, bool shifted)
      : window_(window),
        shift_(shifted ? window / 2 : 0),
        num_heads_(num_heads),
        attn_transform_(register_module("attn_transform", std::make_shared<AffineTransform>(num_heads))) {}

  // qkv: (B, H, W, 3C). Returns (B, H*W, C).
  torch::Tensor forward(const torch::Tensor& qkv, const AttentionGeometry& geometry) {
    const int64_t batch = qkv.size(0), height = qkv.size(1), width = qkv.size(2), channels = qkv.size(3);
    const torch::Tensor rolled = shift_ > 0 ? torch::roll(qkv, {-shift_, -shift_}, {1, 2}) : qkv;
    const torch::Tensor windows = window_partition(rolled, window_).reshape({-1, window_ * window_, channels});
    const torch::Tensor heads =
        windows.reshape({windows.size(0), windows.size(1), 3, num_heads_, -1}).permute({2, 0, 3, 1, 4});
    const torch::Tensor attended =
        cosine_attention(heads[0], heads[1], heads[2], *attn_transform_, geometry.window_table, geometry.window_index,
                         shift_ > 0 ? geometry.window_mask : torch::Tensor());
    const torch::Tensor merged = window_reverse(merge_heads(attended, window_, window_), window_, height, width);
    const torch::Tensor restored = shift_ > 0 ? torch::roll(merged, {shift_, shift_}, {1, 2}) : merged;
    return restored.reshape({batch, height * width, channels / 3});
  }

 private:
  int64_t window_;
  int64_t shift_;
  int64_t num_heads_;
  std::shared_ptr<AffineTransform> attn_transform_;
};

// GRL's AnchorStripeAttention: inside each stripe, the anchor tokens (the same region of the downscaled anchor
// map) first attend to the stripe's keys/values ("attn_transform1"), then the stripe's queries attend to the
// anchors and their result ("attn_transform2"). Shifted blocks roll stripes and anchors by half a stripe.
class AnchorStripeAttention : public torch::nn::Module {
 public:
  AnchorStripeAttention(std::array<int64_t, 2> stripe, bool shifted, int64_t num_heads, int64_t down_factor)
      : stripe_(stripe),
        anchor_stripe_({stripe[0] / down_factor, stripe[1] / down_factor}),
        shift_({shifted ? stripe[0] / 2 : 0, shifted ? stripe[1] / 2 : 0}),
        anchor_shift_({shift_[0] / down_factor, shift_[1] / down_factor}),
        shifted_(shifted),
        num_heads_(num_heads),
        attn_transform1_(register_module("attn_transform1", std::make_shared<AffineTransform>(num_heads))),
        attn_transform2_(register_module("attn_transform2", std::make_shared<AffineTransform>(num_heads))) {}

  // qkv: (B, H, W, 3C); anchor: (B, H/df, W/df, C). Returns (B, H*W, C).
  torch::Tensor forward(const torch::Tensor& qkv, const torch::Tensor& anchor, const StripeGeometry& geometry) {
    const int64_t batch = qkv.size(0), height = qkv.size(1), width = qkv.size(2), channels = qkv.size(3);
    const torch::Tensor rolled_qkv = shifted_ ? torch::roll(qkv, {-shift_[0], -shift_[1]}, {1, 2}) : qkv;
    const torch::Tensor rolled_anchor =
        shifted_ ? torch::roll(anchor, {-anchor_shift_[0], -anchor_shift_[1]}, {1, 2}) : anchor;
    const torch::Tensor stripes =
        window_partition(rolled_qkv, stripe_[0], stripe_[1]).reshape({-1, stripe_[0] * stripe_[1], channels});
    const int64_t count = stripes.size(0), stripe_tokens = stripes.size(1);
    const torch::Tensor heads = stripes.reshape({count, stripe_tokens, 3, num_heads_, -1}).permute({2, 0, 3, 1, 4});
    const torch::Tensor anchors = window_partition(rolled_anchor, anchor_stripe_[0], anchor_stripe_[1])
                                      .reshape({count, anchor_stripe_[0] * anchor_stripe_[1], num_heads_, -1})
                                      .permute({0, 2, 1, 3});
    const torch::Tensor anchor_values =
        cosine_attention(anchors, heads[1], heads[2], *attn_transform1_, geometry.table, geometry.index_a2w,
                         shifted_ ? geometry.mask_a2w : torch::Tensor());
    const torch::Tensor attended = cosine_attention(heads[0], anchors, anchor_values, *attn_transform2_, geometry.table,
                                                    geometry.index_w2a, shifted_ ? geometry.mask_w2a : torch::Tensor());
    const torch::Tensor merged =
        window_reverse(merge_heads(attended, stripe_[0], stripe_[1]), stripe_[0], stripe_[1], height, width);
    const torch::Tensor restored = shifted_ ? torch::roll(merged, {shift_[0], shift_[1]}, {1, 2}) : merged;
    return restored.reshape({batch, height * width, channels / 3});
  }

 private:
  std::array<int64_t, 2> stripe_;
  std::array<int64_t, 2> anchor_stripe_;
  std::array<int64_t, 2> shift_;
  std::array<int64_t, 2> anchor_shift_;
  bool shifted_;
  int64_t num_heads_;
  std::shared_ptr<AffineTransform> attn_transform1_;
  std::shared_ptr<AffineTransform> attn_transform2_;
};

// ---- projections ----

// GRL's SeparableConv (without the optional GELU, which spandrel never enables): a depthwise
// kernel_size x kernel_size conv with the given stride, then a 1x1 conv; weights "<name>.0/1.*".
torch::nn::Sequential separable_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                     bool bias) {
  return torch::nn::Sequential(FastConv2d(torch::nn::Conv2dOptions(in_channels, in_channels, kernel_size)
                                                     .stride(stride)
                                                     .padding(kernel_size / 2)
                                                     .groups(in_channels)
                                                     .bias(bias)),
                               same_conv(in_channels, out_channels, 1, bias));
}

// QKVProjection: "body", a Linear on the tokens or a SeparableConv on the map (dim -> 3 dim).
class QkvProjection : public torch::nn::Module {
 public:
  QkvProjection(int64_t dim, bool bias, const std::string& type) {
    if (type == "linear")
      linear_ = register_module("body", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(bias)));
    else
      conv_ = register_module("body", separable_conv(dim, dim * 3, 3, 1, bias));
  }

  // x: (B, H*W, C) -> (B, H*W, 3C).
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    if (linear_) return linear_->forward(x);
    return image_to_tokens(conv_->forward(tokens_to_image(x, height, width)));
  }

 private:
  FastLinear linear_{nullptr};
  torch::nn::Sequential conv_{nullptr};
};

// Swin's PatchMerging: each 2x2 block's four tokens concatenated (top-left, bottom-left, top-right,
// bottom-right) and reduced by "reduction" (no bias).
class PatchMerging : public torch::nn::Module {
 public:
  PatchMerging(int64_t in_dim, int64_t out_dim)
      : reduction_(register_module("reduction",
                                   FastLinear(torch::nn::LinearOptions(4 * in_dim, out_dim).bias(false)))) {}

  // x: (B, H*W, C) -> (B, H/2 * W/2, out_dim).
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const int64_t batch = x.size(0), channels = x.size(2);
    const torch::Tensor map = x.view({batch, height, width, channels});
    const auto quarter = [&](int64_t row, int64_t col) {
      return map.slice(1, row, torch::indexing::None, 2).slice(2, col, torch::indexing::None, 2);
    };
    const torch::Tensor merged = torch::cat({quarter(0, 0), quarter(1, 0), quarter(0, 1), quarter(1, 1)}, -1);
    return reduction_->forward(merged.reshape({batch, -1, 4 * channels}));
  }

 private:
  FastLinear reduction_;
};

// AnchorLinear (avgpool): average pooling by the down factor, then "reduction" (Linear with bias).
class AnchorLinear : public torch::nn::Module {
 public:
  AnchorLinear(int64_t in_channels, int64_t out_channels, int64_t down_factor)
      : down_factor_(down_factor),
        reduction_(register_module("reduction", FastLinear(in_channels, out_channels))) {}

  // x: (B, H*W, C) -> (B, H/df, W/df, out_channels).
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    const torch::Tensor pooled =
        F::avg_pool2d(tokens_to_image(x, height, width), F::AvgPool2dFuncOptions(down_factor_).stride(down_factor_));
    return reduction_->forward(image_to_tokens(pooled))
        .view({x.size(0), height / down_factor_, width / down_factor_, -1});
  }

 private:
  int64_t down_factor_;
  FastLinear reduction_;
};

// AnchorProjection: the anchor map (B, H/df, W/df, dim/2) from the tokens, by one projection that downscales by
// df ("body.0") or by log2(df) stride-2 ones: AnchorLinear, PatchMerging, Conv2d or SeparableConv.
class AnchorProjection : public torch::nn::Module {
 public:
  AnchorProjection(int64_t dim, const std::string& type, bool one_stage, int64_t down_factor) {
    const int64_t out = dim / 2;
    torch::nn::ModuleList body;
    if (type == "avgpool") {
      pool_ = std::make_shared<AnchorLinear>(dim, out, down_factor);
      body->push_back(pool_);
    } else if (one_stage) {
      const int64_t kernel = down_factor + 1;
      if (type == "patchmerging")
        merges_.push_back(std::make_shared<PatchMerging>(dim, out));
      else if (type == "conv2d")
        convs_.emplace_back(torch::nn::Conv2dOptions(dim, out, kernel).stride(down_factor).padding(kernel / 2));
      else
        separable_convs_.push_back(separable_conv(dim, out, kernel, down_factor, true));
    } else {
      for (int64_t i = 0; (int64_t{1} << i) < down_factor; ++i) {
        const int64_t in = i == 0 ? dim : out;
        if (type == "patchmerging")
          merges_.push_back(std::make_shared<PatchMerging>(in, out));
        else if (type == "conv2d")
          convs_.emplace_back(torch::nn::Conv2dOptions(in, out, 3).stride(2).padding(1));
        else
          separable_convs_.push_back(separable_conv(in, out, 3, 2, true));
      }
    }
    for (const auto& merge : merges_) body->push_back(merge);
    for (const auto& conv : convs_) body->push_back(conv);
    for (const auto& conv : separable_convs_) body->push_back(conv);
    register_module("body", body);
  }

  // x: (B, H*W, C) -> (B, H', W', C/2).
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    if (pool_) return pool_->forward(x, height, width);
    if (!convs_.empty() || !separable_convs_.empty()) {
      torch::Tensor map = tokens_to_image(x, height, width);
      for (auto& conv : convs_) map = conv->forward(map);
      for (auto& conv : separable_convs_) map = conv->forward(map);
      return map.permute({0, 2, 3, 1});
    }
    torch::Tensor tokens = x;
    for (const auto& merge : merges_) {
      tokens = merge->forward(tokens, height, width);
      height /= 2;
      width /= 2;
    }
    return tokens.view({x.size(0), height, width, -1});
  }

 private:
  std::shared_ptr<AnchorLinear> pool_;
  std::vector<std::shared_ptr<PatchMerging>> merges_;
  std::vector<FastConv2d> convs_;  // "conv2d"
  std::vector<torch::nn::Sequential> separable_convs_;
};

// MixedAttention: a shared "qkv" projection whose first half feeds the window attention ("window_attn") and
// second half the anchor stripe attention ("stripe_attn", with the "anchor" projection); outputs concatenated
// and projected ("proj").
class MixedAttention : public torch::nn::Module {
 public:
  MixedAttention(const GrlOptions& options, int64_t heads_window, int64_t heads_stripe, bool window_shift,
                 std::array<int64_t, 2> stripe, bool stripe_shift) {
    const int64_t dim = options.embed_dim;
    qkv_ = register_module("qkv", std::make_shared<QkvProjection>(dim, options.qkv_bias, options.qkv_proj_type));
    anchor_ = register_module(
        "anchor", std::make_shared<AnchorProjection>(dim, options.anchor_proj_type, options.anchor_one_stage,
                                                     options.anchor_window_down_factor));
    window_attn_ = register_module(
        "window_attn", std::make_shared<CosineWindowAttention>(options.window_size, heads_window, window_shift));
    stripe_attn_ = register_module(
        "stripe_attn",
        std::make_shared<AnchorStripeAttention>(stripe, stripe_shift, heads_stripe, options.anchor_window_down_factor));
    proj_ = register_module("proj", FastLinear(dim, dim));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const AttentionGeometry& geometry,
                        const StripeGeometry& stripes) {
    const int64_t batch = x.size(0), channels = x.size(2);
    const std::vector<torch::Tensor> halves = qkv_->forward(x, height, width).split(channels * 3 / 2, -1);
    const torch::Tensor anchor = anchor_->forward(x, height, width);
    const torch::Tensor window = window_attn_->forward(halves[0].reshape({batch, height, width, -1}), geometry);
    const torch::Tensor stripe = stripe_attn_->forward(halves[1].reshape({batch, height, width, -1}), anchor, stripes);
    return proj_->forward(torch::cat({window, stripe}, -1));
  }

 private:
  std::shared_ptr<QkvProjection> qkv_;
  std::shared_ptr<AnchorProjection> anchor_;
  std::shared_ptr<CosineWindowAttention> window_attn_;
  std::shared_ptr<AnchorStripeAttention> stripe_attn_;
  FastLinear proj_{nullptr};
};

// EfficientMixAttnTransformerBlock (post-norm): x + norm1(attn(x)) [+ channel-attention conv branch "conv" of
// x], then + norm2(mlp(.)). Block i shifts its windows when even, uses transposed ("W") stripes when odd, and
// shifts its stripes when i % 4 is 2 or 3.
class MixedAttentionBlock : public torch::nn::Module {
 public:
  MixedAttentionBlock(const GrlOptions& options, int64_t heads_window, int64_t heads_stripe, int64_t index)
      : vertical_stripes_(index % 2 == 1) {
    const int64_t dim = options.embed_dim;
    const int64_t stripe_height = options.stripe_size[0], stripe_width = options.stripe_size[1];
    const std::array<int64_t, 2> stripe = vertical_stripes_ ? std::array<int64_t, 2>{stripe_width, stripe_height}
                                                            : std::array<int64_t, 2>{stripe_height, stripe_width};
    attn_ = register_module("attn", std::make_shared<MixedAttention>(options, heads_window, heads_stripe,
                                                                     index % 2 == 0, stripe, index % 4 >= 2));
    norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (options.local_connection)
      conv_ = register_module("conv", ChannelAttentionBlock(dim, dim / kCabCompressRatio, dim / kCabReduction));
    mlp_ = register_module("mlp", Mlp(dim, static_cast<int64_t>(dim * options.mlp_ratio), dim));
    norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const AttentionGeometry& geometry) {
    const StripeGeometry& stripes = vertical_stripes_ ? geometry.vertical : geometry.horizontal;
    torch::Tensor mixed = x + norm1_->forward(attn_->forward(x, height, width, geometry, stripes));
    if (conv_) mixed = mixed + image_to_tokens(conv_->forward(tokens_to_image(x, height, width).contiguous()));
    return mixed + norm2_->forward(mlp_->forward(mixed));
  }

 private:
  bool vertical_stripes_;
  std::shared_ptr<MixedAttention> attn_;
  torch::nn::LayerNorm norm1_{nullptr};
  ChannelAttentionBlock conv_{nullptr};
  Mlp mlp_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
};

// swin_v1_block.Linear: nn.Linear over the channels of an NCHW map (conv_type "linear").
class ChannelLinearImpl : public FastLinearImpl {
 public:
  using FastLinearImpl::FastLinearImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    return tokens_to_image(FastLinearImpl::forward(image_to_tokens(x)), x.size(2), x.size(3));
  }
};
TORCH_MODULE(ChannelLinear);

// build_last_conv: the conv closing each stage and the body.
torch::nn::AnyModule last_conv(const std::string& conv_type, int64_t dim) {
  if (conv_type == "1conv1x1") return torch::nn::AnyModule(same_conv(dim, dim, 1));
  if (conv_type == "linear") return torch::nn::AnyModule(ChannelLinear(dim, dim));
  return residual_connection_conv(dim, conv_type);  // "1conv" | "3conv"
}

}  // namespace grl

// TransformerStage: the blocks, then the last conv ("conv") on the map, plus the stage input.
class GrlTransformerStage : public torch::nn::Module {
 public:
  GrlTransformerStage(const GrlOptions& options, int64_t depth, int64_t heads_window, int64_t heads_stripe)
      : conv_(grl::last_conv(options.conv_type, options.embed_dim)) {
    torch::nn::ModuleList blocks;
    for (int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(std::make_shared<grl::MixedAttentionBlock>(options, heads_window, heads_stripe, i));
      blocks->push_back(blocks_.back());
    }
    register_module("blocks", blocks);
    register_module("conv", conv_.ptr());
  }

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const grl::AttentionGeometry& geometry) {
    torch::Tensor tokens = x;
    for (const auto& block : blocks_) tokens = block->forward(tokens, height, width, geometry);
    return image_to_tokens(conv_.forward(tokens_to_image(tokens, height, width))) + x;
  }

 private:
  std::vector<std::shared_ptr<grl::MixedAttentionBlock>> blocks_;
  torch::nn::AnyModule conv_;
};

GrlNetwork::GrlNetwork(const GrlOptions& options)
    : options_(options),
      pad_size_(std::max({options.window_size, options.stripe_size[0], options.stripe_size[1]})),
      mean_(div2k_mean(options.in_channels)) {
  const int64_t dim = options.embed_dim;
  conv_first_ = register_module("conv_first", same_conv(options.in_channels, dim, 3));
  norm_start_ = register_module("norm_start", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  torch::nn::ModuleList layers;
  for (size_t i = 0; i < options.depths.size(); ++i) {
    layers_.push_back(std::make_shared<GrlTransformerStage>(options, options.depths[i], options.num_heads_window[i],
                                                            options.num_heads_stripe[i]));
    layers->push_back(layers_.back());
  }
  register_module("layers", layers);
  norm_end_ = register_module("norm_end", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  conv_after_body_ = grl::last_conv(options.conv_type, dim);
  register_module("conv_after_body", conv_after_body_.ptr());

  // Upsample and UpsampleOneStep keep their Sequential as "up".
  const auto register_upsample = [&](torch::nn::Sequential up) {
    auto upsample = register_module("upsample", std::make_shared<torch::nn::Module>());
    upsample_ = upsample->register_module("up", std::move(up));
  };
  const int64_t features = grl::kReconstructionFeatures;
  const auto reconstruction_input = [&] {
    return torch::nn::Sequential(same_conv(dim, features, 3), torch::nn::LeakyReLU());
  };
  if (options.upsampler == "pixelshuffle") {
    conv_before_upsample_ = register_module("conv_before_upsample", reconstruction_input());
    register_upsample(power_of_two_or_three_upsampler(options.upscale, features));
    conv_last_ = register_module("conv_last", same_conv(features, options.out_channels, 3));
  } else if (options.upsampler == "pixelshuffledirect") {
    register_upsample(pixel_shuffle_block(dim, options.out_channels, options.upscale));
  } else if (options.upsampler == "nearest+conv") {
    conv_before_upsample_ = register_module("conv_before_upsample", reconstruction_input());
    conv_up1_ = register_module("conv_up1", same_conv(features, features, 3));
    conv_up2_ = register_module("conv_up2", same_conv(features, features, 3));
    conv_hr_ = register_module("conv_hr", same_conv(features, features, 3));
    conv_last_ = register_module("conv_last", same_conv(features, options.out_channels, 3));
  } else {
    conv_last_ = register_module("conv_last", same_conv(dim, options.out_channels, 3));
  }
}

torch::Tensor GrlNetwork::forward_features(const torch::Tensor& x) {
  const int64_t height = x.size(2), width = x.size(3);
  const grl::AttentionGeometry geometry = grl::attention_geometry(options_, height, width, x.options());
  torch::Tensor tokens = norm_start_->forward(image_to_tokens(x));
  for (const auto& layer : layers_) tokens = layer->forward(tokens, height, width, geometry);
  return tokens_to_image(norm_end_->forward(tokens), height, width);
}

torch::Tensor GrlNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  // check_image_size: reflect padding, or zeros where the padding exceeds the image (reflect would fail).
  const int64_t pad_height = (pad_size_ - height % pad_size_) % pad_size_;
  const int64_t pad_width = (pad_size_ - width % pad_size_) % pad_size_;
  const bool reflectable = pad_height < height && pad_width < width;
  x = pad_to_multiple(x, pad_size_, reflectable ? grl::F::PadFuncOptions::mode_t(torch::kReflect) : torch::kConstant);

  const torch::Tensor mean = mean_.to(x.options());
  x = (x - mean) * options_.img_range;
  const torch::Tensor shallow = conv_first_->forward(x);
  const torch::Tensor features = conv_after_body_.forward(forward_features(shallow)) + shallow;
  const auto lrelu = [](const torch::Tensor& t) {
    return grl::F::leaky_relu(t, grl::F::LeakyReLUFuncOptions().negative_slope(0.2));
  };
  if (options_.upsampler == "pixelshuffle") {
    x = conv_last_->forward(upsample_->forward(conv_before_upsample_->forward(features)));
  } else if (options_.upsampler == "pixelshuffledirect") {
    x = upsample_->forward(features);
  } else if (options_.upsampler == "nearest+conv") {
    x = conv_before_upsample_->forward(features);
    x = lrelu(conv_up1_->forward(upscale_nearest(x, 2)));
    x = lrelu(conv_up2_->forward(upscale_nearest(x, 2)));
    x = conv_last_->forward(lrelu(conv_hr_->forward(x)));
  } else {
    x = options_.in_channels == options_.out_channels ? x + conv_last_->forward(features)
                                                      : conv_last_->forward(features);
  }
  x = x / options_.img_range + mean;
  return x.slice(2, 0, height * options_.upscale).slice(3, 0, width * options_.upscale);
}

const Architecture kGrlArchitecture = {"GRL", grl::detect, grl::load, "1, 2^n, 3 (pixelshuffledirect: any)", "any"};

}  // namespace uprez
