// uprez-evaluate: the built-in model's benchmark. For held-out photos it makes LR inputs by bicubic
// down-sampling, upscales them with bicubic, Lanczos and optionally a model, and prints a markdown table of
// PSNR and SSIM on the Y channel against the originals.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "arch/architecture.h"
#include "core/error.h"
#include "degradation.h"
#include "image/resize.h"
#include "image_set.h"
#include "io/model_file.h"
#include "metrics.h"
#include "tiling/tiler.h"

namespace evaluate_main {

using uprez::train::quantize_8bit;

struct Settings {
  std::vector<std::string> inputs;
  std::string model_path, markdown_path;
  int scale = 4, border = -1, threads = 2;
  uprez::TileOptions tiles{0, 32, 1};
};

struct Score {
  double psnr = 0, ssim = 0;
};

struct Row {
  std::string name;
  int64_t width = 0, height = 0;
  std::vector<Score> scores;  // one per method
};

// The model's upscale of a (1, 3, h, w) input, untiled or through uprez's seamless tiler.
torch::Tensor run_model(const uprez::Model& model, const torch::Tensor& lr, const uprez::TileOptions& tiles) {
  if (tiles.tile == 0) return model(lr);
  const int scale = model.info.scale;
  torch::Tensor output = torch::empty({1, model.info.output_channels, lr.size(2) * scale, lr.size(3) * scale});
  uprez::run_tiled(
      lr, scale, tiles, [&](const torch::Tensor& tile) { return model(tile); },
      [&](int y0, const torch::Tensor& rows) { output[0].narrow(1, y0, rows.size(1)).copy_(rows); });
  return output;
}

std::string format(double value, int decimals, bool sign = false) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(decimals) << (sign ? std::showpos : std::noshowpos) << value;
  return text.str();
}

std::string markdown(const Settings& s, const std::vector<std::string>& methods, const std::vector<Row>& rows) {
  const bool with_model = methods.size() > 2;  // bicubic, Lanczos, model: the last column compares model and bicubic
  std::ostringstream out;
  out << "| image | size |";
  for (const std::string& method : methods) out << " " << method << " PSNR | " << method << " SSIM |";
  if (with_model) out << " gain over bicubic (dB) |";
  out << "\n|---|---|";
  for (size_t i = 0; i < methods.size(); ++i) out << "---:|---:|";
  if (with_model) out << "---:|";
  out << "\n";
  std::vector<Score> mean(methods.size());
  const auto line = [&](const std::string& name, const std::string& size, const std::vector<Score>& scores) {
    out << "| " << name << " | " << size << " |";
    for (const Score& score : scores) out << " " << format(score.psnr, 2) << " | " << format(score.ssim, 4) << " |";
    if (with_model) out << " " << format(scores.back().psnr - scores.front().psnr, 2, true) << " |";
    out << "\n";
  };
  for (const Row& row : rows) {
    line(row.name, std::to_string(row.width) + "×" + std::to_string(row.height), row.scores);
    for (size_t i = 0; i < methods.size(); ++i) {
      mean[i].psnr += row.scores[i].psnr / static_cast<double>(rows.size());
      mean[i].ssim += row.scores[i].ssim / static_cast<double>(rows.size());
    }
  }
  line("**average**", "", mean);
  out << "\nPSNR (dB) and SSIM on the Y channel (BT.601, Y in [16, 235]), " << s.border
      << " pixels cropped from every border. Originals are cropped to a multiple of " << s.scale
      << "; LR inputs are bicubic ×" << s.scale
      << " down-sampled (antialiased, a = -0.5, PIL-style) and rounded to 8 bits; every output is rounded to 8 bits.\n";
  return out.str();
}

void evaluate(Settings s) {
  torch::set_num_threads(s.threads);
  std::optional<uprez::Model> model;
  std::vector<std::string> methods = {"bicubic", "Lanczos"};
  if (!s.model_path.empty()) {
    model = uprez::load_model(uprez::load_state_dict(s.model_path), s.model_path);
    if (model->info.input_channels != 3 || model->info.output_channels != 3)
      throw uprez::Error(s.model_path + ": the benchmark needs an RGB model");
    s.scale = model->info.scale;
    s.tiles.align = model->info.size_requirements.multiple_of;
    methods.push_back(std::filesystem::path(s.model_path).stem().string());
    std::cerr << s.model_path << ": " << model->info.architecture_id << " x" << model->info.scale << " "
              << model->info.hyperparameters.dump() << "\n";
  }
  if (s.border < 0) s.border = s.scale;

  std::vector<Row> rows;
  for (const std::string& path : uprez::train::find_image_files(s.inputs)) {
    torch::Tensor hr = uprez::train::read_rgb(path);
    hr = hr.slice(2, 0, hr.size(2) / s.scale * s.scale).slice(3, 0, hr.size(3) / s.scale * s.scale);
    const int height = static_cast<int>(hr.size(2)), width = static_cast<int>(hr.size(3));
    const torch::Tensor lr = quantize_8bit(uprez::train::bicubic_downscale(hr, s.scale));
    std::vector<torch::Tensor> outputs = {
        quantize_8bit(uprez::resize(lr, width, height, uprez::ResizeFilter::Bicubic)),
        quantize_8bit(uprez::resize(lr, width, height, uprez::ResizeFilter::Lanczos))};
    if (model) {
      const auto start = std::chrono::steady_clock::now();
      outputs.push_back(quantize_8bit(run_model(*model, lr, s.tiles)));
      std::cerr << path << ": model "
                << format(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 3) << " s\n";
    }
    Row row{std::filesystem::path(path).stem().string(), width, height, {}};
    for (const torch::Tensor& output : outputs)
      row.scores.push_back({uprez::train::psnr_y(output, hr, s.border), uprez::train::ssim_y(output, hr, s.border)});
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw uprez::Error("no images to evaluate");
  const std::string table = markdown(s, methods, rows);
  std::cout << table;
  if (!s.markdown_path.empty()) {
    std::ofstream file(s.markdown_path);
    file << table;
    if (!file) throw uprez::Error(s.markdown_path + ": cannot write the table");
  }
}

}  // namespace evaluate_main

int main(int argc, char** argv) {
  CLI::App app{"Benchmark bicubic, Lanczos and a model on held-out photos (PSNR/SSIM on Y)."};
  evaluate_main::Settings s;
  app.add_option("images", s.inputs, "Image files or folders (searched recursively).")->required();
  app.add_option("--model", s.model_path, "Model file (any format uprez reads).");
  app.add_option("--scale", s.scale, "Scale without a model (a model's own scale wins).")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  app.add_option("--border", s.border, "Pixels cropped from every border before measuring (default: the scale).");
  app.add_option("--tile", s.tiles.tile, "Tile size for the model (0: untiled).")->capture_default_str();
  app.add_option("--overlap", s.tiles.overlap, "Tile overlap.")->capture_default_str();
  app.add_option("--threads", s.threads, "CPU threads.")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--markdown", s.markdown_path, "Also write the table to this file.");
  CLI11_PARSE(app, argc, argv);
  try {
    evaluate_main::evaluate(s);
  } catch (const std::exception& e) {
    std::cerr << "uprez-evaluate: error: " << uprez::one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}
