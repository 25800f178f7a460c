// Compares FastConv2d (oneDNN, blocked activations, Winograd) with LibTorch's default NCHW convolutions on a
// single 64->64 3x3 layer, SRVGGNetCompact and ESRGAN's RRDBNet, with random weights (timing and accuracy only).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "nn/fast_conv.h"

namespace {

using uprez::FastConv2d;
using uprez::FeatureMap;
using uprez::PostOps;

double seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process: with OMP_WAIT_POLICY=passive (no spinning) it measures the work done even when
// other processes share the cores; divided by the thread count it approximates the wall time on idle cores.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs each variant once (first call: primitive creation, weight reordering), then `repeats` rounds that
// alternate between variants so that load from other processes hits all of them alike; prints medians.
void compare(const std::vector<std::pair<std::string, std::function<torch::Tensor()>>>& variants, int repeats) {
  std::vector<std::vector<double>> times(variants.size()), cpu_times(variants.size());
  std::vector<torch::Tensor> outputs;
  for (const auto& variant : variants) {
    torch::Tensor out;
    const double first = seconds([&] { out = variant.second(); });
    outputs.push_back(out);
    std::printf("  %-34s first call %8.1f ms\n", variant.first.c_str(), first * 1e3);
  }
  for (int r = 0; r < repeats; ++r)
    for (size_t i = 0; i < variants.size(); ++i) {
      const double cpu_start = cpu_seconds();
      times[i].push_back(seconds([&] { variants[i].second(); }));
      cpu_times[i].push_back(cpu_seconds() - cpu_start);
    }
  const double base = median(times[0]);
  std::printf("  (max |output| of the first variant: %.3g)\n", outputs[0].abs().max().item<double>());
  for (size_t i = 0; i < variants.size(); ++i) {
    const double error = outputs[i].sizes() == outputs[0].sizes()
                             ? (outputs[i] - outputs[0]).abs().max().item<double>()
                             : std::nan("");  // a blocked result
    std::printf("  %-34s median %8.1f ms (min %8.1f)  speed-up %.2fx  cpu %8.1f ms (%.2fx)  max |diff| vs first %.2e\n",
                variants[i].first.c_str(), median(times[i]) * 1e3,
                *std::min_element(times[i].begin(), times[i].end()) * 1e3, base / median(times[i]),
                median(cpu_times[i]) * 1e3, median(cpu_times[0]) / median(cpu_times[i]), error);
  }
}

torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t factor) {
  namespace F = torch::nn::functional;
  const auto f = static_cast<double>(factor);
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{f, f}).mode(torch::kNearest));
}

// ---- SRVGGNetCompact ----

struct Compact {
  std::vector<FastConv2d> convs;  // the weights; the plain path calls torch::conv2d on them directly
  std::vector<torch::Tensor> slopes;
  int64_t scale;

  Compact(int64_t features, int64_t layers, int64_t scale_) : scale(scale_) {
    int64_t in = 3;
    for (int64_t i = 0; i <= layers; ++i) {
      convs.emplace_back(in, features, 3, 1, 1);
      slopes.push_back(torch::full({features}, 0.25) + 0.05 * torch::randn({features}));
      in = features;
    }
    convs.emplace_back(features, 3 * scale * scale, 3, 1, 1);
  }

  torch::Tensor torch_forward(const torch::Tensor& x, bool channels_last) const {
    torch::Tensor h = channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
    for (size_t i = 0; i < convs.size(); ++i) {
      h = torch::conv2d(h, convs[i]->weight, convs[i]->bias, 1, 1);
      if (i < slopes.size()) h = torch::prelu(h, slopes[i]);
    }
    return torch::pixel_shuffle(h, scale).add_(upscale_nearest(x, scale));
  }

  torch::Tensor fast_forward(const torch::Tensor& x) const {
    FeatureMap h(x);
    for (size_t i = 0; i < convs.size(); ++i)
      h = convs[i]->run(h, i < slopes.size() ? PostOps().prelu(slopes[i]) : PostOps());
    return torch::pixel_shuffle(h.to_tensor(), scale).add_(upscale_nearest(x, scale));
  }
};

// ---- ESRGAN RRDBNet (old layout: conv_first, RRDB trunk, trunk conv, 2x upconv, HR conv, last conv) ----

constexpr double kSlope = 0.2;

struct Esrgan {
  FastConv2d first{3, 64, 3, 1, 1}, trunk{64, 64, 3, 1, 1}, up1{64, 64, 3, 1, 1}, up2{64, 64, 3, 1, 1},
      hr{64, 64, 3, 1, 1}, last{64, 3, 3, 1, 1};
  std::vector<std::vector<FastConv2d>> dense;  // [block * 3 + rdb][conv]

  explicit Esrgan(int blocks) {
    for (int b = 0; b < blocks * 3; ++b) {
      std::vector<FastConv2d> convs;
      for (int i = 0; i < 5; ++i) convs.emplace_back(64 + 32 * i, i == 4 ? 64 : 32, 3, 1, 1);
      dense.push_back(std::move(convs));
    }
  }

  static torch::Tensor conv(const FastConv2d& c, const torch::Tensor& x) {
    return torch::conv2d(x, c->weight, c->bias, 1, 1);
  }
  static torch::Tensor lrelu(const torch::Tensor& x) { return torch::leaky_relu(x, kSlope); }

  torch::Tensor torch_forward(const torch::Tensor& x) const {
    const torch::Tensor fea = conv(first, x);
    torch::Tensor h = fea;
    for (size_t r = 0; r < dense.size(); r += 3) {
      torch::Tensor block_in = h;
      for (size_t k = r; k < r + 3; ++k) {
        std::vector<torch::Tensor> features{h};
        for (int i = 0; i < 4; ++i) features.push_back(lrelu(conv(dense[k][i], torch::cat(features, 1))));
        h = conv(dense[k][4], torch::cat(features, 1)) * 0.2 + h;
      }
      h = h * 0.2 + block_in;
    }
    h = fea + conv(trunk, h);
    h = lrelu(conv(up1, upscale_nearest(h, 2)));
    h = lrelu(conv(up2, upscale_nearest(h, 2)));
    return conv(last, lrelu(conv(hr, h)));
  }

  // The dense block writes every output into a channel slice of one buffer (no concatenation copies) and fuses
  // the scaled residual into its last convolution.
  torch::Tensor fast_forward(const torch::Tensor& x) const {
    const FeatureMap fea = first->run(FeatureMap(x));
    FeatureMap buffer = FeatureMap::empty_like(fea, 64 + 4 * 32);
    FeatureMap h = fea;
    for (size_t r = 0; r < dense.size(); r += 3) {
      const FeatureMap block_in = h;
      for (size_t k = r; k < r + 3; ++k) {
        buffer.narrow_channels(0, 64).copy_(h);
        for (int i = 0; i < 4; ++i)
          dense[k][i]->run_into(buffer.narrow_channels(0, 64 + 32 * i), buffer.narrow_channels(64 + 32 * i, 32),
                                PostOps().leaky_relu(kSlope));
        h = dense[k][4]->run(buffer, PostOps().scale(0.2).add(h));
      }
      h = block_in.add(h, 0.2);
    }
    h = trunk->run(h, PostOps().add(fea));
    h = up1->run(h.upsample_nearest(2), PostOps().leaky_relu(kSlope));
    h = up2->run(h.upsample_nearest(2), PostOps().leaky_relu(kSlope));
    return last->run(hr->run(h, PostOps().leaky_relu(kSlope))).to_tensor();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"FastConv2d against LibTorch's convolutions"};
  int threads = 2, size = 256, repeats = 5, blocks = 23, features = 64, layers = 16;
  std::vector<std::string> models{"conv", "compact", "esrgan"};
  app.add_option("--threads", threads, "at::set_num_threads (oneDNN follows it)");
  app.add_option("--size", size, "input height and width");
  app.add_option("--repeats", repeats, "timed rounds per variant");
  app.add_option("--models", models, "conv, compact, esrgan");
  app.add_option("--blocks", blocks, "ESRGAN RRDB blocks");
  app.add_option("--features", features, "Compact features");
  app.add_option("--layers", layers, "Compact body convolutions");
  CLI11_PARSE(app, argc, argv);

  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  at::set_num_threads(threads);
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  std::printf("threads %d, input %dx%d, %d rounds\n", at::get_num_threads(), size, size, repeats);
  for (const std::string& model : models) {
    if (model == "conv") {
      FastConv2d conv(64, 64, 3, 1, 1);
      const torch::Tensor x = torch::rand({1, 64, size, size});
      const torch::Tensor slopes = torch::full({64}, 0.25);
      const FeatureMap map(x);
      std::printf("conv 64->64 3x3 + PReLU\n");
      compare({{"torch NCHW", [&] { return torch::prelu(torch::conv2d(x, conv->weight, conv->bias, 1, 1), slopes); }},
               {"FastConv2d forward (NCHW in/out)", [&] { return conv->forward(x, PostOps().prelu(slopes)); }},
               {"FastConv2d run (blocked)", [&] { return conv->run(map, PostOps().prelu(slopes)).data(); }},
               {"FastConv2d run (blocked), no PReLU", [&] { return conv->run(map).data(); }},
               {"FastConv2d run (blocked), fused ReLU", [&] { return conv->run(map, PostOps().relu()).data(); }}},
              repeats);
      const torch::Tensor reference = torch::conv2d(x.to(torch::kDouble), conv->weight.to(torch::kDouble),
                                                    conv->bias.to(torch::kDouble), 1, 1);
      const double direct = (torch::conv2d(x, conv->weight, conv->bias, 1, 1) - reference).abs().max().item<double>();
      const double fast = (conv->forward(x) - reference).abs().max().item<double>();
      std::printf("  max |error| vs float64: torch %.2e, FastConv2d (%s) %.2e, |output| max %.2f\n", direct,
                  conv->last_implementation().c_str(), fast, reference.abs().max().item<double>());
    } else if (model == "compact") {
      Compact net(features, layers, 4);
      const torch::Tensor x = torch::rand({1, 3, size, size});
      std::printf("Compact %d features x %d convolutions, x4\n", features, layers);
      compare({{"torch NCHW", [&] { return net.torch_forward(x, false); }},
               {"torch channels_last", [&] { return net.torch_forward(x, true); }},
               {"FastConv2d + FeatureMap", [&] { return net.fast_forward(x); }}},
              repeats);
    } else if (model == "esrgan") {
      Esrgan net(blocks);
      const torch::Tensor x = torch::rand({1, 3, size, size});
      std::printf("ESRGAN RRDBNet 64 features x %d blocks, x4\n", blocks);
      compare({{"torch NCHW", [&] { return net.torch_forward(x); }},
               {"FastConv2d + FeatureMap", [&] { return net.fast_forward(x); }}},
              repeats);
    }
  }
  return 0;
}
