#include "arch/dat_blocks.h"

#include <algorithm>
#include <cmath>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace dat_blocks {

constexpr int64_t kReconstructionFeatures = 64;  // num_feat of the pixelshuffle reconstruction (fixed)

// nn.Linear that also accepts zero input features (LibTorch's default initialisation divides by fan_in): built
// with one input feature, then resized; the weights come from the state dict.
FastLinear linear_allowing_no_inputs(int64_t in_features, int64_t out_features) {
  FastLinear layer(std::max<int64_t>(in_features, 1), out_features);
  if (in_features == 0) layer->weight.set_data(torch::zeros({out_features, 0}));
  return layer;
}

// LayerNorm, ReLU, Linear (DynamicPosBias's pos1 .. pos3).
torch::nn::Sequential normalized_relu_linear(int64_t in_features, int64_t out_features) {
  return torch::nn::Sequential(torch::nn::LayerNorm(torch::nn::LayerNormOptions({in_features})), torch::nn::ReLU(),
                               linear_allowing_no_inputs(in_features, out_features));
}

// Every (dy, dx) offset between two positions of a window, row-major: ((2wh-1)*(2ww-1), 2) floats.
torch::Tensor window_offsets(int64_t window_height, int64_t window_width) {
  const std::vector<torch::Tensor> grid = torch::meshgrid(
      {torch::arange(1 - window_height, window_height), torch::arange(1 - window_width, window_width)}, "ij");
  return torch::stack(grid).flatten(1).transpose(0, 1).contiguous().to(torch::kFloat32);
}

}  // namespace dat_blocks

FastConv2d depthwise_conv(int64_t channels) {
  return FastConv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).groups(channels));
}

bool shifts_rectangle_windows(int64_t group, int64_t block) {
  return (group % 2 == 0 && block > 0 && (block - 2) % 4 == 0) || (group % 2 != 0 && block % 4 == 0);
}

DynamicPosBiasImpl::DynamicPosBiasImpl(int64_t dim, int64_t num_heads) {
  const int64_t pos_dim = dim / 4;
  pos_proj_ = register_module("pos_proj", FastLinear(2, pos_dim));
  pos1_ = register_module("pos1", dat_blocks::normalized_relu_linear(pos_dim, pos_dim));
  pos2_ = register_module("pos2", dat_blocks::normalized_relu_linear(pos_dim, pos_dim));
  pos3_ = register_module("pos3", dat_blocks::normalized_relu_linear(pos_dim, num_heads));
}

torch::Tensor DynamicPosBiasImpl::forward(const torch::Tensor& offsets) {
  return pos3_->forward(pos2_->forward(pos1_->forward(pos_proj_->forward(offsets))));
}

RectangleWindowAttentionImpl::RectangleWindowAttentionImpl(int64_t dim, int64_t num_heads, int64_t window_height,
                                                           int64_t window_width)
    : num_heads_(num_heads),
      window_height_(window_height),
      window_width_(window_width),
      scale_(1.0 / std::sqrt(static_cast<double>(dim / num_heads))) {
  pos_ = register_module("pos", DynamicPosBias(dim / 4, num_heads));
  rpe_biases_ = register_buffer("rpe_biases", dat_blocks::window_offsets(window_height, window_width));
  relative_position_index_ =
      register_buffer("relative_position_index", relative_position_index(window_height, window_width));
}

torch::Tensor rectangle_window_attention(const torch::Tensor& qkv, int64_t num_heads, int64_t window_height,
                                         int64_t window_width, double scale, const torch::Tensor& position_bias,
                                         const torch::Tensor& mask) {
  const int64_t height = qkv.size(2), width = qkv.size(3), channels = qkv.size(4);
  const int64_t area = window_height * window_width;
  // (B * nW, heads, N, channels / heads) per projection.
  const auto windows = [&](const torch::Tensor& image) {
    return window_partition(image, window_height, window_width)
        .view({-1, area, num_heads, channels / num_heads})
        .permute({0, 2, 1, 3});
  };
  const torch::Tensor bias = position_bias.view({area, area, -1}).permute({2, 0, 1}).unsqueeze(0);
  const torch::Tensor attended = scaled_attention(windows(qkv[0]), windows(qkv[1]), windows(qkv[2]), scale, bias, mask);
  return window_reverse(attended.transpose(1, 2).reshape({-1, window_height, window_width, channels}), window_height,
                        window_width, height, width);
}

torch::Tensor RectangleWindowAttentionImpl::forward(const torch::Tensor& qkv, const torch::Tensor& mask) {
  return rectangle_window_attention(qkv, num_heads_, window_height_, window_width_, scale_,
                                    pos_->forward(rpe_biases_).index_select(0, relative_position_index_.view(-1)),
                                    mask);
}

DualRectangleWindowAttention::DualRectangleWindowAttention(int64_t dim, int64_t num_heads,
                                                           std::array<int64_t, 2> split_size, bool shifted,
                                                           int64_t mask_resolution, bool qkv_bias)
    : split_size_(split_size), shift_size_({split_size[0] / 2, split_size[1] / 2}), shifted_(shifted) {
  qkv_ = register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj_ = register_module("proj", FastLinear(dim, dim));
  torch::nn::ModuleList attns;
  attns_[0] = RectangleWindowAttention(dim / 2, num_heads / 2, split_size[0], split_size[1]);
  attns_[1] = RectangleWindowAttention(dim / 2, num_heads / 2, split_size[1], split_size[0]);
  for (const RectangleWindowAttention& attention : attns_) attns->push_back(attention);
  register_module("attns", attns);
  if (shifted) {
    register_buffer("attn_mask_0", shifted_window_mask(mask_resolution, mask_resolution, split_size[0], split_size[1],
                                                       shift_size_[0], shift_size_[1]));
    register_buffer("attn_mask_1", shifted_window_mask(mask_resolution, mask_resolution, split_size[1], split_size[0],
                                                       shift_size_[1], shift_size_[0]));
  }
}

torch::Tensor DualRectangleWindowAttention::forward(const torch::Tensor& x, int64_t height, int64_t width) {
  const int64_t batch = x.size(0), channels = x.size(2), half = channels / 2;
  const torch::Tensor qkv = qkv_->forward(x).reshape({batch, -1, 3, channels}).permute({2, 0, 1, 3});
  const torch::Tensor values = tokens_to_image(qkv[2], height, width);

  // (3, B, H', W', C) with H', W' padded to a multiple of the larger window side.
  const torch::Tensor padded =
      pad_to_multiple(tokens_to_image(qkv.reshape({3 * batch, height * width, channels}), height, width),
                      std::max(split_size_[0], split_size_[1]), torch::kConstant);
  const int64_t padded_height = padded.size(2), padded_width = padded.size(3);
  const torch::Tensor windowed =
      padded.view({3, batch, channels, padded_height, padded_width}).permute({0, 1, 3, 4, 2});

  std::array<torch::Tensor, 2> halves;
  for (int branch = 0; branch < 2; ++branch) {
    const torch::Tensor half_qkv = windowed.slice(-1, branch * half, (branch + 1) * half);
    // Branch 1's windows are transposed: split_size[1] x split_size[0], shifted by (shift[1], shift[0]).
    const int64_t window_height = split_size_[branch], window_width = split_size_[1 - branch];
    const int64_t shift_height = shift_size_[branch], shift_width = shift_size_[1 - branch];
    torch::Tensor attended;
    if (shifted_) {
      const torch::Tensor mask =
          shifted_window_mask(padded_height, padded_width, window_height, window_width, shift_height, shift_width);
      attended = attns_[branch]->forward(torch::roll(half_qkv, {-shift_height, -shift_width}, {2, 3}), mask);
      attended = torch::roll(attended, {shift_height, shift_width}, {1, 2});
    } else {
      attended = attns_[branch]->forward(half_qkv.contiguous());
    }
    halves[branch] = attended.slice(1, 0, height).slice(2, 0, width).reshape({batch, height * width, half});
  }
  return proj_->forward(mix(torch::cat({halves[0], halves[1]}, 2), values, height, width));
}

SpatialGateImpl::SpatialGateImpl(int64_t dim)
    : norm_(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
      conv_(register_module("conv", depthwise_conv(dim))) {}

torch::Tensor SpatialGateImpl::forward(const torch::Tensor& x, int64_t height, int64_t width) {
  const std::vector<torch::Tensor> halves = x.chunk(2, -1);
  return halves[0] * image_to_tokens(conv_->forward(tokens_to_image(norm_->forward(halves[1]), height, width)));
}

SpatialGateFeedForwardImpl::SpatialGateFeedForwardImpl(int64_t dim, int64_t hidden_features)
    : fc1_(register_module("fc1", FastLinear(dim, hidden_features))),
      sg_(register_module("sg", SpatialGate(hidden_features / 2))),
      fc2_(register_module("fc2", FastLinear(hidden_features / 2, dim))) {}

torch::Tensor SpatialGateFeedForwardImpl::forward(const torch::Tensor& x, int64_t height, int64_t width) {
  return fc2_->forward(sg_->forward(torch::gelu(fc1_->forward(x)), height, width));
}

ResidualGroupImpl::ResidualGroupImpl(const std::vector<std::shared_ptr<TokenMapModule>>& blocks, int64_t dim,
                                     const std::string& resi_connection)
    : blocks_(blocks), conv_(residual_connection_conv(dim, resi_connection)) {
  torch::nn::ModuleList list;
  for (const auto& block : blocks) list->push_back(block);
  register_module("blocks", list);
  register_module("conv", conv_.ptr());
}

torch::Tensor ResidualGroupImpl::forward(const torch::Tensor& x, int64_t height, int64_t width) {
  torch::Tensor tokens = x;
  for (const auto& block : blocks_) tokens = block->forward(tokens, height, width);
  return x + image_to_tokens(conv_.forward(tokens_to_image(tokens, height, width)));
}

ResidualGroupNetwork::ResidualGroupNetwork(int64_t channels, int64_t embed_dim, int64_t upscale,
                                           const std::string& resi_connection, const std::string& upsampler,
                                           double img_range)
    : embed_dim_(embed_dim),
      resi_connection_(resi_connection),
      img_range_(img_range),
      mean_(div2k_mean(channels)),
      conv_after_body_(residual_connection_conv(embed_dim, resi_connection)) {
  conv_first_ = register_module("conv_first", same_conv(channels, embed_dim, 3));
  before_RG_ = register_module(
      "before_RG",
      torch::nn::Sequential(torch::nn::Functional([](const torch::Tensor& x) { return image_to_tokens(x); }),
                            torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim}))));
  layers_ = register_module("layers", torch::nn::ModuleList());
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim})));
  register_module("conv_after_body", conv_after_body_.ptr());
  if (upsampler == "pixelshuffledirect") {
    upsample_ = register_module("upsample", pixel_shuffle_block(embed_dim, channels, upscale));
    return;
  }
  conv_before_upsample_ = register_module(
      "conv_before_upsample",
      torch::nn::Sequential(same_conv(embed_dim, dat_blocks::kReconstructionFeatures, 3), make_activation("leakyrelu", 0.01)));
  // Upsample is empty for scale 1.
  if (upscale > 1)
    upsample_ = register_module("upsample", power_of_two_or_three_upsampler(upscale, dat_blocks::kReconstructionFeatures));
  conv_last_ = register_module("conv_last", same_conv(dat_blocks::kReconstructionFeatures, channels, 3));
}

void ResidualGroupNetwork::add_residual_group(const std::vector<std::shared_ptr<TokenMapModule>>& blocks) {
  groups_.push_back(ResidualGroup(blocks, embed_dim_, resi_connection_));
  layers_->push_back(groups_.back());
}

torch::Tensor ResidualGroupNetwork::forward(torch::Tensor x) {
  const torch::Tensor mean = mean_.to(x.options());
  const int64_t height = x.size(2), width = x.size(3);
  const torch::Tensor shallow = conv_first_->forward((x - mean) * img_range_);
  torch::Tensor tokens = before_RG_->forward(shallow);
  for (ResidualGroup& group : groups_) tokens = group->forward(tokens, height, width);
  x = conv_after_body_.forward(tokens_to_image(norm_->forward(tokens), height, width)) + shallow;
  if (conv_before_upsample_) {
    x = conv_before_upsample_->forward(x);
    if (upsample_) x = upsample_->forward(x);
    x = conv_last_->forward(x);
  } else {
    x = upsample_->forward(x);
  }
  return x / img_range_ + mean;
}

void detect_dat_family(const StateDict& state, DatFamilyOptions& options) {
  options.in_chans = static_cast<int>(state.dim("conv_first.weight", 1));
  options.embed_dim = static_cast<int>(state.dim("conv_first.weight", 0));
  const int num_layers = sequence_length(state, "layers");
  options.depth.assign(num_layers, 0);
  options.num_heads.assign(num_layers, 2);
  for (int i = 0; i < num_layers; ++i)
    options.depth[i] = sequence_length(state, "layers." + std::to_string(i) + ".blocks");
  options.qkv_bias = state.contains("layers.0.blocks.0.attn.qkv.bias");
  options.resi_connection = state.contains("conv_after_body.weight") ? "1conv" : "3conv";
}

ModelInfo dat_family_model_info(const std::string& id, const DatFamilyOptions& options) {
  ModelInfo info = basic_model_info(id, options.upscale, options.in_chans, options.in_chans, SizeRequirements(16));
  info.supports_half = false;
  info.hyperparameters = {
      {"in_chans", options.in_chans},
      {"embed_dim", options.embed_dim},
      {"split_size", options.split_size},
      {"depth", options.depth},
      {"num_heads", options.num_heads},
      {"qkv_bias", options.qkv_bias},
      {"qk_scale", nullptr},
      {"drop_rate", 0.0},
      {"attn_drop_rate", 0.0},
      {"drop_path_rate", 0.1},
      {"act_layer", "torch.nn.modules.activation.GELU"},
      {"norm_layer", "torch.nn.modules.normalization.LayerNorm"},
      {"use_chk", false},
      {"upscale", options.upscale},
      {"img_range", options.img_range},
      {"resi_connection", options.resi_connection},
  };
  return info;
}

}  // namespace uprez
