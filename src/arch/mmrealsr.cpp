#include "arch/mmrealsr.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/any_dtype.h"
#include "nn/fast_matmul.h"

namespace uprez {

namespace mmrealsr {

constexpr double kNegativeSlope = 0.2;
constexpr double kResidualScale = 0.2;
// Width of the degradation embedding and of the estimator's degree heads (fixed in the Python code).
constexpr int64_t kDegradationDim = 512;
// Not recoverable from a state dict: spandrel always assumes these.
constexpr const char* kDeNetType = "DEResNet";
constexpr const char* kDegreeActivation = "sigmoid";

FastConv2d strided_conv(int64_t in_channels, int64_t out_channels, int64_t stride) {
  return FastConv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 3).stride(stride).padding(1));
}

torch::nn::ReLU relu() { return torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)); }

bool detect(const StateDict& state) {
  return state.has_all({"conv_first.weight", "conv_body.weight", "conv_up1.weight", "conv_up2.weight",
                        "conv_hr.weight", "conv_last.weight", "body.0.rdb1.conv1.weight", "am_list.0.fc.0.weight",
                        "de_net.conv_first.0.weight", "de_net.body.0.0.conv1.weight", "de_net.fc_degree.0.0.weight",
                        "dd_embed.0.weight"});
}

// spandrel's _get_in_ch_and_scale: conv_first's input channels are num_in_ch * (4 / scale)^2 for scale 4, 2
// or 1; num_in_ch == num_out_ch is assumed where possible, then 3 channels, then the other ambiguities resolved
// as spandrel does.
std::pair<int, int> input_channels_and_scale(int combined, int num_out_ch) {
  int num_in_ch;
  if (combined == num_out_ch || combined == num_out_ch * 4 || combined == num_out_ch * 16)
    num_in_ch = num_out_ch;
  else if (combined % 3 == 0)
    num_in_ch = 3;
  else if (combined % 16 == 0 && combined > 16)
    num_in_ch = combined / 16;
  else if (combined % 4 != 0)
    num_in_ch = combined;
  else
    num_in_ch = combined == 16 ? 1 : 4;  // 1x grayscale rather than 2x RGBA; 4x RGBA rather than 2x grayscale

  if (num_in_ch == combined) return {num_in_ch, 4};
  if (num_in_ch * 4 == combined) return {num_in_ch, 2};
  if (num_in_ch * 16 == combined) return {num_in_ch, 1};
  throw Error("MMRealSR: cannot infer the scale from num_in_ch=" + std::to_string(num_in_ch) +
              " and num_out_ch=" + std::to_string(num_out_ch));
}

// spandrel's _get_num_feats_blocks_and_downscales: walks the first estimator branch. Residual blocks of equal
// width form a stage; a plain conv ends a stage with downscale 2 (stride-1 convs cannot be told apart); a width
// change without a conv, or the end, ends a stage with downscale 1.
void recover_estimator_stages(const StateDict& state, MmrealsrOptions& options) {
  options.num_feats.clear();
  options.num_blocks.clear();
  options.downscales.clear();
  int last_feats = 0;  // 0: no stage open
  int blocks = 0;
  const auto close_stage = [&](int downscale) {
    options.num_feats.push_back(last_feats);
    options.num_blocks.push_back(blocks);
    options.downscales.push_back(downscale);
  };
  for (int i = 0;; ++i) {
    const std::string layer = "de_net.body.0." + std::to_string(i);
    if (state.contains(layer + ".conv1.weight")) {
      const int feats = static_cast<int>(state.dim(layer + ".conv1.weight", 0));
      if (last_feats != 0 && feats != last_feats) {
        close_stage(1);
        blocks = 0;
      }
      last_feats = feats;
      ++blocks;
    } else if (state.contains(layer + ".weight")) {
      if (last_feats == 0) throw Error("MMRealSR: degradation estimator conv " + layer + " follows no residual block");
      close_stage(2);
      last_feats = 0;
      blocks = 0;
    } else {
      if (last_feats != 0) close_stage(1);
      return;
    }
  }
}

MmrealsrOptions detect_options(const StateDict& state) {
  MmrealsrOptions options;
  options.num_out_ch = static_cast<int>(state.dim("conv_last.weight", 0));
  options.num_feat = static_cast<int>(state.dim("conv_last.weight", 1));
  std::tie(options.num_in_ch, options.scale) =
      input_channels_and_scale(static_cast<int>(state.dim("conv_first.weight", 1)), options.num_out_ch);
  options.num_block = sequence_length(state, "body");
  options.num_grow_ch = static_cast<int>(state.dim("body.0.rdb1.conv1.weight", 0));
  options.num_degradation = static_cast<int>(state.dim("dd_embed.0.weight", 1));
  recover_estimator_stages(state, options);
  return options;
}

ModelInfo model_info(const MmrealsrOptions& options) {
  ModelInfo info =
      basic_model_info("MMRealSR", options.scale, options.num_in_ch, options.num_out_ch, SizeRequirements(16));
  info.tags = {std::to_string(options.num_feat) + "nf", std::to_string(options.num_block) + "nb"};
  info.hyperparameters = {
      {"num_in_ch", options.num_in_ch},
      {"num_out_ch", options.num_out_ch},
      {"scale", options.scale},
      {"num_feat", options.num_feat},
      {"num_block", options.num_block},
      {"num_grow_ch", options.num_grow_ch},
      {"de_net_type", kDeNetType},
      {"num_degradation", options.num_degradation},
      {"degradation_degree_actv", kDegreeActivation},
      {"num_feats", options.num_feats},
      {"num_blocks", options.num_blocks},
      {"downscales", options.downscales},
  };
  return info;
}

Model load(const StateDict& state) {
  const MmrealsrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<MmrealsrNetwork>(options), state);
}

// Real-ESRGAN's residual dense block: five densely connected 3x3 convs (conv1 .. conv5) with a 0.2-scaled residual.
class ResidualDenseBlockImpl : public torch::nn::Module {
 public:
  ResidualDenseBlockImpl(int64_t num_feat, int64_t num_grow_ch) {
    for (size_t i = 0; i < convs_.size(); ++i) {
      const bool last = i + 1 == convs_.size();
      convs_[i] = register_module("conv" + std::to_string(i + 1),
                                  same_conv(num_feat + static_cast<int64_t>(i) * num_grow_ch,
                                            last ? num_feat : num_grow_ch, 3));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> features = {x};
    for (size_t i = 0; i + 1 < convs_.size(); ++i)
      features.push_back(torch::leaky_relu(convs_[i]->forward(torch::cat(features, 1)), kNegativeSlope));
    return convs_.back()->forward(torch::cat(features, 1)) * kResidualScale + x;
  }

 private:
  std::array<FastConv2d, 5> convs_{nullptr, nullptr, nullptr, nullptr, nullptr};
};
TORCH_MODULE(ResidualDenseBlock);

// Real-ESRGAN's residual in residual dense block: rdb1 .. rdb3 with a 0.2-scaled residual.
class RRDBImpl : public torch::nn::Module {
 public:
  RRDBImpl(int64_t num_feat, int64_t num_grow_ch) {
    for (size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i] = register_module("rdb" + std::to_string(i + 1), ResidualDenseBlock(num_feat, num_grow_ch));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = x;
    for (auto& block : blocks_) out = block->forward(out);
    return out * kResidualScale + x;
  }

 private:
  std::array<ResidualDenseBlock, 3> blocks_{nullptr, nullptr, nullptr};
};
TORCH_MODULE(RRDB);

// AffineModulate: an MLP "fc" maps the degradation embedding to per-channel (gamma, beta); x -> (1 + gamma) x + beta.
class AffineModulateImpl : public torch::nn::Module {
 public:
  explicit AffineModulateImpl(int64_t num_feat) {
    const int64_t hidden = (kDegradationDim + num_feat * 2) / 2;
    fc_ = register_module("fc", torch::nn::Sequential(FastLinear(kDegradationDim, hidden), relu(),
                                                      FastLinear(hidden, hidden), relu(),
                                                      FastLinear(hidden, num_feat * 2)));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding) {
    const torch::Tensor modulation = fc_->forward(embedding);
    const std::vector<torch::Tensor> gamma_beta =
        modulation.view({modulation.size(0), modulation.size(1), 1, 1}).chunk(2, 1);
    return (1 + gamma_beta[0]) * x + gamma_beta[1];
  }

 private:
  torch::nn::Sequential fc_{nullptr};
};
TORCH_MODULE(AffineModulate);

// BasicSR's ResidualBlockNoBN with res_scale 1: x + conv2(relu(conv1(x))).
class ResidualBlockNoBNImpl : public torch::nn::Module {
 public:
  explicit ResidualBlockNoBNImpl(int64_t num_feat)
      : conv1_(register_module("conv1", same_conv(num_feat, num_feat, 3))),
        conv2_(register_module("conv2", same_conv(num_feat, num_feat, 3))) {}

  torch::Tensor forward(const torch::Tensor& x) { return x + conv2_->forward(torch::relu(conv1_->forward(x))); }

 private:
  FastConv2d conv1_;
  FastConv2d conv2_;
};
TORCH_MODULE(ResidualBlockNoBN);

}  // namespace mmrealsr

int MmrealsrOptions::unshuffled_in_ch() const {
  const int factor = 4 / scale;
  return num_in_ch * factor * factor;
}

// DEResNet: per degradation, a branch conv_first.i -> body.i (stages of residual blocks joined by convs, stride 2
// where the stage downscales) -> global average pool -> fc_degree.i (Linear, ReLU, Linear to 1, sigmoid): the
// degree of that degradation, one scalar per image.
class DegradationEstimator : public torch::nn::Module {
 public:
  explicit DegradationEstimator(const MmrealsrOptions& options) {
    const std::vector<int>& feats = options.num_feats;
    const size_t stages = feats.size();
    conv_first_ = register_module("conv_first", torch::nn::ModuleList());
    body_ = register_module("body", torch::nn::ModuleList());
    fc_degree_ = register_module("fc_degree", torch::nn::ModuleList());
    for (int branch = 0; branch < options.num_degradation; ++branch) {
      conv_first_->push_back(same_conv(options.unshuffled_in_ch(), feats[0], 3));
      torch::nn::Sequential body;
      for (size_t stage = 0; stage < stages; ++stage) {
        for (int block = 0; block < options.num_blocks[stage]; ++block)
          body->push_back(mmrealsr::ResidualBlockNoBN(feats[stage]));
        if (options.downscales[stage] == 1) {
          if (stage + 1 < stages && feats[stage] != feats[stage + 1])
            body->push_back(same_conv(feats[stage], feats[stage + 1], 3));
        } else if (options.downscales[stage] == 2) {
          body->push_back(mmrealsr::strided_conv(feats[stage], feats[std::min(stage + 1, stages - 1)], 2));
        } else {
          throw Error("MMRealSR: unsupported degradation estimator downscale " +
                      std::to_string(options.downscales[stage]));
        }
      }
      body_->push_back(body);
      fc_degree_->push_back(torch::nn::Sequential(FastLinear(feats.back(), mmrealsr::kDegradationDim), mmrealsr::relu(),
                                                  FastLinear(mmrealsr::kDegradationDim, 1), torch::nn::Sigmoid()));
    }
  }

  // The degrees, (batch, num_degradation).
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> degrees;
    for (size_t branch = 0; branch < body_->size(); ++branch) {
      const torch::Tensor features = body_->at<torch::nn::SequentialImpl>(branch).forward(
          conv_first_->at<FastConv2dImpl>(branch).forward(x));
      const torch::Tensor pooled = torch::adaptive_avg_pool2d(features, {1, 1}).squeeze(-1).squeeze(-1);
      degrees.push_back(fc_degree_->at<torch::nn::SequentialImpl>(branch).forward(pooled).squeeze(-1));
    }
    return torch::stack(degrees, 1);
  }

 private:
  torch::nn::ModuleList conv_first_{nullptr};
  torch::nn::ModuleList body_{nullptr};
  torch::nn::ModuleList fc_degree_{nullptr};
};

MmrealsrNetwork::MmrealsrNetwork(const MmrealsrOptions& options) : options_(options) {
  const int64_t features = options.num_feat;
  conv_first_ = register_module("conv_first", same_conv(options.unshuffled_in_ch(), features, 3));
  body_ = register_module("body", torch::nn::ModuleList());
  am_list_ = register_module("am_list", torch::nn::ModuleList());
  for (int i = 0; i < options.num_block; ++i) {
    body_->push_back(mmrealsr::RRDB(features, options.num_grow_ch));
    am_list_->push_back(mmrealsr::AffineModulate(features));
  }
  conv_body_ = register_module("conv_body", same_conv(features, features, 3));
  conv_up1_ = register_module("conv_up1", same_conv(features, features, 3));
  conv_up2_ = register_module("conv_up2", same_conv(features, features, 3));
  conv_hr_ = register_module("conv_hr", same_conv(features, features, 3));
  conv_last_ = register_module("conv_last", same_conv(features, options.num_out_ch, 3));
  de_net_ = register_module("de_net", std::make_shared<DegradationEstimator>(options));
  dd_embed_ = register_module(
      "dd_embed", torch::nn::Sequential(FastLinear(options.num_degradation, mmrealsr::kDegradationDim), mmrealsr::relu()));
}

torch::Tensor MmrealsrNetwork::forward(torch::Tensor x) {
  if (options_.scale != 4)
    throw Error("MMRealSR: x" + std::to_string(options_.scale) +
                " models cannot run (spandrel feeds the image, not its pixel-unshuffle, to the degradation estimator)");
  const torch::Tensor shallow = conv_first_->forward(x);
  const torch::Tensor embedding = dd_embed_->forward(de_net_->forward(x));
  torch::Tensor features = shallow;
  for (size_t i = 0; i < body_->size(); ++i)
    features = am_list_->at<mmrealsr::AffineModulateImpl>(i).forward(body_->at<mmrealsr::RRDBImpl>(i).forward(features), embedding);
  features = shallow + conv_body_->forward(features);
  features = torch::leaky_relu(conv_up1_->forward(upscale_nearest(features, 2)), mmrealsr::kNegativeSlope);
  features = torch::leaky_relu(conv_up2_->forward(upscale_nearest(features, 2)), mmrealsr::kNegativeSlope);
  return conv_last_->forward(torch::leaky_relu(conv_hr_->forward(features), mmrealsr::kNegativeSlope));
}

const Architecture kMmrealsrArchitecture = {"MMRealSR", mmrealsr::detect, mmrealsr::load,
                                            "4 (1 and 2 are detected but cannot run, as in spandrel)", "any"};

}  // namespace uprez
