#include "processors/upscaler_ncnn.h"

#include <filesystem>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "core/error.h"
#include "ncnn/input_framing.h"
#include "ncnn/net.h"
#include "ncnn/upscale_graph.h"
#include "processors/image_upscale.h"
#include "tiling/auto_tile.h"

namespace uprez {

namespace upscaler_ncnn {

// dgenerate's `threads`: a positive count, "auto" (every logical CPU) or "half" (half of them).
int parse_threads(const UriArguments& args) {
  const std::string text = args.text("threads");
  const int logical = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  if (text == "auto") return logical;
  if (text == "half") return std::max(1, logical / 2);
  const bool digits = !text.empty() && text.size() <= 6 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(text) < 1)
    args.fail("threads", "must be greater than or equal to 1, or \"auto\" or \"half\", got \"" + text + "\"");
  return std::stoi(text);
}

// LibTorch's thread count (the calling thread's OpenMP team size) for the length of an upscale.
class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int threads) : saved_(at::get_num_threads()) { at::set_num_threads(threads); }
  ~ScopedThreadCount() { at::set_num_threads(saved_); }
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int saved_;
};

class UpscalerNcnnProcessor : public Processor {
 public:
  explicit UpscalerNcnnProcessor(const UriArguments& args)
      : Processor(args), model_path_(args.text("model")), param_path_(args.text("param")) {
    check_tiling(args);
    const int64_t gpu_index = args.integer("gpu-index");
    if (gpu_index < 0) args.fail("gpu-index", "must be greater than or equal to 0");
    threads_ = parse_threads(args);
    use_gpu_ = args.flag("use-gpu");
    for (const char* cpu_only : {"winograd", "sgemm", "blocktime"})
      if (use_gpu_ && args.is_set(cpu_only)) args.fail(cpu_only, "cannot be specified when running on the gpu");
    if (args.is_set("blocktime")) {
      const int64_t blocktime = args.integer("blocktime");
      if (blocktime < 0) args.fail("blocktime", "cannot be less than 0");
      if (blocktime > 400) args.fail("blocktime", "cannot be greater than 400");
    }
    ncnn::Option opt;
    opt.conv.winograd = !args.is_set("winograd") || args.flag("winograd");
    opt.conv.sgemm = args.is_set("sgemm") && args.flag("sgemm");

    if (!std::filesystem::exists(model_path_)) args.fail("model", "Model file does not exist: " + model_path_);
    if (!std::filesystem::exists(param_path_)) args.fail("param", "Param file does not exist: " + param_path_);
    const ncnn::ParamFile param_file = ncnn::read_param_file(param_path_);
    graph_ = ncnn::describe_upscale_graph(param_file, param_path_);
    net_ = std::make_unique<ncnn::Net>(ncnn::Net::load(param_file, param_path_, model_path_, opt));
    input_blob_ = args.is_set("input-blob") ? args.text("input-blob") : net_->default_input();
    output_blob_ = args.is_set("output-blob") ? args.text("output-blob") : net_->default_output();
    for (const auto& [argument, blob] : {std::pair{"input-blob", input_blob_}, std::pair{"output-blob", output_blob_}})
      if (!net_->has_blob(blob)) args.fail(argument, "names no blob of the network: \"" + blob + "\"");

    if (use_gpu_) {
      if (!torch::cuda::is_available()) args.fail("use-gpu", "needs a CUDA device, and LibTorch sees none");
      if (gpu_index >= static_cast<int64_t>(torch::cuda::device_count()))
        args.fail("gpu-index", "GPU index " + std::to_string(gpu_index) + " does not exist");
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(gpu_index));
      net_->to(device_, torch::kFloat32);
    }
    if (ncnn::graph_crops_input(param_file)) {
      const ScopedThreadCount thread_count(threads_);
      framing_ = ncnn::measure_input_framing(*net_, param_file, param_path_, input_blob_, output_blob_,
                                             graph_.input_channels, graph_.scale, device_);
    }
    scale_ = args.is_set("scale") ? args.number("scale") : graph_.scale;
    if (!(scale_ > 0) || scale_ > 64) args.fail("scale", "must be a number in (0, 64]");
  }

  std::string describe() const override {
    const std::string framing =
        framing_.crops_input() ? ", padded by " + std::to_string(framing_.prepadding) + " px as its app pads it" : "";
    return "upscaler-ncnn(" + param_path_ + ", x" + std::to_string(graph_.scale) + framing + ")";
  }

 protected:
  Image process(const Image& image, const ProgressCallback& progress) override {
    const ScopedThreadCount thread_count(threads_);
    UpscaleModel upscale;
    upscale.scale = graph_.scale;
    upscale.input_channels = graph_.input_channels;
    upscale.output_channels = graph_.output_channels;
    upscale.run = [this](const torch::Tensor& tile) { return run_net(tile); };
    return resize_to_scale(upscale_image(image, upscale, effective_tiles(), progress), image, scale_);
  }

 private:
  void check_tiling(const UriArguments& args) {
    tiles_.overlap = static_cast<int>(args.integer("overlap"));
    if (tiles_.overlap < 0) args.fail("overlap", "must be greater than or equal to 0");
    if (args.is_auto("tile")) {
      auto_tile_ = true;
      return;
    }
    const int64_t tile = args.integer("tile");
    if (tile != 0 && tile < 2) args.fail("tile", "must be greater than 2, or exactly 0");
    if (tile % 2 != 0) args.fail("tile", "must be divisible by 2");
    if (tile != 0 && tile < tiles_.overlap) args.fail("tile", "must be greater than \"overlap\"");
    tiles_.tile = static_cast<int>(tile);
    try {
      validate_tile_options(tiles_);
    } catch (const Error& e) {
      throw Error(args.owner() + ": " + e.what());
    }
  }

  TileOptions effective_tiles() const {
    if (!auto_tile_) return tiles_;
    TileOptions automatic = tiles_;
    // A working set of a few 64-channel float maps per input pixel plus the upscaled output (NCNN graphs do not
    // say how wide they are before running).
    const int64_t bytes_per_pixel = 4 * (4 * 64 + 2 * graph_.scale * graph_.scale * graph_.output_channels);
    automatic.tile = auto_tile_size(bytes_per_pixel, available_memory_bytes(device_), 1);
    if (automatic.overlap * 2 > automatic.tile) automatic.overlap = automatic.tile / 4;
    return automatic;
  }

  // (1, c, h, w) in [0, 1] -> (1, c_out, h * scale, w * scale), framed as the apps frame a tile (graphs that crop
  // their input) and clamped as they do.
  torch::Tensor run_net(const torch::Tensor& tile) const {
    torch::NoGradGuard no_grad;
    return ncnn::run_framed(*net_, framing_, tile[0].to(device_), input_blob_, output_blob_, graph_.scale)
        .unsqueeze(0)
        .clamp(0, 1)
        .to(torch::kCPU, torch::kFloat32);
  }

  std::string model_path_, param_path_;
  std::string input_blob_, output_blob_;
  ncnn::UpscaleGraph graph_;
  ncnn::InputFraming framing_;
  std::unique_ptr<ncnn::Net> net_;
  torch::Device device_ = torch::kCPU;
  TileOptions tiles_;
  bool auto_tile_ = false;
  bool use_gpu_ = false;
  int threads_ = 1;
  double scale_ = 1;
};

}  // namespace upscaler_ncnn

ProcessorSpec upscaler_ncnn_processor_spec() {
  return {
      "upscaler-ncnn",
      "Upscale with an NCNN model (.param + .bin, as upscayl, chaiNNer and Real-ESRGAN-ncnn-vulkan use), run by "
      "uprez's own NCNN runtime, tiled without seams. Graphs that crop their own input (waifu2x, Real-CUGAN) get the "
      "padding, alignment and edge mode of their apps, worked out from the graph.",
      {
          {"model", ArgumentType::Path, "", "The model's .bin file."},
          {"param", ArgumentType::Path, "", "The model's .param file."},
          {"use-gpu", ArgumentType::Boolean, "false", "Run on the CUDA device gpu-index (an error without one)."},
          {"gpu-index", ArgumentType::Integer, "0", "Which CUDA device use-gpu runs on, 0-based."},
          {"threads", ArgumentType::String, "auto",
           "CPU threads: a count, \"auto\" (every logical CPU) or \"half\" (half of them)."},
          {"tile", ArgumentType::IntegerOrAuto, "400",
           "Tile size in input pixels, divisible by 2; 0 disables tiling; \"auto\" picks one from free memory. "
           "Unlike dgenerate, tiles larger than 400 are allowed."},
          {"overlap", ArgumentType::Integer, "8", "Overlap between tiles in input pixels, at most half the tile."},
          {"scale", ArgumentType::Float, "",
           "Output scale factor; when it differs from the model's, the result is resized (Lanczos/area).", true},
          {"input-blob", ArgumentType::String, "",
           "The blob the image goes into (default: the first layer's output, as the apps do); an extension.", true},
          {"output-blob", ArgumentType::String, "",
           "The blob the result is read from (default: the last layer's output); an extension.", true},
          {"winograd", ArgumentType::Boolean, "",
           "Winograd convolution for 3x3 stride-1 layers (default on); CPU only.", true},
          {"sgemm", ArgumentType::Boolean, "",
           "im2col + GEMM (oneDNN's sgemm) for the convolutions Winograd does not take; default off: oneDNN's direct "
           "convolution, faster here; CPU only.",
           true},
          {"blocktime", ArgumentType::Integer, "",
           "How long OpenMP threads spin after work before sleeping, 0-400 ms; the uprez program restarts itself "
           "once to apply it (libgomp's GOMP_SPINCOUNT, read at start-up; the largest value of the command line "
           "wins); CPU only.",
           true},
      },
      [](const UriArguments& args) { return std::make_unique<upscaler_ncnn::UpscalerNcnnProcessor>(args); },
      {"device", "model-offload"},
  };
}

}  // namespace uprez
