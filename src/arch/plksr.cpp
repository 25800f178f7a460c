#include "arch/plksr.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/dysample.h"
#include "core/error.h"
#include "nn/any_dtype.h"

namespace uprez {

namespace plksr {

const char* to_string(ChannelMixerType type) {
  switch (type) {
    case ChannelMixerType::CCM:
      return "CCM";
    case ChannelMixerType::ICCM:
      return "ICCM";
    case ChannelMixerType::DCCM:
      return "DCCM";
  }
  return "";
}

const char* to_string(LargeKernelType type) {
  switch (type) {
    case LargeKernelType::PLK:
      return "PLK";
    case LargeKernelType::SparsePLK:
      return "SparsePLK";
    case LargeKernelType::RectSparsePLK:
      return "RectSparsePLK";
  }
  return "";
}

FastConv2d conv(int64_t in_channels, int64_t out_channels, torch::ExpandingArray<2> kernel_size,
                       int64_t dilation = 1) {
  const torch::ExpandingArray<2> padding({(*kernel_size)[0] / 2 * dilation, (*kernel_size)[1] / 2 * dilation});
  return FastConv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).padding(padding).dilation(dilation));
}

// Applies `transform` to the first `channels` channels and keeps the others (the partial convolutions' split).
torch::Tensor transform_leading_channels(const torch::Tensor& x, int64_t channels,
                                         const std::function<torch::Tensor(const torch::Tensor&)>& transform) {
  return torch::cat({transform(x.narrow(1, 0, channels)), x.narrow(1, channels, x.size(1) - channels)}, 1);
}

// A channel mixer: conv (dim -> 2 dim, first_kernel), activation, conv (2 dim -> dim, second_kernel).
torch::nn::Sequential channel_mixer(int64_t dim, int64_t first_kernel, torch::nn::AnyModule activation,
                                    int64_t second_kernel) {
  torch::nn::Sequential mixer(same_conv(dim, dim * 2, first_kernel));
  mixer->push_back(std::move(activation));
  mixer->push_back(same_conv(dim * 2, dim, second_kernel));
  return mixer;
}

// PLKSR's CCM / ICCM / DCCM (GELU) for "channe_mixer".
torch::nn::Sequential plksr_channel_mixer(int64_t dim, ChannelMixerType type) {
  const torch::nn::AnyModule gelu{torch::nn::GELU()};
  switch (type) {
    case ChannelMixerType::CCM:
      return channel_mixer(dim, 3, gelu, 1);
    case ChannelMixerType::ICCM:
      return channel_mixer(dim, 1, gelu, 3);
    case ChannelMixerType::DCCM:
      return channel_mixer(dim, 3, gelu, 3);
  }
  throw Error("unknown PLKSR channel mixer");
}

// PLKConv2d: a kernel_size x kernel_size conv "conv" over the first `channels` channels.
class PartialLargeKernelConv : public torch::nn::Module {
 public:
  PartialLargeKernelConv(int64_t channels, int64_t kernel_size)
      : channels_(channels), conv_(register_module("conv", same_conv(channels, channels, kernel_size))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    return transform_leading_channels(x, channels_, [this](const torch::Tensor& part) { return conv_->forward(part); });
  }

 private:
  int64_t channels_;
  FastConv2d conv_;
};

// SparsePLKConv2d: the sum of dilated convs "convs.<i>" over the first `channels` channels.
class SparsePartialLargeKernelConv : public torch::nn::Module {
 public:
  SparsePartialLargeKernelConv(int64_t channels, const std::vector<int>& kernel_sizes,
                               const std::vector<int>& dilations)
      : channels_(channels), convs_(register_module("convs", torch::nn::ModuleList())) {
    for (size_t i = 0; i < kernel_sizes.size(); ++i)
      convs_->push_back(conv(channels, channels, kernel_sizes[i], dilations[i]));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return transform_leading_channels(x, channels_, [this](const torch::Tensor& part) {
      torch::Tensor sum;
      for (const auto& layer : *convs_) {
        const torch::Tensor response = layer->as<FastConv2d>()->forward(part);
        sum = sum.defined() ? sum + response : response;
      }
      return sum;
    });
  }

 private:
  int64_t channels_;
  torch::nn::ModuleList convs_;
};

// RectSparsePLKConv2d: m x n, n x m and n x n convs (n = m / 3) summed over the first `channels` channels.
class RectangularPartialLargeKernelConv : public torch::nn::Module {
 public:
  RectangularPartialLargeKernelConv(int64_t channels, int64_t kernel_size)
      : channels_(channels),
        mn_conv_(register_module("mn_conv", conv(channels, channels, {kernel_size, kernel_size / 3}))),
        nm_conv_(register_module("nm_conv", conv(channels, channels, {kernel_size / 3, kernel_size}))),
        nn_conv_(register_module("nn_conv", conv(channels, channels, {kernel_size / 3, kernel_size / 3}))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    return transform_leading_channels(x, channels_, [this](const torch::Tensor& part) {
      return mn_conv_->forward(part) + nm_conv_->forward(part) + nn_conv_->forward(part);
    });
  }

 private:
  int64_t channels_;
  FastConv2d mn_conv_;
  FastConv2d nm_conv_;
  FastConv2d nn_conv_;
};

// EA (element-wise attention): x * sigmoid(conv3x3(x)), weights "f.0".
class ElementwiseAttention : public torch::nn::Module {
 public:
  explicit ElementwiseAttention(int64_t dim)
      : f_(register_module("f", torch::nn::Sequential(same_conv(dim, dim, 3), torch::nn::Sigmoid()))) {}

  torch::Tensor forward(const torch::Tensor& x) { return x * f_->forward(x); }

 private:
  torch::nn::Sequential f_;
};

// The block's "lk" module for PLKSR's large-kernel type.
torch::nn::AnyModule large_kernel_conv(const PlksrOptions& options, int64_t channels) {
  switch (options.lk_type) {
    case LargeKernelType::PLK:
      return torch::nn::AnyModule(std::make_shared<PartialLargeKernelConv>(channels, options.kernel_size));
    case LargeKernelType::SparsePLK:
      return torch::nn::AnyModule(
          std::make_shared<SparsePartialLargeKernelConv>(channels, options.sparse_kernels, options.sparse_dilations));
    case LargeKernelType::RectSparsePLK:
      return torch::nn::AnyModule(std::make_shared<RectangularPartialLargeKernelConv>(channels, options.kernel_size));
  }
  throw Error("unknown PLKSR large-kernel type");
}

// The number of channels the large kernel convolves, computed as Python's int(dim * split_ratio).
int64_t partial_channels(const PlksrOptions& options) {
  return static_cast<int64_t>(options.dim * options.split_ratio);
}

// PLKSR's PLKBlock: x + refine(attn(lk(channe_mixer(x)))).
class PlkBlock : public torch::nn::Module {
 public:
  explicit PlkBlock(const PlksrOptions& options)
      : channe_mixer_(register_module("channe_mixer", plksr_channel_mixer(options.dim, options.ccm_type))),
        lk_(large_kernel_conv(options, partial_channels(options))),
        refine_(register_module("refine", same_conv(options.dim, options.dim, 1))) {
    register_module("lk", lk_.ptr());
    if (options.use_ea) attn_ = register_module("attn", std::make_shared<ElementwiseAttention>(options.dim));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor features = lk_.forward(channe_mixer_->forward(x));
    if (attn_) features = attn_->forward(features);
    return refine_->forward(features) + x;
  }

 private:
  torch::nn::Sequential channe_mixer_;
  torch::nn::AnyModule lk_;
  std::shared_ptr<ElementwiseAttention> attn_;
  FastConv2d refine_;
};

// RealPLKSR's PLKBlock: x + norm(refine(attn(lk(channel_mixer(layer_norm(x)))))) with a Mish DCCM, where either
// the LayerNorm or the GroupNorm "norm" is present.
class RealPlkBlock : public torch::nn::Module {
 public:
  explicit RealPlkBlock(const PlksrOptions& options)
      : channel_mixer_(register_module("channel_mixer",
                                       channel_mixer(options.dim, 3,
                                                     torch::nn::AnyModule(torch::nn::Functional(mish_any_dtype)), 3))),
        lk_(register_module("lk",
                            std::make_shared<PartialLargeKernelConv>(partial_channels(options), options.kernel_size))),
        refine_(register_module("refine", same_conv(options.dim, options.dim, 1))) {
    if (options.layer_norm)
      layer_norm_ = register_module("layer_norm", ChannelLayerNorm(options.dim));
    else
      norm_ = register_module("norm", torch::nn::GroupNorm(options.norm_groups, options.dim));
    if (options.use_ea) attn_ = register_module("attn", std::make_shared<ElementwiseAttention>(options.dim));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor features = layer_norm_ ? layer_norm_->forward(x) : x;
    features = lk_->forward(channel_mixer_->forward(features));
    if (attn_) features = attn_->forward(features);
    features = refine_->forward(features);
    if (norm_) features = norm_->forward(features);
    return features + x;
  }

 private:
  ChannelLayerNorm layer_norm_{nullptr};
  torch::nn::Sequential channel_mixer_;
  std::shared_ptr<PartialLargeKernelConv> lk_;
  std::shared_ptr<ElementwiseAttention> attn_;
  FastConv2d refine_;
  torch::nn::GroupNorm norm_{nullptr};
};

}  // namespace plksr

PlksrNetwork::PlksrNetwork(const PlksrOptions& options) : upscaling_factor_(options.upscaling_factor) {
  constexpr int64_t kChannels = 3;
  const int64_t scale = options.upscaling_factor;
  feats_ = register_module("feats", torch::nn::Sequential(same_conv(kChannels, options.dim, 3)));
  for (int i = 0; i < options.n_blocks; ++i) {
    if (options.real)
      feats_->push_back(std::make_shared<plksr::RealPlkBlock>(options));
    else
      feats_->push_back(std::make_shared<plksr::PlkBlock>(options));
  }
  if (options.real) feats_->push_back(torch::nn::Identity());  // Dropout2d, an identity at inference
  feats_->push_back(same_conv(options.dim, kChannels * scale * scale, 3));

  if (options.dysample) {
    DySampleOptions dysample;
    dysample.in_channels = kChannels * scale * scale;
    dysample.out_channels = kChannels;
    dysample.scale = scale;
    dysample.groups = scale % 2 != 0 ? kChannels : 4;
    dysample.end_convolution = scale != 1;
    to_img_ = torch::nn::AnyModule(DySample(dysample));
  } else {
    to_img_ = torch::nn::AnyModule(torch::nn::PixelShuffle(scale));
  }
  register_module("to_img", to_img_.ptr());
}

torch::Tensor PlksrNetwork::forward(torch::Tensor x) {
  const int64_t repeats = upscaling_factor_ * upscaling_factor_;
  return to_img_.forward(feats_->forward(x) + torch::repeat_interleave(x, repeats, 1));
}

namespace plksr {

bool detect(const StateDict& state) {
  return state.contains("feats.0.weight") &&
         (state.contains("feats.1.lk.conv.weight") || state.contains("feats.1.lk.convs.0.weight") ||
          state.contains("feats.1.lk.mn_conv.weight")) &&
         state.contains("feats.1.refine.weight") &&
         (state.contains("feats.1.channe_mixer.0.weight") || state.contains("feats.1.channel_mixer.0.weight"));
}

// spandrel's CCM type from the kernel sizes of the mixer's two convs.
ChannelMixerType detect_channel_mixer(const StateDict& state) {
  const int64_t first = state.dim("feats.1.channe_mixer.0.weight", 2);
  const int64_t second = state.dim("feats.1.channe_mixer.2.weight", 2);
  if (first == 3 && second == 1) return ChannelMixerType::CCM;
  if (first == 3 && second == 3) return ChannelMixerType::DCCM;
  if (first == 1 && second == 3) return ChannelMixerType::ICCM;
  throw Error("PLKSR: unknown channel mixer type");
}

PlksrOptions detect_options(const StateDict& state) {
  PlksrOptions options;
  options.dim = static_cast<int>(state.dim("feats.0.weight", 0));
  const int total_feat_layers = sequence_length(state, "feats");
  options.upscaling_factor =
      static_cast<int>(integer_sqrt(state.dim("feats." + std::to_string(total_feat_layers - 1) + ".weight", 0) / 3));
  options.use_ea = state.contains("feats.1.attn.f.0.weight");
  const auto split_ratio = [&](const std::string& key) { return static_cast<double>(state.dim(key, 0)) / options.dim; };

  if (state.contains("feats.1.channe_mixer.0.weight")) {  // PLKSR (the typo is its own)
    options.n_blocks = total_feat_layers - 2;
    options.ccm_type = detect_channel_mixer(state);
    if (state.contains("feats.1.lk.conv.weight")) {
      options.lk_type = LargeKernelType::PLK;
      options.kernel_size = static_cast<int>(state.dim("feats.1.lk.conv.weight", 2));
      options.split_ratio = split_ratio("feats.1.lk.conv.weight");
    } else if (state.contains("feats.1.lk.convs.0.weight")) {
      // Kernel sizes and dilations cannot be detected: spandrel keeps the defaults.
      options.lk_type = LargeKernelType::SparsePLK;
      options.split_ratio = split_ratio("feats.1.lk.convs.0.weight");
    } else {
      options.lk_type = LargeKernelType::RectSparsePLK;
      options.kernel_size = static_cast<int>(state.dim("feats.1.lk.mn_conv.weight", 2));
      options.split_ratio = split_ratio("feats.1.lk.mn_conv.weight");
    }
  } else {  // RealPLKSR
    options.real = true;
    options.n_blocks = total_feat_layers - 3;
    options.kernel_size = static_cast<int>(state.dim("feats.1.lk.conv.weight", 2));
    options.split_ratio = split_ratio("feats.1.lk.conv.weight");
    options.layer_norm = state.contains("feats.1.layer_norm.bias");
    options.dysample = state.contains("to_img.init_pos");
  }
  return options;
}

ModelInfo model_info(const PlksrOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "PLKSR";
  std::vector<std::string> more_tags;
  if (!options.real) {
    more_tags = {to_string(options.ccm_type)};
    info.hyperparameters = {
        {"dim", options.dim},
        {"n_blocks", options.n_blocks},
        {"upscaling_factor", options.upscaling_factor},
        {"ccm_type", to_string(options.ccm_type)},
        {"kernel_size", options.kernel_size},
        {"split_ratio", options.split_ratio},
        {"lk_type", to_string(options.lk_type)},
        {"use_max_kernel", false},  // undetectable; spandrel assumes it off
        {"sparse_kernels", options.sparse_kernels},
        {"sparse_dilations", options.sparse_dilations},
        {"with_idt", false},  // undetectable; spandrel assumes it off
        {"use_ea", options.use_ea},
    };
  } else {
    more_tags = {"Real"};
    if (options.dysample) more_tags.emplace_back("DySample");
    if (options.layer_norm) more_tags.emplace_back("LayerNorm");
    info.supports_half = options.layer_norm;
    info.hyperparameters = {
        {"dim", options.dim},
        {"n_blocks", options.n_blocks},
        {"upscaling_factor", options.upscaling_factor},
        {"kernel_size", options.kernel_size},
        {"split_ratio", options.split_ratio},
        {"use_ea", options.use_ea},
        {"norm_groups", options.norm_groups},  // undetectable
        {"dropout", 0},
        {"dysample", options.dysample},
        {"layer_norm", options.layer_norm},
    };
  }
  info.purpose = purpose_for_scale(options.upscaling_factor);
  info.tags = {std::to_string(options.dim) + "dim", std::to_string(options.n_blocks) + "nb",
               std::to_string(options.kernel_size) + "ks"};
  info.tags.insert(info.tags.end(), more_tags.begin(), more_tags.end());
  info.scale = options.upscaling_factor;
  return info;
}

Model load(const StateDict& state) {
  const PlksrOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<PlksrNetwork>(options), state);
}

}  // namespace plksr

const Architecture kPlksrArchitecture = {"PLKSR", plksr::detect, plksr::load, "any", "3"};

}  // namespace uprez
