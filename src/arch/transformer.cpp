#include "arch/transformer.h"
#include "nn/attention.h"
#include "nn/fast_matmul.h"

#include <cmath>

namespace uprez {

torch::Tensor image_to_tokens(const torch::Tensor& x) { return x.flatten(2).transpose(1, 2); }

torch::Tensor tokens_to_image(const torch::Tensor& tokens, int64_t height, int64_t width) {
  return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), height, width});
}

torch::Tensor window_partition(const torch::Tensor& x, int64_t window_height, int64_t window_width) {
  const int64_t batch = x.size(0), height = x.size(1), width = x.size(2), channels = x.size(3);
  return x.view({batch, height / window_height, window_height, width / window_width, window_width, channels})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({-1, window_height, window_width, channels});
}

torch::Tensor window_reverse(const torch::Tensor& windows, int64_t window_height, int64_t window_width,
                             int64_t height, int64_t width) {
  const int64_t windows_per_image = (height / window_height) * (width / window_width);
  const int64_t batch = windows.size(0) / windows_per_image;
  return windows.view({batch, height / window_height, width / window_width, window_height, window_width, -1})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({batch, height, width, -1});
}

torch::Tensor relative_position_index(int64_t window_height, int64_t window_width) {
  const torch::Tensor rows = torch::arange(window_height).view({-1, 1}).expand({window_height, window_width}).flatten();
  const torch::Tensor cols = torch::arange(window_width).view({1, -1}).expand({window_height, window_width}).flatten();
  const torch::Tensor relative_rows = rows.view({-1, 1}) - rows.view({1, -1}) + (window_height - 1);
  const torch::Tensor relative_cols = cols.view({-1, 1}) - cols.view({1, -1}) + (window_width - 1);
  return relative_rows * (2 * window_width - 1) + relative_cols;
}

namespace transformer {

// Region labels 0, 1, 2 along one axis: [0, size - window), [size - window, size - shift), [size - shift, size).
torch::Tensor shift_regions(int64_t size, int64_t window, int64_t shift) {
  torch::Tensor labels = torch::zeros({size}, torch::kFloat32);
  labels.slice(0, std::max<int64_t>(size - window, 0), size).fill_(1);
  labels.slice(0, std::max<int64_t>(size - shift, 0), size).fill_(2);
  return labels;
}

}  // namespace transformer

torch::Tensor shifted_window_labels(int64_t height, int64_t width, int64_t window_height, int64_t window_width,
                                    int64_t shift_height, int64_t shift_width) {
  const torch::Tensor row_labels = transformer::shift_regions(height, window_height, shift_height);
  const torch::Tensor col_labels = transformer::shift_regions(width, window_width, shift_width);
  const torch::Tensor labels = (row_labels.view({-1, 1}) * 3 + col_labels.view({1, -1})).view({1, height, width, 1});
  return window_partition(labels, window_height, window_width).view({-1, window_height * window_width});
}

torch::Tensor shifted_window_mask(int64_t height, int64_t width, int64_t window_height, int64_t window_width,
                                  int64_t shift_height, int64_t shift_width) {
  const torch::Tensor windows =
      shifted_window_labels(height, width, window_height, window_width, shift_height, shift_width);
  const torch::Tensor differs = windows.unsqueeze(1) != windows.unsqueeze(2);
  return torch::zeros(differs.sizes(), torch::kFloat32).masked_fill_(differs, -100.0);
}

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features)
    : fc1_(register_module("fc1", FastLinear(in_features, hidden_features))),
      fc2_(register_module("fc2", FastLinear(hidden_features, out_features))) {}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return fc2_->forward(torch::gelu(fc1_->forward(x))); }

WindowAttentionImpl::WindowAttentionImpl(int64_t dim, int64_t window, int64_t num_heads, bool qkv_bias,
                                         bool stores_index)
    : window_(window),
      num_heads_(num_heads),
      scale_(1.0 / std::sqrt(static_cast<double>(dim / num_heads))),
      position_index_(relative_position_index(window)) {
  relative_position_bias_table_ = register_parameter(
      "relative_position_bias_table", torch::zeros({(2 * window - 1) * (2 * window - 1), num_heads}));
  if (stores_index) register_buffer("relative_position_index", position_index_.clone());
  qkv_ = register_module("qkv", FastLinear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj_ = register_module("proj", FastLinear(dim, dim));
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                           const torch::Tensor& index) {
  const int64_t windows = x.size(0), tokens = x.size(1), channels = x.size(2);
  const torch::Tensor qkv =
      qkv_->forward(x).reshape({windows, tokens, 3, num_heads_, channels / num_heads_}).permute({2, 0, 3, 1, 4});
  const torch::Tensor position_index = index.defined() ? index : position_index_.to(x.device());
  const int64_t area = window_ * window_;
  const torch::Tensor bias = relative_position_bias_table_.index_select(0, position_index.view(-1))
                                 .view({area, area, -1})
                                 .permute({2, 0, 1})
                                 .unsqueeze(0);
  const torch::Tensor attended = scaled_attention(qkv[0], qkv[1], qkv[2], scale_, bias, mask);
  return proj_->forward(attended.transpose(1, 2).reshape({windows, tokens, channels}));
}

torch::Tensor cosine_channel_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const torch::Tensor& temperature) {
  namespace F = torch::nn::functional;
  const torch::Tensor unit_q = F::normalize(q, F::NormalizeFuncOptions().dim(-1));
  const torch::Tensor unit_k = F::normalize(k, F::NormalizeFuncOptions().dim(-1));
  return fast_matmul((fast_matmul(unit_q, unit_k.transpose(-2, -1)) * temperature).softmax(-1), v);
}

PatchEmbedImpl::PatchEmbedImpl(int64_t dim, bool patch_norm) {
  if (patch_norm) norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  const torch::Tensor tokens = image_to_tokens(x);
  return norm_ ? norm_->forward(tokens) : tokens;
}

torch::Tensor shifted_window_attention(const torch::Tensor& x, WindowAttention& attention, int64_t window,
                                       int64_t shift, const torch::Tensor& mask, const torch::Tensor& index) {
  const torch::Tensor window_mask = shift > 0 ? mask : torch::Tensor();
  return apply_in_shifted_windows(
      x, [&](const torch::Tensor& windows) { return attention->forward(windows, window_mask, index); }, window,
      shift);
}

torch::Tensor apply_in_shifted_windows(const torch::Tensor& x,
                                       const std::function<torch::Tensor(const torch::Tensor&)>& attend,
                                       int64_t window, int64_t shift) {
  const int64_t batch = x.size(0), height = x.size(1), width = x.size(2), channels = x.size(3);
  const bool shifted = shift > 0;
  const torch::Tensor rolled = shifted ? torch::roll(x, {-shift, -shift}, {1, 2}) : x;
  const torch::Tensor windows = window_partition(rolled, window).view({-1, window * window, channels});
  const torch::Tensor attended_windows = attend(windows);
  const torch::Tensor attended = window_reverse(
      attended_windows.view({-1, window, window, attended_windows.size(-1)}), window, height, width);
  const torch::Tensor restored = shifted ? torch::roll(attended, {shift, shift}, {1, 2}) : attended;
  return restored.view({batch, height * width, -1});
}

SwinTransformerBlockImpl::SwinTransformerBlockImpl(int64_t dim, int64_t resolution, int64_t num_heads,
                                                   int64_t window, int64_t shift, int64_t mlp_hidden_features,
                                                   bool qkv_bias)
    : window_(resolution <= window ? resolution : window), shift_(resolution <= window ? 0 : shift) {
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  attn_ = register_module("attn", WindowAttention(dim, window_, num_heads, qkv_bias, /*stores_index=*/true));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  mlp_ = register_module("mlp", Mlp(dim, mlp_hidden_features, dim));
  if (shift_ > 0) register_buffer("attn_mask", shifted_window_mask(resolution, resolution, window_, shift_));
}

torch::Tensor SwinTransformerBlockImpl::forward(const torch::Tensor& x, int64_t height, int64_t width,
                                              const torch::Tensor& shifted_mask) {
  const torch::Tensor mask = shift_ > 0 ? shifted_mask : torch::Tensor();
  const torch::Tensor normed = norm1_->forward(x).view({x.size(0), height, width, x.size(2)});
  const torch::Tensor attended = x + shifted_window_attention(normed, attn_, window_, shift_, mask);
  return attended + mlp_->forward(norm2_->forward(attended));
}

// ConvFFN's "dwconv": GELU of a depthwise conv ("depthwise_conv.0") applied to tokens laid out as an image.
class TokenDepthwiseConv : public torch::nn::Module {
 public:
  TokenDepthwiseConv(int64_t channels, int64_t kernel_size)
      : depthwise_conv_(register_module(
            "depthwise_conv",
            torch::nn::Sequential(FastConv2d(torch::nn::Conv2dOptions(channels, channels, kernel_size)
                                                        .padding((kernel_size - 1) / 2)
                                                        .groups(channels)),
                                  torch::nn::GELU()))) {}

  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width) {
    return image_to_tokens(depthwise_conv_->forward(tokens_to_image(x, height, width)));
  }

 private:
  torch::nn::Sequential depthwise_conv_;
};

ConvFFNImpl::ConvFFNImpl(int64_t features, int64_t hidden_features, int64_t kernel_size)
    : fc1_(register_module("fc1", FastLinear(features, hidden_features))),
      dwconv_(register_module("dwconv", std::make_shared<TokenDepthwiseConv>(hidden_features, kernel_size))),
      fc2_(register_module("fc2", FastLinear(hidden_features, features))) {}

torch::Tensor ConvFFNImpl::forward(const torch::Tensor& x, int64_t height, int64_t width) {
  const torch::Tensor hidden = torch::gelu(fc1_->forward(x));
  return fc2_->forward(hidden + dwconv_->forward(hidden, height, width));
}

}  // namespace uprez
