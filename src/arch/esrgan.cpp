#include "arch/esrgan.h"

#include <algorithm>
#include <array>
#include <regex>
#include <string>
#include <vector>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "core/error.h"
#include "nn/fast_conv.h"
#include "nn/padding.h"

namespace uprez {

namespace esrgan {

constexpr const char* kActivation = "leakyrelu";
constexpr double kNegativeSlope = 0.2;
constexpr int64_t kGrowthChannels = 32;
constexpr double kResidualScale = 0.2;

torch::nn::AnyModule activation() { return make_activation(kActivation, kNegativeSlope); }

PostOps activated() { return PostOps().leaky_relu(kNegativeSlope); }

// spandrel's conv_block in "CNA" mode without normalisation: Sequential(conv[, activation]), so that the
// weights are "<name>.0.weight".
torch::nn::Sequential conv_block(int64_t in_channels, int64_t out_channels, bool activated) {
  torch::nn::Sequential block(same_conv(in_channels, out_channels, 3));
  if (activated) block->push_back(activation());
  return block;
}

const FastConv2dImpl& conv_of(const torch::nn::Sequential& block) { return block->at<FastConv2dImpl>(0); }

// Five densely connected convolutions (conv1 .. conv5) with a scaled residual; ESRGAN+ adds a 1x1 shortcut
// (conv1x1) into the second output and the second output into the fourth.
//
// The dense connections are channel ranges of one buffer: the block's input fills channels [0, nf), conv k
// writes its 32 channels right after, and conv k reads the prefix [0, nf + 32 (k - 1)). No concatenation copies.
class ResidualDenseBlock : public torch::nn::Module {
 public:
  ResidualDenseBlock(int64_t num_filters, bool plus) : num_filters_(num_filters) {
    if (plus) conv1x1_ = register_module("conv1x1", same_conv(num_filters, kGrowthChannels, 1, false));
    for (int i = 0; i < kDenseConvs; ++i) {
      const bool last = i == kDenseConvs - 1;
      convs_[i] = register_module("conv" + std::to_string(i + 1),
                                  conv_block(num_filters + i * kGrowthChannels,
                                             last ? num_filters : kGrowthChannels, /*activated=*/!last));
    }
  }

  static int64_t buffer_channels(int64_t num_filters) { return num_filters + (kDenseConvs - 1) * kGrowthChannels; }

  // `buffer` holds the block's input in its first nf channels; writes x + 0.2 * conv5 (the block's result),
  // followed by `then`, into `output` (nf channels outside `buffer`).
  void run(const FeatureMap& buffer, const FeatureMap& output, const PostOps& then = {}) const {
    const FeatureMap x = buffer.narrow_channels(0, num_filters_);
    const auto dense_output = [&](int i) {
      return buffer.narrow_channels(num_filters_ + i * kGrowthChannels, kGrowthChannels);
    };
    for (int i = 0; i + 1 < kDenseConvs; ++i) {
      PostOps post = activated();
      if (conv1x1_ && i == 1) post.add(conv1x1_->run(x));
      if (conv1x1_ && i == 3) post.add(dense_output(1));
      conv_of(convs_[i]).run_into(buffer.narrow_channels(0, num_filters_ + i * kGrowthChannels), dense_output(i),
                                  post);
    }
    conv_of(convs_.back()).run_into(buffer, output, PostOps().scale(kResidualScale).add(x).append(then));
  }

 private:
  static constexpr int kDenseConvs = 5;
  int64_t num_filters_;
  std::array<torch::nn::Sequential, kDenseConvs> convs_{nullptr, nullptr, nullptr, nullptr, nullptr};
  FastConv2d conv1x1_{nullptr};
};

// Residual in Residual Dense Block: three dense blocks (RDB1 .. RDB3) with a scaled residual.
class ResidualInResidualDenseBlock : public torch::nn::Module {
 public:
  ResidualInResidualDenseBlock(int64_t num_filters, bool plus) {
    for (size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i] =
          register_module("RDB" + std::to_string(i + 1), std::make_shared<ResidualDenseBlock>(num_filters, plus));
  }

  // The block's input is the first nf channels of `input`; its result goes to the first nf channels of `other`.
  // The dense blocks alternate between the two buffers; the last one also applies this block's residual.
  void run(const FeatureMap& input, const FeatureMap& other, int64_t num_filters) const {
    const FeatureMap x = input.narrow_channels(0, num_filters);
    const FeatureMap saved_x = x.clone();  // the second dense block overwrites it
    const FeatureMap result = other.narrow_channels(0, num_filters);
    blocks_[0]->run(input, result);
    blocks_[1]->run(other, x);
    blocks_[2]->run(input, result, PostOps().scale(kResidualScale).add(saved_x));
  }

 private:
  std::array<std::shared_ptr<ResidualDenseBlock>, 3> blocks_;
};

// x + sub(x); the submodule is named "sub" (the RRDBs and a convolution).
class ShortcutBlock : public torch::nn::Module {
 public:
  explicit ShortcutBlock(torch::nn::ModuleList sub) : sub_(register_module("sub", std::move(sub))) {}

  FeatureMap run(const FeatureMap& x, int64_t num_filters) const {
    std::array<FeatureMap, 2> buffers = {
        FeatureMap::empty_like(x, ResidualDenseBlock::buffer_channels(num_filters)),
        FeatureMap::empty_like(x, ResidualDenseBlock::buffer_channels(num_filters))};
    buffers[0].narrow_channels(0, num_filters).copy_(x);
    const size_t trunk_conv = sub_->size() - 1;
    for (size_t i = 0; i < trunk_conv; ++i) {
      sub_->at<ResidualInResidualDenseBlock>(i).run(buffers[0], buffers[1], num_filters);
      std::swap(buffers[0], buffers[1]);
    }
    return sub_->at<FastConv2dImpl>(trunk_conv).run(buffers[0].narrow_channels(0, num_filters), PostOps().add(x));
  }

 private:
  torch::nn::ModuleList sub_;
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

// The hyper-parameters of a state dict in the old `model.N` layout.
EsrganOptions detect_options(const StateDict& state) {
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
  return options;
}

ModelInfo model_info(const EsrganOptions& options) {
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
  return info;
}

Model load(const StateDict& file_state) {
  const StateDict state = to_old_layout(file_state);
  const EsrganOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<EsrganNetwork>(options), state);
}

}  // namespace esrgan

EsrganNetwork::EsrganNetwork(const EsrganOptions& options) : options_(options) {
  const int64_t filters = options.num_filters;
  torch::nn::ModuleList trunk;
  for (int i = 0; i < options.num_blocks; ++i)
    trunk->push_back(std::make_shared<esrgan::ResidualInResidualDenseBlock>(filters, options.plus));
  trunk->push_back(same_conv(filters, filters, 3));

  model_->push_back(same_conv(options.in_nc, filters, 3));
  model_->push_back(std::make_shared<esrgan::ShortcutBlock>(trunk));
  for (int64_t factor : esrgan::upsampling_factors(options.scale)) {
    const auto scale_factor = static_cast<double>(factor);
    model_->push_back(torch::nn::Upsample(torch::nn::UpsampleOptions()
                                              .scale_factor(std::vector<double>{scale_factor, scale_factor})
                                              .mode(torch::kNearest)));
    model_->push_back(same_conv(filters, filters, 3));
    model_->push_back(esrgan::activation().ptr());
  }
  model_->push_back(same_conv(filters, filters, 3));
  model_->push_back(esrgan::activation().ptr());
  model_->push_back(same_conv(filters, options.out_nc, 3));
  register_module("model", model_);
}

torch::Tensor EsrganNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  if (options_.shuffle_factor != 0)
    x = torch::pixel_unshuffle(pad_to_multiple(x, options_.shuffle_factor, torch::kReflect), options_.shuffle_factor);

  // The dense blocks' channel ranges need whole 16-channel blocks to stay in oneDNN's layout.
  const int64_t filters = options_.num_filters;
  FeatureMap features = filters % 16 == 0 ? FeatureMap(x) : FeatureMap::dense(x);
  size_t layer = 0;
  features = model_->at<FastConv2dImpl>(layer++).run(features);
  features = model_->at<esrgan::ShortcutBlock>(layer++).run(features, filters);
  for (int64_t factor : esrgan::upsampling_factors(options_.scale)) {
    features = features.upsample_nearest(factor);
    features = model_->at<FastConv2dImpl>(layer + 1).run(features, esrgan::activated());
    layer += 3;
  }
  features = model_->at<FastConv2dImpl>(layer).run(features, esrgan::activated());
  torch::Tensor out = model_->at<FastConv2dImpl>(layer + 2).run(features).to_tensor();

  if (options_.shuffle_factor == 0) return out;
  const int64_t output_scale = options_.scale / options_.shuffle_factor;
  return out.slice(2, 0, height * output_scale).slice(3, 0, width * output_scale);
}

const Architecture kEsrganArchitecture = {"ESRGAN", esrgan::detect, esrgan::load, "1, 2, 3, 4, 8", "1, 3, 4"};

}  // namespace uprez
