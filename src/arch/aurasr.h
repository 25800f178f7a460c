// AuraSR (spandrel id "AuraSR"): GigaGAN's upsampler, a U-Net of style-modulated convolutions (StyleGAN2
// modulation with a per-sample softmax mix of several kernels) driven by a style vector drawn at random, with
// full self-attention transformers at the chosen levels. Its forward draws random numbers (input noise, style
// latent); replay_random_draws substitutes recorded draws for one forward.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "arch/architecture.h"
#include "nn/fast_conv.h"
#include "nn/fast_matmul.h"

namespace uprez {

struct AuraSrStyleNetworkOptions {
  int dim_in = 128;  // size of the random latent
  int dim_out = 512;
  int depth = 4;
};

struct AuraSrOptions {
  int dim = 64;
  int init_dim = 64;  // channels of the last up level (the final block works on `dim`, so equal to dim)
  AuraSrStyleNetworkOptions style_network;
  std::vector<int> up_dim_mults = {1, 2, 4, 8, 16};  // five levels, from the output resolution inwards
  std::vector<int> down_dim_mults = {4, 8, 16};      // one stride-2 level each, paired with the innermost ups
  int channels = 3;
  std::vector<bool> full_attn = {false, false, false, true, true};  // per level, downs use the first ones
  int self_attn_dim_head = 64;
  int self_attn_heads = 8;
  std::vector<int> attn_depths = {2, 2, 2, 2, 4};
  int mid_attn_depth = 4;
  int num_conv_kernels = 4;  // kernels each modulated conv mixes (must be > 1)
  double skip_connect_scale = 0.4;
};

class AuraStyleNetwork;
class AuraResnetBlock;
class AuraTransformer;
class AuraDownStage;
class AuraUpStage;

class AuraSrNetwork : public Network {
 public:
  explicit AuraSrNetwork(const AuraSrOptions& options);
  torch::Tensor forward(torch::Tensor x) override;
  void replay_random_draws(std::vector<torch::Tensor> draws) override;

 private:
  // The next standard normal draw of `shape`: a replayed one while any are left, else torch::randn.
  torch::Tensor draw_normal(torch::IntArrayRef shape, const torch::TensorOptions& options);

  AuraSrOptions options_;
  std::vector<torch::Tensor> replayed_draws_;
  size_t next_replayed_draw_ = 0;
  std::vector<int64_t> style_embed_split_dims_;  // modulation sizes, in the order the blocks consume them
  std::shared_ptr<AuraStyleNetwork> style_network_;
  FastConv2d init_conv_{nullptr};
  std::vector<std::shared_ptr<AuraDownStage>> downs_;
  std::shared_ptr<AuraResnetBlock> mid_block1_;
  std::shared_ptr<AuraTransformer> mid_attn_;
  std::shared_ptr<AuraResnetBlock> mid_block2_;
  std::vector<std::shared_ptr<AuraUpStage>> ups_;
  std::shared_ptr<AuraResnetBlock> final_res_block_;
  FastConv2d final_to_rgb_{nullptr};
  FastLinear style_to_conv_modulations_{nullptr};
};

extern const Architecture kAuraSrArchitecture;

}  // namespace uprez
