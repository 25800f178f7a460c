// uprez-diffusion-bench: the SD x4 upscaler's networks at their real size (stabilityai/stable-diffusion-x4-upscaler's
// configs, random seeded weights): time per UNet call with guidance (batch 2), VAE decode, text encoder and peak
// RSS; --write-model writes such networks as a model folder, for end-to-end runs of the uprez program. bench/diffusion_compare.sh runs it beside diffusers on the same machine.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/caching_cpu_allocator.h"
#include "diffusion/text/clip_text_model.h"
#include "diffusion/unet/unet_2d_condition.h"
#include "diffusion/vae/autoencoder_kl.h"
#include "io/safetensors_writer.h"

namespace diffusion_bench {

using nlohmann::json;

json unet_json() {
  return {{"in_channels", 7},
            {"out_channels", 4},
            {"block_out_channels", {256, 512, 512, 1024}},
            {"down_block_types", {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"}},
            {"up_block_types", {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}},
            {"layers_per_block", 2},
            {"attention_head_dim", 8},
            {"cross_attention_dim", 1024},
            {"use_linear_projection", true},
            {"only_cross_attention", {true, true, true, false}},
            {"num_class_embeds", 1000},
            {"norm_num_groups", 32}};
}

json vae_json() {
  return {{"block_out_channels", {128, 256, 512}},
            {"down_block_types", {"DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"}},
            {"up_block_types", {"UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"}},
            {"latent_channels", 4},
            {"layers_per_block", 2},
            {"sample_size", 256},
            {"scaling_factor", 0.08333}};
}

json text_json() {
  return {{"hidden_size", 1024}, {"intermediate_size", 4096}, {"num_hidden_layers", 23},
          {"num_attention_heads", 16}, {"hidden_act", "gelu"}, {"vocab_size", 49408}};
}

uprez::UNetConfig unet_config() { return uprez::UNetConfig::read(uprez::JsonConfig(unet_json(), "x4 unet")); }
uprez::VaeConfig vae_config() { return uprez::VaeConfig::read(uprez::JsonConfig(vae_json(), "x4 vae")); }
uprez::ClipTextConfig text_config() {
  return uprez::ClipTextConfig::read(uprez::JsonConfig(text_json(), "x4 text encoder"));
}

// Seconds per call of `f`: the first call (warm-up) is reported apart from the mean of the others.
template <typename F>
void time_calls(const std::string& label, int calls, F&& f) {
  std::vector<double> seconds;
  for (int i = 0; i < calls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  double rest = 0;
  for (size_t i = 1; i < seconds.size(); ++i) rest += seconds[i];
  const double mean = seconds.size() > 1 ? rest / (seconds.size() - 1) : seconds[0];
  std::cout << label << " " << mean << "  (first " << seconds[0] << ", calls " << calls << ")" << std::endl;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Random weights that keep activations finite (normal, std 0.02; norms stay at 1/0).
void randomize(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    if (p.key().find("norm") != std::string::npos) continue;
    p.value().normal_(0, 0.02);
  }
}

// Writes <dir>/<component>/config.json and its random weights as <weights_name>.
void write_component(const std::string& dir, const std::string& component, json config, torch::nn::Module& module,
                     const std::string& weights_name) {
  randomize(module);
  const std::string folder = dir + "/" + component;
  std::filesystem::create_directories(folder);
  std::ofstream(folder + "/config.json") << config.dump(2);
  uprez::NamedTensors tensors;
  for (const auto& p : module.named_parameters()) tensors.emplace_back(p.key(), p.value());
  uprez::write_safetensors(folder + "/" + weights_name, tensors, {});
}

// The networks of a real-size x4 model folder with random weights (the tokenizer and schedulers are the caller's).
void write_model(const std::string& dir) {
  json unet = unet_json(), vae = vae_json(), text = text_json();
  unet["_class_name"] = "UNet2DConditionModel";
  vae["_class_name"] = "AutoencoderKL";
  text["architectures"] = {"CLIPTextModel"};
  text["model_type"] = "clip_text_model";
  uprez::UNet2DCondition u(unet_config());
  write_component(dir, "unet", unet, *u, "diffusion_pytorch_model.safetensors");
  uprez::AutoencoderKL v(vae_config());
  write_component(dir, "vae", vae, *v, "diffusion_pytorch_model.safetensors");
  uprez::ClipTextModel t(text_config());
  write_component(dir, "text_encoder", text, *t, "model.safetensors");
}

}  // namespace diffusion_bench

int main(int argc, char** argv) {
  CLI::App app{"Times the SD x4 upscaler's networks at their real size (random weights)."};
  int threads = 2, calls = 3;
  std::vector<int64_t> unet_sizes{64}, vae_sizes{64};
  bool text = true;
  app.add_option("--threads", threads, "threads")->capture_default_str();
  app.add_option("--calls", calls, "calls per measurement (the first is warm-up)")->capture_default_str();
  app.add_option("--unet", unet_sizes, "latent sizes for the UNet (batch 2); none: --unet 0")->capture_default_str();
  app.add_option("--vae", vae_sizes, "latent sizes for the VAE decode (output 4x); none: --vae 0")->capture_default_str();
  app.add_option("--text", text, "time the text encoder (two prompts)")->capture_default_str();
  std::string write_model;
  app.add_option("--write-model", write_model,
                 "write the networks of a real-size x4 model folder with random weights here, and stop");
  CLI11_PARSE(app, argc, argv);
  if (!write_model.empty()) {
    torch::manual_seed(0);
    diffusion_bench::write_model(write_model);
    return 0;
  }
  uprez::install_caching_cpu_allocator();
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  torch::InferenceMode inference;
  std::cout << "threads " << threads << std::endl;
  if (text) {
    uprez::ClipTextModel encoder(diffusion_bench::text_config());
    diffusion_bench::randomize(*encoder);
    const torch::Tensor ids = torch::randint(0, 49408, {1, 77}, torch::kLong);
    diffusion_bench::time_calls("text_encoder_s", calls, [&] { encoder->forward(ids); });
  }
  for (int64_t size : unet_sizes) {
    if (size <= 0) continue;
    uprez::UNet2DCondition unet(diffusion_bench::unet_config());
    diffusion_bench::randomize(*unet);
    const torch::Tensor sample = torch::randn({2, 7, size, size});
    const torch::Tensor context = torch::randn({2, 77, 1024});
    const torch::Tensor labels = torch::full({2}, 20, torch::kLong);
    diffusion_bench::time_calls("unet_call_s " + std::to_string(size), calls,
                                [&] { unet->forward(sample, torch::tensor({500}), context, labels); });
  }
  for (int64_t size : vae_sizes) {
    if (size <= 0) continue;
    uprez::AutoencoderKL vae(diffusion_bench::vae_config());
    diffusion_bench::randomize(*vae);
    const torch::Tensor z = torch::randn({1, 4, size, size});
    diffusion_bench::time_calls("vae_decode_s " + std::to_string(size), std::min(calls, 2), [&] { vae->decode(z); });
  }
  std::cout << "peak_rss_mib " << diffusion_bench::peak_rss_mib() << std::endl;
  return 0;
}
