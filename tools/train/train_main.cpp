// uprez-train: trains uprez's built-in Compact model on the CPU from photos in local folders (see recipe.sh)
// and exports it as .safetensors with the recipe in its metadata.
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "image_set.h"
#include "patch_sampler.h"
#include "trainer.h"

namespace train_main {

using uprez::train::PatchSampler;
using uprez::train::SamplerOptions;
using uprez::train::TrainOptions;

struct Settings {
  std::vector<std::string> data;
  std::string output, checkpoint;
  bool resume = false, half = false;
  int max_side = 0, threads = 2, log_every = 100, checkpoint_every = 5000;
  TrainOptions train;
  SamplerOptions sampler;
};

// Everything that decides the result, for the exported file's "__metadata__".
nlohmann::json recipe(const Settings& s, size_t image_count, int64_t steps_done) {
  const auto& d = s.sampler.degradation;
  return {
      {"architecture", "Compact"},
      {"num_feat", s.train.features},
      {"num_conv", s.train.convs},
      {"upscale", s.train.scale},
      {"act_type", "prelu"},
      {"data", s.data},
      {"images", image_count},
      {"max_side", s.max_side},
      {"patch_size", s.sampler.patch_size},
      {"batch_size", s.sampler.batch_size},
      {"min_patch_std", s.sampler.min_patch_std},
      {"degradation",
       {{"downsampling", "bicubic (antialiased, a=-0.5)"},
        {"blur_probability", d.blur_probability},
        {"blur_sigma_max", d.blur_sigma_max},
        {"noise_probability", d.noise_probability},
        {"noise_sigma_max", d.noise_sigma_max},
        {"jpeg_probability", d.jpeg_probability},
        {"jpeg_quality_min", d.jpeg_quality_min}}},
      {"loss", "L1 + edge_weight * L1(image gradients)"},
      {"edge_weight", s.train.edge_weight},
      {"optimizer", "Adam(betas=0.9,0.99)"},
      {"schedule", "cosine"},
      {"learning_rate", s.train.learning_rate},
      {"min_learning_rate", s.train.min_learning_rate},
      {"steps", s.train.steps},
      {"steps_done", steps_done},
      {"seed", s.train.seed},
      {"trainer", "uprez-train (LibTorch " TORCH_VERSION ")"},
  };
}

std::vector<torch::Tensor> load_images(const Settings& s) {
  const int min_side = PatchSampler::min_image_side(s.sampler);
  std::vector<torch::Tensor> images;
  double megapixels = 0;
  for (const std::string& path : uprez::train::find_image_files(s.data)) {
    torch::Tensor image;
    try {
      image = uprez::train::load_training_image(path, s.max_side);
    } catch (const uprez::Error& e) {
      std::cerr << "uprez-train: skipping " << e.what() << "\n";
      continue;
    }
    if (image.size(1) < min_side || image.size(2) < min_side) {
      std::cerr << "uprez-train: skipping " << path << " (smaller than " << min_side << " pixels)\n";
      continue;
    }
    megapixels += static_cast<double>(image.size(1) * image.size(2)) / 1e6;
    images.push_back(std::move(image));
  }
  std::cout << "data: " << images.size() << " images, " << std::fixed << std::setprecision(1) << megapixels
            << " megapixels\n";
  return images;
}

void train(const Settings& s) {
  torch::set_num_threads(s.threads);
  const std::vector<torch::Tensor> images = load_images(s);
  const size_t image_count = images.size();
  const PatchSampler sampler(images, s.sampler);
  uprez::train::Trainer trainer(s.train);
  if (s.resume && std::filesystem::exists(s.checkpoint)) {
    trainer.load_checkpoint(s.checkpoint);
    std::cout << "resumed from " << s.checkpoint << " at step " << trainer.steps_done() << "\n";
  }
  const auto metadata = [&] {
    return std::map<std::string, std::string>{{"format", "pt"},
                                              {"uprez.recipe", recipe(s, image_count, trainer.steps_done()).dump()}};
  };

  double loss_sum = 0;
  int64_t logged_steps = 0;
  auto last_log = std::chrono::steady_clock::now();
  while (trainer.steps_done() < s.train.steps) {
    loss_sum += trainer.step(sampler.batch(trainer.steps_done()));
    ++logged_steps;
    const int64_t done = trainer.steps_done();
    if (done % s.log_every == 0 || done == s.train.steps) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - last_log).count();
      std::cout << "step " << done << "/" << s.train.steps << "  loss " << std::setprecision(5)
                << loss_sum / logged_steps << "  lr " << std::scientific << std::setprecision(2)
                << uprez::train::cosine_learning_rate(s.train, done - 1) << std::fixed << std::setprecision(2) << "  "
                << logged_steps / seconds << " steps/s  " << logged_steps * s.sampler.batch_size / seconds
                << " patches/s" << std::endl;
      loss_sum = 0;
      logged_steps = 0;
      last_log = now;
    }
    if (done % s.checkpoint_every == 0 && done < s.train.steps) {
      trainer.save_checkpoint(s.checkpoint);
      trainer.export_model(s.output, s.half, metadata());
    }
  }
  trainer.export_model(s.output, s.half, metadata());
  std::cout << "wrote " << s.output << "\n";
}

}  // namespace train_main

int main(int argc, char** argv) {
  CLI::App app{"Train uprez's built-in Compact super-resolution model on the CPU."};
  train_main::Settings s;
  auto& d = s.sampler.degradation;
  app.add_option("data", s.data, "Training image files or folders (searched recursively).")->required();
  app.add_option("-o,--output", s.output, "The .safetensors file to write.")->required();
  app.add_option("--checkpoint", s.checkpoint, "Resumable checkpoint (default: <output>.ckpt).");
  app.add_flag("--resume", s.resume, "Continue from --checkpoint when it exists.");
  app.add_flag("--fp16", s.half, "Store the weights as float16.");
  app.add_option("--features", s.train.features, "Compact width (num_feat).")->capture_default_str();
  app.add_option("--convs", s.train.convs, "Compact depth (num_conv).")->capture_default_str();
  app.add_option("--scale", s.train.scale, "Upscaling factor.")->capture_default_str()->check(CLI::Range(1, 8));
  app.add_option("--patch", s.sampler.patch_size, "HR patch side (a multiple of the scale).")->capture_default_str();
  app.add_option("--batch", s.sampler.batch_size, "Patches per step.")->capture_default_str();
  app.add_option("--min-patch-std", s.sampler.min_patch_std, "Redraw crops flatter than this gray std (0-1).")
      ->capture_default_str();
  app.add_option("--steps", s.train.steps, "Optimizer steps.")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--lr", s.train.learning_rate, "Initial learning rate.")->capture_default_str();
  app.add_option("--min-lr", s.train.min_learning_rate, "Final learning rate.")->capture_default_str();
  app.add_option("--edge-weight", s.train.edge_weight, "Weight of the image-gradient L1 term.")->capture_default_str();
  app.add_option("--seed", s.train.seed, "Seed of the initialisation and the patch order.")->capture_default_str();
  app.add_option("--max-side", s.max_side, "Shrink training images to this longer side (0: keep).")
      ->capture_default_str();
  app.add_option("--blur-prob", d.blur_probability, "Chance of Gaussian blur before down-sampling.")
      ->capture_default_str();
  app.add_option("--blur-sigma", d.blur_sigma_max, "Largest blur sigma, HR pixels (<= 2).")->capture_default_str();
  app.add_option("--noise-prob", d.noise_probability, "Chance of Gaussian noise on the LR patch.")
      ->capture_default_str();
  app.add_option("--noise-sigma", d.noise_sigma_max, "Largest noise sigma, 8-bit levels.")->capture_default_str();
  app.add_option("--jpeg-prob", d.jpeg_probability, "Chance of a JPEG round trip of the LR patch.")
      ->capture_default_str();
  app.add_option("--jpeg-quality", d.jpeg_quality_min, "Lowest JPEG quality (up to 95).")->capture_default_str();
  app.add_option("--threads", s.threads, "CPU threads.")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--log-every", s.log_every, "Steps between progress lines.")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--checkpoint-every", s.checkpoint_every, "Steps between checkpoints.")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (s.checkpoint.empty()) s.checkpoint = s.output + ".ckpt";
  s.sampler.seed = s.train.seed;
  d.scale = s.train.scale;
  try {
    train_main::train(s);
  } catch (const std::exception& e) {
    std::cerr << "uprez-train: error: " << uprez::one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}
