#include "arch/ditn.h"

#include <cmath>
#include <string>
#include <utility>

#include "arch/blocks.h"
#include "arch/detection.h"
#include "arch/transformer.h"
#include "nn/fast_matmul.h"
#include "nn/padding.h"

namespace uprez {

namespace ditn {

bool detect(const StateDict& state) {
  return state.has_all({"sft.weight", "UFONE.0.ITLs.0.attn.temperature", "UFONE.0.ITLs.0.ffn.project_in.weight",
                        "UFONE.0.ITLs.0.ffn.dwconv.weight", "UFONE.0.ITLs.0.ffn.project_out.weight",
                        "conv_after_body.weight", "upsample.0.weight"});
}

DitnOptions detect_options(const StateDict& state) {
  DitnOptions options;
  options.inp_channels = static_cast<int>(state.dim("sft.weight", 1));
  options.dim = static_cast<int>(state.dim("sft.weight", 0));
  options.ufone_blocks = sequence_length(state, "UFONE");
  options.itl_blocks = sequence_length(state, "UFONE.0.ITLs");
  options.sal_blocks = sequence_length(state, "UFONE.0.SALs");
  options.ffn_expansion_factor =
      static_cast<double>(state.dim("UFONE.0.ITLs.0.ffn.project_in.weight", 0)) / 2 / options.dim;
  options.bias = state.contains("UFONE.0.ITLs.0.attn.project_out.bias");
  options.upscale = static_cast<int>(std::sqrt(static_cast<double>(state.dim("upsample.0.weight", 0)) / 3));
  return options;
}

ModelInfo model_info(const DitnOptions& options) {
  ModelInfo info;
  info.architecture_id = info.architecture_name = "DITN";
  info.purpose = purpose_for_scale(options.upscale);
  info.tags = {"60dim"};  // spandrel reports the default dim, whatever the model's
  info.scale = options.upscale;
  info.input_channels = options.inp_channels;
  info.output_channels = 3;  // hard-coded in the architecture
  info.size_requirements = SizeRequirements(0, options.patch_size);
  info.hyperparameters = {
      {"inp_channels", options.inp_channels},
      {"dim", options.dim},
      {"ITL_blocks", options.itl_blocks},
      {"SAL_blocks", options.sal_blocks},
      {"UFONE_blocks", options.ufone_blocks},
      {"ffn_expansion_factor", options.ffn_expansion_factor},
      {"bias", options.bias},
      {"LayerNorm_type", "WithBias"},  // accepted but unused by the network
      {"patch_size", options.patch_size},
      {"upscale", options.upscale},
  };
  return info;
}

Model load(const StateDict& state) {
  const DitnOptions options = detect_options(state);
  return assemble_model(model_info(options), std::make_shared<DitnNetwork>(options), state);
}

FastConv2d depthwise_conv(int64_t channels, int64_t kernel_size, int64_t dilation) {
  return FastConv2d(torch::nn::Conv2dOptions(channels, channels, kernel_size)
                               .padding(kernel_size / 2 * dilation)
                               .dilation(dilation)
                               .groups(channels));
}

// ISA: single-head channel attention over all pixels of a patch, with a Linear qkv on the pixel tokens and a
// learned temperature.
class InceptionSelfAttentionImpl : public torch::nn::Module {
 public:
  InceptionSelfAttentionImpl(int64_t dim, bool bias)
      : temperature_(register_parameter("temperature", torch::ones({1, 1, 1}))),
        qkv_(register_module("qkv", FastLinear(dim, dim * 3))),
        project_out_(register_module("project_out", same_conv(dim, dim, 1, bias))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const std::vector<torch::Tensor> qkv = qkv_->forward(x.view({batch, channels, -1}).transpose(-1, -2)).chunk(3, -1);
    const torch::Tensor attended = cosine_channel_attention(qkv[0].transpose(-1, -2), qkv[1].transpose(-1, -2),
                                                            qkv[2].transpose(-1, -2), temperature_);
    return project_out_->forward(attended.view({batch, channels, height, width}));
  }

 private:
  torch::Tensor temperature_;
  FastLinear qkv_;
  FastConv2d project_out_;
};
TORCH_MODULE(InceptionSelfAttention);

// SDA: one half of a 1x1 projection gates the other after large-kernel depthwise convs (5x5, then 7x7 with
// dilation 3, then 1x1); the result is projected and scaled per channel.
class SpatialDilatedAttentionImpl : public torch::nn::Module {
 public:
  explicit SpatialDilatedAttentionImpl(int64_t features)
      : scale_(register_parameter("scale", torch::zeros({1, features, 1, 1}))),
        dconvs_(register_module("DConvs",
                                torch::nn::Sequential(depthwise_conv(features, 5, 1), depthwise_conv(features, 7, 3),
                                                      same_conv(features, features, 1)))),
        proj_first_(register_module("proj_first", torch::nn::Sequential(same_conv(features, 2 * features, 1)))),
        proj_last_(register_module("proj_last", torch::nn::Sequential(same_conv(features, features, 1)))) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const std::vector<torch::Tensor> halves = proj_first_->forward(x).chunk(2, 1);
    const torch::Tensor gate = dconvs_->forward(halves[0]);
    return proj_last_->forward(halves[1] * gate) * scale_;
  }

 private:
  torch::Tensor scale_;
  torch::nn::Sequential dconvs_;
  torch::nn::Sequential proj_first_;
  torch::nn::Sequential proj_last_;
};
TORCH_MODULE(SpatialDilatedAttention);

// DITN's ITL and SAL layers: x + mixer(conv1(tanh(x))), then x + ffn(conv2(tanh(x))). The token mixer is ISA
// (named "attn") in an ITL and SDA (named "SDA") in an SAL.
class MixerLayerImpl : public torch::nn::Module {
 public:
  template <typename Mixer>
  MixerLayerImpl(const std::string& mixer_name, Mixer mixer, const DitnOptions& options)
      : mixer_(register_module(mixer_name, mixer.ptr())),
        conv1_(register_module("conv1", same_conv(options.dim, options.dim, 1))),
        conv2_(register_module("conv2", same_conv(options.dim, options.dim, 1))),
        ffn_(register_module(
            "ffn", GatedFeedForward(options.dim, static_cast<int64_t>(options.dim * options.ffn_expansion_factor),
                                    options.bias))) {}

  torch::Tensor forward(torch::Tensor x) {
    x = x + mixer_.forward(conv1_->forward(torch::tanh(x)));
    return x + ffn_->forward(conv2_->forward(torch::tanh(x)));
  }

 private:
  torch::nn::AnyModule mixer_;
  FastConv2d conv1_;
  FastConv2d conv2_;
  GatedFeedForward ffn_;
};
TORCH_MODULE(MixerLayer);

// UFONE: the ITLs run on non-overlapping patch_size x patch_size patches (batched), the SALs on the whole
// feature map.
class UfoneImpl : public torch::nn::Module {
 public:
  explicit UfoneImpl(const DitnOptions& options) : patch_(options.patch_size) {
    itls_ = register_module("ITLs", torch::nn::Sequential());
    for (int i = 0; i < options.itl_blocks; ++i)
      itls_->push_back(MixerLayer("attn", InceptionSelfAttention(options.dim, options.bias), options));
    sals_ = register_module("SALs", torch::nn::Sequential());
    for (int i = 0; i < options.sal_blocks; ++i)
      sals_->push_back(MixerLayer("SDA", SpatialDilatedAttention(options.dim), options));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t rows = height / patch_, cols = width / patch_;
    const torch::Tensor patches = x.view({batch, channels, rows, patch_, cols, patch_})
                                      .permute({0, 2, 4, 1, 3, 5})
                                      .contiguous()
                                      .view({-1, channels, patch_, patch_});
    const torch::Tensor image = itls_->forward(patches)
                                    .view({batch, rows, cols, channels, patch_, patch_})
                                    .permute({0, 3, 1, 4, 2, 5})
                                    .contiguous()
                                    .view({batch, channels, height, width});
    return sals_->forward(image);
  }

 private:
  int64_t patch_;
  torch::nn::Sequential itls_{nullptr};
  torch::nn::Sequential sals_{nullptr};
};
TORCH_MODULE(Ufone);

}  // namespace ditn

DitnNetwork::DitnNetwork(const DitnOptions& options) : options_(options) {
  sft_ = register_module("sft", same_conv(options.inp_channels, options.dim, 3));
  ufone_ = register_module("UFONE", torch::nn::Sequential());
  for (int i = 0; i < options.ufone_blocks; ++i) ufone_->push_back(ditn::Ufone(options));
  conv_after_body_ = register_module("conv_after_body", same_conv(options.dim, options.dim, 3));
  upsample_ = register_module("upsample", pixel_shuffle_block(options.dim, 3, options.upscale));
}

torch::Tensor DitnNetwork::forward(torch::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  x = pad_to_multiple(x, options_.patch_size, torch::kReflect);
  const torch::Tensor shallow = sft_->forward(x);
  const torch::Tensor deep = conv_after_body_->forward(ufone_->forward(shallow));
  return upsample_->forward(deep + shallow)
      .slice(2, 0, height * options_.upscale)
      .slice(3, 0, width * options_.upscale);
}

const Architecture kDitnArchitecture = {"DITN", ditn::detect, ditn::load, "any", "any in, 3 out"};

}  // namespace uprez
