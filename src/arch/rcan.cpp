#include "arch/rcan.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "nn/padding.h"


namespace uprez {

namespace rcan {

constexpr int kUnshuffledScale = 4;  // the body's scale when the head pixel-unshuffles

// Residual channel attention block (RCAB): x + CA(conv(relu(conv(x)))), as "body.0/2/3".
class ResidualChannelAttentionBlock : public torch::nn::Module {
 public:
  ResidualChannelAttentionBlock(int64_t features, int64_t kernel_size, int64_t reduction)
      : body_(
            register_module("body", torch::nn::Sequential(same_conv(features, features, kernel_size), torch::nn::ReLU(),
                                                          same_conv(features, features, kernel_size),
                                                          ChannelAttentionLayer(features, reduction)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x) + x; }

 private:
  torch::nn::Sequential body_;
};

// Residual group: x + conv(RCAB^n(x)), as "body.0..n-1" (blocks) and "body.n" (conv).
class ResidualGroup : public torch::nn::Module {
 public:
  ResidualGroup(int64_t features, int64_t kernel_size, int64_t reduction, int blocks)
      : body_(register_module("body", torch::nn::Sequential())) {
    for (int i = 0; i < blocks; ++i)
      body_->push_back(std::make_shared<ResidualChannelAttentionBlock>(features, kernel_size, reduction));
    body_->push_back(same_conv(features, features, kernel_size));
  }

  torch::Tensor forward(const torch::Tensor& x) { return body_->forward(x) + x; }

 private:
  torch::nn::Sequential body_;
};

// DIV2K's RGB mean, which "sub_mean"/"add_mean" subtract and add back (times rgb_range).
FastConv2d mean_shift() { return same_conv(3, 3, 1); }

bool detect(const StateDict& state) {
  const bool has_body =
      state.has_all({"tail.1.weight", "body.0.body.0.body.0.weight", "body.0.body.0.body.3.conv_du.0.weight"});
  return has_body && (state.contains("head.0.weight") || state.contains("head.1.weight"));
}

RcanOptions detect_options(const StateDict& state) {
  RcanOptions options;
  options.n_resgroups = sequence_length(state, "body") - 1;
  options.n_resblocks = sequence_length(state, "body.0.body") - 1;
  std::tie(options.scale, options.n_feats) = pixel_shuffle_parameters(state, "tail.0");
  options.unshuffle_mod = sequence_length(state, "head") > 1;
  options.n_colors = static_cast<int>(state.dim("tail.1.weight", 0));
  std::string head_conv = "head.0.weight";
  if (options.unshuffle_mod) {
    head_conv = "head.1.weight";
    const double unshuffled_channels = static_cast<double>(state.dim(head_conv, 1));
    const int downscale_factor = static_cast<int>(std::sqrt(unshuffled_channels / options.n_colors));
    options.scale = kUnshuffledScale / downscale_factor;
  }
  options.kernel_size = static_cast<int>(state.dim(head_conv, -1));
  options.norm = state.contains("sub_mean.weight");
  options.reduction = options.n_feats / static_cast<int>(state.dim("body.0.body.0.body.3.conv_du.0.weight", 0));
  return options;
}

ModelInfo model_info(const RcanOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "RCAN";
  info.purpose = purpose_for_scale(options.scale);
  info.tags = {std::to_string(options.n_feats) + "nf", std::to_string(options.n_resgroups) + "nrg",
               std::to_string(options.n_resblocks) + "nrb"};
  if (options.unshuffle_mod) info.tags.push_back("unshuffle");
  info.scale = options.scale;
  info.input_channels = info.output_channels = options.n_colors;
  info.supports_half = false;
  info.hyperparameters = {
      {"scale", options.scale},
      {"n_resgroups", options.n_resgroups},
      {"n_resblocks", options.n_resblocks},
      {"n_feats", options.n_feats},
      {"n_colors", options.n_colors},
      {"rgb_range", options.rgb_range},
      {"norm", options.norm},
      {"kernel_size", options.kernel_size},
      {"reduction", options.reduction},
      {"res_scale", 1},      // undetectable, and RCAB ignores it
      {"act_mode", "relu"},  // undetectable
      {"unshuffle_mod", options.unshuffle_mod},
      {"conv", "default_conv"},
  };
  return info;
}

Model load(const StateDict& state) {
  const RcanOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<RcanNetwork>(options), state);
}

}  // namespace rcan

RcanNetwork::RcanNetwork(const RcanOptions& options) : scale_(options.scale) {
  const int64_t features = options.n_feats;
  const int64_t kernel_size = options.kernel_size;
  if (options.norm) {
    rgb_range_ = options.rgb_range;
    sub_mean_ = register_module("sub_mean", rcan::mean_shift());
    add_mean_ = register_module("add_mean", rcan::mean_shift());
  }

  int body_scale = options.scale;
  head_ = register_module("head", torch::nn::Sequential());
  if (options.unshuffle_mod && options.scale <= 2) {
    downscale_factor_ = rcan::kUnshuffledScale / options.scale;
    body_scale = rcan::kUnshuffledScale;
    head_->push_back(torch::nn::PixelUnshuffle(downscale_factor_));
  }
  head_->push_back(same_conv(options.n_colors * downscale_factor_ * downscale_factor_, features, kernel_size));

  body_ = register_module("body", torch::nn::Sequential());
  for (int i = 0; i < options.n_resgroups; ++i)
    body_->push_back(std::make_shared<rcan::ResidualGroup>(features, kernel_size, options.reduction, options.n_resblocks));
  body_->push_back(same_conv(features, features, kernel_size));

  // A scale-1 model without unshuffling has an empty upsampler.
  upsampler_ = body_scale == 1 ? torch::nn::Sequential() : power_of_two_or_three_upsampler(body_scale, features);
  tail_conv_ = same_conv(features, options.n_colors, kernel_size);
  register_module("tail", torch::nn::ModuleList(upsampler_, tail_conv_));
}

torch::Tensor RcanNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  x = reflect_pad_to_multiple(x, downscale_factor_) * rgb_range_;
  if (sub_mean_) x = sub_mean_->forward(x);
  x = head_->forward(x);
  x = body_->forward(x) + x;
  if (!upsampler_->is_empty()) x = upsampler_->forward(x);
  x = tail_conv_->forward(x);
  if (add_mean_) x = add_mean_->forward(x);
  return (x / rgb_range_).slice(2, 0, height * scale_).slice(3, 0, width * scale_);
}

const Architecture kRcanArchitecture = {"RCAN", rcan::detect, rcan::load, "1, 2^n, 3", "any (3 with mean normalisation)"};

}  // namespace uprez
