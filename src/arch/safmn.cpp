#include "arch/safmn.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"


namespace uprez {

namespace safmn {

constexpr int kLevels = 4;  // SAFM's scales: full, 1/2, 1/4 and 1/8 resolution

bool detect(const StateDict& state) {
  return state.has_all({"to_feat.weight", "feats.0.norm1.weight", "feats.0.norm2.weight", "feats.0.safm.mfr.0.weight",
                        "feats.0.safm.mfr.3.weight", "feats.0.safm.aggr.weight", "feats.0.ccm.ccm.0.weight",
                        "feats.0.ccm.ccm.2.weight", "to_img.0.weight"});
}

SafmnOptions detect_options(const StateDict& state) {
  SafmnOptions options;
  options.dim = static_cast<int>(state.dim("to_feat.weight", 0));
  options.n_blocks = sequence_length(state, "feats");
  options.ffn_scale = static_cast<double>(state.dim("feats.0.ccm.ccm.0.weight", 0)) / options.dim;
  options.upscaling_factor = static_cast<int>(std::sqrt(static_cast<double>(state.dim("to_img.0.weight", 0)) / 3));
  return options;
}

ModelInfo model_info(const SafmnOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "SAFMN";
  info.purpose = purpose_for_scale(options.upscaling_factor);
  info.tags = {std::to_string(options.dim) + "dim", std::to_string(options.n_blocks) + "nb"};
  info.scale = options.upscaling_factor;
  info.size_requirements = SizeRequirements(0, 8);
  info.supports_half = false;
  info.hyperparameters = {
      {"dim", options.dim},
      {"n_blocks", options.n_blocks},
      {"ffn_scale", options.ffn_scale},
      {"upscaling_factor", options.upscaling_factor},
  };
  return info;
}

Model load(const StateDict& state) {
  const SafmnOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<SafmnNetwork>(options), state);
}

// SAFM: the channels split into four groups; group i is max-pooled to 1/2^i of the size, filtered by a
// depthwise 3x3 conv ("mfr.<i>") and upsampled back (nearest); the aggregated ("aggr", 1x1) result, through
// GELU, modulates the input.
class SpatialAdaptiveModulationImpl : public torch::nn::Module {
 public:
  explicit SpatialAdaptiveModulationImpl(int64_t dim)
      : mfr_(register_module("mfr", torch::nn::ModuleList())), aggr_(register_module("aggr", same_conv(dim, dim, 1))) {
    const int64_t chunk_dim = dim / kLevels;
    for (int i = 0; i < kLevels; ++i)
      mfr_->push_back(
          FastConv2d(torch::nn::Conv2dOptions(chunk_dim, chunk_dim, 3).padding(1).groups(chunk_dim)));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    const int64_t height = x.size(2), width = x.size(3);
    const std::vector<torch::Tensor> groups = x.chunk(kLevels, 1);
    std::vector<torch::Tensor> filtered;
    for (int i = 0; i < kLevels; ++i) {
      const auto& conv = mfr_[i]->as<FastConv2d>();
      if (i == 0) {
        filtered.push_back(conv->forward(groups[0]));
        continue;
      }
      const torch::Tensor pooled =
          F::adaptive_max_pool2d(groups[i], F::AdaptiveMaxPool2dFuncOptions({height / (1 << i), width / (1 << i)}));
      filtered.push_back(
          F::interpolate(conv->forward(pooled),
                         F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width}).mode(torch::kNearest)));
    }
    return torch::gelu(aggr_->forward(torch::cat(filtered, 1))) * x;
  }

 private:
  torch::nn::ModuleList mfr_;
  FastConv2d aggr_;
};
TORCH_MODULE(SpatialAdaptiveModulation);

// CCM: conv 3x3 (dim -> hidden), GELU, conv 1x1 (hidden -> dim).
class ConvChannelMixerImpl : public torch::nn::Module {
 public:
  ConvChannelMixerImpl(int64_t dim, int64_t hidden_dim)
      : ccm_(register_module("ccm", torch::nn::Sequential(same_conv(dim, hidden_dim, 3), torch::nn::GELU(),
                                                          same_conv(hidden_dim, dim, 1)))) {}

  torch::Tensor forward(const torch::Tensor& x) { return ccm_->forward(x); }

 private:
  torch::nn::Sequential ccm_;
};
TORCH_MODULE(ConvChannelMixer);

// AttBlock: x + SAFM(norm1(x)), then x + CCM(norm2(x)).
class SafmnBlockImpl : public torch::nn::Module {
 public:
  explicit SafmnBlockImpl(const SafmnOptions& options)
      : norm1_(register_module("norm1", ChannelLayerNorm(options.dim))),
        norm2_(register_module("norm2", ChannelLayerNorm(options.dim))),
        safm_(register_module("safm", SpatialAdaptiveModulation(options.dim))),
        ccm_(register_module("ccm",
                             ConvChannelMixer(options.dim, static_cast<int64_t>(options.dim * options.ffn_scale)))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = safm_->forward(norm1_->forward(x)) + x;
    return ccm_->forward(norm2_->forward(x)) + x;
  }

 private:
  ChannelLayerNorm norm1_;
  ChannelLayerNorm norm2_;
  SpatialAdaptiveModulation safm_;
  ConvChannelMixer ccm_;
};
TORCH_MODULE(SafmnBlock);

}  // namespace safmn

SafmnNetwork::SafmnNetwork(const SafmnOptions& options) {
  to_feat_ = register_module("to_feat", same_conv(3, options.dim, 3));
  feats_ = register_module("feats", torch::nn::Sequential());
  for (int i = 0; i < options.n_blocks; ++i) feats_->push_back(safmn::SafmnBlock(options));
  to_img_ = register_module("to_img", pixel_shuffle_block(options.dim, 3, options.upscaling_factor));
}

torch::Tensor SafmnNetwork::forward(torch::Tensor x) {
  const torch::Tensor features = to_feat_->forward(x);
  return to_img_->forward(feats_->forward(features) + features);
}

const Architecture kSafmnArchitecture = {"SAFMN", safmn::detect, safmn::load, "any", "3"};

}  // namespace uprez
