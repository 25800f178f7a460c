// AutoencoderKL: encoder + quant_conv to a diagonal Gaussian posterior, post_quant_conv + decoder back to pixels;
// decoding one image at a time (slicing) or in overlapping latent tiles blended linearly (tiling), as diffusers'
// enable_vae_slicing / enable_vae_tiling do.
#pragma once
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "diffusion/vae/vae_config.h"
#include "diffusion/vae/vae_decoder.h"
#include "diffusion/vae/vae_encoder.h"
#include "io/state_dict.h"
#include "nn/fast_conv.h"

namespace uprez {

struct VaeDecodeOptions {
  bool slicing = false;  // one batch entry at a time
  bool tiling = false;   // overlapping tiles of tile_latent_size latents (diffusers' tiled_decode)
};

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const VaeConfig& config);
  // Latents (already divided by the scaling factor) to pixels in about [-1, 1].
  torch::Tensor decode(const torch::Tensor& z, const VaeDecodeOptions& options = {});
  // Pixels in [-1, 1] to the posterior's (mean, logvar) concatenated on channels.
  torch::Tensor encode_moments(const torch::Tensor& x);
  const VaeConfig& config() const { return config_; }
  // diffusers' tile sizes: tile_sample_min_size = sample_size, latent = sample_size / scale, overlap 1/4.
  int64_t tile_latent_size() const;
  int64_t tile_sample_size() const { return config_.sample_size; }

  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  FastConv2d quant_conv{nullptr}, post_quant_conv{nullptr};

 private:
  torch::Tensor decode_whole(const torch::Tensor& z);
  torch::Tensor decode_tiled(const torch::Tensor& z);

  VaeConfig config_;
};
TORCH_MODULE(AutoencoderKL);

// The model with `weights` loaded (weights named as diffusers saves them; the attention names of checkpoints
// saved before diffusers 0.14 - query/key/value/proj_attn - are renamed). Throws Error naming `what` and the key.
AutoencoderKL load_autoencoder_kl(const VaeConfig& config, StateDict weights, const std::string& what);

}  // namespace uprez
