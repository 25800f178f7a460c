// What the Swin family (SwinIR, Swin2SR, SRFormer, HAT, DRCT, ATD) shares: the common options, their detection
// from a state dict, the common hyper-parameter JSON, SwinIR's reconstruction heads, the residual-group wrapper
// and the network skeleton conv_first -> patch_embed -> layers -> norm -> conv_after_body -> reconstruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "arch/architecture.h"
#include "arch/transformer.h"
#include "io/state_dict.h"
#include "nn/fast_conv.h"

namespace uprez {

// The hyper-parameters every member of the family has (spandrel's names); each architecture's options extend it.
struct SwinFamilyOptions {
  int img_size = 64;  // training size: shifted blocks' stored masks, the shift rule and ape depend on it
  int patch_size = 1;
  int in_chans = 3;
  int embed_dim = 96;
  std::vector<int> depths = {6, 6, 6, 6};  // blocks per residual group
  std::vector<int> num_heads = {6, 6, 6, 6};
  int window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool ape = false;  // absolute position embedding (only works at img_size, as in spandrel)
  bool patch_norm = true;
  int upscale = 1;
  double img_range = 1.0;
  // "pixelshuffle" | "pixelshuffledirect" | "nearest+conv" | "" (restoration), plus Swin2SR's own heads
  std::string upsampler;
  std::string resi_connection = "1conv";  // "1conv" | "3conv" | "identity" (HAT, DRCT: no conv)
};

// Where an architecture keeps what detect_swin_family reads, relative to "layers.<i>." (one residual group) or,
// for the per-block keys, to the state dict's root.
struct SwinFamilyKeys {
  std::string group_blocks;  // the numbered blocks of a group ("residual_group.blocks"); "" for a fixed depth
  int fixed_depth = 6;
  std::string group_heads;  // a tensor of each group whose dimension heads_dim counts its heads
  int64_t heads_dim = 1;
  std::string mlp_fc1;   // the first block's fc1 weight or bias: mlp_ratio = its rows / embed_dim
  std::string qkv_bias;  // present when the attention projections have biases; "" when they always have
};

// Fills in_chans and embed_dim (from "conv_first.weight"), depths and num_heads per residual group ("layers"),
// mlp_ratio, qkv_bias, ape ("absolute_pos_embed") and patch_norm ("patch_embed.norm.weight").
void detect_swin_family(const StateDict& state, const SwinFamilyKeys& keys, SwinFamilyOptions& options);

// The kind of SwinIR-style reconstruction: "nearest+conv" when `nearest_conv_key` is present, "pixelshuffle"
// with "conv_before_upsample.0.weight", "pixelshuffledirect" with "upsample.0.weight", else "" (restoration).
std::string detect_swin_upsampler(const StateDict& state, const std::string& nearest_conv_key);

// The scale of that reconstruction: from the Upsample stack "upsample" (pixelshuffle), from "upsample.0.weight"'s
// rows / out_channels (pixelshuffledirect), `nearest_conv_scale` (nearest+conv), else 1.
int detect_swin_upscale(const StateDict& state, const std::string& upsampler, int64_t out_channels,
                        int nearest_conv_scale);

// The training patch resolution: sqrt(windows) * window from the shifted block's stored attn mask `mask_key`
// (skipped when ""), else the square root of absolute_pos_embed's positions when `use_ape`, else `fallback`.
int swin_patches_resolution(const StateDict& state, const std::string& mask_key, int window, bool use_ape,
                            int fallback);

// The training-only arguments spandrel reports for some members: qk_scale (None), drop_rate, attn_drop_rate,
// drop_path_rate (0, 0, 0.1) and use_checkpoint (false).
struct SwinTrainingKeys {
  bool qk_scale = true;
  bool drop_rates = true;
  bool use_checkpoint = true;
};

// The hyper-parameters of SwinFamilyOptions under spandrel's names (with norm_layer and `training`'s keys); each
// architecture adds its own.
nlohmann::json swin_hyperparameters(const SwinFamilyOptions& options, SwinTrainingKeys training = {});

// The model info the family reports alike: id and name, purpose and scale from upscale, in_chans in and out,
// `size`, no float16, bfloat16, swin_hyperparameters(options, training); no tags.
ModelInfo swin_model_info(const std::string& id, const SwinFamilyOptions& options, SizeRequirements size,
                          SwinTrainingKeys training = {});

// The "s<img_size>w<window_size>" tag.
std::string swin_training_size_tag(const SwinFamilyOptions& options);

// SwinIR's num_feat: the reconstruction's width (SwinIR, Swin2SR, SRFormer, ATD and DRCT fix it).
constexpr int kSwinReconstructionFeatures = 64;

// SwinIR's image reconstruction after the deep features (SwinIR, Swin2SR, SRFormer, ATD; HAT's and DRCT's
// pixelshuffle head). Its modules are attributes of the network in Python, so they are registered on `network`
// itself: "conv_before_upsample" (3x3 conv + LeakyReLU), "upsample" and "conv_last" for "pixelshuffle";
// "upsample" (one conv + PixelShuffle) for "pixelshuffledirect"; "conv_before_upsample",
// "conv_up1".."conv_up<log2 scale>" (scale 2, 4 or 8), "conv_hr", "conv_last" for "nearest+conv"; "conv_last"
// for "" (restoration). `features` is num_feat. Throws Error for other upsamplers or unsupported scales.
class SwinIRReconstruction {
 public:
  SwinIRReconstruction(torch::nn::Module& network, const std::string& upsampler, int64_t embed_dim,
                       int64_t out_channels, int64_t upscale, int64_t features = kSwinReconstructionFeatures);
  // features: conv_after_body(deep features) + shallow features; input: the normalised network input, which the
  // restoration head adds back.
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& input);

 private:
  enum class Head { PixelShuffle, PixelShuffleDirect, NearestConv, Restoration };
  Head head_;
  torch::nn::Sequential conv_before_upsample_{nullptr};
  torch::nn::Sequential upsample_{nullptr};  // null for scale-1 "pixelshuffle" (an empty Upsample)
  std::vector<FastConv2d> conv_up_;
  FastConv2d conv_hr_{nullptr};
  FastConv2d conv_last_{nullptr};
};

// The resi_connection conv of a residual group or of conv_after_body: residual_connection_conv for "1conv" and
// "3conv", empty for "identity".
torch::nn::AnyModule swin_residual_conv(int64_t features, const std::string& resi_connection);

// A residual group as SwinIR's RSTB, SRFormer's PSA_Group, HAT's RHAG and ATD's ATDB build it: the
// "residual_group" (a Group taking tokens, height, width and its own arguments), the resi_connection "conv" on
// the image (none for "identity"), plus the input tokens.
template <class Group>
class SwinResidualGroup : public torch::nn::Module {
 public:
  SwinResidualGroup(std::shared_ptr<Group> group, int64_t dim, const std::string& resi_connection)
      : residual_group_(register_module("residual_group", std::move(group))),
        conv_(swin_residual_conv(dim, resi_connection)) {
    if (!conv_.is_empty()) register_module("conv", conv_.ptr());
  }

  template <class... Args>
  torch::Tensor forward(const torch::Tensor& x, int64_t height, int64_t width, const Args&... args) {
    const torch::Tensor grouped = residual_group_->forward(x, height, width, args...);
    if (conv_.is_empty()) return grouped + x;
    return image_to_tokens(conv_.forward(tokens_to_image(grouped, height, width))) + x;
  }

 private:
  std::shared_ptr<Group> residual_group_;
  torch::nn::AnyModule conv_;
};

// The skeleton every member's network shares. The constructor registers "conv_first" (conv_first_in ->
// embed_dim), "patch_embed" (SwinIR's PatchEmbed, unless `own_patch_embed`: then the network registers its
// own and overrides embed), "absolute_pos_embed" ((1, ape_patches, embed_dim), when options.ape), "norm" and
// "conv_after_body" (swin_residual_conv); the network adds "layers" (register_layers) and its reconstruction.
class SwinFamilyNetwork : public Network {
 protected:
  SwinFamilyNetwork(const SwinFamilyOptions& options, int64_t conv_first_in, int64_t ape_patches,
                    bool own_patch_embed = false);

  // Registers "layers", a ModuleList of options.depths.size() residual groups made by make_group(i).
  template <class Group>
  std::vector<std::shared_ptr<Group>> register_layers(size_t count,
                                                      const std::function<std::shared_ptr<Group>(size_t)>& make_group) {
    auto list = register_module("layers", torch::nn::ModuleList());
    std::vector<std::shared_ptr<Group>> groups;
    for (size_t i = 0; i < count; ++i) {
      groups.push_back(make_group(i));
      list->push_back(groups.back());
    }
    return groups;
  }

  // Tokens from the shallow features: patch_embed, plus absolute_pos_embed when the model has it.
  virtual torch::Tensor embed(const torch::Tensor& shallow);

  // conv_after_body(image(norm(layers(embed(shallow))))) + shallow; `layers` runs the residual groups on tokens.
  torch::Tensor deep_features(const torch::Tensor& shallow, const std::function<torch::Tensor(torch::Tensor)>& layers);

  FastConv2d conv_first_{nullptr};
  PatchEmbed patch_embed_{nullptr};
  torch::Tensor absolute_pos_embed_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv_after_body_;  // empty for resi_connection "identity"
  std::unique_ptr<SwinIRReconstruction> reconstruction_;
};

}  // namespace uprez
