// uprez-bench: times a model's forward pass (the descriptor call, untiled) on a random input and prints output
// megapixels per second, for comparisons with PyTorch on the same weights (bench/pytorch_compare.sh). With
// --param, --model is an NCNN .bin and its graph runs on uprez's NCNN runtime (bench/ncnn_compare.sh).
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "arch/architecture.h"
#include "core/caching_cpu_allocator.h"
#include "core/device.h"
#include "core/error.h"
#include "io/model_file.h"
#include "ncnn/net.h"
#include "ncnn/upscale_graph.h"

namespace {

// What is timed: a forward pass from a (1, c, h, w) input, with the model's name, scale and input channels.
struct Timed {
  std::string name;
  int scale = 1;
  int input_channels = 3;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
};

Timed pytorch_model(const std::string& path, const std::string& device, const std::string& dtype) {
  auto model = std::make_shared<uprez::Model>(uprez::load_model(uprez::load_state_dict(path), path));
  model->to(uprez::parse_device(device), uprez::parse_dtype(dtype));
  return {model->info.architecture_id, model->info.scale, model->info.input_channels,
          [model](const torch::Tensor& x) { return (*model)(x); }};
}

Timed ncnn_model(const std::string& bin_path, const std::string& param_path) {
  namespace ncnn = uprez::ncnn;
  const ncnn::UpscaleGraph graph = ncnn::describe_upscale_graph(ncnn::read_param_file(param_path), param_path);
  auto net = std::make_shared<ncnn::Net>(ncnn::Net::load(param_path, bin_path));
  return {"ncnn", graph.scale, graph.input_channels, [net](const torch::Tensor& x) {
            torch::NoGradGuard no_grad;
            return net->run(x[0], net->default_input(), net->default_output()).unsqueeze(0);
          }};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time a model's forward pass."};
  std::string model_path, param_path, device = "cpu", dtype = "float32";
  int size = 256, threads = 0, iterations = 5;
  app.add_option("--model", model_path, "Model file (with --param: the NCNN .bin).")->required();
  app.add_option("--param", param_path, "An NCNN .param file: time the NCNN graph (CPU, float32).");
  app.add_option("--size", size, "Input width and height.")->check(CLI::Range(1, 8192));
  app.add_option("--threads", threads, "CPU threads (default: LibTorch's).")->check(CLI::Range(1, 1024));
  app.add_option("--iterations", iterations, "Timed runs after one warm-up.")->check(CLI::Range(1, 1000));
  app.add_option("--device", device, "cpu, cuda, cuda:N.");
  app.add_option("--dtype", dtype, "float32, float16, bfloat16.");
  CLI11_PARSE(app, argc, argv);
  try {
    uprez::install_caching_cpu_allocator();  // as the uprez program runs
    if (threads > 0) torch::set_num_threads(threads);
    const Timed model = param_path.empty() ? pytorch_model(model_path, device, dtype) : ncnn_model(model_path, param_path);
    const torch::Device target = param_path.empty() ? uprez::parse_device(device) : torch::Device(torch::kCPU);
    torch::manual_seed(0);
    const torch::Tensor input = torch::rand({1, model.input_channels, size, size});
    auto run_once = [&] {
      torch::Tensor out = model.forward(input);
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
    const double megapixels = double(size) * model.scale * size * model.scale / 1e6;
    std::cout << "uprez " << model.name << " x" << model.scale << " " << size << "x" << size
              << " threads=" << torch::get_num_threads() << " median=" << median << "s output_MPps="
              << megapixels / median << "\n";
  } catch (const std::exception& e) {
    std::cerr << "uprez-bench: error: " << uprez::one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}
