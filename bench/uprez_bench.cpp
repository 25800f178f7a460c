// uprez-bench: times a model's forward pass (the descriptor call, untiled) on a random input and prints output
// megapixels per second, for comparisons with PyTorch on the same weights (bench/pytorch_compare.sh).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "arch/architecture.h"
#include "core/device.h"
#include "core/error.h"
#include "io/model_file.h"

int main(int argc, char** argv) {
  CLI::App app{"Time a model's forward pass."};
  std::string model_path, device = "cpu", dtype = "float32";
  int size = 256, threads = 0, iterations = 5;
  app.add_option("--model", model_path, "Model file.")->required();
  app.add_option("--size", size, "Input width and height.")->check(CLI::Range(1, 8192));
  app.add_option("--threads", threads, "CPU threads (default: LibTorch's).")->check(CLI::Range(1, 1024));
  app.add_option("--iterations", iterations, "Timed runs after one warm-up.")->check(CLI::Range(1, 1000));
  app.add_option("--device", device, "cpu, cuda, cuda:N.");
  app.add_option("--dtype", dtype, "float32, float16, bfloat16.");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) torch::set_num_threads(threads);
    uprez::Model model = uprez::load_model(uprez::load_state_dict(model_path), model_path);
    const torch::Device target = uprez::parse_device(device);
    model.to(target, uprez::parse_dtype(dtype));
    torch::manual_seed(0);
    const torch::Tensor input = torch::rand({1, model.info.input_channels, size, size});
    auto run_once = [&] {
      torch::Tensor out = model(input);
      if (target.is_cuda()) out = out.cpu();  // synchronises
      return out;
    };
    run_once();
    std::vector<double> seconds;
    for (int i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      run_once();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    const double megapixels = double(size) * model.info.scale * size * model.info.scale / 1e6;
    std::cout << "uprez " << model.info.architecture_id << " x" << model.info.scale << " " << size << "x" << size
              << " threads=" << torch::get_num_threads() << " median=" << median << "s output_MPps="
              << megapixels / median << "\n";
  } catch (const std::exception& e) {
    std::cerr << "uprez-bench: error: " << uprez::one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}
