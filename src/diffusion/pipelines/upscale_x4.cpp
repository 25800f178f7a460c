#include "diffusion/pipelines/upscale_x4.h"

#include <algorithm>

#include "core/caching_cpu_allocator.h"
#include "core/error.h"
#include "image/image.h"
#include "image/image_tensor.h"
#include "image/pil_resize.h"

namespace uprez {
namespace upscale_x4 {

// diffusers forces the x4 VAE's scaling factor to this value whatever its config says.
constexpr double kScalingFactor = 0.08333;

// `texts` as one per batch entry: a single text is used for every entry.
std::vector<std::string> per_entry(const std::vector<std::string>& texts, int64_t batch, const char* what) {
  if (texts.size() == 1) return std::vector<std::string>(batch, texts[0]);
  if (static_cast<int64_t>(texts.size()) != batch)
    throw Error(std::string(what) + ": " + std::to_string(texts.size()) + " given for a batch of " +
                std::to_string(batch) + " images");
  return texts;
}

// prompt_embeds.repeat(1, n, 1).view(B * n, L, D): each entry n times in a row.
torch::Tensor repeat_each(const torch::Tensor& embeds, int64_t n) {
  return embeds.repeat({1, n, 1}).view({embeds.size(0) * n, embeds.size(1), -1});
}

}  // namespace upscale_x4

X4UpscalePipeline X4UpscalePipeline::load(const ModelFolder& folder, const DiffusionRuntime& runtime) {
  const std::string pipeline = folder.model_index().value("_class_name", "");
  if (pipeline != "StableDiffusionUpscalePipeline")
    throw Error(folder.root() + ": model_index.json names " + (pipeline.empty() ? "no pipeline" : pipeline) +
                ", not StableDiffusionUpscalePipeline (the x4 upscaler)");
  X4UpscalePipeline p;
  p.runtime_ = runtime;
  p.folder_ = std::make_shared<ModelFolder>(folder);
  p.tokenizer_ = std::make_shared<ClipTokenizer>(ClipTokenizer::load(folder.component_dir("tokenizer")));
  // The text encoder is loaded when prompts are first encoded (prepare_prompts frees it again).
  // Configs are checked now; the weights load at first use, after the prompts (the text encoder's weights are
  // then gone: the two largest networks are never in memory together).
  p.unet_config_ = UNetConfig::read(folder.config("unet"));
  p.vae_config_ = VaeConfig::read(folder.config("vae"));
  p.scheduler_ = make_scheduler(folder.component_class("scheduler"),
                                folder.config("scheduler", "scheduler_config.json"));
  JsonConfig low_res = folder.config("low_res_scheduler", "scheduler_config.json");
  p.low_res_scheduler_ = std::make_shared<DdpmScheduler>(DdpmScheduler::from_config(low_res));
  p.max_noise_level_ = folder.model_index().value("max_noise_level", int64_t{350});
  const bool half = runtime.dtype == torch::kHalf;
  p.vae_dtype_ = half && p.vae_config_.force_upcast ? torch::kFloat32 : runtime.dtype;
  return p;
}

UNet2DCondition& X4UpscalePipeline::unet() {
  if (!unet_) {
    unet_ = load_unet(unet_config_, folder_->weights("unet"), "unet");
    unet_->to(runtime_.device, runtime_.dtype);
  }
  return unet_;
}

AutoencoderKL& X4UpscalePipeline::vae() {
  if (!vae_) {
    vae_ = load_autoencoder_kl(vae_config_, folder_->weights("vae"), "vae");
    vae_->to(runtime_.device, vae_dtype_);
  }
  return vae_;
}

void X4UpscalePipeline::load_networks() {
  unet();
  vae();
}

ClipTextModel& X4UpscalePipeline::text_encoder() {
  if (!text_encoder_) {
    text_encoder_ = load_clip_text_model(ClipTextConfig::read(folder_->config("text_encoder")),
                                         folder_->weights("text_encoder"), "text_encoder");
    text_encoder_->to(runtime_.device, runtime_.dtype);
  }
  return text_encoder_;
}

void X4UpscalePipeline::prepare_prompts(const std::vector<std::string>& texts) {
  torch::InferenceMode inference;
  encode_text(texts);
  text_encoder_ = nullptr;
  release_cached_cpu_memory();
}

// Each text's last hidden state, encoded once (one text at a time: the encoder has no padding mask, so a text's
// embedding does not depend on its batch).
torch::Tensor X4UpscalePipeline::encode_text(const std::vector<std::string>& texts) {
  std::vector<torch::Tensor> embeddings;
  for (const std::string& text : texts) {
    torch::Tensor& cached = text_embeddings_[text];
    if (!cached.defined()) {
      const torch::Tensor ids = torch::tensor(tokenizer_->input_ids(text), torch::kLong).unsqueeze(0);
      cached = text_encoder()->forward(ids.to(runtime_.device)).last_hidden_state;
    }
    embeddings.push_back(cached);
  }
  return torch::cat(embeddings);
}

torch::Tensor X4UpscalePipeline::encode_prompts(const X4Request& r, int64_t batch, bool guidance) {
  torch::Tensor embeds = encode_text(upscale_x4::per_entry(r.prompts, batch, "prompts"));
  embeds = upscale_x4::repeat_each(embeds, r.images_per_prompt);
  if (!guidance) return embeds;
  const std::vector<std::string> negatives = r.negative_prompts.empty()
                                                 ? std::vector<std::string>(batch, "")
                                                 : upscale_x4::per_entry(r.negative_prompts, batch, "negative prompts");
  torch::Tensor uncond = upscale_x4::repeat_each(encode_text(negatives), r.images_per_prompt);
  return torch::cat({uncond, embeds});
}

torch::Tensor X4UpscalePipeline::noised_image(const X4Request& r, NoiseSource& noise, int64_t copies) {
  const torch::Tensor image = r.image.to(torch::kFloat32);
  const torch::Tensor drawn = noise.randn(image.sizes(), "low_res_noise");
  const torch::Tensor level = torch::tensor({r.noise_level}, torch::kLong);
  torch::Tensor noised = low_res_scheduler_->add_noise(image.to(runtime_.device, runtime_.dtype),
                                                       drawn.to(runtime_.device, runtime_.dtype), level.to(runtime_.device));
  return noised.repeat({copies, 1, 1, 1});
}

torch::Tensor X4UpscalePipeline::predict(const torch::Tensor& sample, const torch::Tensor& timestep,
                                         const torch::Tensor& context, const torch::Tensor& labels) {
  // Large latents go through a few batch entries at a time (DiffusionRuntime::unet_map_budget).
  const int64_t batch = sample.size(0);
  const int64_t map_bytes = unet_config_.block_out_channels[0] * sample.size(2) * sample.size(3) * 4;
  const int64_t per_call = std::max<int64_t>(1, runtime_.unet_map_budget / std::max<int64_t>(1, map_bytes));
  if (per_call >= batch) return unet()->forward(sample, timestep, context, labels);
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < batch; first += per_call) {
    const int64_t n = std::min(per_call, batch - first);
    parts.push_back(unet()->forward(sample.narrow(0, first, n), timestep, context.narrow(0, first, n),
                                    labels.narrow(0, first, n)));
  }
  return torch::cat(parts);
}

torch::Tensor X4UpscalePipeline::denoise(const X4Request& r, const torch::Tensor& context, const torch::Tensor& image,
                                         NoiseSource& noise, const StepCallback& on_step, X4Trace* trace) {
  const bool guidance = r.guidance_scale > 1.0;
  const int64_t batch = r.image.size(0) * r.images_per_prompt;
  const int64_t channels = vae_config_.latent_channels;
  torch::Tensor latents = noise.randn({batch, channels, r.image.size(2), r.image.size(3)}, "initial_latents")
                              .to(runtime_.device, runtime_.dtype) *
                          scheduler_->init_noise_sigma();
  const torch::Tensor labels = torch::full({image.size(0)}, r.noise_level, torch::dtype(torch::kLong).device(runtime_.device));
  const std::vector<int64_t>& timesteps = scheduler_->timesteps();
  for (size_t i = 0; i < timesteps.size(); ++i) {
    const int64_t t = timesteps[i];
    torch::Tensor input = scheduler_->scale_model_input(guidance ? torch::cat({latents, latents}) : latents, t);
    const torch::Tensor timestep = torch::tensor({t}, torch::dtype(torch::kLong).device(runtime_.device));
    torch::Tensor prediction = predict(torch::cat({input, image}, 1), timestep, context, labels);
    if (trace && i == 0) trace->first_unet_output = prediction;
    if (guidance) {
      std::vector<torch::Tensor> halves = prediction.chunk(2);
      prediction = halves[0] + r.guidance_scale * (halves[1] - halves[0]);
    }
    latents = scheduler_->step(prediction, t, latents, r.eta, noise);
    if (trace) trace->step_latents.push_back(latents);
    if (on_step) on_step(static_cast<int64_t>(i) + 1, static_cast<int64_t>(timesteps.size()));
  }
  return latents;
}

torch::Tensor X4UpscalePipeline::decode(const torch::Tensor& latents, X4Trace* trace) {
  release_cached_cpu_memory();  // the UNet's freed maps, before the decode's larger ones
  torch::Tensor decoded = vae()->decode(latents.to(vae_dtype_) / upscale_x4::kScalingFactor, runtime_.vae);
  if (trace) trace->decoded = decoded;
  return (decoded.to(torch::kFloat32) / 2 + 0.5).clamp(0, 1).cpu();
}

torch::Tensor X4UpscalePipeline::run(const X4Request& r, NoiseSource& noise, const StepCallback& on_step,
                                     X4Trace* trace) {
  torch::InferenceMode inference;
  if (r.noise_level < 0 || r.noise_level > max_noise_level_)
    throw Error("noise level " + std::to_string(r.noise_level) + " is outside [0, " +
                std::to_string(max_noise_level_) + "] (the model's max_noise_level)");
  if (!r.image.defined() || r.image.dim() != 4 || r.image.size(1) != 3)
    throw Error("x4 upscaler: the image batch must be (B, 3, H, W)");
  if (r.images_per_prompt < 1 || r.steps < 1) throw Error("x4 upscaler: batch size and steps must be at least 1");
  const bool guidance = r.guidance_scale > 1.0;
  const torch::Tensor context = encode_prompts(r, r.image.size(0), guidance);
  if (trace) trace->prompt_embeds = context;
  scheduler_->set_timesteps(r.steps);
  const torch::Tensor image = noised_image(r, noise, (guidance ? 2 : 1) * r.images_per_prompt);
  const torch::Tensor latents = denoise(r, context, image, noise, on_step, trace);
  return decode(latents, trace);
}

int64_t X4UpscalePipeline::decode_bytes(int64_t batch, int64_t height, int64_t width) const {
  const std::vector<int64_t>& channels = vae_config_.block_out_channels;
  const size_t n = channels.size();
  int64_t largest = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t scale = int64_t{1} << std::min(i + 1, n - 1);
    largest = std::max(largest, channels[n - 1 - i] * scale * scale);
  }
  const int64_t element = runtime_.vae.slicing ? 1 : batch;
  return element * largest * height * width * 4 /*bytes*/ * 6 /*live maps, measured*/;
}

torch::Tensor preprocess_x4_image(const Image& image, int64_t multiple) {
  Image storage;
  const Image& rgb = with_layout(image, 3, 8, storage);
  const int width = static_cast<int>(rgb.width - rgb.width % multiple);
  const int height = static_cast<int>(rgb.height - rgb.height % multiple);
  if (width < 1 || height < 1)
    throw Error("image of " + std::to_string(rgb.width) + "x" + std::to_string(rgb.height) +
                " is smaller than the model's multiple of " + std::to_string(multiple));
  const Image resized = pil_resize_8bit(rgb, width, height, PilFilter::Bicubic);
  return image_to_tensor(resized, 0, 3) * 2 - 1;
}

}  // namespace uprez
