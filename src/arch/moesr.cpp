#include "arch/moesr.h"

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/dysample.h"
#include "core/error.h"
#include "nn/any_dtype.h"
#include "nn/padding.h"

namespace uprez {

namespace moesr {

// UniUpsample's methods, in the order of their index in MetaUpsample.
constexpr std::array<const char*, 5> kUpsamplers = {"conv", "pixelshuffledirect", "pixelshuffle", "nearest+conv",
                                                    "dysample"};
constexpr int64_t kMetaVersion = 1;  // UniUpsample's block version, the first MetaUpsample entry
constexpr int64_t kDySampleGroups = 4;
constexpr int kGatedBlocksPerMsg = 3;
constexpr double kMsgLeakyReluSlope = 0.1;

// MetaUpsample's entries: (version, method index, scale, in_dim, out_dim, mid_dim, groups).
enum MetaUpsampleEntry { kMethod = 1, kScale = 2, kOutDim = 4, kMidDim = 5 };

// Inception depthwise convolution: of the channels, the last 3 / 8 go in equal parts through a 3x3, a 1x11
// and an 11x1 depthwise conv ("dwconv_hw", "dwconv_w", "dwconv_h"); the rest pass unchanged.
class InceptionDepthwiseConv : public torch::nn::Module {
 public:
  explicit InceptionDepthwiseConv(int64_t channels)
      : branch_channels_(static_cast<int64_t>(channels * kBranchRatio)),
        identity_channels_(channels - 3 * branch_channels_),
        dwconv_hw_(register_module("dwconv_hw", depthwise({kSquareKernel, kSquareKernel}))),
        dwconv_w_(register_module("dwconv_w", depthwise({1, kBandKernel}))),
        dwconv_h_(register_module("dwconv_h", depthwise({kBandKernel, 1}))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> parts =
        x.split_with_sizes({identity_channels_, branch_channels_, branch_channels_, branch_channels_}, 1);
    return torch::cat(
        {parts[0], dwconv_hw_->forward(parts[1]), dwconv_w_->forward(parts[2]), dwconv_h_->forward(parts[3])}, 1);
  }

 private:
  static constexpr double kBranchRatio = 0.125;
  static constexpr int64_t kSquareKernel = 3;
  static constexpr int64_t kBandKernel = 11;

  FastConv2d depthwise(std::vector<int64_t> kernel) const {
    return FastConv2d(torch::nn::Conv2dOptions(branch_channels_, branch_channels_, kernel)
                                 .padding(std::vector<int64_t>{kernel[0] / 2, kernel[1] / 2})
                                 .groups(branch_channels_));
  }

  int64_t branch_channels_;
  int64_t identity_channels_;
  FastConv2d dwconv_hw_;
  FastConv2d dwconv_w_;
  FastConv2d dwconv_h_;
};

// MambaOut's GatedCNNBlock: channel LayerNorm "norm", 3x3 conv "fc1" split into gate g, identity i and conv part
// c; x + gamma * Mish(fc2(Mish(g) * [i, inception(c)])).
class MoesrGatedCnnBlock : public torch::nn::Module {
 public:
  MoesrGatedCnnBlock(int64_t dim, double expansion_ratio)
      : hidden_(static_cast<int64_t>(expansion_ratio * dim)),
        conv_channels_(dim),
        norm_(register_module("norm", ChannelLayerNorm(dim))),
        fc1_(register_module("fc1", same_conv(dim, hidden_ * 2, 3))),
        conv_(register_module("conv", std::make_shared<InceptionDepthwiseConv>(conv_channels_))),
        fc2_(register_module("fc2", same_conv(hidden_, dim, 3))),
        gamma_(register_parameter("gamma", torch::ones({1, dim, 1, 1}))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> parts =
        fc1_->forward(norm_->forward(x)).split_with_sizes({hidden_, hidden_ - conv_channels_, conv_channels_}, 1);
    const torch::Tensor gated = mish_any_dtype(parts[0]) * torch::cat({parts[1], conv_->forward(parts[2])}, 1);
    return mish_any_dtype(fc2_->forward(gated)) * gamma_ + x;
  }

 private:
  int64_t hidden_;
  int64_t conv_channels_;
  ChannelLayerNorm norm_;
  FastConv2d fc1_;
  std::shared_ptr<InceptionDepthwiseConv> conv_;
  FastConv2d fc2_;
  torch::Tensor gamma_;
};

torch::nn::LeakyReLU msg_leaky_relu() {
  return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(kMsgLeakyReluSlope).inplace(true));
}

// MSG: x + up(gated(down(x))), where "down" = (3x3 conv dim -> dim/4, PixelUnshuffle(2), LeakyReLU(0.1)),
// "gated" = three gated-CNN blocks and "up" = (3x3 conv dim -> 4 dim, PixelShuffle(2), LeakyReLU(0.1)).
class MoesrMsg : public torch::nn::Module {
 public:
  MoesrMsg(int64_t dim, double expansion_msg)
      : down_(register_module(
            "down", torch::nn::Sequential(same_conv(dim, dim / 4, 3), torch::nn::PixelUnshuffle(2), msg_leaky_relu()))),
        gated_(register_module("gated", torch::nn::Sequential())),
        up_(register_module(
            "up", torch::nn::Sequential(same_conv(dim, dim * 4, 3), torch::nn::PixelShuffle(2), msg_leaky_relu()))) {
    for (int i = 0; i < kGatedBlocksPerMsg; ++i)
      gated_->push_back(std::make_shared<MoesrGatedCnnBlock>(dim, expansion_msg));
  }

  torch::Tensor forward(const torch::Tensor& x) { return up_->forward(gated_->forward(down_->forward(x))) + x; }

 private:
  torch::nn::Sequential down_;
  torch::nn::Sequential gated_;
  torch::nn::Sequential up_;
};

// One group: "blocks" (gated-CNN blocks) then "msg".
class MoesrBlocks : public torch::nn::Module {
 public:
  explicit MoesrBlocks(const MoesrOptions& options)
      : blocks_(register_module("blocks", torch::nn::Sequential())),
        msg_(register_module("msg", std::make_shared<MoesrMsg>(options.dim, options.expansion_msg))) {
    for (int i = 0; i < options.n_block; ++i)
      blocks_->push_back(std::make_shared<MoesrGatedCnnBlock>(options.dim, options.expansion_factor));
  }

  torch::Tensor forward(const torch::Tensor& x) { return msg_->forward(blocks_->forward(x)); }

 private:
  torch::nn::Sequential blocks_;
  std::shared_ptr<MoesrMsg> msg_;
};

// spandrel's UniUpsample: the method's layers plus the "MetaUpsample" buffer.
torch::nn::Sequential make_upsampler(const MoesrOptions& options, int64_t scale) {
  torch::nn::Sequential upsampler;
  if (options.upsampler == "dysample" && scale != 1) {
    DySampleOptions dysample;
    dysample.in_channels = options.dim;
    dysample.out_channels = options.out_ch;
    dysample.scale = scale;
    dysample.groups = kDySampleGroups;
    upsampler->push_back(DySample(dysample));
  } else {
    upsampler = uni_upsample_layers(options.upsampler, scale, options.dim, options.out_ch, options.upsample_dim);
  }
  int64_t method = 0;
  while (kUpsamplers[method] != options.upsampler) ++method;
  upsampler->register_buffer("MetaUpsample",
                             torch::tensor({kMetaVersion, method, scale, int64_t{options.dim}, int64_t{options.out_ch},
                                            int64_t{options.upsample_dim}, kDySampleGroups},
                                           torch::kUInt8));
  return upsampler;
}

bool detect(const StateDict& state) {
  return state.has_all({"in_to_dim.weight", "in_to_dim.bias", "blocks.0.blocks.0.gamma",
                        "blocks.0.blocks.0.norm.weight", "blocks.0.blocks.0.norm.bias", "blocks.0.blocks.0.fc1.weight",
                        "blocks.0.blocks.0.fc1.bias", "blocks.0.blocks.0.conv.dwconv_hw.weight",
                        "blocks.0.blocks.0.conv.dwconv_hw.bias", "blocks.0.blocks.0.conv.dwconv_w.weight",
                        "blocks.0.blocks.0.conv.dwconv_w.bias", "blocks.0.blocks.0.conv.dwconv_h.weight",
                        "blocks.0.blocks.0.conv.dwconv_h.bias", "blocks.0.blocks.0.fc2.weight",
                        "blocks.0.blocks.0.fc2.bias", "upscale.MetaUpsample"});
}

// spandrel's expansion ratio from a fc1 weight (2 * hidden x dim).
double expansion_ratio(const StateDict& state, const std::string& fc1) {
  return (static_cast<double>(state.dim(fc1, 0)) / static_cast<double>(state.dim(fc1, 1))) / 2;
}

MoesrOptions detect_options(const StateDict& state) {
  MoesrOptions options;
  options.dim = static_cast<int>(state.dim("in_to_dim.weight", 0));
  options.in_ch = static_cast<int>(state.dim("in_to_dim.weight", 1));
  options.n_blocks = sequence_length(state, "blocks");
  options.n_block = sequence_length(state, "blocks.0.blocks");
  options.expansion_factor = expansion_ratio(state, "blocks.0.blocks.0.fc1.weight");
  options.expansion_msg = expansion_ratio(state, "blocks.0.msg.gated.0.fc1.weight");
  const torch::Tensor meta = state.at("upscale.MetaUpsample").to(torch::kLong);
  if (meta.numel() != 7) throw Error("MoESR: upscale.MetaUpsample should have 7 entries");
  const int64_t method = meta[kMethod].item<int64_t>();
  if (method < 0 || method >= static_cast<int64_t>(kUpsamplers.size()))
    throw Error("MoESR: unknown upsampler index " + std::to_string(method) + " in upscale.MetaUpsample");
  options.upsampler = kUpsamplers[method];
  options.scale = static_cast<int>(meta[kScale].item<int64_t>());
  options.out_ch = static_cast<int>(meta[kOutDim].item<int64_t>());
  options.upsample_dim = static_cast<int>(meta[kMidDim].item<int64_t>());
  return options;
}

ModelInfo model_info(const MoesrOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "MoESR";
  info.purpose = purpose_for_scale(options.scale);
  info.tags = {std::to_string(options.dim) + "dim", std::to_string(options.n_blocks) + "nbs",
               std::to_string(options.n_block) + "nb", options.upsampler};
  info.scale = options.scale;
  info.input_channels = options.in_ch;
  info.output_channels = options.out_ch;
  info.size_requirements = SizeRequirements(2);
  info.hyperparameters = {
      {"in_ch", options.in_ch},
      {"out_ch", options.out_ch},
      {"scale", options.scale},
      {"dim", options.dim},
      {"n_blocks", options.n_blocks},
      {"n_block", options.n_block},
      {"expansion_factor", options.expansion_factor},
      {"expansion_msg", options.expansion_msg},
      {"upsampler", options.upsampler},
      {"upsample_dim", options.upsample_dim},
  };
  return info;
}

Model load(const StateDict& state) {
  const MoesrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<MoesrNetwork>(options), state);
}

}  // namespace moesr

MoesrNetwork::MoesrNetwork(const MoesrOptions& options)
    : scale_(options.upsampler == "conv" ? 1 : options.scale),
      in_to_dim_(register_module("in_to_dim", same_conv(options.in_ch, options.dim, 3))),
      blocks_(register_module("blocks", torch::nn::Sequential())),
      upscale_(register_module("upscale", moesr::make_upsampler(options, scale_))) {
  for (int i = 0; i < options.n_blocks; ++i) blocks_->push_back(std::make_shared<moesr::MoesrBlocks>(options));
}

torch::Tensor MoesrNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  x = in_to_dim_->forward(pad_to_multiple(x, 2, torch::kReflect));
  x = blocks_->forward(x) + x;
  return upscale_->forward(x).slice(2, 0, height * scale_).slice(3, 0, width * scale_);
}

const Architecture kMoesrArchitecture = {"MoESR", moesr::detect, moesr::load, "1, 2^n, 3 (pixelshuffledirect, dysample: any)", "any"};

}  // namespace uprez
