#include "arch/mosr.h"

#include <memory>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/dysample.h"
#include "nn/any_dtype.h"

namespace uprez {

namespace mosr {

constexpr double kShortcutOffset = 0.5;  // subtracted from every residual branch
constexpr int64_t kGeoEnsembleSize = 8;  // GPS predicts 8 candidates per output value and averages them

const char* to_string(MosrUpsampler upsampler) {
  switch (upsampler) {
    case MosrUpsampler::PixelShuffle:
      return "ps";
    case MosrUpsampler::GeoEnsemblePixelShuffle:
      return "gps";
    case MosrUpsampler::DySample:
      return "dys";
  }
  return "";
}

}  // namespace mosr

// GPS: conv "in_to_k" (dim -> 8 * out_ch * scale^2), mean over the 8 candidates, PixelShuffle.
class MosrGeoEnsemblePixelShuffle : public torch::nn::Module {
 public:
  MosrGeoEnsemblePixelShuffle(int64_t dim, int64_t scale, int64_t out_ch)
      : scale_(scale),
        in_to_k_(register_module("in_to_k", same_conv(dim, scale * scale * out_ch * mosr::kGeoEnsembleSize, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor candidates = in_to_k_->forward(x);
    const torch::Tensor mean =
        candidates.reshape({candidates.size(0), mosr::kGeoEnsembleSize, -1, candidates.size(-2), candidates.size(-1)})
            .mean(1);
    return torch::pixel_shuffle(mean, scale_);
  }

 private:
  int64_t scale_;
  FastConv2d in_to_k_;
};

// AST's ConvBlock: Sequential(conv 3x3, Mish, conv 3x3, Mish) "block" plus a 1x1 conv "conv11".
class MosrConvBlock : public torch::nn::Module {
 public:
  MosrConvBlock(int64_t in_channels, int64_t out_channels)
      : block_(register_module("block", torch::nn::Sequential(same_conv(in_channels, out_channels, 3),
                                                              torch::nn::Functional(mish_any_dtype),
                                                              same_conv(out_channels, out_channels, 3),
                                                              torch::nn::Functional(mish_any_dtype)))),
        conv11_(register_module("conv11", same_conv(in_channels, out_channels, 1))) {}

  torch::Tensor forward(const torch::Tensor& x) { return block_->forward(x) + conv11_->forward(x); }

 private:
  torch::nn::Sequential block_;
  FastConv2d conv11_;
};

// MambaOut's GatedCNNBlock: LayerNorm "norm", conv "fc1" split into gate / identity / depthwise-conv parts,
// Mish(fc2(Mish(gate) * [identity, conv(part)])) + (x - 0.5).
class MosrGatedCnnBlock : public torch::nn::Module {
 public:
  explicit MosrGatedCnnBlock(const MosrOptions& options)
      : hidden_(static_cast<int64_t>(options.expansion_ratio * options.dim)),
        conv_channels_(static_cast<int64_t>(options.conv_ratio * options.dim)),
        norm_(register_module("norm", ChannelLayerNorm(options.dim))),
        fc1_(register_module("fc1", same_conv(options.dim, hidden_ * 2, 3))),
        conv_(register_module(
            "conv", FastConv2d(torch::nn::Conv2dOptions(conv_channels_, conv_channels_, options.kernel_size)
                                          .padding(options.kernel_size / 2)
                                          .groups(conv_channels_)))),
        fc2_(register_module("fc2", same_conv(hidden_, options.dim, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> parts =
        fc1_->forward(norm_->forward(x)).split_with_sizes({hidden_, hidden_ - conv_channels_, conv_channels_}, 1);
    const torch::Tensor gated = mish_any_dtype(parts[0]) * torch::cat({parts[1], conv_->forward(parts[2])}, 1);
    return mish_any_dtype(fc2_->forward(gated)) + (x - mosr::kShortcutOffset);
  }

 private:
  int64_t hidden_;
  int64_t conv_channels_;
  ChannelLayerNorm norm_;
  FastConv2d fc1_;
  FastConv2d conv_;
  FastConv2d fc2_;
};

MosrNetwork::MosrNetwork(const MosrOptions& options) {
  const int64_t dim = options.dim;
  gblocks_ = register_module("gblocks", torch::nn::Sequential(same_conv(options.in_ch, dim, 3)));
  for (int i = 0; i < options.n_block; ++i) gblocks_->push_back(std::make_shared<MosrGatedCnnBlock>(options));
  gblocks_->push_back(same_conv(dim, dim * 2, 3));
  gblocks_->push_back(torch::nn::Functional(mish_any_dtype));
  gblocks_->push_back(same_conv(dim * 2, dim, 3));
  gblocks_->push_back(torch::nn::Functional(mish_any_dtype));
  gblocks_->push_back(same_conv(dim, dim, 1));

  shortcut_ = register_module("shortcut", std::make_shared<MosrConvBlock>(options.in_ch, dim));

  switch (options.upsampler) {
    case MosrUpsampler::PixelShuffle:
      pixel_shuffle_ = register_module("upsampler", pixel_shuffle_block(dim, options.out_ch, options.upscale));
      break;
    case MosrUpsampler::GeoEnsemblePixelShuffle:
      geo_ensemble_ = register_module(
          "upsampler", std::make_shared<MosrGeoEnsemblePixelShuffle>(dim, options.upscale, options.out_ch));
      break;
    case MosrUpsampler::DySample: {
      DySampleOptions dysample;
      dysample.in_channels = dim;
      dysample.out_channels = options.out_ch;
      dysample.scale = options.upscale;
      dysample_ = register_module("upsampler", std::make_shared<DySampleImpl>(dysample));
      break;
    }
  }
}

torch::Tensor MosrNetwork::forward(torch::Tensor x) {
  const torch::Tensor features = gblocks_->forward(x) + (shortcut_->forward(x) - mosr::kShortcutOffset);
  if (pixel_shuffle_) return pixel_shuffle_->forward(features);
  if (geo_ensemble_) return geo_ensemble_->forward(features);
  return dysample_->forward(features);
}

namespace mosr {

bool detect(const StateDict& state) {
  return state.has_all({"gblocks.0.weight", "gblocks.0.bias", "gblocks.1.norm.weight", "gblocks.1.norm.bias",
                        "gblocks.1.fc1.weight", "gblocks.1.fc1.bias", "gblocks.1.conv.weight", "gblocks.1.conv.bias",
                        "gblocks.1.fc2.weight", "gblocks.1.fc2.bias"});
}

MosrOptions detect_options(const StateDict& state) {
  MosrOptions options;
  options.n_block = sequence_length(state, "gblocks") - 6;
  options.in_ch = static_cast<int>(state.dim("gblocks.0.weight", 1));
  options.dim = static_cast<int>(state.dim("gblocks.0.weight", 0));
  options.expansion_ratio = static_cast<double>(state.dim("gblocks.1.fc1.weight", 0)) /
                            static_cast<double>(state.dim("gblocks.1.fc1.weight", 1)) / 2;
  options.conv_ratio = static_cast<double>(state.dim("gblocks.1.conv.weight", 0)) / options.dim;
  options.kernel_size = static_cast<int>(state.dim("gblocks.1.conv.weight", 2));
  if (state.contains("upsampler.init_pos")) {
    options.upsampler = MosrUpsampler::DySample;
    options.out_ch = static_cast<int>(state.dim("upsampler.end_conv.weight", 0));
    options.upscale = static_cast<int>(integer_sqrt(state.dim("upsampler.offset.weight", 0) / 8));
  } else if (state.contains("upsampler.in_to_k.weight")) {
    options.upsampler = MosrUpsampler::GeoEnsemblePixelShuffle;
    options.out_ch = options.in_ch;
    options.upscale =
        static_cast<int>(integer_sqrt(state.dim("upsampler.in_to_k.weight", 0) / kGeoEnsembleSize / options.out_ch));
  } else {
    options.upsampler = MosrUpsampler::PixelShuffle;
    options.out_ch = options.in_ch;
    options.upscale = static_cast<int>(integer_sqrt(state.dim("upsampler.0.weight", 0) / options.out_ch));
  }
  return options;
}

ModelInfo model_info(const MosrOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "MoSR";
  info.purpose = Purpose::SR;  // spandrel reports SR for every MoSR scale
  info.scale = options.upscale;
  info.input_channels = options.in_ch;
  info.output_channels = options.out_ch;
  info.hyperparameters = {
      {"in_ch", options.in_ch},
      {"out_ch", options.out_ch},
      {"upscale", options.upscale},
      {"n_block", options.n_block},
      {"dim", options.dim},
      {"upsampler", to_string(options.upsampler)},
      {"drop_path", 0.0},
      {"kernel_size", options.kernel_size},
      {"expansion_ratio", options.expansion_ratio},
      {"conv_ratio", options.conv_ratio},
  };
  return info;
}

Model load(const StateDict& state) {
  const MosrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<MosrNetwork>(options), state);
}

}  // namespace mosr

const Architecture kMosrArchitecture = {"MoSR", mosr::detect, mosr::load, "any", "any"};

}  // namespace uprez
