#include "arch/esrgan.h"

#include <algorithm>
#include <array>
#include <regex>
#include <string>
#include <vector>

#include "arch/common.h"
#include "core/error.h"

namespace uprez {

namespace {

constexpr const char* kActivation = "leakyrelu";
constexpr double kNegativeSlope = 0.2;
constexpr int64_t kGrowthChannels = 32;
constexpr double kResidualScale = 0.2;

torch::nn::AnyModule activation() { return make_activation(kActivation, kNegativeSlope); }

// spandrel's conv_block in "CNA" mode without normalisation: Sequential(conv[, activation]), so that the
// weights are "<name>.0.weight".
torch::nn::Sequential conv_block(int64_t in_channels, int64_t out_channels, bool activated) {
  torch::nn::Sequential block(same_conv(in_channels, out_channels, 3));
  if (activated) block->push_back(activation());
  return block;
}

// Five densely connected convolutions (conv1 .. conv5) with a scaled residual; ESRGAN+ adds a 1x1 shortcut
// (conv1x1) into the second output and the second output into the fourth.
class ResidualDenseBlock : public torch::nn::Module {
 public:
  ResidualDenseBlock(int64_t num_filters, bool plus) {
    if (plus)
      conv1x1_ = register_module(
          "conv1x1", torch::nn::Conv2d(torch::nn::Conv2dOptions(num_filters, kGrowthChannels, 1).bias(false)));
    for (int i = 0; i < kDenseConvs; ++i) {
      const bool last = i == kDenseConvs - 1;
      convs_[i] = register_module("conv" + std::to_string(i + 1),
                                  conv_block(num_filters + i * kGrowthChannels,
                                             last ? num_filters : kGrowthChannels, /*activated=*/!last));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> features{x};
    for (size_t i = 0; i < convs_.size(); ++i) {
      torch::Tensor output = convs_[i]->forward(torch::cat(features, 1));
      if (conv1x1_ && i == 1) output = output + conv1x1_->forward(x);
      if (conv1x1_ && i == 3) output = output + features[2];
      features.push_back(std::move(output));
    }
    return features.back() * kResidualScale + x;
  }

 private:
  static constexpr int kDenseConvs = 5;
  std::array<torch::nn::Sequential, kDenseConvs> convs_{nullptr, nullptr, nullptr, nullptr, nullptr};
  torch::nn::Conv2d conv1x1_{nullptr};
};

// Residual in Residual Dense Block: three dense blocks (RDB1 .. RDB3) with a scaled residual.
class ResidualInResidualDenseBlock : public torch::nn::Module {
 public:
  ResidualInResidualDenseBlock(int64_t num_filters, bool plus) {
    for (size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i] =
          register_module("RDB" + std::to_string(i + 1), std::make_shared<ResidualDenseBlock>(num_filters, plus));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor out = x;
    for (const auto& block : blocks_) out = block->forward(out);
    return out * kResidualScale + x;
  }

 private:
  std::array<std::shared_ptr<ResidualDenseBlock>, 3> blocks_;
};

// x + sub(x); the submodule is named "sub".
class ShortcutBlock : public torch::nn::Module {
 public:
  explicit ShortcutBlock(torch::nn::Sequential sub) : sub_(register_module("sub", std::move(sub))) {}
  torch::Tensor forward(const torch::Tensor& x) { return x + sub_->forward(x); }

 private:
  torch::nn::Sequential sub_;
};

// The factors of the upconv stages: one x3 stage for scale 3, else log2(scale) x2 stages.
std::vector<int64_t> upsampling_factors(int scale) {
  if (scale == 3) return {3};
  std::vector<int64_t> factors;
  for (int remaining = scale; remaining > 1; remaining /= 2) {
    if (remaining % 2 != 0) throw Error("ESRGAN: unsupported scale " + std::to_string(scale));
    factors.push_back(2);
  }
  return factors;
}

// ---- detection and key layouts ----

// Real-ESRGAN's and BSRGAN's dense block convolutions, and their old-layout name.
const std::array<std::regex, 2> kNewLayoutDenseConvs = {
    std::regex(R"(RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d+)\.(weight|bias))"),
    std::regex(R"(body\.(\d+)\.rdb(\d)\.conv(\d+)\.(weight|bias))"),
};
constexpr const char* kOldLayoutDenseConv = "model.1.sub.$1.RDB$2.conv$3.0.$4";

bool is_new_layout(const StateDict& state) { return state.contains("conv_first.weight"); }

// The number of RRDB blocks of a new-layout state dict (from the first layout that has dense block keys).
int count_new_layout_blocks(const StateDict& state) {
  for (const std::regex& pattern : kNewLayoutDenseConvs) {
    int blocks = 0;
    std::smatch match;
    for (const std::string& key : state.keys())
      if (std::regex_search(key, match, pattern)) blocks = std::max(blocks, std::stoi(match[1].str()) + 1);
    if (blocks > 0) return blocks;
  }
  throw Error("ESRGAN: the model has conv_first but no RRDB blocks");
}

// spandrel's _new_to_old_arch: renames a Real-ESRGAN or BSRGAN state dict to the old `model.N` layout.
// Keys that have no old-layout name are dropped, as spandrel drops them.
StateDict to_old_layout(const StateDict& state) {
  if (!is_new_layout(state)) return state;
  const std::string trunk_conv = "model.1.sub." + std::to_string(count_new_layout_blocks(state));

  StateDict old_layout;
  const auto rename = [&](const std::string& old_key, std::initializer_list<std::string> new_keys) {
    for (const std::string& new_key : new_keys)
      if (state.contains(new_key)) old_layout.set(old_key, state.at(new_key));
  };
  for (const std::string kind : {"weight", "bias"}) {
    rename("model.0." + kind, {"conv_first." + kind});
    rename(trunk_conv + "." + kind, {"trunk_conv." + kind, "conv_body." + kind});
  }
  for (const std::regex& pattern : kNewLayoutDenseConvs) {
    for (const std::string& key : state.keys()) {
      const std::string renamed = std::regex_replace(key, pattern, kOldLayoutDenseConv);
      if (renamed != key) old_layout.set(renamed, state.at(key));
    }
  }

  // upconvK / conv_upK sit at model.3K; the HR conv and the last conv follow the last of them.
  static const std::regex upconv(R"(^(upconv|conv_up)(\d)\.(weight|bias))");
  int last_upconv = 0;
  std::smatch match;
  for (const std::string& key : state.keys()) {
    if (!std::regex_search(key, match, upconv)) continue;
    const int index = std::stoi(match[2].str()) * 3;
    old_layout.set("model." + std::to_string(index) + "." + match[3].str(), state.at(key));
    last_upconv = std::max(last_upconv, index);
  }
  for (const std::string kind : {"weight", "bias"}) {
    rename("model." + std::to_string(last_upconv + 2) + "." + kind, {"HRconv." + kind, "conv_hr." + kind});
    rename("model." + std::to_string(last_upconv + 4) + "." + kind, {"conv_last." + kind});
  }
  return old_layout;
}

bool detect(const StateDict& state) {
  return state.has_all({"model.0.weight", "model.1.sub.0.RDB1.conv1.0.weight"}) ||
         state.has_all({"conv_first.weight", "body.0.rdb1.conv1.weight", "conv_body.weight", "conv_last.weight"}) ||
         state.has_all({"conv_first.weight", "RRDB_trunk.0.RDB1.conv1.weight", "trunk_conv.weight",
                        "conv_last.weight"}) ||
         state.has_all({"model.0.weight", "model.1.sub.0.RDB1.conv1x1.weight"});
}

Model load(const StateDict& file_state) {
  const StateDict state = to_old_layout(file_state);

  // model = [conv, shortcut(RRDBs + conv), (upsample, conv, act) per x2 stage, conv, act, conv]
  const int length = sequence_length(state, "model");
  constexpr int kMaxUpsamplingStages = 8;
  if (length < 5 || length > 5 + 3 * kMaxUpsamplingStages)
    throw Error("ESRGAN: unexpected number of layers (" + std::to_string(length) + ")");

  EsrganOptions options;
  options.in_nc = static_cast<int>(state.dim("model.0.weight", 1));
  options.out_nc = static_cast<int>(state.dim("model." + std::to_string(length - 1) + ".weight", 0));
  options.num_filters = static_cast<int>(state.dim("model.0.weight", 0));
  options.num_blocks = sequence_length(state, "model.1.sub") - 1;
  options.scale = 1 << ((length - 5) / 3);
  options.plus = std::any_of(state.keys().begin(), state.keys().end(),
                             [](const std::string& key) { return key.find(".conv1x1.") != std::string::npos; });
  // Real-ESRGAN x2 / x1 models pixel-unshuffle the input by 2 / 4 first.
  if (options.in_nc == options.out_nc * 4) options.shuffle_factor = 2;
  if (options.in_nc == options.out_nc * 16) options.shuffle_factor = 4;

  ModelInfo info;
  info.architecture_id = info.architecture_name = "ESRGAN";
  info.tags = {std::to_string(options.num_filters) + "nf", std::to_string(options.num_blocks) + "nb"};
  if (options.plus) info.tags.insert(info.tags.begin(), "ESRGAN+");
  info.scale = options.scale;
  info.input_channels = options.in_nc;
  info.output_channels = options.out_nc;
  if (options.shuffle_factor != 0) {
    info.scale /= options.shuffle_factor;
    info.input_channels /= options.shuffle_factor * options.shuffle_factor;
    info.tags.push_back("unshuffle");
  }
  info.purpose = purpose_for_scale(info.scale);
  info.size_requirements = SizeRequirements(2, options.shuffle_factor != 0 ? 4 : 1);
  info.hyperparameters = {
      {"in_nc", options.in_nc},
      {"out_nc", options.out_nc},
      {"num_filters", options.num_filters},
      {"num_blocks", options.num_blocks},
      {"scale", options.scale},
      {"plus", options.plus},
      {"shuffle_factor", options.shuffle_factor != 0 ? nlohmann::json(options.shuffle_factor) : nlohmann::json()},
      {"norm", nullptr},
      {"act", kActivation},
      {"upsampler", "upconv"},
      {"mode", "CNA"},
  };
  return assemble_model(std::move(info), std::make_shared<EsrganNetwork>(options), state);
}

}  // namespace

EsrganNetwork::EsrganNetwork(const EsrganOptions& options) : options_(options) {
  const int64_t filters = options.num_filters;
  torch::nn::Sequential trunk;
  for (int i = 0; i < options.num_blocks; ++i)
    trunk->push_back(std::make_shared<ResidualInResidualDenseBlock>(filters, options.plus));
  trunk->push_back(same_conv(filters, filters, 3));

  model_->push_back(same_conv(options.in_nc, filters, 3));
  model_->push_back(std::make_shared<ShortcutBlock>(trunk));
  for (int64_t factor : upsampling_factors(options.scale)) {
    const auto scale_factor = static_cast<double>(factor);
    model_->push_back(torch::nn::Upsample(torch::nn::UpsampleOptions()
                                              .scale_factor(std::vector<double>{scale_factor, scale_factor})
                                              .mode(torch::kNearest)));
    model_->push_back(same_conv(filters, filters, 3));
    model_->push_back(activation());
  }
  model_->push_back(same_conv(filters, filters, 3));
  model_->push_back(activation());
  model_->push_back(same_conv(filters, options.out_nc, 3));
  register_module("model", model_);
}

torch::Tensor EsrganNetwork::forward(torch::Tensor x) {
  if (options_.shuffle_factor == 0) return model_->forward(x);
  const int64_t output_scale = options_.scale / options_.shuffle_factor;
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  x = pad_to_multiple(x, options_.shuffle_factor, torch::kReflect);
  x = model_->forward(torch::pixel_unshuffle(x, options_.shuffle_factor));
  return x.slice(2, 0, height * output_scale).slice(3, 0, width * output_scale);
}

const Architecture kEsrganArchitecture = {"ESRGAN", detect, load};

}  // namespace uprez
