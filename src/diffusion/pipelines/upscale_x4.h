// diffusers' StableDiffusionUpscalePipeline (0.32.2) step by step: CLIP prompt embeddings with classifier-free
// guidance, the low-res image noised by the DDPM low_res_scheduler at noise_level, latents of the input's size,
// the UNet with the noise level as class label, the folder's scheduler, VAE decode at 1/0.08333, clamp.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "diffusion/model/model_folder.h"
#include "diffusion/noise_source.h"
#include "diffusion/schedulers/ddpm_scheduler.h"
#include "diffusion/schedulers/scheduler.h"
#include "diffusion/text/clip_text_model.h"
#include "diffusion/text/clip_tokenizer.h"
#include "diffusion/unet/unet_2d_condition.h"
#include "diffusion/vae/autoencoder_kl.h"

namespace uprez {

// Where and in which precision the networks run (the VAE stays float32 for float16 when its config says
// force_upcast, as diffusers does).
struct DiffusionRuntime {
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat32;
  VaeDecodeOptions vae;
  // The most bytes of the UNet's widest map (block_out_channels[0] channels at the latent size) one UNet call may
  // hold: larger latents go through a few batch entries at a time (the guidance pair of a 512 px latent would
  // otherwise hold twice the activations at once); each entry's result is the same.
  int64_t unet_map_budget = int64_t{128} << 20;
};

struct X4Request {
  torch::Tensor image;                         // (B, 3, H, W) float32 in [-1, 1] (preprocess_x4_image)
  std::vector<std::string> prompts;            // one, or one per image
  std::vector<std::string> negative_prompts;   // empty: "" for each; else one, or one per image
  int64_t images_per_prompt = 1;
  int64_t steps = 75;
  double guidance_scale = 9.0;
  int64_t noise_level = 20;
  double eta = 0.0;
};

// What the conformance program compares besides the output.
struct X4Trace {
  torch::Tensor prompt_embeds;             // the UNet's encoder states (uncond first under guidance)
  torch::Tensor first_unet_output;
  std::vector<torch::Tensor> step_latents;
  torch::Tensor decoded;                   // raw VAE output
};

// Called after each denoising step with (steps done, steps in all).
using StepCallback = std::function<void(int64_t, int64_t)>;

class X4UpscalePipeline {
 public:
  // Reads the configs, tokenizer and schedulers of `folder` (an x4 upscaler: model_index _class_name
  // StableDiffusionUpscalePipeline); each network's weights load when it is first needed.
  static X4UpscalePipeline load(const ModelFolder& folder, const DiffusionRuntime& runtime);

  // Encodes `texts` (prompts and negative prompts of every render to come) and frees the text encoder's weights
  // (1.4 GB for the real model); a text not prepared later loads the encoder again.
  void prepare_prompts(const std::vector<std::string>& texts);
  // Loads the UNet's and the VAE's weights now (else at first use), so that their errors come before any render.
  void load_networks();

  // (B * images_per_prompt, 3, 4H, 4W) float32 CPU in [0, 1]. Throws Error for a noise level outside
  // [0, max_noise_level], prompts that do not match the batch, or an image the UNet cannot take.
  torch::Tensor run(const X4Request& request, NoiseSource& noise, const StepCallback& on_step = {},
                    X4Trace* trace = nullptr);

  int64_t max_noise_level() const { return max_noise_level_; }
  // VAE scale factor: inputs are floored to a multiple of it.
  int64_t image_multiple() const { return vae_config_.scale_factor(); }
  void set_scheduler(std::unique_ptr<Scheduler> scheduler) { scheduler_ = std::move(scheduler); }
  const Scheduler& scheduler() const { return *scheduler_; }
  void set_vae_options(const VaeDecodeOptions& options) { runtime_.vae = options; }
  // Bytes the untiled VAE decode of (batch, latents h x w) needs at its peak, estimated.
  int64_t decode_bytes(int64_t batch, int64_t height, int64_t width) const;

 private:
  X4UpscalePipeline() = default;
  torch::Tensor encode_text(const std::vector<std::string>& texts);
  ClipTextModel& text_encoder();
  UNet2DCondition& unet();
  AutoencoderKL& vae();
  torch::Tensor encode_prompts(const X4Request& request, int64_t batch, bool guidance);
  torch::Tensor noised_image(const X4Request& request, NoiseSource& noise, int64_t copies);
  torch::Tensor predict(const torch::Tensor& sample, const torch::Tensor& timestep, const torch::Tensor& context,
                        const torch::Tensor& labels);
  torch::Tensor denoise(const X4Request& request, const torch::Tensor& context, const torch::Tensor& image,
                        NoiseSource& noise, const StepCallback& on_step, X4Trace* trace);
  torch::Tensor decode(const torch::Tensor& latents, X4Trace* trace);

  DiffusionRuntime runtime_;
  std::shared_ptr<ModelFolder> folder_;
  std::shared_ptr<ClipTokenizer> tokenizer_;
  ClipTextModel text_encoder_{nullptr};
  std::map<std::string, torch::Tensor> text_embeddings_;  // (1, L, D) per text, on the device
  UNetConfig unet_config_;
  VaeConfig vae_config_;
  UNet2DCondition unet_{nullptr};
  AutoencoderKL vae_{nullptr};
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<DdpmScheduler> low_res_scheduler_;
  int64_t max_noise_level_ = 350;
  torch::Dtype vae_dtype_ = torch::kFloat32;
};

// diffusers' VaeImageProcessor.preprocess of a PIL image: converted to 8-bit RGB, floored to a multiple of
// `multiple` by Pillow's bicubic resize (byte-exact), then / 255 * 2 - 1: (1, 3, H', W') float32.
torch::Tensor preprocess_x4_image(const struct Image& image, int64_t multiple);

}  // namespace uprez
