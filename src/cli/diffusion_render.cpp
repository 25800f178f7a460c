// The main command's render loop: the checks before anything is written, the runtime (device, dtype, automatic VAE
// tiling), the image seeds prepared as dgenerate prepares them, dgenerate's file names, and the renders of stills
// and of animations (through the frame job; batch images after the first in passes of their own).
#include "cli/diffusion_render.h"

#include <stdlib.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "cli/frame_job.h"
#include "cli/help_requested.h"
#include "cli/progress_bar.h"
#include "core/caching_cpu_allocator.h"
#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/output_path.h"
#include "diffusion/model/model_folder.h"
#include "diffusion/noise_source.h"
#include "diffusion/pipelines/upscale_x4.h"
#include "image/image_io.h"
#include "image/image_tensor.h"
#include "image/pil_resize.h"
#include "media/media_file.h"
#include "processors/processor.h"
#include "tiling/auto_tile.h"

namespace uprez {
namespace diffusion_render {

// The most an untiled VAE decode may take before tiling switches itself on.
constexpr int64_t kDecodeBudgetBytes = int64_t{4} << 30;

namespace fs = std::filesystem;

// dgenerate aligns every image seed down to a multiple of 8 (resizing it).
constexpr int kSeedAlign = 8;

// One render's values: one combination of the list options.
struct RenderArgs {
  DiffusionPrompt prompt;
  uint64_t seed = 0;
  double guidance = 5;
  int64_t steps = 30;
  int64_t noise_level = 20;
};

// The seeds image seed `index` is rendered with: all, or with --seeds-to-images the one dgenerate picks.
std::vector<uint64_t> seeds_for(const DiffusionOptions& o, size_t index) {
  if (!o.seeds_to_images) return o.seeds;
  return {o.seeds[index % o.seeds.size()]};
}

// Every combination in dgenerate's order (itertools.product: prompts outermost, noise levels innermost).
std::vector<RenderArgs> combinations(const DiffusionOptions& o, size_t seed_index) {
  std::vector<RenderArgs> all;
  for (const DiffusionPrompt& prompt : o.prompts)
    for (uint64_t seed : seeds_for(o, seed_index))
      for (double guidance : o.guidance_scales)
        for (int64_t steps : o.inference_steps)
          for (int64_t noise_level : o.noise_levels) all.push_back({prompt, seed, guidance, steps, noise_level});
  return all;
}

// Python's str() of a float, as dgenerate puts it into names: the shortest text that reads back, ".0" on whole
// numbers.
std::string python_float(double value) {
  char text[40];
  if (value == std::floor(value) && std::fabs(value) < 1e16) {
    std::snprintf(text, sizeof text, "%.1f", value);
    return text;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

// The guidance scale as dgenerate prints it: its default is the integer 5 ("5"), a given one a float ("5.0").
std::string guidance_text(const DiffusionOptions& o, const RenderArgs& a) {
  return o.guidance_scales_given ? python_float(a.guidance) : std::to_string(static_cast<int64_t>(a.guidance));
}

// dgenerate's name components of a render: s_<seed>_unl_<noise>_g_<guidance>_i_<steps> ("5.0" is written "5-0").
std::vector<std::string> name_components(const DiffusionOptions& o, const RenderArgs& a) {
  return {"s", std::to_string(a.seed), "unl", std::to_string(a.noise_level), "g", guidance_text(o, a), "i",
          std::to_string(a.steps)};
}

// `components` with {what, n + 1} appended when there are several (batch images, their animations).
std::vector<std::string> numbered(std::vector<std::string> components, const char* what, size_t n, size_t count) {
  if (count > 1) components.insert(components.end(), {what, std::to_string(n + 1)});
  return components;
}

// The file in the output folder: [prefix_]joined_components.ext, every '.' in a component made '-'. Unless
// --output-overwrite, the first free _duplicate_<k> of it.
std::string output_file(const DiffusionOptions& o, std::vector<std::string> components, const std::string& ext) {
  std::string name = o.output_prefix ? *o.output_prefix + "_" : "";
  for (size_t i = 0; i < components.size(); ++i) {
    std::replace(components[i].begin(), components[i].end(), '.', '-');
    name += (i ? "_" : "") + components[i];
  }
  const std::string path = (fs::path(o.output_path) / (name + "." + ext)).lexically_normal().string();
  create_parent_folders(path);
  return o.output_overwrite ? path : avoid_existing_path(path);
}

std::string hours_minutes_seconds(double seconds) {
  const long s = std::lround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return text;
}

// dgenerate's size for an image seed (resize_image_calc): --output-size, its width kept and the height from the
// aspect ratio unless --no-aspect, else the image's own size; aligned down to 8. Error when nothing is left.
std::pair<int, int> seed_size(int width, int height, const DiffusionOptions& o, const std::string& source) {
  std::pair<int, int> size{width - width % kSeedAlign, height - height % kSeedAlign};
  const std::optional<OutputSize>& wanted = o.output_size;
  if (wanted && (wanted->width != width || wanted->height != height)) {
    const int h = static_cast<int>(static_cast<double>(height) * (static_cast<double>(wanted->width) / width));
    size = o.no_aspect ? std::make_pair(wanted->width, wanted->height)
                       : std::make_pair(wanted->width, h - h % kSeedAlign);
  }
  if (size.first < 1 || size.second < 1)
    throw Error(source + ": " + std::to_string(width) + "x" + std::to_string(height) +
                " leaves no pixels when image seeds are aligned to 8 (dgenerate's rule)");
  return size;
}

// The picture the pipeline gets: 8-bit RGB (alpha dropped, as PIL's convert("RGB")), resized to seed_size by
// Pillow's Lanczos, as dgenerate prepares image seeds.
Image seed_image(const Image& image, const DiffusionOptions& o, const std::string& source) {
  Image storage;
  const Image& rgb = with_layout(image, 3, 8, storage);
  const auto [width, height] = seed_size(rgb.width, rgb.height, o, source);
  if (width == rgb.width && height == rgb.height) return rgb;
  return pil_resize_8bit(rgb, width, height, PilFilter::Lanczos);
}

std::vector<Image> to_images(const torch::Tensor& batch) {
  std::vector<Image> images;
  for (int64_t b = 0; b < batch.size(0); ++b) {
    Image image(static_cast<int>(batch.size(3)), static_cast<int>(batch.size(2)), 3, 8);
    store_tensor_rows(image, batch[b], 0, 0);
    images.push_back(std::move(image));
  }
  return images;
}

// The pipeline and what the command adds around it: the image seed's preparation, automatic VAE tiling when the
// decode would not fit in memory, the post-processors.
class Upscaler {
 public:
  Upscaler(const DiffusionOptions& o, X4UpscalePipeline pipeline, const DiffusionRuntime& runtime,
           std::vector<std::unique_ptr<Processor>> post_processors)
      : o_(o), pipeline_(std::move(pipeline)), device_(runtime.device), vae_(runtime.vae),
        post_(std::move(post_processors)) {}

  // The batch of results for one picture (the seed drawn afresh for each call, as dgenerate does per frame).
  std::vector<Image> run(const Image& picture, const RenderArgs& a, const std::string& source,
                         const StepCallback& on_step) {
    X4Request request;
    request.image = preprocess_x4_image(seed_image(picture, o_, source), pipeline_.image_multiple());
    request.prompts = {a.prompt.positive};
    if (a.prompt.negative) request.negative_prompts = {*a.prompt.negative};
    request.images_per_prompt = o_.batch_size;
    request.steps = a.steps;
    request.guidance_scale = a.guidance;
    request.noise_level = a.noise_level;
    tile_if_needed(request.image.size(2), request.image.size(3));
    SeededNoise noise(a.seed);
    std::vector<Image> images = to_images(pipeline_.run(request, noise, on_step));
    const auto check_interrupt = [](int64_t, int64_t) { throw_if_interrupted(); };
    for (Image& image : images)
      for (auto& processor : post_) image = processor->apply(image, check_interrupt);
    return images;
  }

 private:
  // Latents are the input's size: switches tiling on (once, with a note) when their untiled decode would need more
  // than kDecodeBudgetBytes or half the memory available (the rest holds the UNet, the images and the system).
  void tile_if_needed(int64_t height, int64_t width) {
    if (vae_.tiling) return;
    const int64_t needed = pipeline_.decode_bytes(o_.batch_size, height, width);
    const int64_t available = available_memory_bytes(device_);
    const int64_t budget = available > 0 ? std::min(available / 2, kDecodeBudgetBytes) : kDecodeBudgetBytes;
    if (needed <= budget) return;
    vae_.tiling = true;
    pipeline_.set_vae_options(vae_);
    char note[200];
    std::snprintf(note, sizeof note, "uprez: note: the VAE decode would need about %.1f GiB (more than %.1f GiB): "
                  "--vae-tiling is on\n", needed / 1073741824.0, budget / 1073741824.0);
    std::cerr << note;
  }

  const DiffusionOptions& o_;
  X4UpscalePipeline pipeline_;
  torch::Device device_;
  VaeDecodeOptions vae_;
  std::vector<std::unique_ptr<Processor>> post_;
};

// The frames of batch images after the first, kept as lossless PNGs in a hidden temporary folder inside the output
// folder until their animations are written, each in a pass of its own; the folder is removed at the end.
class BatchFrames {
 public:
  explicit BatchFrames(const std::string& output_folder) {
    fs::create_directories(output_folder);
    std::string pattern = (fs::path(output_folder) / ".uprez-batch-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw Error(output_folder + ": cannot create a temporary folder");
    folder_ = pattern;
  }
  ~BatchFrames() {
    std::error_code ignored;
    fs::remove_all(folder_, ignored);
  }
  BatchFrames(const BatchFrames&) = delete;
  BatchFrames& operator=(const BatchFrames&) = delete;

  void store(size_t n, int64_t frame, const Image& image) const { write_image(image, file(n, frame)); }
  Image load(size_t n, int64_t frame) const { return read_image(file(n, frame)); }

 private:
  std::string file(size_t n, int64_t frame) const {
    return folder_ + "/" + std::to_string(n) + "_" + std::to_string(frame) + ".png";
  }
  std::string folder_;
};

// The animation format of an animated image seed: --animation-format, else the input's own kind (APNG for .png),
// mp4 for a video container uprez does not write.
std::string animation_format(const DiffusionOptions& o, const std::string& input) {
  if (!o.animation_format.empty()) return o.animation_format;
  std::string extension = fs::path(input).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".png") return "apng";
  return is_animation_extension(extension) ? extension.substr(1) : "mp4";
}

// How many frames of `input` will be rendered, from its container (0 when it does not say).
int64_t frames_hint(const std::string& input, const DiffusionOptions& o) {
  int64_t count = open_frames(input)->info().frame_count;
  if (count <= 0) return 0;
  if (o.frame_end) count = std::min(count, *o.frame_end + 1);
  return std::max<int64_t>(0, count - o.frame_start);
}

// The renders in dgenerate's order, numbered globally (the _step_<k> of the names), each announced by a line with
// the renders done and left; a progress bar over each render's denoising steps (of every frame).
class RenderLoop {
 public:
  RenderLoop(const DiffusionOptions& o, Upscaler& upscaler, int64_t renders)
      : o_(o), upscaler_(upscaler), renders_(renders), start_(std::chrono::steady_clock::now()) {}

  // Every render of image seed `index`.
  void render(size_t index) {
    const std::string& input = o_.image_seeds[index];
    const bool animated = is_animation_or_video(input);
    for (const RenderArgs& a : combinations(o_, index)) {
      announce(input, a);
      if (animated) animation(input, a);
      else still(input, a);
    }
  }

 private:
  void announce(const std::string& input, const RenderArgs& a) {
    std::string left;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (step_ > 0)
      left = "; all renders: about " + hours_minutes_seconds(elapsed / step_ * (renders_ - step_)) + " left";
    ++step_;
    std::cout << "uprez: render " << step_ << "/" << renders_ << ": \"" << input << "\", seed " << a.seed
              << ", noise level " << a.noise_level << ", guidance " << guidance_text(o_, a) << ", " << a.steps
              << " steps" << left << std::endl;
  }

  std::vector<std::string> step_components(const RenderArgs& a, std::vector<std::string> middle = {}) const {
    std::vector<std::string> components = name_components(o_, a);
    components.insert(components.end(), middle.begin(), middle.end());
    components.insert(components.end(), {"step", std::to_string(step_)});
    return components;
  }

  void still(const std::string& input, const RenderArgs& a) {
    ProgressBar bar("steps");
    const std::vector<Image> images = upscaler_.run(read_image(input), a, input, [&bar](int64_t done, int64_t total) {
      throw_if_interrupted();
      bar.update(done, total);
    });
    bar.finish();
    for (size_t n = 0; n < images.size(); ++n) {
      const std::string path =
          output_file(o_, numbered(step_components(a), "image", n, images.size()), o_.image_format);
      write_image(images[n], path);
      std::cout << "uprez: wrote \"" << path << "\" (" << images[n].width << "x" << images[n].height << ")\n";
    }
  }

  // Frame j's images, s_..._frame_<j>_step_<k>[_image_<n>].<image format>; the paths written.
  std::vector<std::string> write_frame_images(const std::vector<Image>& images, const RenderArgs& a, int64_t j) const {
    std::vector<std::string> paths;
    for (size_t n = 0; n < images.size(); ++n) {
      const std::vector<std::string> components = step_components(a, {"frame", std::to_string(j)});
      paths.push_back(output_file(o_, numbered(components, "image", n, images.size()), o_.image_format));
      write_image(images[n], paths.back());
    }
    return paths;
  }

  std::vector<PlannedOutput> animation_jobs(const std::string& input, const RenderArgs& a,
                                            const std::string& format) const;
  void animation(const std::string& input, const RenderArgs& a);
  void report(const PlannedOutput& job, const FrameJobResult& result, bool animation_written, bool frame_images) const;

  const DiffusionOptions& o_;
  Upscaler& upscaler_;
  const int64_t renders_;
  int64_t step_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::string> first_frame_images_, last_frame_images_;
};

// The animation files of one render, ANIM_s_..._step_<k>[_animation_<n>].<format>, one per batch image; none
// (empty outputs) for --animation-format frames.
std::vector<PlannedOutput> RenderLoop::animation_jobs(const std::string& input, const RenderArgs& a,
                                                      const std::string& format) const {
  std::vector<PlannedOutput> jobs;
  const size_t batch = static_cast<size_t>(o_.batch_size);
  for (size_t n = 0; n < batch; ++n) {
    std::vector<std::string> components = step_components(a);
    components.insert(components.begin(), "ANIM");
    const std::vector<std::string> name = numbered(components, "animation", n, batch);
    jobs.push_back({input, format == "frames" ? "" : output_file(o_, name, format)});
  }
  return jobs;
}

// One render of an animation or video, frame by frame through the frame job (the frame images written on the
// way); the animations of batch images after the first from their stored frames, in passes of their own.
void RenderLoop::animation(const std::string& input, const RenderArgs& a) {
  const std::string format = animation_format(o_, input);
  FrameJobOptions options;
  options.frame_start = o_.frame_start;
  options.frame_end = o_.frame_end;
  options.write_animation = format != "frames";
  options.overwrite = o_.output_overwrite;
  const std::vector<PlannedOutput> jobs = animation_jobs(input, a, format);
  std::unique_ptr<BatchFrames> stored;
  if (jobs.size() > 1 && options.write_animation) stored = std::make_unique<BatchFrames>(o_.output_path);
  int64_t frame = 0, frames = frames_hint(input, o_);
  first_frame_images_.clear();
  ProgressBar bar("steps");
  const auto process = [&](const Image& picture) {
    ++frame;
    std::vector<Image> images = upscaler_.run(picture, a, input, [&](int64_t done, int64_t steps) {
      throw_if_interrupted();
      bar.update((frame - 1) * steps + done, std::max(frames, frame) * steps);
    });
    if (!o_.no_frames) last_frame_images_ = write_frame_images(images, a, frame);
    if (!o_.no_frames && first_frame_images_.empty()) first_frame_images_ = last_frame_images_;
    for (size_t n = 1; stored && n < images.size(); ++n) stored->store(n, frame, images[n]);
    return std::move(images[0]);
  };
  const FrameJobResult result =
      process_frames(jobs[0], process, options, [&](int64_t, int64_t total) { frames = total; });
  bar.finish();
  report(jobs[0], result, options.write_animation, true);
  for (size_t n = 1; stored && n < jobs.size(); ++n) {
    int64_t j = 0;
    const auto load = [&](const Image&) { return stored->load(n, ++j); };
    const auto check_interrupt = [](int64_t, int64_t) { throw_if_interrupted(); };
    report(jobs[n], process_frames(jobs[n], load, options, check_interrupt), true, false);
  }
}

// "wrote" lines: the animation, the writer's notes, the frame images (first to last).
void RenderLoop::report(const PlannedOutput& job, const FrameJobResult& result, bool animation_written,
                        bool frame_images) const {
  if (animation_written)
    std::cout << "uprez: wrote \"" << job.output << "\" (" << result.frames << " frames, " << result.width << "x"
              << result.height << ")\n";
  for (const std::string& note : result.notes) std::cout << "uprez: " << job.output << ": " << note << "\n";
  if (frame_images && !first_frame_images_.empty())
    std::cout << "uprez: wrote frame images \"" << first_frame_images_.front() << "\" to \""
              << last_frame_images_.back() << "\"\n";
}

// Each image seed exists, reads, and keeps pixels after dgenerate's alignment: checked before the model loads.
void check_image_seeds(const DiffusionOptions& o) {
  for (const std::string& input : o.image_seeds) {
    if (!fs::exists(input)) throw Error("--image-seeds: \"" + input + "\" does not exist");
    if (fs::is_directory(input))
      throw Error("--image-seeds: \"" + input + "\" is a folder, not an image, animation or video");
    if (is_animation_or_video(input)) {
      const StreamInfo info = open_frames(input)->info();
      seed_size(info.width, info.height, o, input);
    } else {
      const Image image = read_image(input);
      seed_size(image.width, image.height, o, input);
    }
  }
}

// --device and --dtype as the pipeline runs them: auto is float16 on CUDA and float32 on the CPU, where float16 is
// computed in float32 (one note).
DiffusionRuntime runtime_for(const DiffusionOptions& o) {
  DiffusionRuntime runtime;
  runtime.device = parse_device(o.device, "--device");
  const bool cpu = runtime.device.is_cpu();
  runtime.dtype = o.dtype == "auto" ? (cpu ? torch::kFloat32 : torch::kFloat16) : parse_dtype(o.dtype, "--dtype");
  if (cpu && runtime.dtype == torch::kFloat16) {
    runtime.dtype = torch::kFloat32;
    std::cerr << "uprez: note: --dtype float16 on the CPU computes in float32\n";
  }
  runtime.vae.slicing = o.vae_slicing;
  runtime.vae.tiling = o.vae_tiling;
  return runtime;
}

void check_noise_levels(const DiffusionOptions& o, int64_t max_noise_level) {
  for (int64_t level : o.noise_levels)
    if (level > max_noise_level)
      throw Error("--upscaler-noise-levels " + std::to_string(level) + ": above the model's max_noise_level, " +
                  std::to_string(max_noise_level));
}

int64_t count_renders(const DiffusionOptions& o) {
  int64_t renders = 0;
  for (size_t i = 0; i < o.image_seeds.size(); ++i) renders += static_cast<int64_t>(combinations(o, i).size());
  return renders;
}

}  // namespace diffusion_render

void run_diffusion(const DiffusionOptions& options) {
  // A UNet frees maps of dozens of sizes: a 4 GiB cache of them costs more memory than the reuse saves.
  limit_cached_cpu_memory(size_t{1} << 30);
  torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  diffusion_render::check_image_seeds(options);
  std::vector<std::unique_ptr<Processor>> post_processors;
  for (const std::string& uri : options.post_processors)
    post_processors.push_back(create_processor(uri, options.device));
  const DiffusionRuntime runtime = diffusion_render::runtime_for(options);
  const ModelFolder folder = ModelFolder::open({options.model, options.revision, options.variant});
  X4UpscalePipeline pipeline = X4UpscalePipeline::load(folder, runtime);
  diffusion_render::check_noise_levels(options, pipeline.max_noise_level());
  // Every text is encoded now and the text encoder's weights freed before the UNet and VAE need the memory.
  std::vector<std::string> texts{""};
  for (const DiffusionPrompt& prompt : options.prompts) {
    texts.push_back(prompt.positive);
    if (prompt.negative) texts.push_back(*prompt.negative);
  }
  pipeline.prepare_prompts(texts);
  pipeline.load_networks();
  diffusion_render::Upscaler upscaler(options, std::move(pipeline), runtime, std::move(post_processors));
  if (options.seeds_generated) {
    std::cout << "uprez: random seeds:";
    for (uint64_t seed : options.seeds) std::cout << " " << seed;
    std::cout << "\n";
  }
  diffusion_render::RenderLoop loop(options, upscaler, diffusion_render::count_renders(options));
  for (size_t i = 0; i < options.image_seeds.size(); ++i) loop.render(i);
}

int diffusion_main(const std::vector<std::string>& args) {
  try {
    run_diffusion(parse_diffusion_command(args));
    return 0;
  } catch (const HelpRequested& help) {
    std::cout << help.text();
    return help.status();
  } catch (const std::exception& e) {
    std::cerr << "uprez: error: " << one_line_message(e) << "\n";
    return 1;
  }
}

}  // namespace uprez
