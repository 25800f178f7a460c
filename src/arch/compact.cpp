#include "arch/compact.h"

#include "arch/blocks.h"
#include "arch/detection.h"
#include "nn/any_dtype.h"
#include "nn/fast_conv.h"

namespace uprez {

namespace compact {

constexpr double kLeakyReluSlope = 0.1;

torch::nn::AnyModule activation(const CompactOptions& options) {
  return make_activation(options.act_type, kLeakyReluSlope, options.num_feat);
}

bool detect(const StateDict& state) { return state.has_all({"body.0.weight", "body.1.weight"}); }

CompactOptions detect_options(const StateDict& state) {
  // body = [conv, act, (conv, act) * num_conv, conv]
  const int last = sequence_length(state, "body") - 1;

  CompactOptions options;
  options.num_in_ch = static_cast<int>(state.dim("body.0.weight", 1));
  options.num_feat = static_cast<int>(state.dim("body.0.weight", 0));
  options.num_conv = (last - 2) / 2;
  std::tie(options.upscale, options.num_out_ch) =
      scale_and_output_channels(state.dim("body." + std::to_string(last) + ".bias", 0), options.num_in_ch);
  return options;
}

ModelInfo model_info(const CompactOptions& options) {
  ModelInfo info;
  info.architecture_id = "Compact";
  info.architecture_name = "RealESRGAN Compact";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {std::to_string(options.num_feat) + "nf", std::to_string(options.num_conv) + "nc"};
  info.scale = options.upscale;
  info.input_channels = options.num_in_ch;
  info.output_channels = options.num_out_ch;
  info.hyperparameters = {
      {"num_in_ch", options.num_in_ch}, {"num_out_ch", options.num_out_ch}, {"num_feat", options.num_feat},
      {"num_conv", options.num_conv},   {"upscale", options.upscale},       {"act_type", options.act_type},
  };
  return info;
}

Model load(const StateDict& state) {
  const CompactOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<CompactNetwork>(options), state);
}

}  // namespace compact

CompactNetwork::CompactNetwork(const CompactOptions& options)
    : upscale_(options.upscale), upsampler_(torch::nn::PixelShuffleOptions(options.upscale)) {
  body_->push_back(same_conv(options.num_in_ch, options.num_feat, 3));
  body_->push_back(compact::activation(options));
  for (int i = 0; i < options.num_conv; ++i) {
    body_->push_back(same_conv(options.num_feat, options.num_feat, 3));
    body_->push_back(compact::activation(options));
  }
  body_->push_back(same_conv(options.num_feat, options.num_out_ch * options.upscale * options.upscale, 3));
  register_module("body", body_);
  register_module("upsampler", upsampler_);
}

torch::Tensor CompactNetwork::forward(torch::Tensor x) {
  // Each convolution runs with its activation fused, and the features stay in oneDNN's layout in between.
  FeatureMap features(x);
  const size_t last = body_->size() - 1;
  for (size_t i = 0; i < last; i += 2) {
    PostOps activation;
    append_activation(activation, *body_->ptr(i + 1));
    features = body_->at<FastConv2dImpl>(i).run(features, activation);
  }
  features = body_->at<FastConv2dImpl>(last).run(features);
  torch::Tensor out = upsampler_->forward(features.to_tensor());
  // The network learns the residual over the nearest-upscaled input.
  return out.add_(upscale_nearest(x, upscale_));
}

const Architecture kCompactArchitecture = {"Compact", compact::detect, compact::load, "1-8", "1, 3, 4"};

}  // namespace uprez
