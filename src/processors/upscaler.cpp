#include "processors/upscaler.h"

#include <numeric>
#include <sstream>

#include "arch/architecture.h"
#include "builtin/builtin_model.h"
#include "core/device.h"
#include "core/error.h"
#include "io/model_file.h"
#include "processors/image_upscale.h"
#include "tiling/auto_tile.h"
#include "tiling/tiler.h"

namespace uprez {

namespace upscaler {

class UpscalerProcessor : public Processor {
 public:
  explicit UpscalerProcessor(const UriArguments& args)
      : Processor(args), model_name_(args.is_set("model") ? args.text("model") : kBuiltinModelName) {
    model_ = args.is_set("model") ? load_model(load_state_dict(model_name_), model_name_) : load_builtin_model();
    device_ = parse_device(device_name(), args.owner() + ": argument \"device\"");
    dtype_ = parse_dtype(args.text("dtype"), args.owner() + ": argument \"dtype\"");
    check_dtype(args);

    if (args.is_auto("tile")) {
      auto_tile_ = true;
    } else {
      tiles_.tile = static_cast<int>(args.integer("tile"));
    }
    tiles_.overlap = static_cast<int>(args.integer("overlap"));
    tiles_.align = model_.info.size_requirements.multiple_of;
    if (!auto_tile_) {
      try {
        validate_tile_options(tiles_);
      } catch (const Error& e) {
        throw Error(args.owner() + ": " + e.what());
      }
    }
    force_tiling_ = args.flag("force-tiling");
    scale_ = args.is_set("scale") ? args.number("scale") : model_.info.scale;
    if (!(scale_ > 0) || scale_ > 64) args.fail("scale", "must be a number in (0, 64]");
  }

  std::string describe() const override {
    return "upscaler(" + model_name_ + ", " + model_.info.architecture_id + " x" + std::to_string(model_.info.scale) + ")";
  }

 protected:
  Image process(const Image& image, const ProgressCallback& progress) override {
    if (!on_device_) {
      model_.to(device_, dtype_);
      on_device_ = true;
    }
    UpscaleModel upscale;
    upscale.scale = model_.info.scale;
    upscale.input_channels = model_.info.input_channels;
    upscale.output_channels = model_.info.output_channels;
    upscale.run = [this](const torch::Tensor& tile) { return model_(tile).to(torch::kCPU, torch::kFloat32); };

    return resize_to_scale(upscale_image(image, upscale, effective_tiles(image.width), progress), image, scale_);
  }

  void offload() override {
    model_.to(torch::kCPU, torch::kFloat32);
    on_device_ = false;
  }

 private:
  void check_dtype(const UriArguments& args) const {
    const ModelInfo& info = model_.info;
    if (dtype_ == torch::kFloat16 && !info.supports_half)
      args.fail("dtype", "float16 is not supported by the " + info.architecture_id + " architecture");
    if (dtype_ == torch::kBFloat16 && !info.supports_bfloat16)
      args.fail("dtype", "bfloat16 is not supported by the " + info.architecture_id + " architecture");
    if (dtype_ == torch::kFloat16 && device_.is_cpu())
      args.fail("dtype", "float16 needs a CUDA device; use float32 or bfloat16 on the CPU");
  }

  TileOptions effective_tiles(int image_width) const {
    const Tiling tiling = model_.info.tiling;
    if (tiling == Tiling::Internal || (tiling == Tiling::Discouraged && !force_tiling_)) {
      TileOptions untiled = tiles_;
      untiled.tile = 0;
      return untiled;
    }
    if (!auto_tile_) return tiles_;
    TileOptions automatic = tiles_;
    const int64_t available = available_memory_bytes(device_);
    const int multiple = model_.info.size_requirements.multiple_of;
    automatic.tile = auto_tile_size(bytes_per_input_pixel(), available, multiple);
    // The tiler's float band spans the whole output width: keep it within a quarter of the memory too.
    const int64_t scale = model_.info.scale;
    const int64_t band_bytes_per_tile_row = 4 * model_.info.output_channels * scale * scale * int64_t(image_width);
    const int64_t step = std::lcm<int64_t>(8, multiple);
    while (automatic.tile > step && automatic.tile > 64 &&
           band_bytes_per_tile_row * automatic.tile > available / 4)
      automatic.tile -= step;
    if (automatic.overlap * 2 > automatic.tile) automatic.overlap = automatic.tile / 4;
    return automatic;
  }

  // A rough working-set estimate: a few feature maps of the widest layer plus the upscaled output.
  int64_t bytes_per_input_pixel() const {
    int64_t widest = 1;
    for (const torch::Tensor& p : model_.network->parameters())
      if (p.dim() >= 2) widest = std::max<int64_t>(widest, p.size(0));
    const int64_t element = dtype_ == torch::kFloat32 ? 4 : 2;
    const int64_t scale2 = static_cast<int64_t>(model_.info.scale) * model_.info.scale;
    return element * (4 * widest + 2 * scale2 * model_.info.output_channels) + 64;
  }

  std::string model_name_;  // the model file, or the built-in model's name
  Model model_;
  torch::Device device_ = torch::kCPU;
  torch::Dtype dtype_ = torch::kFloat32;
  TileOptions tiles_;
  bool auto_tile_ = false;
  bool force_tiling_ = false;
  double scale_ = 1;
  bool on_device_ = false;
};

// One line per architecture in detection order: its id, the scales and the image channel counts it takes.
std::string architecture_list() {
  std::ostringstream out;
  out << "    architectures (detected from the weights):\n";
  for (const Architecture& arch : architectures())
    out << "        " << arch.id << ": scales " << arch.scales << "; channels " << arch.channels << "\n";
  return out.str();
}

}  // namespace upscaler

ProcessorSpec upscaler_processor_spec() {
  ProcessorSpec spec{
      "upscaler",
      "Upscale with a PyTorch super-resolution model (ESRGAN, SwinIR, HAT, DAT, ...: every super-resolution "
      "architecture of spandrel 0.4.2; .pth/.pt/.ckpt/.safetensors), "
      "architecture detected from the weights, tiled without seams.",
      {
          {"model", ArgumentType::Path, "",
           "Model file (.pth, .pt, .ckpt or .safetensors); left out: the built-in uprez-compact-x4 (Compact x4, "
           "trained by the project, see models/README.md).",
           true},
          {"tile", ArgumentType::IntegerOrAuto, "512",
           "Tile size in input pixels, divisible by 2; \"auto\" picks one from free memory; 0 disables tiling."},
          {"overlap", ArgumentType::Integer, "32", "Overlap between tiles in input pixels, at most half the tile."},
          {"scale", ArgumentType::Float, "",
           "Output scale factor; when it differs from the model's, the result is resized (Lanczos/area).", true},
          {"force-tiling", ArgumentType::Boolean, "false",
           "Tile even architectures that discourage external tiling."},
          {"dtype", ArgumentType::String, "float32", "Model dtype: float32, float16 (CUDA) or bfloat16."},
      },
      [](const UriArguments& args) { return std::make_unique<upscaler::UpscalerProcessor>(args); },
  };
  spec.details = upscaler::architecture_list();
  return spec;
}

}  // namespace uprez
